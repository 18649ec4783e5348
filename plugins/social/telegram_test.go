package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/plugins/social/telegramfake"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

var ann = telegramfake.Customer{ID: 424242, Username: "ann_lee", FirstName: "Ann", LastName: "Lee", LanguageCode: "de"}

const annKey = "telegram:424242|7000000001"

func telegramConfig(fake *telegramfake.Server, mode string, extra map[string]any) map[string]any {
	tg := map[string]any{"bot_token": fake.Token, "api_base": fake.URL(), "mode": mode, "poll_timeout": "1s"}
	cfg := map[string]any{"adapter": "telegram", "default_queue": "support", "telegram": tg}
	for k, v := range extra {
		if strings.HasPrefix(k, "telegram.") {
			tg[strings.TrimPrefix(k, "telegram.")] = v
		} else {
			cfg[k] = v
		}
	}
	return cfg
}

// num reads a parameter the plugin sent as a JSON number.
func num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("parameter %v (%T) is not a JSON number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestTelegramPollingTextStartsConversation(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	startInstance(t, host, telegramConfig(fake, "polling", nil), nil)

	u := fake.Text(ann, "Hallo, my parcel is late")
	fake.Queue(u)
	msg := host.Await(t, "the customer's message", withText("Hallo, my parcel is late"))
	if err := fake.Wait(ctxFor(t), func() bool { return fake.Confirmed(u.UpdateID) }); err != nil {
		t.Fatalf("the update was never confirmed with a higher offset: %v", err)
	}

	events := host.Events()
	if len(events) != 2 {
		t.Fatalf("want conversation_started and the message, got %d events", len(events))
	}
	start := events[0]
	if start.GetId() != "start:tg:424242:1" || start.GetConversation() != annKey {
		t.Errorf("conversation_started id %q conversation %q, want start:tg:424242:1 and %s", start.GetId(), start.GetConversation(), annKey)
	}
	st := start.GetConversationStarted()
	if st == nil {
		t.Fatalf("first event is %T, want conversation_started", start.Payload)
	}
	c := st.GetCustomer()
	if c.GetAddress() != "424242" || c.GetNickname() != "ann_lee" || c.GetFirstName() != "Ann" || c.GetLastName() != "Lee" || c.GetLanguage() != "de" {
		t.Errorf("customer = %+v, want address 424242, nickname ann_lee, Ann Lee, language de", c)
	}
	if st.GetQueue() != "support" || st.GetOrigin() != "Telegram" || st.GetChannel() != "telegram" {
		t.Errorf("queue %q origin %q channel %q, want support, Telegram and telegram", st.GetQueue(), st.GetOrigin(), st.GetChannel())
	}
	if msg.GetId() != "tg:424242:1" || msg.GetConversation() != annKey {
		t.Errorf("message id %q conversation %q", msg.GetId(), msg.GetConversation())
	}
	from := msg.GetMessage().GetFrom()
	if from.GetKind() != sdk.AsCustomer || from.GetId() != "424242" || from.GetDisplayName() != "Ann Lee" {
		t.Errorf("from = %+v", from)
	}
	if html := msg.GetMessage().GetContent().GetHtml(); html != "<p>Hallo, my parcel is late</p>" {
		t.Errorf("html = %q", html)
	}
	if got := msg.GetTime().AsTime().Unix(); got != u.Message.Date {
		t.Errorf("message time %d, want Telegram's date %d", got, u.Message.Date)
	}

	// The calls: deleteWebhook (keeping pending updates), then getUpdates without an offset, then
	// with the offset past the update.
	del := fake.Requests("deleteWebhook")
	if len(del) != 1 || del[0].Params["drop_pending_updates"] != false || del[0].ContentType != "application/json" {
		t.Errorf("deleteWebhook calls = %+v, want one with drop_pending_updates false", del)
	}
	polls := fake.Requests("getUpdates")
	if _, has := polls[0].Params["offset"]; has {
		t.Errorf("the first getUpdates has an offset: %v", polls[0].Params)
	}
	if num(t, polls[0].Params["timeout"]) != 1 {
		t.Errorf("getUpdates timeout = %v, want 1 (poll_timeout 1s)", polls[0].Params["timeout"])
	}
	if allowed := polls[0].Params["allowed_updates"]; !slices.Equal(toStrings(allowed), []string{"message"}) {
		t.Errorf("allowed_updates = %v, want [message]", allowed)
	}
	var offsets []int64
	for _, p := range polls[1:] {
		offsets = append(offsets, num(t, p.Params["offset"]))
	}
	if len(offsets) == 0 || offsets[0] != u.UpdateID+1 {
		t.Errorf("offsets after the update = %v, want %d first", offsets, u.UpdateID+1)
	}

	// The next message of the same customer continues the conversation.
	fake.Queue(fake.Text(ann, "Any news?"))
	host.Await(t, "the second message", withText("Any news?"))
	starts := 0
	for _, ev := range host.Events() {
		if ev.GetConversationStarted() != nil {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("%d conversation_started events for one open conversation, want 1", starts)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

// An update whose message reached the hub but whose offset was never confirmed (the plugin
// crashed first) comes again after the restart; the hub drops the repeat by event id.
func TestTelegramOffsetsAcrossRestart(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	u1, u2 := fake.Text(ann, "one"), fake.Text(ann, "two")
	fake.Queue(u1, u2)
	release := host.Hold(withText("two"))

	first := startInstance(t, host, telegramConfig(fake, "polling", nil), nil)
	host.Await(t, "message one", withText("one"))
	first.stop() // a crash while the hub had not stored "two"
	if fake.Confirmed(u1.UpdateID) || fake.Confirmed(u2.UpdateID) {
		t.Fatal("updates were confirmed although the plugin never asked for more after them")
	}
	for _, p := range fake.Requests("getUpdates") {
		if _, has := p.Params["offset"]; has {
			t.Fatalf("the first process sent an offset (%v) before the hub stored the batch", p.Params["offset"])
		}
	}
	release()
	before := len(fake.Requests("getUpdates"))

	startInstance(t, host, telegramConfig(fake, "polling", nil), nil)
	host.Await(t, "message two", withText("two"))
	if err := fake.Wait(ctxFor(t), func() bool { return fake.Confirmed(u2.UpdateID) }); err != nil {
		t.Fatalf("update two never confirmed after the restart: %v", err)
	}
	polls := fake.Requests("getUpdates")[before:]
	if _, has := polls[0].Params["offset"]; has {
		t.Errorf("the fresh process started with offset %v: it keeps no offset, Telegram redelivers what was not confirmed", polls[0].Params["offset"])
	}
	if got := num(t, polls[1].Params["offset"]); got != u2.UpdateID+1 {
		t.Errorf("the fresh process's next offset = %d, want %d", got, u2.UpdateID+1)
	}
	var ids []string
	for _, ev := range host.Messages() {
		ids = append(ids, ev.GetId())
	}
	if !slices.Equal(ids, []string{"tg:424242:1", "tg:424242:2"}) {
		t.Errorf("stored messages %v, want each once, in order", ids)
	}
}

func TestTelegramWebhook(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, telegramConfig(fake, "webhook", map[string]any{"telegram.webhook_secret": "s3cret_Token-1"}), nil)
	if err := fake.Wait(ctxFor(t), func() bool { return fake.Webhook().URL != "" }); err != nil {
		t.Fatal("setWebhook was never called")
	}
	set := fake.Requests("setWebhook")
	if len(set) != 1 {
		t.Fatalf("%d setWebhook calls, want 1", len(set))
	}
	p := set[0].Params
	hookURL := inst.url + "telegram/webhook"
	if p["url"] != hookURL || p["secret_token"] != "s3cret_Token-1" || !slices.Equal(toStrings(p["allowed_updates"]), []string{"message"}) {
		t.Errorf("setWebhook params = %v, want url %s, secret_token s3cret_Token-1, allowed_updates [message]", p, hookURL)
	}
	if n := len(fake.Requests("getUpdates")) + len(fake.Requests("deleteWebhook")); n != 0 {
		t.Errorf("webhook mode called getUpdates or deleteWebhook %d times", n)
	}
	ctx := ctxFor(t)

	u := fake.Text(ann, "via webhook")
	if status, err := fake.Post(ctx, u); err != nil || status != http.StatusOK {
		t.Fatalf("posting the update: %d %v", status, err)
	}
	host.Await(t, "the webhook's message", withText("via webhook"))

	body, _ := json.Marshal(fake.Text(ann, "forged"))
	for name, secret := range map[string]string{"wrong secret": "s3cret_Token-2", "no secret": ""} {
		status, err := telegramfake.PostRaw(ctx, hookURL, secret, body)
		if err != nil || status != http.StatusForbidden {
			t.Errorf("%s: status %d (%v), want 403", name, status, err)
		}
	}
	if n := host.count("inbound_refused/forged_secret"); n != 2 {
		t.Errorf("forged_secret counted %d times, want 2", n)
	}
	if len(host.Messages()) != 1 {
		t.Errorf("forged updates reached the hub: %d messages", len(host.Messages()))
	}

	for name, tc := range map[string]struct {
		body   []byte
		status int
		reason string
	}{
		"truncated JSON":  {body[:len(body)/2], http.StatusBadRequest, "malformed"},
		"trailing data":   {append(slices.Clone(body), []byte(`{"update_id":1}`)...), http.StatusBadRequest, "malformed"},
		"no update_id":    {[]byte(`{"message":{"message_id":1}}`), http.StatusBadRequest, "malformed"},
		"message no chat": {[]byte(`{"update_id":5,"message":{"message_id":1,"date":1700000000}}`), http.StatusBadRequest, "malformed"},
		"oversized":       {bytes.Repeat([]byte("x"), maxBodyBytes+1), http.StatusRequestEntityTooLarge, "oversized"},
	} {
		before := host.count("inbound_refused/" + tc.reason)
		status, err := telegramfake.PostRaw(ctx, hookURL, "s3cret_Token-1", tc.body)
		if err != nil || status != tc.status {
			t.Errorf("%s: status %d (%v), want %d", name, status, err, tc.status)
		}
		if host.count("inbound_refused/"+tc.reason) != before+1 {
			t.Errorf("%s: not counted as %s", name, tc.reason)
		}
	}
	if n := len(host.Messages()); n != 1 {
		t.Errorf("refused updates reached the hub: %d messages, want 1", n)
	}

	// The hub cannot store now: 503, so Telegram sends it again; then 200 and stored once.
	again := fake.Text(ann, "stored on the second try")
	host.setFail(errors.New("hub unreachable"))
	if status, _ := fake.Post(ctx, again); status != http.StatusServiceUnavailable {
		t.Errorf("with the hub failing: status %d, want 503", status)
	}
	host.setFail(nil)
	if status, _ := fake.Post(ctx, again); status != http.StatusOK {
		t.Errorf("second try: status %d, want 200", status)
	}
	if status, _ := fake.Post(ctx, again); status != http.StatusOK {
		t.Errorf("a repeat: status %d, want 200", status)
	}
	if n := len(host.Events()); n != 3 {
		t.Errorf("%d events stored, want 3 (start and two messages)", n)
	}

	// The hub refusing for good: Telegram hears 200 (sending again would not help), and it counts.
	host.setReject(func(*sdk.Event) string { return "the conversation has ended" })
	if status, _ := fake.Post(ctx, fake.Text(ann, "refused")); status != http.StatusOK {
		t.Errorf("hub refusal: status %d, want 200", status)
	}
	if host.count("messages_refused/hub") != 1 {
		t.Errorf("the hub's refusal was not counted")
	}
}

func TestTelegramMedia(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	startInstance(t, host, telegramConfig(fake, "polling", map[string]any{"max_media_bytes": 4096}), nil)

	photo := bytes.Repeat([]byte{0xff, 0xd8, 0x01}, 1000) // 3000 bytes
	pu := fake.Photo(ann, "the broken box", photo)
	doc := []byte("%PDF-1.7 invoice")
	du := fake.Document(ann, "invoice.pdf", "application/pdf", doc, "")
	big := fake.Document(ann, "scan.tiff", "image/tiff", bytes.Repeat([]byte("t"), 5000), "my scan")
	silent := fake.Photo(ann, "", bytes.Repeat([]byte("p"), 8000))
	sticker := fake.Sticker(ann)
	fake.Queue(pu, du, big, silent, sticker)
	if err := fake.Wait(ctxFor(t), func() bool { return fake.Confirmed(sticker.UpdateID) }); err != nil {
		t.Fatal("the updates were not all handled")
	}

	msgs := host.Messages()
	if len(msgs) != 5 {
		t.Fatalf("%d messages, want 5 (photo, document, the scan's caption, the captionless oversized photo's note, the sticker note)", len(msgs))
	}
	pm := msgs[0].GetMessage().GetContent()
	if pm.GetText() != "the broken box" || len(pm.GetAttachments()) != 1 {
		t.Fatalf("photo message = %+v", pm)
	}
	a := pm.GetAttachments()[0]
	if !bytes.Equal(a.GetData(), photo) || a.GetContentType() != "image/jpeg" || a.GetSize() != int64(len(photo)) ||
		a.GetName() != "image-"+pu.Message.Photo[1].FileUniqueID+".jpg" {
		t.Errorf("photo attachment name %q type %q size %d, data equal %v", a.GetName(), a.GetContentType(), a.GetSize(), bytes.Equal(a.GetData(), photo))
	}
	gets := fake.Requests("getFile")
	if len(gets) != 2 || gets[0].Params["file_id"] != pu.Message.Photo[1].FileID || gets[1].Params["file_id"] != du.Message.Document.FileID {
		t.Errorf("getFile calls = %+v, want the photo's largest size, then the document (never the oversized files)", gets)
	}
	var downloaded []string
	for _, r := range fake.Requests(telegramfake.Download) {
		downloaded = append(downloaded, r.Params["file_path"].(string))
	}
	if len(downloaded) != 2 || !strings.HasPrefix(downloaded[0], "photos/file_") || !strings.HasPrefix(downloaded[1], "documents/invoice_") {
		t.Errorf("downloads = %v, want the photo's and the document's file_path", downloaded)
	}
	dm := msgs[1].GetMessage().GetContent()
	if dm.GetText() != "" || len(dm.GetAttachments()) != 1 || dm.GetAttachments()[0].GetName() != "invoice.pdf" ||
		dm.GetAttachments()[0].GetContentType() != "application/pdf" || !bytes.Equal(dm.GetAttachments()[0].GetData(), doc) {
		t.Errorf("document message = %+v", dm)
	}
	leftOut := "it was left out]"
	if bm := msgs[2].GetMessage().GetContent(); !strings.HasPrefix(bm.GetText(), "my scan\n[") || !strings.HasSuffix(bm.GetText(), leftOut) || len(bm.GetAttachments()) != 0 {
		t.Errorf("oversized document: %+v, want the caption and a note that the file was left out", bm)
	}
	if sm := msgs[3].GetMessage().GetContent(); !strings.HasSuffix(sm.GetText(), leftOut) || len(sm.GetAttachments()) != 0 {
		t.Errorf("captionless oversized photo: %+v, want a note that the file was left out", sm)
	}
	if n := host.count("media_refused/oversized"); n != 2 {
		t.Errorf("media_refused/oversized counted %d times, want 2", n)
	}
	if sm := msgs[4].GetMessage().GetContent().GetText(); !strings.Contains(sm, "cannot show") {
		t.Errorf("sticker message = %q, want a note for the agent", sm)
	}
}

func TestTelegramDeliver(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, telegramConfig(fake, "polling", nil), nil)
	fake.Queue(fake.Text(ann, "hi"))
	host.Await(t, "the customer's message", withText("hi"))

	if err := deliver(inst.p, annKey, "out-1", "Hello Ann, see https://example.com/track"); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	sends := fake.Requests("sendMessage")
	if len(sends) != 1 || num(t, sends[0].Params["chat_id"]) != 424242 || sends[0].Params["text"] != "Hello Ann, see https://example.com/track" {
		t.Fatalf("sendMessage calls = %+v", sends)
	}
	// The hub resends the event (its ack was lost): nothing goes out twice.
	if err := deliver(inst.p, annKey, "out-1", "Hello Ann, see https://example.com/track"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Requests("sendMessage")); n != 1 {
		t.Errorf("a resent event was sent again: %d sendMessage calls", n)
	}

	// Rich text goes out as plain text, links written out.
	html := sdk.NewMessage("out-html", annKey, sdk.Agent("sam", "Sam"), &pb.Content{Html: `<p>Track it <a href="https://example.com/t">here</a></p>`})
	if err := inst.p.Deliver(context.Background(), html); err != nil {
		t.Fatal(err)
	}
	if got := fake.Texts(424242); got[len(got)-1] != "Track it here (https://example.com/t)" {
		t.Errorf("rich text sent as %q", got[len(got)-1])
	}

	// A long reply goes out in parts, each within Telegram's limit, at word breaks.
	long := strings.Repeat("word ", 1200) // 6000 characters
	if err := deliver(inst.p, annKey, "out-long", long); err != nil {
		t.Fatal(err)
	}
	texts := fake.Texts(424242)
	parts := texts[len(texts)-2:]
	if len([]rune(parts[0])) > telegramMaxText || strings.Join(parts, " ") != strings.TrimSpace(long) {
		t.Errorf("long reply parts of %d and %d characters do not rebuild the reply", len(parts[0]), len(parts[1]))
	}

	// Rate limited: an ordinary error, so the SDK retries.
	fake.FailNext("sendMessage", telegramfake.Failure{Code: 429, Description: "Too Many Requests: retry after 1", RetryAfter: 1})
	err := deliver(inst.p, annKey, "out-2", "after the rate limit")
	if _, isReject := sdk.IsRejected(err); err == nil || isReject {
		t.Errorf("429: Deliver = %v, want an error to retry", err)
	}
	if err := deliver(inst.p, annKey, "out-2", "after the rate limit"); err != nil {
		t.Errorf("retry after 429: %v", err)
	}

	// The customer blocked the bot: refused for good, with a reason the agent understands.
	fake.Block(424242)
	reason := rejected(t, deliver(inst.p, annKey, "out-3", "are you there?"))
	if !strings.Contains(reason, "blocked the bot") {
		t.Errorf("reason = %q", reason)
	}
	// Keys of another bot or platform are refused.
	rejected(t, deliver(inst.p, "telegram:424242|999", "out-4", "x"))
	rejected(t, deliver(inst.p, "whatsapp:424242|7000000001", "out-5", "x"))
}

func TestTelegramEndedConversationRestarts(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, telegramConfig(fake, "polling", nil), nil)
	fake.Queue(fake.Text(ann, "first chat"))
	host.Await(t, "first", withText("first chat"))
	ended := sdk.NewConversationEnded("end-1", annKey, sdk.Agent("sam", "Sam"), "resolved")
	if err := inst.p.Deliver(context.Background(), ended); err != nil {
		t.Fatal(err)
	}
	fake.Queue(fake.Text(ann, "second chat"))
	host.Await(t, "second", withText("second chat"))
	var starts []string
	for _, ev := range host.Events() {
		if ev.GetConversationStarted() != nil {
			starts = append(starts, ev.GetId()+"@"+ev.GetConversation())
		}
	}
	if !slices.Equal(starts, []string{"start:tg:424242:1@" + annKey, "start:tg:424242:2@" + annKey}) {
		t.Errorf("conversation_started events %v: the same key, a new one after the end", starts)
	}
}

