package metafake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type graphAnswer struct {
	Error    *GraphError      `json:"error"`
	Messages []map[string]any `json:"messages"`
	Contacts []map[string]any `json:"contacts"`
}

func send(t *testing.T, s *Server, path, token string, body any) (int, graphAnswer) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+path, bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a graphAnswer
	json.NewDecoder(res.Body).Decode(&a)
	return res.StatusCode, a
}

func TestWhatsAppSendAndWindow(t *testing.T) {
	s := New(t)
	now := time.Now()
	s.Now = func() time.Time { return now }
	path := "/" + PhoneNumberID + "/messages"
	text := map[string]any{"messaging_product": "whatsapp", "to": "4911", "type": "text", "text": map[string]any{"body": "hi"}}

	if st, a := send(t, s, path, "", text); st != 400 || a.Error == nil || a.Error.Code != 2500 {
		t.Errorf("no token: %d %+v", st, a.Error)
	}
	if st, a := send(t, s, path, "wrong", text); st != 401 || a.Error.Code != 190 || a.Error.Type != "OAuthException" {
		t.Errorf("wrong token: %d %+v", st, a.Error)
	}
	// Nobody wrote yet: free-form messages are refused with the re-engagement error.
	if st, a := send(t, s, path, s.AccessToken, text); st != 400 || a.Error.Code != 131047 || a.Error.ErrorData == nil || !strings.Contains(a.Error.ErrorData.Details, "24 hours") {
		t.Errorf("outside the window: %d %+v", st, a.Error)
	}
	s.WhatsAppText(WAUser{WaID: "4911", Name: "X"}, "hello")
	st, a := send(t, s, path, s.AccessToken, text)
	if st != 200 || len(a.Messages) != 1 || !strings.HasPrefix(a.Messages[0]["id"].(string), "wamid.") || a.Contacts[0]["wa_id"] != "4911" {
		t.Errorf("inside the window: %d %+v", st, a)
	}
	now = now.Add(Window)
	if st, a := send(t, s, path, s.AccessToken, text); st != 400 || a.Error.Code != 131047 {
		t.Errorf("24 hours later: %d %+v", st, a.Error)
	}
	tmpl := map[string]any{"messaging_product": "whatsapp", "to": "4911", "type": "template", "template": map[string]any{"name": "hello", "language": map[string]any{"code": "en"}}}
	if st, a := send(t, s, path, s.AccessToken, tmpl); st != 404 || a.Error.Code != 132001 {
		t.Errorf("an unapproved template: %d %+v", st, a.Error)
	}
	s.ApproveTemplate("hello", "en")
	if st, a := send(t, s, path, s.AccessToken, tmpl); st != 200 || a.Messages[0]["message_status"] != "accepted" {
		t.Errorf("an approved template outside the window: %d %+v", st, a)
	}
	if st, a := send(t, s, path, s.AccessToken, map[string]any{"to": "4911", "type": "text", "text": map[string]any{"body": "x"}}); st != 400 || a.Error.Code != 100 {
		t.Errorf("no messaging_product: %d %+v", st, a.Error)
	}
}

func TestWhatsAppMediaNeedsToken(t *testing.T) {
	s := New(t)
	id := s.AddWhatsAppMedia([]byte("jpeg"), "image/jpeg")
	get := func(url, token string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		return res, m
	}
	res, info := get(s.URL()+"/"+id, s.AccessToken)
	if res.StatusCode != 200 || info["mime_type"] != "image/jpeg" || info["file_size"] != float64(4) || info["id"] != id {
		t.Fatalf("media info: %d %v", res.StatusCode, info)
	}
	if res, _ := get(info["url"].(string), ""); res.StatusCode != 401 {
		t.Errorf("download without the token: %d, want 401", res.StatusCode)
	}
	if res, _ := get(info["url"].(string), s.AccessToken); res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("download with the token: %d", res.StatusCode)
	}
}

func TestMessengerSendAPI(t *testing.T) {
	s := New(t)
	now := time.Now()
	s.Now = func() time.Time { return now }
	path := "/" + PageID + "/messages"
	msg := map[string]any{"recipient": map[string]any{"id": "77"}, "messaging_type": "RESPONSE", "message": map[string]any{"text": "hi"}}
	if st, a := send(t, s, path, s.PageAccessToken, msg); st != 400 || a.Error.Code != 100 || a.Error.Subcode != 2018001 {
		t.Errorf("unknown person: %d %+v", st, a.Error)
	}
	s.MessengerText(FBUser{PSID: "77"}, "hello")
	if st, _ := send(t, s, path, s.PageAccessToken, msg); st != 200 {
		t.Errorf("inside the window: %d", st)
	}
	if st, _ := send(t, s, "/me/messages", s.PageAccessToken, msg); st != 200 {
		t.Errorf("/me/messages: %d", st)
	}
	if st, a := send(t, s, path, s.AccessToken, msg); st != 401 || a.Error.Code != 190 {
		t.Errorf("the WhatsApp token on the Page: %d %+v", st, a.Error)
	}
	now = now.Add(Window + time.Minute)
	if st, a := send(t, s, path, s.PageAccessToken, msg); st != 400 || a.Error.Code != 10 || a.Error.Subcode != 2018278 {
		t.Errorf("outside the window: %d %+v", st, a.Error)
	}
	if got := s.MessengerTexts("77"); len(got) != 2 {
		t.Errorf("sent = %q", got)
	}
}

func TestVerifyAndSignedPost(t *testing.T) {
	type delivery struct {
		header http.Header
		body   []byte
	}
	posted := make(chan delivery, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hook", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("hub.verify_token") == "tok" && r.URL.Query().Get("hub.mode") == "subscribe" {
			w.Write([]byte(r.URL.Query().Get("hub.challenge")))
			return
		}
		http.Error(w, "no", http.StatusForbidden)
	})
	mux.HandleFunc("POST /hook", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		posted <- delivery{r.Header.Clone(), body}
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ctx := context.Background()
	if _, ok, err := Verify(ctx, hs.URL+"/hook", "tok"); !ok || err != nil {
		t.Errorf("verify with the right token failed: %v", err)
	}
	if a, ok, _ := Verify(ctx, hs.URL+"/hook", "nope"); ok || a.Status != 403 {
		t.Errorf("verify with a wrong token: %+v", a)
	}
	s := New(t)
	payload, _ := s.WhatsAppText(WAUser{WaID: "1", Name: "N"}, "x")
	if _, err := s.Post(ctx, hs.URL+"/hook", payload); err != nil {
		t.Fatal(err)
	}
	d := <-posted
	if d.header.Get("X-Hub-Signature-256") != Sign(s.AppSecret, payload) || !bytes.Equal(d.body, payload) {
		t.Errorf("the webhook was not signed over its body: %q", d.header.Get("X-Hub-Signature-256"))
	}
}
