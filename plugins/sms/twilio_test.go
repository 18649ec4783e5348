package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/plugins/sms/twiliofake"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

const (
	ourNumber  = "+15559990000"
	customerNo = "+15550001111"
	publicBase = "https://hub.example.com/c/sms-test/"
)

// The published test vector of Twilio's request validation (twilio-go,
// client/request_validator_test.go): auth token 12345, this URL and these parameters.
var (
	vectorURL    = "https://mycompany.com/myapp.php?foo=1&bar=2"
	vectorParams = url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"},
		"Caller": {"+14158675309"}, "From": {"+14158675309"}}
)

func TestTwilioSignatureVector(t *testing.T) {
	if got := twilioSignature("12345", vectorURL, vectorParams); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("signature of the published vector = %s, want RSOYDt4T1cUTdK1PDd93/VVr8B8=", got)
	}
	for _, tc := range []struct {
		name, url, signature string
		ok                   bool
	}{
		{"as published", vectorURL, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"Twilio signed with :443, configured without", vectorURL, "kvajT1Ptam85bY51eRf/AJRuM3w=", true},
		{"configured with :443, Twilio signed without", strings.Replace(vectorURL, ".com", ".com:443", 1), "RSOYDt4T1cUTdK1PDd93/VVr8B8=", true},
		{"http", strings.Replace(vectorURL, "https", "http", 1), "0ZXoZLH/DfblKGATFgpif+LLRf4=", true},
		{"http with a port of its own", strings.Replace(strings.Replace(vectorURL, "https", "http", 1), ".com", ".com:1234", 1), "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", true},
		{"wrong signature", vectorURL, "WRONG SIGNATURE", false},
		{"another URL", "https://mycompany.com/myapp.php?foo=1&bar=3", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", false},
	} {
		if got := verifyTwilio("12345", tc.url, vectorParams, tc.signature); got != tc.ok {
			t.Errorf("%s: verify = %v, want %v", tc.name, got, tc.ok)
		}
	}
	if verifyTwilio("54321", vectorURL, vectorParams, "RSOYDt4T1cUTdK1PDd93/VVr8B8=") {
		t.Error("a signature made with another auth token verified")
	}
	// The fake signs independently of the plugin: both must agree with the vector.
	if got := twiliofake.Sign("12345", vectorURL, vectorParams); got != "RSOYDt4T1cUTdK1PDd93/VVr8B8=" {
		t.Errorf("twiliofake.Sign of the published vector = %s", got)
	}
}

// twilioLine is a Twilio line of the plugin against the fake account.
type twilioLine struct {
	*line
	fake *twiliofake.Server
}

func startTwilio(t *testing.T, extra map[string]any) *twilioLine {
	t.Helper()
	fake := twiliofake.New(t, ourNumber, "+15559990001")
	cfg := map[string]any{"adapter": "twilio", "numbers": []string{ourNumber, "+15559990001"}, "default_queue": "support",
		"queue_by_number": map[string]string{"+15559990001": "billing"},
		"twilio":          map[string]any{"account_sid": fake.AccountSID, "auth_token": fake.AuthToken, "public_url": publicBase, "api_base": fake.URL}}
	for k, v := range extra {
		cfg[k] = v
	}
	l := startLine(t, cfg)
	fake.Reach(func(u string) string { return strings.Replace(u, publicBase, l.srv.URL+"/", 1) })
	return &twilioLine{line: l, fake: fake}
}

// sms has the customer text ours and returns the status and body of the plugin's answer.
func (l *twilioLine) sms(t *testing.T, from, to, body string, media ...twiliofake.Media) (int, string, url.Values) {
	t.Helper()
	params := l.fake.IncomingParams(from, to, body, media...)
	code, answer, err := l.fake.Post(ctxFor(t), publicBase+"twilio/sms", params)
	if err != nil {
		t.Fatal(err)
	}
	return code, answer, params
}

