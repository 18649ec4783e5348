package twiliofake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// create posts a Messages.json create as a client would.
func create(t *testing.T, s *Server, user, pass string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/"+s.AccountSID+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("the answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func TestCreateMessage(t *testing.T) {
	s := New(t, "+15559990000")
	code, body := create(t, s, s.AccountSID, s.AuthToken, url.Values{"To": {"+15550001111"}, "From": {"+15559990000"},
		"Body": {"hello"}, "StatusCallback": {"https://hub.example.com/c/sms/twilio/status?event=e1"}})
	if code != http.StatusCreated {
		t.Fatalf("answered %d %v", code, body)
	}
	for _, field := range []string{"account_sid", "api_version", "body", "date_created", "date_sent", "date_updated", "direction",
		"error_code", "error_message", "from", "messaging_service_sid", "num_media", "num_segments", "price", "price_unit",
		"sid", "status", "subresource_uris", "to", "uri"} {
		if _, ok := body[field]; !ok {
			t.Errorf("the created message has no %s", field)
		}
	}
	sid, _ := body["sid"].(string)
	if !strings.HasPrefix(sid, "SM") || len(sid) != 34 || body["status"] != "queued" || body["direction"] != "outbound-api" || body["num_segments"] != "1" {
		t.Errorf("message %v", body)
	}
	if m := s.Messages(); len(m) != 1 || m[0].SID != sid || m[0].StatusCallback != "https://hub.example.com/c/sms/twilio/status?event=e1" {
		t.Errorf("kept %+v", m)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Form.Get("Body") != "hello" || r[0].User != s.AccountSID || r[0].Status != 201 {
		t.Errorf("recorded %+v", r)
	}
}

func TestCreateErrors(t *testing.T) {
	s := New(t, "+15559990000")
	s.OptOut("+15550002222", "+15559990000")
	ok := url.Values{"To": {"+15550001111"}, "From": {"+15559990000"}, "Body": {"hello"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vals := range ok {
			f[key] = vals
		}
		f.Set(k, v)
		return f
	}
	for _, tc := range []struct {
		name       string
		user, pass string
		form       url.Values
		status     int
		code       float64
	}{
		{"wrong token", s.AccountSID, "nope", ok, 401, 20003},
		{"invalid To", s.AccountSID, s.AuthToken, with("To", "555"), 400, 21211},
		{"a From not owned", s.AccountSID, s.AuthToken, with("From", "+15550009999"), 400, 21606},
		{"no body", s.AccountSID, s.AuthToken, with("Body", ""), 400, 21602},
		{"too long", s.AccountSID, s.AuthToken, with("Body", strings.Repeat("x", 1601)), 400, 21617},
		{"opted out", s.AccountSID, s.AuthToken, with("To", "+15550002222"), 400, 21610},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := create(t, s, tc.user, tc.pass, tc.form)
			if code != tc.status || body["code"] != tc.code || body["status"] != float64(tc.status) || body["message"] == "" ||
				body["more_info"] != fmt.Sprintf("https://www.twilio.com/docs/errors/%d", int(tc.code)) {
				t.Errorf("answered %d %v", code, body)
			}
		})
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages created by refused requests", n)
	}
}

func TestWebhooksAreSigned(t *testing.T) {
	s := New(t, "+15559990000")
	var got *http.Request
	var form url.Values
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got, form = r, r.PostForm
	}))
	defer hook.Close()
	s.Reach(func(u string) string { return strings.Replace(u, "https://hub.example.com/", hook.URL+"/", 1) })
	params := s.IncomingParams("+15550001111", "+15559990000", "hi", Media{URL: "https://api.twilio.com/m/1", ContentType: "image/png"})
	if code, _, err := s.Post(context.Background(), "https://hub.example.com/c/sms/twilio/sms", params); err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	if sig := got.Header.Get("X-Twilio-Signature"); sig != Sign(s.AuthToken, "https://hub.example.com/c/sms/twilio/sms", form) {
		t.Errorf("signature %q does not sign the public URL and the form", sig)
	}
	if !strings.HasPrefix(form.Get("MessageSid"), "MM") || form.Get("NumMedia") != "1" || form.Get("MediaUrl0") != "https://api.twilio.com/m/1" || form.Get("AccountSid") != s.AccountSID {
		t.Errorf("form %v", form)
	}
}
