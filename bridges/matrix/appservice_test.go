package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/sdk"
)

// fakeHost is the hub as the bridge sees it, recording what the bridge emits and counts.
type fakeHost struct {
	mu     sync.Mutex
	events []*sdk.Event
	counts map[string]int
	// refuse decides the hub's answer to an emitted event (nil: stored).
	refuse func(*sdk.Event) error
}

func newFakeHost() *fakeHost { return &fakeHost{counts: map[string]int{}} }

func (h *fakeHost) Emit(_ context.Context, ev *sdk.Event) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.refuse != nil {
		if err := h.refuse(ev); err != nil {
			return err
		}
	}
	h.events = append(h.events, ev)
	return nil
}

func (h *fakeHost) HasCapacity(context.Context, string) (bool, error) { return true, nil }

func (h *fakeHost) Count(name, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[name+"/"+reason]++
}

func (h *fakeHost) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (h *fakeHost) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

// messages returns the message events emitted so far.
func (h *fakeHost) messages() []*sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*sdk.Event
	for _, ev := range h.events {
		if ev.GetMessage() != nil {
			out = append(out, ev)
		}
	}
	return out
}

// fakeHomeserver answers sends with an event id and everything else with M_NOT_FOUND, and
// records the sends.
type fakeHomeserver struct {
	*httptest.Server
	mu     sync.Mutex
	sends  []string // request paths of PUT …/send/…
	bodies []map[string]any
}

func newFakeHomeserver(t *testing.T) *fakeHomeserver {
	f := &fakeHomeserver{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/send/") {
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			f.mu.Lock()
			f.sends = append(f.sends, r.URL.Path)
			f.bodies = append(f.bodies, body)
			f.mu.Unlock()
			writeJSON(w, http.StatusOK, map[string]string{"event_id": "$sent"})
			return
		}
		matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "not here")
	}))
	t.Cleanup(f.Close)
	return f
}

const (
	testHSToken = "hs-token-0123456789abcdef"
	testRoom    = "!dm:example.org"
	testExpert  = "@bob:example.org"
)

// readyBridge is a configured bridge with a known DM room (alice ↔ bob), its start-up skipped.
func readyBridge(t *testing.T, homeserver string) (*bridge, *fakeHost, http.Handler) {
	t.Helper()
	b := newBridge()
	cfg := fmt.Sprintf(`{"homeserver_url": %q, "server_name": "example.org", "as_token": "as-token-0123456789abcdef", "hs_token": %q, "max_attachment_bytes": 1024}`, homeserver, testHSToken)
	configured, err := b.Configure(t.Context(), sdk.Config{JSON: []byte(cfg)})
	if err != nil {
		t.Fatal(err)
	}
	host := newFakeHost()
	b.host, b.log, b.runCtx = host, host.Logger(), t.Context()
	b.agentsRoom = "!agents:example.org"
	p := pair{agent: "alice", expert: testExpert}
	b.rooms[testRoom], b.pairs[p] = p, testRoom
	b.experts[testExpert] = &expert{name: "Bob Expert", presence: "online"}
	close(b.ready)
	return b, host, configured.Handler
}