func TestTelegramIgnoresGroupChats(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	startInstance(t, host, telegramConfig(fake, "polling", nil), nil)
	group := fake.Text(ann, "hello group")
	group.Message.Chat = telegramfake.Chat{ID: -100123, Type: "supergroup", Title: "Fans"}
	private := fake.Text(ann, "hello bot")
	fake.Queue(group, private)
	host.Await(t, "the private message", withText("hello bot"))
	if n := len(host.Messages()); n != 1 {
		t.Errorf("%d messages, want only the private chat's", n)
	}
}

func TestTelegramDisabled(t *testing.T) {
	fake := telegramfake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, telegramConfig(fake, "webhook", map[string]any{"enabled": false}), nil)
	body, _ := json.Marshal(fake.Text(ann, "anyone?"))
	cfg := inst.p.cfg.Telegram
	status, err := telegramfake.PostRaw(ctxFor(t), inst.url+"telegram/webhook", cfg.WebhookSecret, body)
	if err != nil || status != http.StatusGone {
		t.Errorf("webhook of a disabled instance: %d %v, want 410", status, err)
	}
	if host.count("inbound_refused/disabled") != 1 || len(host.Events()) != 0 {
		t.Errorf("disabled: counted %d, stored %d events", host.count("inbound_refused/disabled"), len(host.Events()))
	}
	reason := rejected(t, deliver(inst.p, annKey, "out-1", "hello"))
	if !strings.Contains(reason, "disabled") {
		t.Errorf("reason = %q", reason)
	}
	if n := len(fake.Requests("")); n != 0 {
		t.Errorf("a disabled instance called the Bot API %d times", n)
	}
}
