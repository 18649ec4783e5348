package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/social/metafake"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

var maria = metafake.WAUser{WaID: "4915112345678", Name: "Maria Schmidt"}

const (
	mariaKey     = "whatsapp:4915112345678|" + metafake.PhoneNumberID
	messagesPath = "/" + metafake.PhoneNumberID + "/messages"
)

func whatsappConfig(f *metafake.Server, extra map[string]any) map[string]any {
	wa := map[string]any{"phone_number_id": metafake.PhoneNumberID, "access_token": f.AccessToken, "app_secret": f.AppSecret,
		"verify_token": "wa-verify", "api_base": f.URL()}
	cfg := map[string]any{"adapter": "whatsapp", "whatsapp": wa}
	for k, v := range extra {
		if name, ok := strings.CutPrefix(k, "whatsapp."); ok {
			wa[name] = v
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

// post sends a signed webhook and fails the test unless it is answered 200.
func post(t *testing.T, fake *metafake.Server, url string, payload []byte) {
	t.Helper()
	a, err := fake.Post(ctxFor(t), url, payload)
	if err != nil || a.Status != http.StatusOK {
		t.Fatalf("webhook: %+v %v, want 200", a, err)
	}
}

func TestWhatsAppText(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, map[string]any{"default_queue": "billing"}), nil)
	hook := inst.url + "whatsapp/webhook"
	payload, wamid := fake.WhatsAppText(maria, "Is my invoice paid?")
	post(t, fake, hook, payload)
	post(t, fake, hook, payload) // Meta retries: dropped by message id

	events := host.Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want conversation_started and the message once", len(events))
	}
	st := events[0].GetConversationStarted()
	if events[0].GetId() != "start:wa:"+wamid || events[0].GetConversation() != mariaKey || st == nil {
		t.Fatalf("first event %q on %q: %v", events[0].GetId(), events[0].GetConversation(), events[0].Payload)
	}
	c := st.GetCustomer()
	if c.GetAddress() != maria.WaID || c.GetPhone() != "+"+maria.WaID || c.GetNickname() != "Maria Schmidt" {
		t.Errorf("customer = %+v, want the wa_id, +wa_id as phone, the profile name as nickname", c)
	}
	if st.GetQueue() != "billing" || st.GetOrigin() != "WhatsApp" || st.GetChannel() != "whatsapp" {
		t.Errorf("queue %q origin %q channel %q, want billing, WhatsApp and whatsapp", st.GetQueue(), st.GetOrigin(), st.GetChannel())
	}
	msg := events[1]
	if msg.GetId() != "wa:"+wamid || msg.GetMessage().GetContent().GetText() != "Is my invoice paid?" ||
		msg.GetMessage().GetFrom().GetDisplayName() != "Maria Schmidt" || msg.GetMessage().GetFrom().GetId() != maria.WaID {
		t.Errorf("message = %v", msg)
	}
	var envelope struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						Timestamp string `json:"timestamp"`
					} `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	json.Unmarshal(payload, &envelope)
	if ts := envelope.Entry[0].Changes[0].Value.Messages[0].Timestamp; ts != "" && msg.GetTime().AsTime().Unix() != mustUnix(t, ts) {
		t.Errorf("message time %v, want the webhook's timestamp %s", msg.GetTime().AsTime(), ts)
	}

	// Other message types the agent should still see.
	loc, _ := fake.WhatsAppMessage(maria, "location", map[string]any{"location": map[string]any{"latitude": 52.52, "longitude": 13.405, "name": "Shop", "address": "Main St 1"}})
	post(t, fake, hook, loc)
	host.Await(t, "the location", withText("Location: Shop Main St 1 (52.520000, 13.405000)"))
	contacts, _ := fake.WhatsAppMessage(maria, "contacts", map[string]any{"contacts": []any{}})
	post(t, fake, hook, contacts)
	host.Await(t, "a note for the contacts message", withText("[the customer sent a contacts message, which this channel cannot show]"))
}

func mustUnix(t *testing.T, s string) int64 {
	tm, err := unixTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.Unix()
}

func TestWhatsAppMedia(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, map[string]any{"max_media_bytes": 1500}), nil)
	hook := inst.url + "whatsapp/webhook"

	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 250) // 1000 bytes
	payload, _ := fake.WhatsAppImage(maria, "the dent", img, "image/png")
	post(t, fake, hook, payload)
	ev := host.Await(t, "the image", withText("the dent"))
	atts := ev.GetMessage().GetContent().GetAttachments()
	if len(atts) != 1 || !bytes.Equal(atts[0].GetData(), img) || atts[0].GetContentType() != "image/png" || atts[0].GetSize() != 1000 ||
		!strings.HasPrefix(atts[0].GetName(), "image-") || !strings.HasSuffix(atts[0].GetName(), ".png") {
		t.Fatalf("attachments = %v", atts)
	}
	// GET /{media id} and the download, both with the token in the Authorization header.
	lookups := fake.Requests(http.MethodGet, "")
	if len(lookups) != 2 || !strings.HasPrefix(lookups[1].Path, "/whatsapp-media/") {
		t.Fatalf("media requests = %+v, want the lookup then the download", lookups)
	}
	for _, r := range lookups {
		if r.Token != fake.AccessToken || r.TokenIn != "header" {
			t.Errorf("%s %s: token %q in %q, want the access token in the Authorization header", r.Method, r.Path, r.Token, r.TokenIn)
		}
	}

	doc := []byte("%PDF-1.4 the contract")
	payload, _ = fake.WhatsAppDocument(maria, "contract.pdf", "application/pdf", doc, "")
	post(t, fake, hook, payload)
	ev = host.Await(t, "the document", func(ev *sdk.Event) bool {
		return len(ev.GetMessage().GetContent().GetAttachments()) == 1 && ev.GetMessage().GetContent().GetText() == ""
	})
	if a := ev.GetMessage().GetContent().GetAttachments()[0]; a.GetName() != "contract.pdf" || a.GetContentType() != "application/pdf" || !bytes.Equal(a.GetData(), doc) {
		t.Errorf("document = %v", a)
	}

	// Over max_media_bytes: the caption reaches the agent with a note saying a file was left out;
	// the file is counted, not downloaded.
	downloads := len(fake.Requests(http.MethodGet, ""))
	payload, _ = fake.WhatsAppImage(maria, "a huge photo", bytes.Repeat([]byte("x"), 2000), "image/jpeg")
	post(t, fake, hook, payload)
	ev = host.Await(t, "the caption of the huge photo", withText("a huge photo\n[the customer sent a file larger than the 1500 bytes this channel accepts; it was left out]"))
	if n := len(ev.GetMessage().GetContent().GetAttachments()); n != 0 {
		t.Errorf("the oversized file came with the message (%d attachments)", n)
	}
	if host.count("media_refused/oversized") != 1 {
		t.Error("the oversized file was not counted")
	}
	for _, r := range fake.Requests(http.MethodGet, "")[downloads:] {
		if strings.HasPrefix(r.Path, "/whatsapp-media/") {
			t.Errorf("the oversized file was downloaded: %s", r.Path)
		}
	}
}

func TestWhatsAppDeliverAndStatuses(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, nil), nil)
	hook := inst.url + "whatsapp/webhook"
	payload, _ := fake.WhatsAppText(maria, "hi")
	post(t, fake, hook, payload)
	host.Await(t, "the customer's message", withText("hi"))

	if err := deliver(inst.p, mariaKey, "out-1", "Yes, it is paid."); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := deliver(inst.p, mariaKey, "out-1", "Yes, it is paid."); err != nil {
		t.Fatalf("Deliver again: %v", err)
	}
	sends := fake.Requests(http.MethodPost, messagesPath)
	if len(sends) != 1 {
		t.Fatalf("%d sends for one event sent twice, want 1", len(sends))
	}
	if sends[0].Token != fake.AccessToken || sends[0].TokenIn != "header" {
		t.Errorf("token %q in %q, want the access token in the Authorization header", sends[0].Token, sends[0].TokenIn)
	}
	var body map[string]any
	if err := json.Unmarshal(sends[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": maria.WaID, "type": "text",
		"text": map[string]any{"body": "Yes, it is paid."}, "biz_opaque_callback_data": "switchboard:out-1"}
	if !jsonEqual(body, want) {
		t.Errorf("send body = %v\nwant %v", body, want)
	}
	sent := fake.WhatsAppSent(maria.WaID)
	wamid := sent[0].ID

	for _, tc := range []struct {
		status string
		want   pb.DeliveryStatus
	}{{"sent", pb.DeliveryStatus_DELIVERY_STATUS_SENT}, {"delivered", pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED}} {
		post(t, fake, hook, fake.WhatsAppStatus(wamid, tc.status))
		r := host.Await(t, tc.status+" receipt", func(ev *sdk.Event) bool { return ev.GetId() == "wa-status:"+wamid+":"+tc.status })
		if dr := r.GetDeliveryReceipt(); dr.GetMessageEventId() != "out-1" || dr.GetStatus() != tc.want || r.GetConversation() != mariaKey {
			t.Errorf("%s receipt = %v on %q", tc.status, dr, r.GetConversation())
		}
	}

	// A fresh process knows nothing of out-1, but the status carries its id back.
	inst.stop()
	second := startInstance(t, host, whatsappConfig(fake, nil), nil)
	post(t, fake, second.url+"whatsapp/webhook", fake.WhatsAppStatus(wamid, "read"))
	r := host.Await(t, "read receipt", func(ev *sdk.Event) bool { return ev.GetId() == "wa-status:"+wamid+":read" })
	if dr := r.GetDeliveryReceipt(); dr.GetMessageEventId() != "out-1" || dr.GetStatus() != pb.DeliveryStatus_DELIVERY_STATUS_READ {
		t.Errorf("read receipt after a restart = %v", dr)
	}

	if err := deliver(second.p, mariaKey, "out-2", "One more thing"); err != nil {
		t.Fatal(err)
	}
	sent = fake.WhatsAppSent(maria.WaID)
	post(t, fake, second.url+"whatsapp/webhook", fake.WhatsAppStatus(sent[1].ID, "failed",
		metafake.StatusError{Code: 131026, Title: "Message undeliverable", Details: "The recipient's phone is not on WhatsApp any more"}))
	r = host.Await(t, "failed receipt", func(ev *sdk.Event) bool {
		return ev.GetDeliveryReceipt().GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_FAILED
	})
	if dr := r.GetDeliveryReceipt(); dr.GetMessageEventId() != "out-2" || !strings.Contains(dr.GetReason(), "not on WhatsApp any more") || !strings.Contains(dr.GetReason(), "131026") {
		t.Errorf("failed receipt = %v", dr)
	}

	// A status of a message someone else sent from the number is acknowledged and ignored.
	foreign := metafake.WhatsAppPayload(metafake.PhoneNumberID, map[string]any{"statuses": []map[string]any{
		{"id": "wamid.other", "status": "delivered", "timestamp": "1700000000", "recipient_id": maria.WaID}}})
	before := len(host.Events())
	post(t, fake, second.url+"whatsapp/webhook", foreign)
	if len(host.Events()) != before {
		t.Error("a status of an unknown message reached the hub")
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// The 24-hour window, on the plugin's clock: a reply at 23h59 goes out, at 24h01 it is refused
// with the reason, without asking WhatsApp.
func TestWhatsAppWindow(t *testing.T) {
	fake := metafake.New(t)
	clk := newClock()
	fake.Now = clk.Now
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, nil), clk)
	hook := inst.url + "whatsapp/webhook"
	t0 := clk.Now()
	payload, _ := fake.WhatsAppText(maria, "hello")
	post(t, fake, hook, payload)
	host.Await(t, "the customer's message", withText("hello"))

	clk.set(t0.Add(23*time.Hour + 59*time.Minute))
	if err := deliver(inst.p, mariaKey, "out-1", "within the window"); err != nil {
		t.Errorf("at 23h59: %v", err)
	}
	clk.set(t0.Add(24*time.Hour + time.Minute))
	sends := len(fake.Requests(http.MethodPost, messagesPath))
	reason := rejected(t, deliver(inst.p, mariaKey, "out-2", "too late"))
	if reason != "the customer last wrote more than 24 hours ago; WhatsApp allows only template messages now" {
		t.Errorf("reason = %q", reason)
	}
	if n := len(fake.Requests(http.MethodPost, messagesPath)); n != sends {
		t.Errorf("the refused reply was sent to WhatsApp anyway")
	}
	// The customer writes again: the window opens again.
	payload, _ = fake.WhatsAppText(maria, "are you still there?")
	post(t, fake, hook, payload)
	host.Await(t, "the second message", withText("are you still there?"))
	if err := deliver(inst.p, mariaKey, "out-3", "yes!"); err != nil {
		t.Errorf("after the customer wrote again: %v", err)
	}
	if got := fake.WhatsAppTexts(maria.WaID); strings.Join(got, "|") != "within the window|yes!" {
		t.Errorf("WhatsApp got %q", got)
	}
}

func TestWhatsAppTemplateFallback(t *testing.T) {
	fake := metafake.New(t)
	fake.ApproveTemplate("reopen_chat", "en")
	clk := newClock()
	fake.Now = clk.Now
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, map[string]any{"whatsapp.template": map[string]any{"name": "reopen_chat", "language": "en"}}), clk)
	hook := inst.url + "whatsapp/webhook"
	t0 := clk.Now()
	payload, _ := fake.WhatsAppText(maria, "hello")
	post(t, fake, hook, payload)
	host.Await(t, "the customer's message", withText("hello"))

	clk.set(t0.Add(25 * time.Hour))
	if err := deliver(inst.p, mariaKey, "out-1", "sorry for the wait"); err != nil {
		t.Fatalf("with a template: %v, want nil (the template went out)", err)
	}
	sent := fake.WhatsAppSent(maria.WaID)
	if len(sent) != 1 || sent[0].Type != "template" || sent[0].TemplateName != "reopen_chat" || sent[0].TemplateLanguage != "en" || sent[0].BizOpaque != "switchboard:out-1" {
		t.Fatalf("WhatsApp got %+v, want the template reopen_chat (en)", sent)
	}
	var body map[string]any
	json.Unmarshal(fake.Requests(http.MethodPost, messagesPath)[0].Body, &body)
	want := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": maria.WaID, "type": "template",
		"template": map[string]any{"name": "reopen_chat", "language": map[string]any{"code": "en"}}, "biz_opaque_callback_data": "switchboard:out-1"}
	if !jsonEqual(body, want) {
		t.Errorf("template body = %v\nwant %v", body, want)
	}
	note := host.Await(t, "the note to the agent", func(ev *sdk.Event) bool { return ev.GetId() == "wa-template:out-1" })
	if dr := note.GetDeliveryReceipt(); dr.GetMessageEventId() != "out-1" || !strings.Contains(dr.GetReason(), "reopen_chat") {
		t.Errorf("note = %v", dr)
	}
	// The hub resends out-1: nothing more goes out. Another reply: refused, the template is out.
	if err := deliver(inst.p, mariaKey, "out-1", "sorry for the wait"); err != nil {
		t.Errorf("resend: %v", err)
	}
	reason := rejected(t, deliver(inst.p, mariaKey, "out-2", "hello?"))
	if !strings.HasPrefix(reason, "the customer last wrote more than 24 hours ago; WhatsApp allows only template messages now; the template \"reopen_chat\" went out") {
		t.Errorf("reason = %q", reason)
	}
	if n := len(fake.WhatsAppSent(maria.WaID)); n != 1 {
		t.Errorf("WhatsApp got %d messages, want the one template", n)
	}
	// The customer answers the template: replies go out as text again.
	payload, _ = fake.WhatsAppText(maria, "I'm here")
	post(t, fake, hook, payload)
	host.Await(t, "the answer", withText("I'm here"))
	if err := deliver(inst.p, mariaKey, "out-3", "great"); err != nil {
		t.Errorf("after the answer: %v", err)
	}
}

// Without state_dir a fresh process does not know when the customer wrote: WhatsApp decides,
// and its "re-engagement" error becomes the same refusal (or the template).
func TestWhatsAppWindowAfterRestartWithoutState(t *testing.T) {
	for _, withTemplate := range []bool{false, true} {
		fake := metafake.New(t)
		fake.ApproveTemplate("reopen_chat", "en_US")
		clk := newClock()
		fake.Now = clk.Now
		host := newTestHost()
		extra := map[string]any{}
		if withTemplate {
			extra["whatsapp.template"] = map[string]any{"name": "reopen_chat", "language": "en_US"}
		}
		first := startInstance(t, host, whatsappConfig(fake, extra), clk)
		payload, _ := fake.WhatsAppText(maria, "hello")
		post(t, fake, first.url+"whatsapp/webhook", payload)
		host.Await(t, "the customer's message", withText("hello"))
		first.stop()

		clk.set(clk.Now().Add(30 * time.Hour))
		second := startInstance(t, host, whatsappConfig(fake, extra), clk)
		err := deliver(second.p, mariaKey, "out-1", "late reply")
		sent := fake.WhatsAppSent(maria.WaID)
		if !withTemplate {
			if reason := rejected(t, err); reason != whatsappWindowClosed {
				t.Errorf("reason = %q", reason)
			}
			if len(sent) != 0 {
				t.Errorf("WhatsApp accepted %+v", sent)
			}
			continue
		}
		if err != nil || len(sent) != 1 || sent[0].Type != "template" {
			t.Errorf("with a template: %v, sent %+v", err, sent)
		}
	}
}

func TestWhatsAppStateDir(t *testing.T) {
	dir := t.TempDir()
	fake := metafake.New(t)
	clk := newClock()
	fake.Now = clk.Now
	host := newTestHost()
	first := startInstance(t, host, whatsappConfig(fake, map[string]any{"state_dir": dir}), clk)
	payload, _ := fake.WhatsAppText(maria, "hello")
	post(t, fake, first.url+"whatsapp/webhook", payload)
	host.Await(t, "the customer's message", withText("hello"))
	first.stop()

	data, err := os.ReadFile(filepath.Join(dir, "social-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state windowState
	if err := json.Unmarshal(data, &state); err != nil || state.Customers[mariaKey] == nil {
		t.Fatalf("state file %s: %v", data, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	clk.set(clk.Now().Add(25 * time.Hour))
	second := startInstance(t, host, whatsappConfig(fake, map[string]any{"state_dir": dir}), clk)
	sends := len(fake.Requests(http.MethodPost, messagesPath))
	if reason := rejected(t, deliver(second.p, mariaKey, "out-1", "late")); reason != whatsappWindowClosed {
		t.Errorf("reason = %q", reason)
	}
	if len(fake.Requests(http.MethodPost, messagesPath)) != sends {
		t.Error("the fresh process asked WhatsApp although its state file says the window is closed")
	}

	if _, err := openWindowStore(filepath.Join(dir, "social-test.json"), "x"); err == nil {
		t.Error("a file as state_dir was accepted")
	}
	os.WriteFile(filepath.Join(dir, "broken.json"), []byte("{"), 0o600)
	if _, err := openWindowStore(dir, "broken"); err == nil || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("a broken state file: %v", err)
	}
}

func TestWhatsAppSendErrors(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, whatsappConfig(fake, nil), nil)
	payload, _ := fake.WhatsAppText(maria, "hello")
	post(t, fake, inst.url+"whatsapp/webhook", payload)
	host.Await(t, "the customer's message", withText("hello"))

	fake.FailNext(messagesPath, metafake.GraphError{Status: 400, Message: "(#131026) Message Undeliverable", Type: "OAuthException", Code: 131026})
	if reason := rejected(t, deliver(inst.p, mariaKey, "out-1", "x")); !strings.Contains(reason, "WhatsApp refused the message") || !strings.Contains(reason, "131026") {
		t.Errorf("reason = %q", reason)
	}

	fake.FailNext(messagesPath, metafake.GraphError{Status: 400, Message: "(#130429) Rate limit hit", Type: "OAuthException", Code: 130429})
	if err := deliver(inst.p, mariaKey, "out-2", "x"); err == nil {
		t.Error("rate limit: Deliver = nil")
	} else if _, isReject := sdk.IsRejected(err); isReject {
		t.Errorf("rate limit: refused for good (%v), want a retry", err)
	}

	fake.FailNext(messagesPath, metafake.GraphError{Status: 401, Message: "Error validating access token: Session has expired", Type: "OAuthException", Code: 190})
	if err := deliver(inst.p, mariaKey, "out-3", "x"); err == nil {
		t.Error("expired token: Deliver = nil")
	} else if _, isReject := sdk.IsRejected(err); isReject {
		t.Errorf("expired token: refused for good (%v), want a retry once the token is fixed", err)
	}
	if err := inst.p.Health(context.Background()); err == nil || !strings.Contains(err.Error(), "Session has expired") {
		t.Errorf("Health = %v, want the token problem", err)
	}
	if err := deliver(inst.p, mariaKey, "out-3", "x"); err != nil {
		t.Fatal(err)
	}
	if err := inst.p.Health(context.Background()); err != nil {
		t.Errorf("Health after a success = %v", err)
	}
	// A long reply goes out in parts within WhatsApp's 4096 characters.
	long := strings.Repeat("ä", 5000)
	if err := deliver(inst.p, mariaKey, "out-4", long); err != nil {
		t.Fatal(err)
	}
	if texts := fake.WhatsAppTexts(maria.WaID); len(texts) != 3 || texts[1]+texts[2] != long {
		t.Errorf("a 5000-character reply went out as %d texts", len(texts)-1)
	}
}