func TestTwilioInbound(t *testing.T) {
	l := startTwilio(t, nil)
	code, answer, params := l.sms(t, customerNo, ourNumber, "Hello, my order is late")
	if code != http.StatusOK || answer != twimlEmpty {
		t.Fatalf("the webhook answered %d %q, want 200 and empty TwiML", code, answer)
	}
	key := "sms:" + customerNo + "|" + ourNumber
	events := l.host.Events()
	if len(events) != 2 {
		t.Fatalf("emitted %d events, want conversation_started and message: %v", len(events), events)
	}
	started := events[0]
	st := started.GetConversationStarted()
	if st == nil || started.Conversation != key || !strings.HasPrefix(started.Id, "start:"+params.Get("MessageSid")+":") {
		t.Fatalf("first event %v: want conversation_started of %s", started, key)
	}
	if c := st.GetCustomer(); c.GetAddress() != customerNo || c.GetPhone() != customerNo {
		t.Errorf("customer %v: want address and phone %s", c, customerNo)
	}
	if st.Queue != "support" || st.Origin != "SMS to "+ourNumber {
		t.Errorf("queue %q origin %q", st.Queue, st.Origin)
	}
	msg := events[1]
	if msg.Id != "sms:"+params.Get("MessageSid") || msg.Conversation != key {
		t.Errorf("message id %q conversation %q", msg.Id, msg.Conversation)
	}
	m := msg.GetMessage()
	if m.GetFrom().GetKind() != sdk.AsCustomer || m.GetFrom().GetId() != customerNo {
		t.Errorf("message from %v", m.GetFrom())
	}
	if m.GetContent().GetText() != "Hello, my order is late" || m.GetContent().GetHtml() != "<p>Hello, my order is late</p>" {
		t.Errorf("content %v", m.GetContent())
	}

	t.Run("Twilio's retry is acknowledged once more, nothing new stored", func(t *testing.T) {
		code, answer, err := l.fake.Post(ctxFor(t), publicBase+"twilio/sms", params)
		if err != nil || code != http.StatusOK || answer != twimlEmpty {
			t.Fatalf("retry answered %d %q %v", code, answer, err)
		}
		if n := len(l.host.Events()); n != 2 {
			t.Errorf("%d events after the retry, want 2", n)
		}
	})
	t.Run("the next text continues the conversation", func(t *testing.T) {
		l.sms(t, customerNo, ourNumber, "Any news?")
		events := l.host.Events()
		if len(events) != 3 || events[2].GetMessage().GetContent().GetText() != "Any news?" || events[2].Conversation != key {
			t.Fatalf("events %v: want one more message in %s, no new start", events, key)
		}
	})
	t.Run("our other number is another conversation in its own queue", func(t *testing.T) {
		l.sms(t, customerNo, "+15559990001", "Billing question")
		ev := l.host.Await(t, "a start on +15559990001", func(ev *sdk.Event) bool {
			return ev.GetConversationStarted() != nil && ev.Conversation == "sms:"+customerNo+"|+15559990001"
		})
		if ev.GetConversationStarted().Queue != "billing" {
			t.Errorf("queue %q, want billing", ev.GetConversationStarted().Queue)
		}
	})
}

