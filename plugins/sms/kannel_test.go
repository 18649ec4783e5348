package main

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/plugins/sms/kannelfake"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

const kannelSecret = "k4nnel-callback-secret-0123456789"

// kannelLine is a Kannel line of the plugin against the fake smsbox.
type kannelLine struct {
	*line
	fake *kannelfake.Server
}

func startKannel(t *testing.T, extra map[string]any) *kannelLine {
	t.Helper()
	fake := kannelfake.New(t)
	cfg := map[string]any{"adapter": "kannel", "numbers": []string{ourNumber, "12345"},
		"kannel": map[string]any{"sendsms_url": fake.URL, "username": fake.Username, "password": fake.Password,
			"callback_secret": kannelSecret, "public_url": publicBase, "smsc": "operator1"}}
	for k, v := range extra {
		cfg[k] = v
	}
	return &kannelLine{line: startLine(t, cfg), fake: fake}
}

// moURL is the post-url as the README's kannel.conf writes it, pointing at the test server.
func (l *kannelLine) moURL(secret string) string {
	return l.srv.URL + "/kannel/mo?secret=" + secret + "&id=%I"
}

func (l *kannelLine) mo(t *testing.T, m kannelfake.MO) int {
	t.Helper()
	code, _, err := kannelfake.PostMO(ctxFor(t), l.moURL(kannelSecret), m)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// reachable turns a dlr-url the plugin gave Kannel (on the public URL) into the test server's.
func (l *kannelLine) reachable(u string) string {
	return strings.Replace(u, publicBase, l.srv.URL+"/", 1)
}

func TestKannelInbound(t *testing.T) {
	l := startKannel(t, nil)
	if code := l.mo(t, kannelfake.MO{ID: "0b250144-0beb-4889-b9fa-bd8ca6b1d77f", From: customerNo, To: ourNumber, Text: "a & b %41 + c"}); code != http.StatusNoContent {
		t.Fatalf("answered %d, want 204", code)
	}
	key := "sms:" + customerNo + "|" + ourNumber
	events := l.host.Events()
	if len(events) != 2 || events[0].GetConversationStarted() == nil || events[0].Conversation != key {
		t.Fatalf("events %v: want a start and a message in %s", events, key)
	}
	if c := events[0].GetConversationStarted().GetCustomer(); c.GetAddress() != customerNo || c.GetPhone() != customerNo {
		t.Errorf("customer %v", c)
	}
	msg := events[1]
	if msg.Id != "sms:kannel:0b250144-0beb-4889-b9fa-bd8ca6b1d77f" || msg.GetMessage().GetContent().GetText() != "a & b %41 + c" {
		t.Errorf("message %v", msg)
	}

	t.Run("Kannel's retry stores nothing new", func(t *testing.T) {
		l.mo(t, kannelfake.MO{ID: "0b250144-0beb-4889-b9fa-bd8ca6b1d77f", From: customerNo, To: ourNumber, Text: "a & b %41 + c"})
		if n := len(l.host.Events()); n != 2 {
			t.Errorf("%d events", n)
		}
	})
	t.Run("UCS-2 not recoded by Kannel", func(t *testing.T) {
		body := []byte{0x04, 0x1f, 0x04, 0x40, 0x00, ' ', 0xd8, 0x3d, 0xde, 0x00}
		if code := l.mo(t, kannelfake.MO{ID: "u1", From: customerNo, To: ourNumber, Body: body, ContentType: `text/plain; charset="UTF-16BE"`}); code != http.StatusNoContent {
			t.Fatalf("answered %d", code)
		}
		l.host.Await(t, "the UCS-2 text", func(ev *sdk.Event) bool { return ev.GetMessage().GetContent().GetText() == "Пр 😀" })
	})
	t.Run("a short code of ours, written without +", func(t *testing.T) {
		if code := l.mo(t, kannelfake.MO{ID: "s1", From: "15550002222", To: "12345", Text: "INFO"}); code != http.StatusNoContent {
			t.Fatalf("answered %d", code)
		}
		l.host.Await(t, "the text to the short code", func(ev *sdk.Event) bool { return ev.Conversation == "sms:15550002222|12345" })
	})
}

func TestKannelRefused(t *testing.T) {
	l := startKannel(t, nil)
	good := kannelfake.MO{ID: "id-1", From: customerNo, To: ourNumber, Text: "hello"}
	post := func(t *testing.T, u string, m kannelfake.MO) int {
		code, _, err := kannelfake.PostMO(ctxFor(t), u, m)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	with := func(change func(*kannelfake.MO)) kannelfake.MO { m := good; change(&m); return m }
	for _, tc := range []struct {
		name   string
		send   func(t *testing.T) int
		status int
		reason string
	}{
		{"no secret", func(t *testing.T) int { return post(t, l.srv.URL+"/kannel/mo?id=%I", good) }, 403, reasonForged},
		{"wrong secret", func(t *testing.T) int { return post(t, l.moURL("k4nnel-callback-secret-0123456788"), good) }, 403, reasonForged},
		{"no message id", func(t *testing.T) int { return post(t, l.srv.URL+"/kannel/mo?secret="+kannelSecret, good) }, 400, reasonMalformed},
		{"no sender (send-sender off)", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.From = "" }))
		}, 400, reasonMalformed},
		{"a sender that is no number", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.From = "Mallory" }))
		}, 400, reasonMalformed},
		{"invalid UTF-8", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.Body = []byte{0xff, 0xfe, 'a'} }))
		}, 400, reasonMalformed},
		{"truncated UTF-16", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) {
				m.Body, m.ContentType = []byte{0x04, 0x1f, 0x04}, `text/plain; charset="UTF-16BE"`
			}))
		}, 400, reasonMalformed},
		{"binary SMS", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.Body, m.ContentType = []byte{0xca, 0xfe}, "application/octet-stream" }))
		}, 415, reasonUnsupported},
		{"oversized body", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.Text = strings.Repeat("x", maxWebhookBytes+1) }))
		}, 413, reasonOversized},
		{"unknown number", func(t *testing.T) int {
			return post(t, l.moURL(kannelSecret), with(func(m *kannelfake.MO) { m.To = "+15557770000" }))
		}, 404, reasonUnknownNum},
		{"delivery report without secret", func(t *testing.T) int {
			return get(t, l.srv.URL+"/kannel/dlr?event=eA&conv=eA&part=1&parts=1&status=1")
		}, 403, reasonForged},
		{"delivery report with ids not ours", func(t *testing.T) int {
			return get(t, l.srv.URL+"/kannel/dlr?secret="+kannelSecret+"&event=%25%25&conv=x&part=1&parts=1&status=1")
		}, 400, reasonMalformed},
		{"delivery report for part 3 of 2", func(t *testing.T) int {
			enc := base64.RawURLEncoding.EncodeToString
			return get(t, l.srv.URL+"/kannel/dlr?secret="+kannelSecret+"&event="+enc([]byte("e1"))+"&conv="+enc([]byte("sms:+1|+2"))+"&part=3&parts=2&status=1")
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

func get(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestKannelDisabled(t *testing.T) {
	l := startKannel(t, map[string]any{"disabled": true})
	if code := l.mo(t, kannelfake.MO{ID: "d1", From: customerNo, To: ourNumber, Text: "hello"}); code != http.StatusGone {
		t.Errorf("answered %d, want 410", code)
	}
	if l.host.count(reasonDisabled) != 1 || len(l.host.Events()) != 0 {
		t.Errorf("counted %d, events %v", l.host.count(reasonDisabled), l.host.Events())
	}
}

func TestKannelDeliver(t *testing.T) {
	l := startKannel(t, nil)
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	if err := l.p.Deliver(ctx, agentMessage("agent:u1:c1", key, "Your parcel ships today", "")); err != nil {
		t.Fatal(err)
	}
	sent := l.fake.Sent()
	if len(sent) != 1 {
		t.Fatalf("%d sendsms requests, want 1", len(sent))
	}
	q := l.fake.Requests()[0]
	want := map[string]string{"username": l.fake.Username, "password": l.fake.Password, "from": ourNumber, "to": customerNo,
		"text": "Your parcel ships today", "charset": "UTF-8", "coding": "0", "dlr-mask": "31", "smsc": "operator1"}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if q.Has("udh") {
		t.Errorf("a one-part message with a udh %q", q.Get("udh"))
	}
	enc := base64.RawURLEncoding.EncodeToString
	wantDLR := publicBase + "kannel/dlr?secret=" + kannelSecret + "&event=" + enc([]byte("agent:u1:c1")) + "&conv=" + enc([]byte(key)) +
		"&part=1&parts=1&status=%d&answer=%A"
	if got := q.Get("dlr-url"); got != wantDLR {
		t.Errorf("dlr-url\n got  %s\n want %s", got, wantDLR)
	}

	t.Run("delivery reports become receipts", func(t *testing.T) {
		dlrURL := l.reachable(sent[0].DLRURL)
		for _, status := range []int{dlrAccepted, dlrAccepted, dlrDelivered} {
			if code, err := kannelfake.DLR(ctx, dlrURL, status, "ACK/"); err != nil || code != http.StatusNoContent {
				t.Fatalf("report %d answered %d %v", status, code, err)
			}
		}
		var receipts []*pb.DeliveryReceipt
		for _, ev := range l.host.Events() {
			if r := ev.GetDeliveryReceipt(); r != nil && ev.Conversation == key && r.MessageEventId == "agent:u1:c1" {
				receipts = append(receipts, r)
			}
		}
		if len(receipts) != 2 || receipts[0].Status != pb.DeliveryStatus_DELIVERY_STATUS_SENT || receipts[1].Status != pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED {
			t.Errorf("receipts %v: want sent once, then delivered", receipts)
		}
	})
	t.Run("a late acceptance after delivery is not reported", func(t *testing.T) {
		if err := l.p.Deliver(ctx, agentMessage("agent:u1:late", key, "late", "")); err != nil {
			t.Fatal(err)
		}
		dlrURL := l.reachable(l.fake.Sent()[len(l.fake.Sent())-1].DLRURL)
		kannelfake.DLR(ctx, dlrURL, dlrDelivered, "")
		kannelfake.DLR(ctx, dlrURL, dlrAccepted, "ACK/")
		var statuses []pb.DeliveryStatus
		for _, ev := range l.host.Events() {
			if r := ev.GetDeliveryReceipt(); r.GetMessageEventId() == "agent:u1:late" {
				statuses = append(statuses, r.Status)
			}
		}
		if len(statuses) != 1 || statuses[0] != pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED {
			t.Errorf("receipts %v, want only DELIVERED", statuses)
		}
	})
	t.Run("a report the hub could not take is taken again", func(t *testing.T) {
		if err := l.p.Deliver(ctx, agentMessage("agent:u1:retry", key, "retry", "")); err != nil {
			t.Fatal(err)
		}
		dlrURL := l.reachable(l.fake.Sent()[len(l.fake.Sent())-1].DLRURL)
		l.host.Fail(func(*sdk.Event) error { return errors.New("the hub is unreachable") })
		if code, _ := kannelfake.DLR(ctx, dlrURL, dlrDelivered, ""); code != http.StatusServiceUnavailable {
			t.Fatalf("answered %d while the hub could not store, want 503", code)
		}
		l.host.Fail(nil)
		if code, _ := kannelfake.DLR(ctx, dlrURL, dlrDelivered, ""); code != http.StatusNoContent {
			t.Fatalf("Kannel's retry answered %d", code)
		}
		l.host.Await(t, "the receipt after the retry", func(ev *sdk.Event) bool {
			r := ev.GetDeliveryReceipt()
			return r.GetMessageEventId() == "agent:u1:retry" && r.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED
		})
	})
	t.Run("UCS-2 text", func(t *testing.T) {
		if err := l.p.Deliver(ctx, agentMessage("agent:u1:c2", key, "Привет!", "")); err != nil {
			t.Fatal(err)
		}
		if s := l.fake.Sent()[len(l.fake.Sent())-1]; s.Coding != 2 || s.Text != "Привет!" {
			t.Errorf("sent %+v: want coding 2", s)
		}
	})
	t.Run("a failure report", func(t *testing.T) {
		if err := l.p.Deliver(ctx, agentMessage("agent:u1:c3", key, "third", "")); err != nil {
			t.Fatal(err)
		}
		dlrURL := l.reachable(l.fake.Sent()[len(l.fake.Sent())-1].DLRURL)
		if code, err := kannelfake.DLR(ctx, dlrURL, dlrRejected, "NACK/0x0000000b/Invalid Destination Address"); err != nil || code != http.StatusNoContent {
			t.Fatalf("answered %d %v", code, err)
		}
		r := l.host.Await(t, "the failure", func(ev *sdk.Event) bool { return ev.GetDeliveryReceipt().GetMessageEventId() == "agent:u1:c3" }).GetDeliveryReceipt()
		if r.Status != pb.DeliveryStatus_DELIVERY_STATUS_FAILED || r.Reason != "the SMS center refused the message: NACK/0x0000000b/Invalid Destination Address" {
			t.Errorf("receipt %v", r)
		}
	})
}

// TestKannelLongReply: a long reply leaves as concatenated parts, cut between words, each with
// its own delivery report; a failure half-way resumes after the last accepted part.
func TestKannelLongReply(t *testing.T) {
	l := startKannel(t, nil)
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	link := "https://shop.example.com/orders/1234567890/track?lang=en&ref=sms"
	text := strings.Repeat("Thanks for waiting. ", 8) + link + " " + strings.Repeat("We are sorry for the delay. ", 6)
	if err := l.p.Deliver(ctx, agentMessage("agent:long", key, text, "")); err != nil {
		t.Fatal(err)
	}
	sent := l.fake.Sent()
	if len(sent) < 2 {
		t.Fatalf("%d parts sent", len(sent))
	}
	var joined string
	for i, s := range sent {
		if s.Coding != 0 || len(s.UDH) != 6 || s.UDH[0] != 5 || s.UDH[1] != 0 || s.UDH[2] != 3 ||
			int(s.UDH[4]) != len(sent) || int(s.UDH[5]) != i+1 || s.UDH[3] != sent[0].UDH[3] {
			t.Errorf("part %d: coding %d udh % x", i+1, s.Coding, s.UDH)
		}
		if n := len([]rune(s.Text)); n > gsmPart {
			t.Errorf("part %d has %d characters", i+1, n)
		}
		if strings.Contains(s.Text, "https://") && !strings.Contains(s.Text, link) {
			t.Errorf("part %d cuts the link: %q", i+1, s.Text)
		}
		if i < len(sent)-1 && !strings.HasSuffix(s.Text, " ") {
			t.Errorf("part %d ends inside a word: %q", i+1, s.Text)
		}
		u, _ := url.Parse(s.DLRURL)
		if u.Query().Get("part") != strconv.Itoa(i+1) || u.Query().Get("parts") != strconv.Itoa(len(sent)) {
			t.Errorf("part %d dlr-url %s", i+1, s.DLRURL)
		}
		joined += s.Text
	}
	if joined != strings.TrimSpace(text) {
		t.Errorf("the parts joined differ from the text:\n%q\n%q", joined, text)
	}

	t.Run("delivered once every part is", func(t *testing.T) {
		for i, s := range sent {
			kannelfake.DLR(ctx, l.reachable(s.DLRURL), dlrDelivered, "")
			delivered := false
			for _, ev := range l.host.Events() {
				if r := ev.GetDeliveryReceipt(); r != nil && r.Status == pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED {
					delivered = true
				}
			}
			if delivered != (i == len(sent)-1) {
				t.Fatalf("after part %d of %d: delivered reported %v", i+1, len(sent), delivered)
			}
		}
	})
	t.Run("a failed part resumes, not restarts", func(t *testing.T) {
		before := len(l.fake.Sent())
		l.fake.FailNext(kannelfake.Failure{Status: 202, Body: "0: Accepted for delivery"}, kannelfake.Failure{Status: 503, Body: "Sending failed."})
		err := l.p.Deliver(ctx, agentMessage("agent:long2", key, text, ""))
		if _, rejected := sdk.IsRejected(err); err == nil || rejected {
			t.Fatalf("Deliver with bearerbox away: %v, want an error to retry", err)
		}
		if err := l.p.Deliver(ctx, agentMessage("agent:long2", key, text, "")); err != nil {
			t.Fatal(err)
		}
		reqs := l.fake.Requests()[before:]
		var parts []string
		for _, q := range reqs {
			parts = append(parts, q.Get("dlr-url")[strings.Index(q.Get("dlr-url"), "part="):][:len("part=1")])
		}
		if want := []string{"part=1", "part=2", "part=2", "part=3"}; strings.Join(parts[:4], ",") != strings.Join(want, ",") {
			t.Errorf("requests for %v, want %v then the rest", parts, want)
		}
	})
}

func TestKannelDeliverRefusals(t *testing.T) {
	l := startKannel(t, nil)
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	for _, tc := range []struct {
		name    string
		fail    kannelfake.Failure
		reason  string
		problem bool
	}{
		{"wrong credentials", kannelfake.Failure{Status: 403, Body: "Authorization failed for sendsms"}, "", true},
		{"a number the lists deny", kannelfake.Failure{Status: 403, Body: "Number(s) has/have been denied by white- and/or black-lists."}, "Kannel refused the message: Number(s) has/have been denied", false},
		{"bad request", kannelfake.Failure{Status: 400, Body: "Missing receiver number, rejected"}, "Kannel refused the message: Missing receiver number", false},
		{"bearerbox away", kannelfake.Failure{Status: 503, Body: "Sending failed."}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l.fake.FailNext(tc.fail)
			err := l.p.Deliver(ctx, agentMessage("e-"+tc.name, key, "hi", ""))
			reason, rejected := sdk.IsRejected(err)
			switch {
			case err == nil:
				t.Fatal("delivered")
			case tc.reason == "" && rejected:
				t.Errorf("rejected for good (%s), want an error to retry", reason)
			case tc.reason != "" && !strings.Contains(reason, tc.reason):
				t.Errorf("error %v, want a rejection saying %q", err, tc.reason)
			}
			if strings.Contains(err.Error(), l.fake.Password) {
				t.Errorf("the error shows the password: %v", err)
			}
			if health := l.p.Health(ctx); (health != nil) != tc.problem {
				t.Errorf("health %v", health)
			}
			l.p.setProblem("")
		})
	}
	t.Run("Kannel unreachable", func(t *testing.T) {
		l.p.cfg.Kannel.SendsmsURL = "http://127.0.0.1:1/cgi-bin/sendsms"
		err := l.p.Deliver(ctx, agentMessage("e-unreachable", key, "hi", ""))
		if _, rejected := sdk.IsRejected(err); err == nil || rejected {
			t.Fatalf("Deliver: %v, want an error to retry", err)
		}
		if strings.Contains(err.Error(), l.fake.Password) {
			t.Errorf("the error shows the password: %v", err)
		}
	})
}
