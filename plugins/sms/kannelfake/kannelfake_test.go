package kannelfake

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func sendsms(t *testing.T, s *Server, q url.Values) (int, string) {
	t.Helper()
	resp, err := http.Get(s.URL + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestSendsms: the answers are smsbox 1.4.5's, as the real gateway gives them.
func TestSendsms(t *testing.T) {
	s := New(t)
	ok := func() url.Values {
		return url.Values{"username": {s.Username}, "password": {s.Password}, "from": {"+1"}, "to": {"+2"}, "text": {"hi"}}
	}
	for _, tc := range []struct {
		name   string
		change func(url.Values)
		status int
		body   string
	}{
		{"accepted", func(url.Values) {}, 202, "0: Accepted for delivery"},
		{"wrong password", func(q url.Values) { q.Set("password", "x") }, 403, "Authorization failed for sendsms"},
		{"no receiver", func(q url.Values) { q.Del("to") }, 400, "Missing receiver number, rejected"},
		{"a misformed udh", func(q url.Values) { q.Set("udh", "\x05\x00\x03") }, 400, "UDH field misformed, rejected"},
	} {
		q := ok()
		tc.change(q)
		if code, body := sendsms(t, s, q); code != tc.status || body != tc.body {
			t.Errorf("%s: answered %d %q, want %d %q", tc.name, code, body, tc.status, tc.body)
		}
	}
	if sent := s.Sent(); len(sent) != 1 || sent[0].Text != "hi" || sent[0].To != "+2" {
		t.Errorf("sent %+v", sent)
	}
	if n := len(s.Requests()); n != 4 {
		t.Errorf("%d requests recorded", n)
	}
}

func TestCallbacks(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	code, _, err := PostMO(context.Background(), srv.URL+"/mo?id=%I&from=%p", MO{ID: "abc", From: "+1555", To: "+1666", Text: "hi there"})
	if err != nil || code != http.StatusNoContent {
		t.Fatalf("post: %d %v", code, err)
	}
	if got.Method != http.MethodPost || got.URL.Query().Get("id") != "abc" || got.URL.Query().Get("from") != "+1555" ||
		got.Header.Get("X-Kannel-From") != "+1555" || got.Header.Get("X-Kannel-To") != "+1666" || string(body) != "hi there" {
		t.Errorf("post-url request %s %s %v %q", got.Method, got.URL, got.Header, body)
	}
	if _, err := DLR(context.Background(), srv.URL+"/dlr?status=%d&answer=%A", 16, "NACK/0x0b/Invalid Destination"); err != nil {
		t.Fatal(err)
	}
	if q := got.URL.Query(); got.Method != http.MethodGet || q.Get("status") != "16" || q.Get("answer") != "NACK/0x0b/Invalid Destination" {
		t.Errorf("dlr-url request %s %s", got.Method, got.URL)
	}
}
