package telegramfake

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

type botAnswer struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
}

func call(t *testing.T, ctx context.Context, base, token, method string, params any) (int, botAnswer) {
	t.Helper()
	body, _ := json.Marshal(params)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/bot"+token+"/"+method, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a botAnswer
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatalf("%s: the answer is not a Bot API envelope: %v", method, err)
	}
	return res.StatusCode, a
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGetUpdatesOffsetsConfirm(t *testing.T) {
	s := New(t)
	ctx := ctxFor(t)
	c := Customer{ID: 11, FirstName: "A"}
	u1, u2 := s.Text(c, "one"), s.Text(c, "two")
	s.Queue(u1, u2)
	var got []Update
	_, a := call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{})
	json.Unmarshal(a.Result, &got)
	if len(got) != 2 || got[0].UpdateID != u1.UpdateID || got[1].Message.Text != "two" {
		t.Fatalf("first poll = %+v", got)
	}
	// Without an offset nothing is confirmed: the same updates come again.
	_, a = call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{})
	json.Unmarshal(a.Result, &got)
	if len(got) != 2 {
		t.Fatalf("second poll without offset = %d updates, want 2", len(got))
	}
	_, a = call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{"offset": u1.UpdateID + 1})
	json.Unmarshal(a.Result, &got)
	if len(got) != 1 || got[0].UpdateID != u2.UpdateID || !s.Confirmed(u1.UpdateID) || s.Confirmed(u2.UpdateID) {
		t.Fatalf("poll with offset: %+v", got)
	}
}

func TestLongPollWaitsAndNewerPollWins(t *testing.T) {
	s := New(t)
	ctx := ctxFor(t)
	type result struct {
		status int
		a      botAnswer
	}
	first := make(chan result, 1)
	go func() {
		st, a := call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{"timeout": 5})
		first <- result{st, a}
	}()
	polling := func() bool { // the first poll is waiting, not only received
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.pollGen == 1
	}
	if err := s.Wait(ctx, polling); err != nil {
		t.Fatal(err)
	}
	second := make(chan result, 1)
	go func() {
		st, a := call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{"timeout": 5})
		second <- result{st, a}
	}()
	r := <-first
	if r.status != http.StatusConflict || r.a.OK || r.a.ErrorCode != 409 {
		t.Errorf("the older poll: %d %+v, want 409 terminated by other getUpdates request", r.status, r.a)
	}
	s.Queue(s.Text(Customer{ID: 12, FirstName: "B"}, "wake up"))
	r = <-second
	var got []Update
	json.Unmarshal(r.a.Result, &got)
	if !r.a.OK || len(got) != 1 || got[0].Message.Text != "wake up" {
		t.Errorf("the waiting poll: %+v", r.a)
	}
}

func TestErrorsInBotAPIShape(t *testing.T) {
	s := New(t)
	ctx := ctxFor(t)
	if st, a := call(t, ctx, s.URL(), "1:wrong", "getMe", nil); st != 401 || a.OK || a.ErrorCode != 401 || a.Description != "Unauthorized" {
		t.Errorf("wrong token: %d %+v", st, a)
	}
	if st, a := call(t, ctx, s.URL(), s.Token, "sendMessage", map[string]any{"chat_id": 99, "text": "hi"}); st != 400 || a.Description != "Bad Request: chat not found" {
		t.Errorf("unknown chat: %d %+v", st, a)
	}
	s.Text(Customer{ID: 13}, "hello")
	if st, a := call(t, ctx, s.URL(), s.Token, "sendMessage", map[string]any{"chat_id": 13, "text": ""}); st != 400 || a.Description != "Bad Request: message text is empty" {
		t.Errorf("empty text: %d %+v", st, a)
	}
	s.Block(13)
	if st, a := call(t, ctx, s.URL(), s.Token, "sendMessage", map[string]any{"chat_id": 13, "text": "hi"}); st != 403 || a.Description != "Forbidden: bot was blocked by the user" {
		t.Errorf("blocked: %d %+v", st, a)
	}
	call(t, ctx, s.URL(), s.Token, "setWebhook", map[string]any{"url": "https://hub.example.com/hook", "secret_token": "abc"})
	if st, a := call(t, ctx, s.URL(), s.Token, "getUpdates", map[string]any{}); st != 409 || a.ErrorCode != 409 {
		t.Errorf("getUpdates with a webhook: %d %+v", st, a)
	}
	if st, a := call(t, ctx, s.URL(), s.Token, "setWebhook", map[string]any{"url": "https://x", "secret_token": "not allowed!"}); st != 400 || a.OK {
		t.Errorf("a bad secret_token: %d %+v", st, a)
	}
}
