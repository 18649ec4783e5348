package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/bridges/slack/slackfake"
	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// The Slack bridge through a real hub. No Slack runs here: the workspace is slackfake (slack-go's
// slacktest extended with the methods the bridge calls), which posts signed Events API requests
// to the hub's /c/slack/ path, as Slack does in events mode.

const slackExpert = "U0ERIN0001"

// slackHome is the text of the expert's current Home tab.
func slackHome(fake *slackfake.Server, user string) string {
	views := fake.Views(user)
	if len(views) == 0 {
		return ""
	}
	return string(views[len(views)-1])
}

// slackThreadTexts returns the app's posts in the thread, as (username, text) pairs.
func slackThreadTexts(fake *slackfake.Server, user, thread string) [][2]string {
	var out [][2]string
	for _, m := range fake.Thread(fake.DM(user), thread) {
		if m.BotID != "" && m.TS != thread {
			out = append(out, [2]string{m.Username, m.Text})
		}
	}
	return out
}

func countPosts(posts [][2]string, text string) int {
	n := 0
	for _, p := range posts {
		if strings.Contains(p[1], text) {
			n++
		}
	}
	return n
}

func TestSlackBridgeThroughTheHub(t *testing.T) {
	ctx := ctxTimeout(t, 90*time.Second)
	fake := slackfake.New(t)
	fake.AddUser(slackExpert, "Erin Expert")
	addr := testproc.FreeAddr(t)
	fake.UseEventsAPI("http://" + addr + "/c/slack/events")
	plugin := fmt.Sprintf(`  - {instance: slack, plugin: slack, tenant: acme, config: {mode: events, bot_token: %q, signing_secret: %q, api_url: %q, presence_poll_interval: 1s}}`,
		fake.BotToken, fake.SigningSecret, fake.APIURL())
	h := startHub(t, hubOptions{addr: addr, extraPlugins: plugin})
	first := h.waitPlugin("slack", 0)

	// The expert opens the app's Home tab: the agents are there, signed out.
	if err := fake.OpenHome(ctx, slackExpert); err != nil {
		t.Fatal(err)
	}
	if !poll(10*time.Second, func() bool { return strings.Contains(slackHome(fake, slackExpert), "⚪ *Alice Archer*") }) {
		t.Fatalf("the Home tab does not show Alice offline: %s", slackHome(fake, slackExpert))
	}
	// Sign-in shows the agent online.
	alice := login(t, h.url, "acme", "alice")
	alice.listen()
	if !poll(5*time.Second, func() bool { return strings.Contains(slackHome(fake, slackExpert), "🟢 *Alice Archer*") }) {
		t.Fatalf("after sign-in the Home tab does not show Alice online: %s", slackHome(fake, slackExpert))
	}

	// The expert is in the agents' directory with their Slack presence.
	var dir struct {
		Experts []struct {
			Instance    string `json:"instance"`
			ID          string `json:"id"`
			DisplayName string `json:"display_name"`
			State       string `json:"state"`
		} `json:"experts"`
	}
	if !poll(10*time.Second, func() bool {
		alice.must("GET", "/api/v1/experts", nil, &dir)
		return len(dir.Experts) == 1 && dir.Experts[0].State == "online"
	}) {
		t.Fatalf("experts = %+v, want Erin online", dir.Experts)
	}
	if e := dir.Experts[0]; e.Instance != "slack" || e.ID != slackExpert || e.DisplayName != "Erin Expert" {
		t.Errorf("expert = %+v", e)
	}

	// Chat: the app starts a thread, the expert writes in it, the agent gets it.
	if err := fake.PressButton(ctx, slackExpert, "alice"); err != nil {
		t.Fatal(err)
	}
	var thread string
	if !poll(10*time.Second, func() bool {
		for _, m := range fake.Messages(fake.DM(slackExpert)) {
			if m.BotID != "" && m.ThreadTS == "" && m.Metadata != nil && m.Metadata.EventPayload["agent"] == "alice" {
				thread = m.TS
			}
		}
		return thread != ""
	}) {
		t.Fatal("pressing Chat started no thread in the expert's DM")
	}
	if _, err := fake.Say(ctx, slackExpert, thread, "Hi Alice, is the *manual* current?"); err != nil {
		t.Fatal(err)
	}
	push := awaitPush(t, alice, "the expert's message", func(p map[string]any) bool { return p["type"] == "message" })
	conv := push["conversation_id"].(string)
	if m := push["message"].(map[string]any); m["sender_kind"] != "expert" || m["sender_name"] != "Erin Expert" ||
		m["text"] != "Hi Alice, is the *manual* current?" {
		t.Errorf("the expert's message reached the console as %v", m)
	}

	// The agent replies with formatting: rich_text blocks under the agent's name, in the thread.
	reply := `<p><b>Yes</b>, see <a href="https://example.com/kb">the KB</a> and run <code>update()</code></p><ul><li>one</li><li>two</li></ul>`
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "s1", "text": "Yes, see the KB", "html": reply}, nil)
	var post *slackfake.Message
	if !poll(10*time.Second, func() bool {
		for _, m := range fake.Thread(fake.DM(slackExpert), thread) {
			if m.Username == "Alice Archer" && strings.Contains(m.Text, "Yes") {
				post = &m
			}
		}
		return post != nil
	}) {
		t.Fatalf("the reply never reached the thread: %v", slackThreadTexts(fake, slackExpert, thread))
	}
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			Type     string            `json:"type"`
			Style    json.RawMessage   `json:"style"`
			Elements []json.RawMessage `json:"elements"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(post.Blocks, &blocks); err != nil || len(blocks) != 1 || blocks[0].Type != "rich_text" || len(blocks[0].Elements) != 2 {
		t.Fatalf("the reply's blocks = %s (%v)", post.Blocks, err)
	}
	section, list := blocks[0].Elements[0], blocks[0].Elements[1]
	joined := func(raw []json.RawMessage) string {
		var parts []string
		for _, r := range raw {
			parts = append(parts, string(r))
		}
		return strings.Join(parts, ",")
	}
	for _, want := range []string{`{"type":"text","text":"Yes","style":{"bold":true}}`, `{"type":"link","text":"the KB","url":"https://example.com/kb"}`,
		`{"type":"text","text":"update()","style":{"code":true}}`} {
		if section.Type != "rich_text_section" || !strings.Contains(joined(section.Elements), want) {
			t.Errorf("the reply's section %s lacks %s", joined(section.Elements), want)
		}
	}
	if list.Type != "rich_text_list" || string(list.Style) != `"bullet"` || len(list.Elements) != 2 {
		t.Errorf("the reply's list = %+v", list)
	}
	if post.Metadata == nil || post.Metadata.EventType != "switchboard_message" || post.ThreadTS != thread {
		t.Errorf("the reply's metadata %+v thread %q, want switchboard_message in %s", post.Metadata, post.ThreadTS, thread)
	}

	// Signed out: the Home tab shows the agent offline; what the expert writes waits for the next
	// sign-in, and the expert is told once.
	alice.must("POST", "/api/v1/logout", nil, nil)
	if !poll(5*time.Second, func() bool { return strings.Contains(slackHome(fake, slackExpert), "⚪ *Alice Archer*") }) {
		t.Fatalf("after sign-out the Home tab does not show Alice offline: %s", slackHome(fake, slackExpert))
	}
	for i := 1; i <= 2; i++ {
		if _, err := fake.Say(ctx, slackExpert, thread, fmt.Sprintf("while you were out %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if !poll(10*time.Second, func() bool {
		return countPosts(slackThreadTexts(fake, slackExpert, thread), "delivered when Alice Archer signs in") > 0
	}) {
		t.Fatalf("the expert was never told that Alice is away: %v", slackThreadTexts(fake, slackExpert, thread))
	}
	alice = login(t, h.url, "acme", "alice")
	alice.listen()
	chats := snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].ID != conv || chats[0].Unread != 2 {
		t.Fatalf("at sign-in alice has %+v, want the chat with Erin and 2 unread", chats)
	}
	if n := countPosts(slackThreadTexts(fake, slackExpert, thread), "delivered when Alice Archer signs in"); n != 1 {
		t.Errorf("the expert was told %d times that Alice is away, want once", n)
	}

	// SIGKILL the bridge while Slack holds the answer to a post it already kept, and while the
	// expert writes: after the restart nothing is lost and nothing is doubled.
	release := fake.HoldPosts()
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "s2", "text": "posted before the crash"}, nil)
	if !poll(10*time.Second, func() bool {
		return countPosts(slackThreadTexts(fake, slackExpert, thread), "posted before the crash") == 1
	}) {
		t.Fatal("the post never reached Slack")
	}
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	release()
	during := make(chan error, 1)
	go func() {
		_, err := fake.Say(ctx, slackExpert, thread, "written during the restart")
		during <- err
	}()
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "s3", "text": "sent during the restart"}, nil)
	h.waitPlugin("slack", first.PID)
	if err := <-during; err != nil {
		t.Fatalf("the expert's message during the restart: %v", err)
	}
	if !poll(15*time.Second, func() bool {
		return countPosts(slackThreadTexts(fake, slackExpert, thread), "sent during the restart") == 1 &&
			h.metric("switchboard_plugin_outbox_depth", `instance="slack"`) == 0
	}) {
		t.Fatalf("after the restart the thread has %v", slackThreadTexts(fake, slackExpert, thread))
	}
	posts := slackThreadTexts(fake, slackExpert, thread)
	for _, text := range []string{"posted before the crash", "sent during the restart", "Yes"} {
		if n := countPosts(posts, text); n != 1 {
			t.Errorf("%q is in the thread %d times, want once: %v", text, n, posts)
		}
	}
	var texts []string
	if !poll(10*time.Second, func() bool {
		msgs, _ := alice.messages(conv, 0)
		texts = texts[:0]
		for _, m := range msgs {
			texts = append(texts, m.Text)
		}
		return slices.Contains(texts, "written during the restart")
	}) {
		t.Fatalf("the expert's message written during the restart never reached the hub: %q", texts)
	}
	for _, text := range []string{"Hi Alice, is the *manual* current?", "while you were out 1", "while you were out 2", "written during the restart"} {
		if n := countText(texts, text); n != 1 {
			t.Errorf("the chat has %q %d times, want once: %q", text, n, texts)
		}
	}

	// Requests that are not Slack's are refused at the hub's public path and counted.
	body := fake.Callback("EvFORGED", map[string]any{"type": "message", "channel": fake.DM(slackExpert), "channel_type": "im",
		"user": slackExpert, "text": "forged", "ts": "1700000000.000001", "thread_ts": thread})
	now := time.Now().Unix()
	for _, bad := range []struct {
		name, sig string
		ts        int64
		reason    string
	}{
		{"forged", slackfake.Sign("not-the-secret", now, body), now, "forged"},
		{"stale", slackfake.Sign(fake.SigningSecret, now-600, body), now - 600, "stale"},
	} {
		req, _ := http.NewRequest("POST", h.url+"/c/slack/events", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(bad.ts, 10))
		req.Header.Set("X-Slack-Signature", bad.sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		msg := readAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("%s request: %d %q, want 401", bad.name, res.StatusCode, msg)
		}
		if !poll(5*time.Second, func() bool {
			return h.metric("switchboard_plugin_rejections_total", `instance="slack"`, `reason="`+bad.reason+`"`) >= 1
		}) {
			t.Errorf("the %s request was not counted", bad.name)
		}
	}
	if msgs, _ := alice.messages(conv, 0); slices.ContainsFunc(msgs, func(m message) bool { return m.Text == "forged" }) {
		t.Error("a forged request reached the chat")
	}
}

func countText(texts []string, text string) int {
	n := 0
	for _, s := range texts {
		if s == text {
			n++
		}
	}
	return n
}