func TestTwilioMMS(t *testing.T) {
	l := startTwilio(t, nil)
	code, _, _ := l.sms(t, customerNo, ourNumber, "",
		twiliofake.Media{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", ContentType: "image/jpeg"},
		twiliofake.Media{URL: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2", ContentType: "application/pdf"})
	if code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	msg := l.host.Await(t, "the MMS", func(ev *sdk.Event) bool { return ev.GetMessage() != nil })
	atts := msg.GetMessage().GetContent().GetAttachments()
	if len(atts) != 2 {
		t.Fatalf("attachments %v", atts)
	}
	if atts[0].Url != "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1" || atts[0].ContentType != "image/jpeg" || !strings.HasPrefix(atts[0].Name, "mms-1.") {
		t.Errorf("first attachment %v", atts[0])
	}
	if atts[1].ContentType != "application/pdf" || atts[1].Name != "mms-2.pdf" || len(atts[1].Data) != 0 {
		t.Errorf("second attachment %v", atts[1])
	}
}

// TestTwilioRefused: every bad request is answered with a precise 4xx, counted, and stores
// nothing.
func TestTwilioRefused(t *testing.T) {
	l := startTwilio(t, nil)
	good := func() url.Values { return l.fake.IncomingParams(customerNo, ourNumber, "hello") }
	post := func(t *testing.T, u string, params url.Values, signature string) int {
		code, _, err := l.fake.PostSigned(ctxFor(t), u, params, signature)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	smsURL := publicBase + "twilio/sms"
	for _, tc := range []struct {
		name   string
		send   func(t *testing.T) int
		status int
		reason string
	}{
		{"no signature", func(t *testing.T) int { return post(t, smsURL, good(), "") }, 403, reasonForged},
		{"forged signature", func(t *testing.T) int { return post(t, smsURL, good(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=") }, 403, reasonForged},
		{"re-signed with another token", func(t *testing.T) int {
			p := good()
			return post(t, smsURL, p, twiliofake.Sign("not-the-token", smsURL, p))
		}, 403, reasonForged},
		{"signed for another URL", func(t *testing.T) int {
			p := good()
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, "https://evil.example.com/c/sms-test/twilio/sms", p))
		}, 403, reasonForged},
		{"body changed after signing", func(t *testing.T) int {
			p := good()
			sig := twiliofake.Sign(l.fake.AuthToken, smsURL, p)
			p.Set("Body", "changed")
			return post(t, smsURL, p, sig)
		}, 403, reasonForged},
		{"another account", func(t *testing.T) int {
			p := good()
			p.Set("AccountSid", "AC00000000000000000000000000000000")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 403, reasonForged},
		{"malformed form", func(t *testing.T) int {
			return raw(t, l.srv.URL+"/twilio/sms", "Body=%zz&From=x", l.fake.AuthToken, smsURL)
		}, 400, reasonMalformed},
		{"truncated form", func(t *testing.T) int {
			return raw(t, l.srv.URL+"/twilio/sms", good().Encode()[:40]+"%2", l.fake.AuthToken, smsURL)
		}, 400, reasonMalformed},
		{"JSON instead of a form", func(t *testing.T) int { return rawJSON(t, l.srv.URL+"/twilio/sms") }, 400, reasonMalformed},
		{"no MessageSid", func(t *testing.T) int {
			p := good()
			p.Del("MessageSid")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 400, reasonMalformed},
		{"NumMedia not a number", func(t *testing.T) int {
			p := good()
			p.Set("NumMedia", "two")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 400, reasonMalformed},
		{"media without a URL", func(t *testing.T) int {
			p := good()
			p.Set("NumMedia", "1")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 400, reasonMalformed},
		{"more media than Twilio sends", func(t *testing.T) int {
			p := good()
			p.Set("NumMedia", "11")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 413, reasonOversized},
		{"oversized body", func(t *testing.T) int {
			p := good()
			p.Set("Body", strings.Repeat("x", maxWebhookBytes))
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 413, reasonOversized},
		{"unknown number", func(t *testing.T) int {
			p := l.fake.IncomingParams(customerNo, "+15557770000", "hello")
			return post(t, smsURL, p, twiliofake.Sign(l.fake.AuthToken, smsURL, p))
		}, 404, reasonUnknownNum},
		{"status callback forged", func(t *testing.T) int {
			u := publicBase + "twilio/status?event=x"
			p := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "MessageStatus": {"delivered"}, "AccountSid": {l.fake.AccountSID}}
			return post(t, u, p, twiliofake.Sign("not-the-token", u, p))
		}, 403, reasonForged},
		{"status callback without event", func(t *testing.T) int {
			u := publicBase + "twilio/status"
			p := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "MessageStatus": {"delivered"}, "AccountSid": {l.fake.AccountSID}, "From": {ourNumber}, "To": {customerNo}}
			return post(t, u, p, twiliofake.Sign(l.fake.AuthToken, u, p))
		}, 400, reasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := l.host.count(tc.reason)
			if got := tc.send(t); got != tc.status {
				t.Errorf("answered %d, want %d", got, tc.status)
			}
			if l.host.count(tc.reason) != before+1 {
				t.Errorf("not counted as %s", tc.reason)
			}
			if n := len(l.host.Events()); n != 0 {
				t.Errorf("%d events emitted for a refused request", n)
			}
		})
	}
}

// raw posts a body as it is, signed over whatever form it parses to (nothing when it does not).
func raw(t *testing.T, target, body, token, signURL string) int {
	t.Helper()
	params, _ := url.ParseQuery(body)
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliofake.Sign(token, signURL, params))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func rawJSON(t *testing.T, target string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(`{"Body":"hello"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Signature", "x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTwilioDisabled(t *testing.T) {
	l := startTwilio(t, map[string]any{"disabled": true})
	if code, _, _ := l.sms(t, customerNo, ourNumber, "hello"); code != http.StatusGone {
		t.Errorf("answered %d, want 410", code)
	}
	if l.host.count(reasonDisabled) != 1 || len(l.host.Events()) != 0 {
		t.Errorf("counted %d, emitted %v", l.host.count(reasonDisabled), l.host.Events())
	}
	err := l.p.Deliver(ctxFor(t), agentMessage("ev-1", "sms:"+customerNo+"|"+ourNumber, "hi", ""))
	if reason, ok := sdk.IsRejected(err); !ok || !strings.Contains(reason, "disabled") {
		t.Errorf("Deliver on a disabled line: %v", err)
	}
	if n := len(l.fake.Requests()); n != 0 {
		t.Errorf("%d API requests from a disabled line", n)
	}
}

// TestTwilioAckAfterStore: Twilio hears 200 only once the hub stored the message, and 503 when
// the hub could not, so the webhook is sent again.
func TestTwilioAckAfterStore(t *testing.T) {
	l := startTwilio(t, nil)
	l.host.Fail(func(*sdk.Event) error { return errors.New("the hub is unreachable") })
	code, _, params := l.sms(t, customerNo, ourNumber, "are you there?")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("answered %d while the hub could not store, want 503", code)
	}
	l.host.Fail(nil)
	code, _, err := l.fake.Post(ctxFor(t), publicBase+"twilio/sms", params)
	if err != nil || code != http.StatusOK {
		t.Fatalf("the retry answered %d %v", code, err)
	}
	l.host.Await(t, "the message after the retry", func(ev *sdk.Event) bool { return ev.Id == "sms:"+params.Get("MessageSid") })

	release := l.host.Hold(nil)
	answered := make(chan int, 1)
	go func() {
		code, _, _ := l.fake.Post(context.Background(), publicBase+"twilio/sms", l.fake.IncomingParams(customerNo, ourNumber, "held"))
		answered <- code
	}()
	l.host.AwaitHeld(t)
	select {
	case code := <-answered:
		t.Fatalf("answered %d before the hub stored the message", code)
	default:
	}
	release()
	if code := <-answered; code != http.StatusOK {
		t.Errorf("answered %d once stored", code)
	}
}

func TestTwilioDeliver(t *testing.T) {
	l := startTwilio(t, nil)
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	ev := agentMessage("agent:u1:c1", key, "", `<p>Your parcel ships <b>today</b>: <a href="https://track.example.com/X1">track it</a></p>`)
	if err := l.p.Deliver(ctx, ev); err != nil {
		t.Fatal(err)
	}
	reqs := l.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d API requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/2010-04-01/Accounts/"+l.fake.AccountSID+"/Messages.json" || r.Status != http.StatusCreated {
		t.Errorf("request %s %s answered %d", r.Method, r.Path, r.Status)
	}
	if r.User != l.fake.AccountSID || r.Password != l.fake.AuthToken || r.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("auth %s:%s content type %s", r.User, r.Password, r.ContentType)
	}
	want := map[string]string{"To": customerNo, "From": ourNumber, "Body": "Your parcel ships today: track it (https://track.example.com/X1)",
		"StatusCallback": publicBase + "twilio/status?event=agent%3Au1%3Ac1"}
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(r.Form) != len(want) {
		t.Errorf("form %v has fields beyond %v", r.Form, want)
	}

	t.Run("the same event again sends nothing", func(t *testing.T) {
		if err := l.p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
		if n := len(l.fake.Messages()); n != 1 {
			t.Errorf("%d messages at Twilio, want 1", n)
		}
	})
	t.Run("status callbacks become delivery receipts", func(t *testing.T) {
		sid := l.fake.Messages()[0].SID
		for _, status := range []string{"queued", "sent", "delivered"} {
			if code, err := l.fake.SendStatus(ctx, sid, status, ""); err != nil || code != http.StatusNoContent {
				t.Fatalf("status %s answered %d %v", status, code, err)
			}
		}
		var receipts []*pb.DeliveryReceipt
		for _, ev := range l.host.Events() {
			if r := ev.GetDeliveryReceipt(); r != nil {
				if ev.Conversation != key {
					t.Errorf("receipt in conversation %q", ev.Conversation)
				}
				receipts = append(receipts, r)
			}
		}
		if len(receipts) != 2 || receipts[0].Status != pb.DeliveryStatus_DELIVERY_STATUS_SENT || receipts[1].Status != pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED {
			t.Fatalf("receipts %v: want sent then delivered (queued is not reported)", receipts)
		}
		for _, r := range receipts {
			if r.MessageEventId != "agent:u1:c1" {
				t.Errorf("receipt for %q", r.MessageEventId)
			}
		}
	})
	t.Run("a failure carries Twilio's error", func(t *testing.T) {
		ev := agentMessage("agent:u1:c2", key, "second", "")
		if err := l.p.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
		sid := l.fake.Messages()[1].SID
		if code, err := l.fake.SendStatus(ctx, sid, "undelivered", "30003"); err != nil || code != http.StatusNoContent {
			t.Fatalf("answered %d %v", code, err)
		}
		r := l.host.Await(t, "the failure receipt", func(ev *sdk.Event) bool {
			return ev.GetDeliveryReceipt().GetMessageEventId() == "agent:u1:c2"
		}).GetDeliveryReceipt()
		if r.Status != pb.DeliveryStatus_DELIVERY_STATUS_FAILED || r.Reason != "Twilio reports the message undelivered: error 30003, unreachable destination handset" {
			t.Errorf("receipt %v", r)
		}
	})
}

func TestTwilioDeliverRefusals(t *testing.T) {
	l := startTwilio(t, map[string]any{"max_segments": 2})
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	for _, tc := range []struct {
		name    string
		fail    *twiliofake.Failure
		ev      *sdk.Event
		reason  string // "" for an error to retry
		problem bool   // the health check reports it
	}{
		{"too many segments", nil, agentMessage("e1", key, strings.Repeat("word ", 70), ""), "needs 3 SMS segments", false},
		{"a file without a link", nil, sdk.NewMessage("e2", key, sdk.Agent("sam", "Sam"), &sdk.Content{Text: "see", Attachments: []*sdk.Attachment{{Name: "a.pdf", Data: []byte("x")}}}), `"a.pdf" cannot be sent by SMS`, false},
		{"not an SMS conversation", nil, agentMessage("e3", "webchat-key", "hi", ""), "not an SMS conversation", false},
		{"a number no longer ours", nil, agentMessage("e4", "sms:"+customerNo+"|+15550000000", "hi", ""), "no longer a number", false},
		{"invalid To", &twiliofake.Failure{Status: 400, Code: 21211, Message: "Invalid 'To' Phone Number: +1555"}, agentMessage("e5", key, "hi", ""), "Twilio refused the message: Invalid 'To' Phone Number: +1555 (error 21211)", false},
		{"Twilio down", &twiliofake.Failure{Status: 500, Code: 20500, Message: "Internal Server Error"}, agentMessage("e6", key, "hi", ""), "", false},
		{"rate limited", &twiliofake.Failure{Status: 429, Code: 20429, Message: "Too Many Requests"}, agentMessage("e7", key, "hi", ""), "", false},
		{"wrong credentials", &twiliofake.Failure{Status: 401, Code: 20003, Message: "Authenticate"}, agentMessage("e8", key, "hi", ""), "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fail != nil {
				l.fake.FailNext(*tc.fail)
			}
			err := l.p.Deliver(ctx, tc.ev)
			reason, rejected := sdk.IsRejected(err)
			switch {
			case err == nil:
				t.Fatal("delivered")
			case tc.reason == "" && rejected:
				t.Errorf("rejected for good (%s); want an error to retry", reason)
			case tc.reason != "" && !strings.Contains(reason, tc.reason):
				t.Errorf("error %v, want a rejection saying %q", err, tc.reason)
			}
			if health := l.p.Health(ctx); (health != nil) != tc.problem {
				t.Errorf("health %v", health)
			}
			l.p.setProblem("")
		})
	}
	t.Run("a recipient Twilio knows opted out", func(t *testing.T) {
		l.fake.OptOut(customerNo, ourNumber)
		err := l.p.Deliver(ctx, agentMessage("e9", key, "hi", ""))
		if reason, ok := sdk.IsRejected(err); !ok || !strings.Contains(reason, "opted out") {
			t.Fatalf("Deliver: %v", err)
		}
		if !l.p.optOuts.has(key) {
			t.Error("the opt-out Twilio reported was not recorded")
		}
	})
}
