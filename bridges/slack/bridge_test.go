package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/bridges/slack/slackfake"
	"github.com/switchboardhq/switchboard/sdk"
)

func TestVerifySignature(t *testing.T) {
	secret, body, now := "8f742231b10e8888abcd99yyyzzz85a5", []byte(`{"type":"event_callback"}`), time.Unix(1700000000, 0)
	sign := func(secret string, ts int64, body []byte) http.Header {
		h := http.Header{}
		h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("X-Slack-Signature", slackfake.Sign(secret, ts, body))
		return h
	}
	for _, c := range []struct {
		name   string
		header http.Header
		body   []byte
		reason string
	}{
		{"valid", sign(secret, now.Unix(), body), body, ""},
		{"valid, 4 minutes old", sign(secret, now.Unix()-240, body), body, ""},
		{"wrong secret", sign("another", now.Unix(), body), body, "forged"},
		{"body changed", sign(secret, now.Unix(), body), []byte(`{"type":"event_callback" }`), "forged"},
		{"stale", sign(secret, now.Unix()-301, body), body, "stale"},
		{"from the future", sign(secret, now.Unix()+301, body), body, "stale"},
		{"no signature", http.Header{"X-Slack-Request-Timestamp": {"1700000000"}}, body, "forged"},
		{"timestamp not a number", http.Header{"X-Slack-Request-Timestamp": {"soon"}, "X-Slack-Signature": {"v0=00"}}, body, "malformed"},
	} {
		err := verify(secret, c.header, c.body, now)
		if c.reason == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", c.name, err)
			}
			continue
		}
		r, ok := err.(*refusal)
		if !ok || r.reason != c.reason {
			t.Errorf("%s: %v, want a %s refusal", c.name, err, c.reason)
		}
	}
	// Slack's documented example request.
	h := http.Header{"X-Slack-Request-Timestamp": {"1531420618"},
		"X-Slack-Signature": {"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}}
	doc := []byte("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
	if err := verify(secret, h, doc, time.Unix(1531420618, 0)); err != nil {
		t.Errorf("Slack's documented example: %v", err)
	}
}

// The Events API endpoint: challenge, refusals with reasons and counts, one emit per event id,
// and 200 only once the hub stored the message.
func TestEventsEndpoint(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0ERIN", "Erin Expert")
	host := newTestHost()
	b, _ := startBridge(t, fake, host, "events")
	srv := httptest.NewServer(b.routes())
	t.Cleanup(srv.Close)
	fake.UseEventsAPI(srv.URL + "/events")
	agentOnline(b, "alice", "Alice Archer", true)
	ctx := ctxFor(t)

	post := func(body []byte, ts int64, secret string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/events", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", slackfake.Sign(secret, ts, body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 512)
		n, _ := res.Body.Read(buf)
		sb.Write(buf[:n])
		return res.StatusCode, strings.TrimSpace(sb.String())
	}
	now := time.Now().Unix()
	if code, body := post([]byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`), now, fake.SigningSecret); code != 200 || !strings.Contains(body, `"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"`) {
		t.Errorf("url_verification: %d %s", code, body)
	}
	if code, body := post([]byte(`{"type":"url_verification","challenge":"c"}`), now, "wrong"); code != 401 || !strings.Contains(body, "does not match") {
		t.Errorf("forged challenge: %d %s", code, body)
	}
	if code, _ := post([]byte(`{"type":"event_callback"}`), now-3600, fake.SigningSecret); code != 401 {
		t.Errorf("stale request: %d", code)
	}
	if code, _ := post([]byte(`not json`), now, fake.SigningSecret); code != 400 {
		t.Errorf("malformed request: %d", code)
	}
	for _, key := range []string{"events_refused/forged", "events_refused/stale", "events_refused/malformed"} {
		if host.count(key) != 1 {
			t.Errorf("count %s = %d, want 1", key, host.count(key))
		}
	}

	// A chat, then a message held by the hub: Slack gets no answer until the hub stored it.
	if err := fake.OpenHome(ctx, "U0ERIN"); err != nil {
		t.Fatal(err)
	}
	thread, err := startChat(ctx, fake, "U0ERIN", "alice")
	if err != nil {
		t.Fatal(err)
	}
	release := host.Hold(nil)
	said := make(chan error, 1)
	go func() { _, err := fake.Say(ctx, "U0ERIN", thread, "held"); said <- err }()
	select {
	case err := <-said:
		t.Fatalf("Slack got its answer (%v) before the hub stored the message", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	msg := host.Await(t, "the held message", func(ev *sdk.Event) bool { return ev.GetMessage().GetContent().GetText() == "held" })

	// Slack retries with the same event id: the event is handled once, and answered 200.
	inner := map[string]any{"type": "message", "channel": fake.DM("U0ERIN"), "channel_type": "im", "user": "U0ERIN",
		"text": "retried", "ts": "1700000001.000001", "thread_ts": thread}
	body := fake.Callback("Ev0RETRY", inner)
	for i := 0; i < 2; i++ {
		if code, text := post(body, time.Now().Unix(), fake.SigningSecret); code != 200 {
			t.Fatalf("delivery %d: %d %s", i+1, code, text)
		}
	}
	n := 0
	for _, ev := range host.Messages() {
		if ev.GetMessage().GetContent().GetText() == "retried" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a retried event id was emitted %d times", n)
	}
	if !strings.HasPrefix(msg.GetId(), "slack:"+fake.DM("U0ERIN")+":") {
		t.Errorf("message id %q is not derived from the channel and ts", msg.GetId())
	}
}

// Socket Mode: envelopes are acknowledged once handled; unreadable ones are acknowledged and
// counted instead of coming back forever.
func TestSocketModeAcks(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0ERIN", "Erin Expert")
	host := newTestHost()
	b, _ := startBridge(t, fake, host, "socket")
	agentOnline(b, "alice", "Alice Archer", true)
	ctx := ctxFor(t)
	thread, err := startChat(ctx, fake, "U0ERIN", "alice")
	if err != nil {
		t.Fatal(err)
	}
	started := host.Await(t, "the chat start", func(ev *sdk.Event) bool { return ev.GetConversationStarted() != nil })
	if s := started.GetConversationStarted(); started.GetConversation() != "alice|U0ERIN" || s.GetTargetAgent() != "alice" ||
		s.GetInitiator().GetKind() != sdk.AsExpert || s.GetInitiator().GetId() != "U0ERIN" || s.GetInitiator().GetDisplayName() != "Erin Expert" {
		t.Errorf("conversation started = %v", started)
	}

	release := host.Hold(nil)
	said := make(chan error, 1)
	go func() { _, err := fake.Say(ctx, "U0ERIN", thread, "over the socket"); said <- err }()
	select {
	case err := <-said:
		t.Fatalf("the envelope was acknowledged (%v) before the hub stored the message", err)
	case <-time.After(3500 * time.Millisecond): // past Slack's first resend
	}
	release()
	if err := <-said; err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range host.Messages() {
		if ev.GetMessage().GetContent().GetText() == "over the socket" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the message, resent by Slack while unacknowledged, was emitted %d times", n)
	}

	if err := fake.SendRaw(ctx, "events_api", []byte(`{"type":"event_callback","event":"not an object"}`)); err != nil {
		t.Errorf("an unreadable envelope was never acknowledged: %v", err)
	}
	if err := fake.SendRaw(ctx, "events_api", []byte(`[1,2]`)); err != nil {
		t.Errorf("a broken envelope was never acknowledged: %v", err)
	}
	if host.count("events_refused/malformed") != 2 {
		t.Errorf("malformed envelopes counted %d times, want 2", host.count("events_refused/malformed"))
	}

	// Slack closes the connection (it rotates them): the bridge opens another.
	fake.DropConnections()
	if _, err := fake.Say(ctx, "U0ERIN", thread, "after reconnecting"); err != nil {
		t.Fatalf("after Slack dropped the connection: %v", err)
	}
	host.Await(t, "the message after reconnecting", func(ev *sdk.Event) bool {
		return ev.GetMessage().GetContent().GetText() == "after reconnecting"
	})
}

// The whole chat on Slack: the Home tab, the thread, what the app posts (checked field by field),
// the expert's messages, and what is not imported.
func TestChat(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0ERIN", "Erin Expert")
	host := newTestHost()
	b, _ := startBridge(t, fake, host, "socket")
	ctx := ctxFor(t)
	agentOnline(b, "alice", "Alice Archer", true)
	agentOnline(b, "bob", "Bob Baker", false)

	// The Home tab lists the agents, online first, with a Chat button each.
	if err := fake.OpenHome(ctx, "U0ERIN"); err != nil {
		t.Fatal(err)
	}
	if !poll(func() bool { return len(fake.Buttons("U0ERIN")) == 2 }) {
		t.Fatalf("Home tab buttons = %v", fake.Buttons("U0ERIN"))
	}
	home := string(fake.Views("U0ERIN")[len(fake.Views("U0ERIN"))-1])
	if a, z := strings.Index(home, "🟢 *Alice Archer*"), strings.Index(home, "⚪ *Bob Baker*"); a < 0 || z < 0 || a > z {
		t.Errorf("Home tab: %s", home)
	}
	// A presence change republishes it.
	views := len(fake.Views("U0ERIN"))
	agentOnline(b, "bob", "Bob Baker", true)
	if !poll(func() bool {
		v := fake.Views("U0ERIN")
		return len(v) > views && strings.Contains(string(v[len(v)-1]), "🟢 *Bob Baker*")
	}) {
		t.Error("bob's sign-in did not republish the Home tab")
	}

	// Pressing Chat starts the thread, posted as the agent.
	thread, err := startChat(ctx, fake, "U0ERIN", "alice")
	if err != nil {
		t.Fatal(err)
	}
	starter := fake.Requests("chat.postMessage")[0].Form
	var meta map[string]any
	json.Unmarshal([]byte(starter.Get("metadata")), &meta)
	payload, _ := meta["event_payload"].(map[string]any)
	if starter.Get("channel") != fake.DM("U0ERIN") || starter.Get("username") != "Alice Archer" ||
		starter.Get("icon_url") != "https://avatars.example.com/alice.png" || starter.Get("thread_ts") != "" ||
		meta["event_type"] != "switchboard_chat" || payload["agent"] != "alice" || payload["expert"] != "U0ERIN" {
		t.Errorf("thread starter request = %v", starter)
	}

	// The expert writes with formatting; the hub gets sanitized HTML under the chat key.
	blocks := `[{"type":"rich_text","block_id":"x","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Is "},{"type":"text","text":"this","style":{"bold":true}},{"type":"text","text":" right?"}]}]}]`
	if _, err := fake.SayBlocks(ctx, "U0ERIN", thread, "Is *this* right?", json.RawMessage(blocks)); err != nil {
		t.Fatal(err)
	}
	msg := host.Await(t, "the expert's message", func(ev *sdk.Event) bool { return ev.GetMessage() != nil })
	if c := msg.GetMessage().GetContent(); msg.GetConversation() != "alice|U0ERIN" || c.GetText() != "Is this right?" ||
		c.GetHtml() != "<p>Is <b>this</b> right?</p>" || msg.GetMessage().GetFrom().GetDisplayName() != "Erin Expert" {
		t.Errorf("the expert's message = %v", msg)
	}

	// The agent answers: a reply in the thread, idempotent by event id.
	reply := sdk.NewMessage("hub-ev-1", "alice|U0ERIN", sdk.Agent("alice", "Alice Archer"),
		&sdk.Content{Text: "Yes", Html: "<p><b>Yes</b> &lt;3</p>"})
	for i := 0; i < 2; i++ {
		if err := b.Deliver(ctx, reply); err != nil {
			t.Fatal(err)
		}
	}
	posts := fake.Requests("chat.postMessage")
	last := posts[len(posts)-1].Form
	json.Unmarshal([]byte(last.Get("metadata")), &meta)
	payload, _ = meta["event_payload"].(map[string]any)
	if len(posts) != 2 || last.Get("thread_ts") != thread || last.Get("username") != "Alice Archer" || last.Get("text") != "Yes &lt;3" ||
		meta["event_type"] != "switchboard_message" || payload["event"] != "hub-ev-1" ||
		last.Get("blocks") != `[{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Yes","style":{"bold":true}},{"type":"text","text":" \u003c3"}]}]}]` {
		t.Errorf("%d posts; the reply = %v", len(posts), last)
	}
	// Typing is accepted and dropped.
	if err := b.Deliver(ctx, sdk.NewTyping("t1", "alice|U0ERIN", sdk.Agent("alice", "Alice Archer"), true)); err != nil {
		t.Errorf("typing: %v", err)
	}
	// A key that is not an expert chat is refused.
	if _, ok := sdk.IsRejected(b.Deliver(ctx, sdk.NewMessage("bad", "nokey", sdk.Agent("alice", ""), &sdk.Content{Text: "x"}))); !ok {
		t.Error("a message for a malformed key was not refused")
	}

	// A DM outside a thread goes to the expert's only chat.
	if _, err := fake.Say(ctx, "U0ERIN", "", "outside the thread"); err != nil {
		t.Fatal(err)
	}
	host.Await(t, "the top-level message", func(ev *sdk.Event) bool {
		return ev.GetMessage().GetContent().GetText() == "outside the thread" && ev.GetConversation() == "alice|U0ERIN"
	})
	// With two chats the bridge does not guess: the expert is told how to choose.
	if _, err := startChat(ctx, fake, "U0ERIN", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Say(ctx, "U0ERIN", "", "which one?"); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(host.Events(), func(ev *sdk.Event) bool { return ev.GetMessage().GetContent().GetText() == "which one?" }) {
		t.Error("a message outside a thread was imported although the expert has two chats")
	}
	if hints := fake.Ephemerals("U0ERIN"); len(hints) != 1 || !strings.Contains(hints[0].Text, "several agents") {
		t.Errorf("hints = %+v", hints)
	}

	// The app's own posts come back as events: none is imported.
	if !poll(func() bool { return fake.Pending() == 0 }) {
		t.Fatal("the app never acknowledged the echoes of its posts")
	}
	for _, ev := range host.Messages() {
		if ev.GetMessage().GetFrom().GetId() != "U0ERIN" {
			t.Errorf("imported a message not from the expert: %v", ev)
		}
	}

	// The expert's presence reaches the hub, and its changes.
	host.Await(t, "the expert online", func(ev *sdk.Event) bool {
		p := ev.GetPresence()
		return p.GetSubject().GetId() == "U0ERIN" && p.GetSubject().GetKind() == sdk.AsExpert && p.GetState() == sdk.Online
	})
	fake.SetPresence("U0ERIN", "away")
	host.Await(t, "the expert away", func(ev *sdk.Event) bool {
		p := ev.GetPresence()
		return p.GetSubject().GetId() == "U0ERIN" && p.GetState() == sdk.Away
	})
}

// Files: downloaded with the bot token up to the limit; a bigger one is refused and the expert
// told; the hub's refusal of a message is told to the expert too.
func TestFilesAndRefusals(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0ERIN", "Erin Expert")
	host := newTestHost()
	b, _ := startBridge(t, fake, host, "socket")
	ctx := ctxFor(t)
	agentOnline(b, "alice", "Alice Archer", true)
	thread, err := startChat(ctx, fake, "U0ERIN", "alice")
	if err != nil {
		t.Fatal(err)
	}
	small := []byte("%PDF-1.4 small")
	if _, err := fake.ShareFile(ctx, "U0ERIN", thread, "the manual", "manual.pdf", "application/pdf", small, false); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.ShareFile(ctx, "U0ERIN", thread, "", "info.txt", "text/plain", []byte("via files.info"), true); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.ShareFile(ctx, "U0ERIN", thread, "too big", "big.bin", "application/octet-stream", make([]byte, 2048), false); err != nil {
		t.Fatal(err)
	}
	withFile := host.Await(t, "the manual", func(ev *sdk.Event) bool { return len(ev.GetMessage().GetContent().GetAttachments()) > 0 })
	if a := withFile.GetMessage().GetContent().GetAttachments()[0]; a.GetName() != "manual.pdf" || string(a.GetData()) != string(small) ||
		a.GetContentType() != "application/pdf" || withFile.GetMessage().GetContent().GetText() != "the manual" {
		t.Errorf("attachment = %v", withFile)
	}
	host.Await(t, "the file found through files.info", func(ev *sdk.Event) bool {
		a := ev.GetMessage().GetContent().GetAttachments()
		return len(a) == 1 && string(a[0].GetData()) == "via files.info"
	})
	big := host.Await(t, "the text of the message with the big file", func(ev *sdk.Event) bool {
		return ev.GetMessage().GetContent().GetText() == "too big"
	})
	if len(big.GetMessage().GetContent().GetAttachments()) != 0 || host.count("attachments_refused/too_big") != 1 {
		t.Errorf("the big file: %v, counted %d", big, host.count("attachments_refused/too_big"))
	}
	if !slices.ContainsFunc(fake.Thread(fake.DM("U0ERIN"), thread), func(m slackfake.Message) bool {
		return m.BotID != "" && strings.Contains(m.Text, "big.bin") && strings.Contains(m.Text, "1 KiB")
	}) {
		t.Error("the expert was not told that big.bin is too big")
	}
	for _, r := range fake.Requests("files-pri") {
		if r.Token != fake.BotToken {
			t.Errorf("a file was downloaded with token %q", r.Token)
		}
	}

	host.Fail(func(ev *sdk.Event) error {
		if ev.GetMessage().GetContent().GetText() == "refused" {
			return &sdk.RejectedError{Reason: `there is no agent "alice"`}
		}
		return nil
	})
	if _, err := fake.Say(ctx, "U0ERIN", thread, "refused"); err != nil {
		t.Fatalf("a refused message must still be acknowledged to Slack: %v", err)
	}
	if !slices.ContainsFunc(fake.Thread(fake.DM("U0ERIN"), thread), func(m slackfake.Message) bool {
		return m.BotID != "" && strings.Contains(m.Text, `there is no agent "alice"`)
	}) {
		t.Error("the expert was not told that the hub refused the message")
	}
}

// After a restart the bridge finds its threads and posts on Slack again: no second thread, no
// second copy of a post, and the expert's replies still reach the right chat.
func TestRestartRecoversFromSlack(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0ERIN", "Erin Expert")
	ctx := ctxFor(t)
	first := newTestHost()
	b1, stop := startBridge(t, fake, first, "socket")
	for i := 1; i <= 3; i++ {
		if err := b1.Deliver(ctx, sdk.NewMessage(fmt.Sprintf("ev-%d", i), "alice|U0ERIN", sdk.Agent("alice", "Alice Archer"), &sdk.Content{Text: fmt.Sprintf("m%d", i)})); err != nil {
			t.Fatal(err)
		}
	}
	stop()
	if !poll(func() bool { return fake.Connections() == 0 }) {
		t.Fatal("the stopped bridge is still connected")
	}

	second := newTestHost()
	b2, _ := startBridge(t, fake, second, "socket")
	before := len(fake.Requests("chat.postMessage"))
	for i := 1; i <= 4; i++ {
		if err := b2.Deliver(ctx, sdk.NewMessage(fmt.Sprintf("ev-%d", i), "alice|U0ERIN", sdk.Agent("alice", "Alice Archer"), &sdk.Content{Text: fmt.Sprintf("m%d", i)})); err != nil {
			t.Fatal(err)
		}
	}
	msgs := fake.Messages(fake.DM("U0ERIN"))
	if posted := len(fake.Requests("chat.postMessage")) - before; posted != 1 || len(msgs) != 4 {
		t.Fatalf("after the restart the bridge posted %d times; the DM has %d messages, want 4", posted, len(msgs))
	}
	thread := msgs[0].TS
	if msgs[3].ThreadTS != thread || msgs[3].Text != "m4" {
		t.Errorf("the post after the restart = %+v, want m4 in thread %s", msgs[3], thread)
	}
	if _, err := fake.Say(ctx, "U0ERIN", thread, "still here"); err != nil {
		t.Fatal(err)
	}
	if ev := second.Await(t, "the reply", func(ev *sdk.Event) bool { return ev.GetMessage() != nil }); ev.GetConversation() != "alice|U0ERIN" {
		t.Errorf("the reply after the restart went to %q", ev.GetConversation())
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		json, public string
		paths        []string
	}{
		{`{"bot_token":"xoxb-1","app_token":"xapp-1"}`, "", nil},
		{`{"bot_token":"xoxb-1","mode":"events","signing_secret":"s"}`, "https://hub.example/c/slack/", nil},
		{`{}`, "", []string{"bot_token", "app_token"}},
		{`{"bot_token":"xoxp-1","app_token":"xoxb-1"}`, "", []string{"bot_token", "app_token"}},
		{`{"bot_token":"xoxb-1","mode":"events"}`, "", []string{"signing_secret", "mode"}},
		{`{"bot_token":"xoxb-1","mode":"rtm"}`, "", []string{"mode"}},
		{`{"bot_token":"xoxb-1","app_token":"xapp-1","api_url":"ftp://x","max_attachment_bytes":99999999999,"presence_poll_interval":"5ms","agent_icon_url":"javascript:x"}`, "",
			[]string{"api_url", "max_attachment_bytes", "presence_poll_interval", "agent_icon_url"}},
		{`{"bot_token":"xoxb-1","app_token":"xapp-1","extra":1}`, "", []string{"extra"}},
		{`{"bot_token":1}`, "", []string{"bot_token"}},
	} {
		b := newBridge()
		_, err := b.Configure(context.Background(), sdk.Config{JSON: []byte(c.json), PublicURL: c.public, ValidateOnly: true})
		var got []string
		if ce, ok := err.(sdk.ConfigError); ok {
			for _, f := range ce {
				got = append(got, f.Path)
			}
		} else if err != nil {
			t.Errorf("%s: %v is not a ConfigError", c.json, err)
		}
		if !slices.Equal(got, c.paths) {
			t.Errorf("%s: field errors %v (%v), want %v", c.json, got, err, c.paths)
		}
	}
}

// An agent starts a chat from the console: the thread starts with the agent's note; the hub's
// own notices are the app's posts; ending the chat leaves a note.
func TestAgentStartsAndEnds(t *testing.T) {
	fake := slackfake.New(t)
	fake.AddUser("U0FRED", "Fred Fixer")
	host := newTestHost()
	b, _ := startBridge(t, fake, host, "socket")
	ctx := ctxFor(t)
	alice := sdk.Agent("alice", "Alice Archer")
	if err := b.Deliver(ctx, sdk.NewConversationStarted("st-1", "alice|U0FRED", &sdk.ConversationStarted{Initiator: alice})); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver(ctx, sdk.NewMessage("sys-1", "alice|U0FRED", &sdk.Participant{Kind: sdk.AsSystem}, &sdk.Content{Text: "Alice Archer is signed out."})); err != nil {
		t.Fatal(err)
	}
	if err := b.Deliver(ctx, sdk.NewConversationEnded("end-1", "alice|U0FRED", alice, "")); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Messages(fake.DM("U0FRED"))
	if len(msgs) != 3 {
		t.Fatalf("the DM has %d messages, want 3: %+v", len(msgs), msgs)
	}
	start, notice, end := msgs[0], msgs[1], msgs[2]
	if start.ThreadTS != "" || start.Username != "Alice Archer" || !strings.Contains(start.Text, "Alice Archer started a chat") ||
		start.Metadata == nil || start.Metadata.EventType != "switchboard_chat" {
		t.Errorf("the thread starter = %+v", start)
	}
	if notice.ThreadTS != start.TS || notice.Username != "" || notice.Text != "Alice Archer is signed out." {
		t.Errorf("the hub's notice = %+v, want the app's post in the thread", notice)
	}
	if end.ThreadTS != start.TS || !strings.Contains(end.Text, "closed the chat") {
		t.Errorf("the end note = %+v", end)
	}
	// An expert the workspace does not have is refused for good.
	if _, ok := sdk.IsRejected(b.Deliver(ctx, sdk.NewMessage("m-x", "alice|U0NOBODY", alice, &sdk.Content{Text: "hi"}))); !ok {
		t.Error("a message to an unknown Slack user was not refused")
	}
}