func put(t *testing.T, h http.Handler, path, token, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPut, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errcodeOf(rec *httptest.ResponseRecorder) string {
	var body struct {
		Errcode string `json:"errcode"`
	}
	json.Unmarshal(rec.Body.Bytes(), &body)
	return body.Errcode
}

func messageTxn(eventID, room, sender, content string) string {
	return fmt.Sprintf(`{"events": [{"event_id": %q, "type": "m.room.message", "room_id": %q, "sender": %q, "origin_server_ts": 1700000000000, "content": %s}]}`,
		eventID, room, sender, content)
}

func TestTransactionToken(t *testing.T) {
	_, host, h := readyBridge(t, newFakeHomeserver(t).URL)
	txn := messageTxn("$1", testRoom, testExpert, `{"msgtype": "m.text", "body": "hi"}`)

	rec := put(t, h, "/_matrix/app/v1/transactions/1", "forged-token-0123456789", txn)
	if rec.Code != http.StatusForbidden || errcodeOf(rec) != "M_FORBIDDEN" {
		t.Errorf("forged hs_token: %d %s, want 403 M_FORBIDDEN", rec.Code, rec.Body)
	}
	if host.count("appservice_rejected/forged_token") != 1 {
		t.Errorf("forged token not counted: %v", host.counts)
	}
	rec = put(t, h, "/_matrix/app/v1/transactions/1", "", txn)
	if rec.Code != http.StatusUnauthorized || errcodeOf(rec) != "M_UNAUTHORIZED" {
		t.Errorf("no token: %d %s, want 401 M_UNAUTHORIZED", rec.Code, rec.Body)
	}
	// A token in a query parameter must be the right one too.
	rec = put(t, h, "/_matrix/app/v1/transactions/1?access_token=nope", "", txn)
	if rec.Code != http.StatusForbidden {
		t.Errorf("forged access_token parameter: %d, want 403", rec.Code)
	}
	if n := len(host.messages()); n != 0 {
		t.Fatalf("refused requests emitted %d messages", n)
	}

	rec = put(t, h, "/_matrix/app/v1/transactions/1?access_token="+testHSToken, "", txn)
	if rec.Code != http.StatusOK {
		t.Errorf("access_token parameter (legacy auth): %d %s", rec.Code, rec.Body)
	}
	// Legacy path, and the double slash a registration url ending in "/" produces.
	for i, path := range []string{"/transactions/2", "//_matrix/app/v1/transactions/3"} {
		rec = put(t, h, path, testHSToken, messageTxn(fmt.Sprintf("$%d", i+2), testRoom, testExpert, `{"msgtype": "m.text", "body": "hi"}`))
		if rec.Code != http.StatusOK {
			t.Errorf("PUT %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if n := len(host.messages()); n != 3 {
		t.Errorf("%d messages emitted, want 3", n)
	}
}

func TestTransactionReplayed(t *testing.T) {
	_, host, h := readyBridge(t, newFakeHomeserver(t).URL)
	txn := messageTxn("$m1", testRoom, testExpert, `{"msgtype": "m.text", "body": "first", "format": "org.matrix.custom.html", "formatted_body": "<b>first</b><script>alert(1)</script>"}`)
	for i := range 3 {
		if rec := put(t, h, "/_matrix/app/v1/transactions/77", testHSToken, txn); rec.Code != http.StatusOK {
			t.Fatalf("attempt %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	msgs := host.messages()
	if len(msgs) != 1 {
		t.Fatalf("a transaction sent 3 times emitted %d messages, want 1", len(msgs))
	}
	ev := msgs[0]
	if ev.GetId() != "matrix:$m1" || ev.GetConversation() != sdk.ExpertChatKey("alice", testExpert) {
		t.Errorf("event id %q conversation %q", ev.GetId(), ev.GetConversation())
	}
	m := ev.GetMessage()
	if m.GetFrom().GetKind() != sdk.AsExpert || m.GetFrom().GetId() != testExpert || m.GetFrom().GetDisplayName() != "Bob Expert" {
		t.Errorf("from %v", m.GetFrom())
	}
	if m.GetContent().GetText() != "first" || m.GetContent().GetHtml() != "<b>first</b>" {
		t.Errorf("content %q / %q, want the script gone", m.GetContent().GetText(), m.GetContent().GetHtml())
	}
}

func TestTransactionRetriedAfterHubFailure(t *testing.T) {
	_, host, h := readyBridge(t, newFakeHomeserver(t).URL)
	host.refuse = func(*sdk.Event) error { return context.DeadlineExceeded }
	txn := messageTxn("$r1", testRoom, testExpert, `{"msgtype": "m.text", "body": "again"}`)
	if rec := put(t, h, "/_matrix/app/v1/transactions/9", testHSToken, txn); rec.Code != http.StatusInternalServerError {
		t.Fatalf("hub unavailable: %d %s, want 500 so the homeserver resends", rec.Code, rec.Body)
	}
	host.mu.Lock()
	host.refuse = nil
	host.mu.Unlock()
	if rec := put(t, h, "/_matrix/app/v1/transactions/9", testHSToken, txn); rec.Code != http.StatusOK {
		t.Fatalf("resent: %d %s", rec.Code, rec.Body)
	}
	if n := len(host.messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestTransactionUnknownRoomAndEcho(t *testing.T) {
	_, host, h := readyBridge(t, newFakeHomeserver(t).URL)
	txn := `{"events": [
	  {"event_id": "$u1", "type": "m.room.message", "room_id": "!elsewhere:example.org", "sender": "@bob:example.org", "content": {"msgtype": "m.text", "body": "lost"}},
	  {"event_id": "$u2", "type": "m.room.message", "room_id": "!dm:example.org", "sender": "@sb_alice:example.org", "content": {"msgtype": "m.text", "body": "echo of the agent"}},
	  {"event_id": "$u3", "type": "m.room.message", "room_id": "!dm:example.org", "sender": "@switchboard:example.org", "content": {"msgtype": "m.text", "body": "bot"}},
	  {"event_id": "$u4", "type": "m.room.message", "room_id": "!agents:example.org", "sender": "@bob:example.org", "content": {"msgtype": "m.text", "body": "hello agents"}},
	  {"event_id": "$u5", "type": "m.room.message", "room_id": "!dm:example.org", "sender": "@mallory:example.org", "content": {"msgtype": "m.text", "body": "not the expert"}},
	  {"event_id": "$u6", "type": "m.reaction", "room_id": "!dm:example.org", "sender": "@bob:example.org", "content": {}}
	]}`
	if rec := put(t, h, "/_matrix/app/v1/transactions/u", testHSToken, txn); rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if msgs := host.messages(); len(msgs) != 0 {
		t.Errorf("emitted %d messages (first %v), want none", len(msgs), msgs[0])
	}
	if host.count("events_dropped/unknown_room") != 1 || host.count("events_dropped/not_the_expert") != 1 {
		t.Errorf("counts %v", host.counts)
	}
}

func TestTransactionMalformed(t *testing.T) {
	_, host, h := readyBridge(t, newFakeHomeserver(t).URL)
	for _, body := range []string{`{"events": [`, `not json`, `{"events": {"a": 1}}`, `{"events": [{"event_id": 5}]}`} {
		rec := put(t, h, "/_matrix/app/v1/transactions/bad", testHSToken, body)
		if rec.Code != http.StatusBadRequest || errcodeOf(rec) != "M_NOT_JSON" {
			t.Errorf("%q: %d %s, want 400 M_NOT_JSON", body, rec.Code, rec.Body)
		}
	}
	if host.count("appservice_rejected/malformed") != 4 {
		t.Errorf("counts %v", host.counts)
	}
	rec := put(t, h, "/_matrix/app/v1/transactions/big", testHSToken, `{"events": [], "pad": "`+strings.Repeat("x", maxTransactionBytes)+`"}`)
	if rec.Code != http.StatusRequestEntityTooLarge || host.count("appservice_rejected/too_large") != 1 {
		t.Errorf("oversized transaction: %d, counts %v", rec.Code, host.counts)
	}
}

// TestRefusalsToldToTheExpert: what the hub refuses and files too large for the agent are
// explained in the room, once per event even when the transaction comes again.
func TestRefusalsToldToTheExpert(t *testing.T) {
	hs := newFakeHomeserver(t)
	_, host, h := readyBridge(t, hs.URL)
	host.refuse = func(ev *sdk.Event) error {
		if ev.GetMessage().GetContent().GetText() == "to nobody" {
			return &sdk.RejectedError{Reason: "no agent alice"}
		}
		return nil
	}
	txn := `{"events": [
	  {"event_id": "$x1", "type": "m.room.message", "room_id": "!dm:example.org", "sender": "@bob:example.org", "content": {"msgtype": "m.text", "body": "to nobody"}},
	  {"event_id": "$x2", "type": "m.room.message", "room_id": "!dm:example.org", "sender": "@bob:example.org", "content": {"msgtype": "m.file", "body": "big.bin", "url": "mxc://example.org/abc", "info": {"size": 4096}}},
	  {"event_id": "$x3", "type": "m.room.encrypted", "room_id": "!dm:example.org", "sender": "@bob:example.org", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
	]}`
	for _, id := range []string{"r1", "r2"} {
		if rec := put(t, h, "/_matrix/app/v1/transactions/"+id, testHSToken, txn); rec.Code != http.StatusOK {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	if n := len(host.messages()); n != 0 {
		t.Errorf("%d messages stored, want none", n)
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.sends) != 6 {
		t.Fatalf("notices sent: %v", hs.sends)
	}
	txns := map[string]bool{}
	for i, path := range hs.sends {
		if !strings.Contains(path, "/rooms/!dm:example.org/send/m.room.message/") {
			t.Errorf("notice sent to %s", path)
		}
		if hs.bodies[i]["msgtype"] != "m.notice" {
			t.Errorf("notice %d is %v", i, hs.bodies[i])
		}
		txns[path[strings.LastIndex(path, "/")+1:]] = true
	}
	if len(txns) != 3 {
		t.Errorf("a resent transaction must reuse its notices' transaction ids: %d distinct ids for 6 sends", len(txns))
	}
	body, _ := hs.bodies[0]["body"].(string)
	if !strings.Contains(body, "no agent alice") {
		t.Errorf("rejection notice %q does not give the hub's reason", body)
	}
	if host.count("events_dropped/attachment_too_large") != 2 || host.count("events_dropped/encrypted") != 2 {
		t.Errorf("counts %v", host.counts)
	}
}

func TestQueryUser(t *testing.T) {
	b, _, h := readyBridge(t, newFakeHomeserver(t).URL)
	req := httptest.NewRequest(http.MethodGet, "/_matrix/app/v1/users/@sb_nobody:example.org", nil)
	req.Header.Set("Authorization", "Bearer "+testHSToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown agent: %d", rec.Code)
	}
	b.agents["carol"] = &agent{announced: true, name: "Carol", registered: true, nameSet: "Carol", inAgentsRoom: true, directLoaded: true}
	req = httptest.NewRequest(http.MethodGet, "/_matrix/app/v1/users/@sb_carol:example.org", nil)
	req.Header.Set("Authorization", "Bearer "+testHSToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("announced agent: %d %s", rec.Code, rec.Body)
	}
	req = httptest.NewRequest(http.MethodGet, "/_matrix/app/v1/users/@sb_carol:example.org", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("query without token: %d", rec.Code)
	}
}
