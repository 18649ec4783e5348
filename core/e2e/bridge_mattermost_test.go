package e2e

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	mmpeer "github.com/switchboardhq/switchboard/tools/testpeer/mattermost"
)

// TestMattermostBridge runs Expert Connect end to end with a real Mattermost server: the hub, the
// mattermost bridge binary, and experts using Mattermost's own API and WebSocket as their chat
// app does.
func TestMattermostBridge(t *testing.T) {
	mm := mmpeer.Start(t)
	erin := mm.CreateUser(t, "erin", "Erin", "Expert")
	fred := mm.CreateUser(t, "fred", "Fred", "Fixer")
	plugin := fmt.Sprintf(`  - {instance: mm, plugin: mattermost, tenant: acme, config: {server_url: %q, admin_token: %q, team: %s, username_prefix: sb-, presence_interval: 5s, expert_poll_interval: 500ms, max_attachment_bytes: 1048576}}`,
		mm.URL, mm.AdminToken, mmpeer.TeamName)
	h := startHub(t, hubOptions{extraPlugins: plugin})
	h.waitPlugin("mm", 0)
	ctx := ctxTimeout(t, 3*time.Minute)
	mmWait := func(what string, cond func() bool) {
		t.Helper()
		if !poll(10*time.Second, cond) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
	status := func(userID string) string {
		st, _, err := erin.Client.GetUsersStatusesByIds(ctx, []string{userID})
		if err != nil || len(st) != 1 {
			return ""
		}
		return st[0].Status
	}

	// At connect the bridge makes a Mattermost user for every agent, offline while signed out.
	var sbAlice *model.User
	mmWait("the bridge creates sb-alice", func() bool {
		u, _, err := mm.Admin.GetUserByUsername(ctx, "sb-alice", "")
		sbAlice = u
		return err == nil
	})
	if sbAlice.FirstName != "Alice Archer" {
		t.Errorf("sb-alice is named %q %q, want Alice Archer", sbAlice.FirstName, sbAlice.LastName)
	}
	mmWait("sb-alice offline", func() bool { return status(sbAlice.Id) == model.StatusOffline })

	// Signing in shows the agent online to experts within 2 s; a break does not show.
	alice := login(t, h.url, "acme", "alice")
	alice.listen()
	signedIn := time.Now()
	if !poll(2*time.Second, func() bool { return status(sbAlice.Id) == model.StatusOnline }) {
		t.Fatalf("2 s after sign-in erin sees sb-alice %q, want online", status(sbAlice.Id))
	}
	t.Logf("sb-alice online %s after sign-in", time.Since(signedIn).Round(time.Millisecond))
	alice.setState("on_break")
	alice.setState("available")
	// Mattermost turns idle users away; the bridge sets the agent online again within
	// presence_interval.
	if _, _, err := mm.Admin.UpdateUserStatus(ctx, sbAlice.Id, &model.Status{UserId: sbAlice.Id, Status: model.StatusAway}); err != nil {
		t.Fatal(err)
	}
	if !poll(8*time.Second, func() bool { return status(sbAlice.Id) == model.StatusOnline }) {
		t.Errorf("sb-alice stays %q after Mattermost turned her away, want online again", status(sbAlice.Id))
	}

	// The expert directory lists the team's members with their presence.
	if _, _, err := erin.Client.UpdateUserStatus(ctx, erin.Id, &model.Status{UserId: erin.Id, Status: model.StatusOnline}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fred.Client.UpdateUserStatus(ctx, fred.Id, &model.Status{UserId: fred.Id, Status: model.StatusAway}); err != nil {
		t.Fatal(err)
	}
	type expertEntry struct {
		Instance       string `json:"instance"`
		ID             string `json:"id"`
		DisplayName    string `json:"display_name"`
		State          string `json:"state"`
		ConversationID string `json:"conversation_id"`
	}
	directory := func() map[string]expertEntry {
		var dir struct {
			Experts []expertEntry `json:"experts"`
		}
		alice.must("GET", "/api/v1/experts", nil, &dir)
		out := map[string]expertEntry{}
		for _, e := range dir.Experts {
			out[e.ID] = e
		}
		return out
	}
	mmWait("erin online and fred away in the directory", func() bool {
		d := directory()
		return d[erin.Id].State == "online" && d[fred.Id].State == "away" && d[erin.Id].DisplayName == "Erin Expert"
	})
	if d := directory(); len(d) != 2 || d[sbAlice.Id].ID != "" || d[mm.AdminUser.Id].ID != "" {
		t.Errorf("the directory lists %+v, want only erin and fred (no agents, not the admin)", d)
	}
	erinEvents := erin.Listen(t, mm)

	// The expert writes first in a direct message to the agent's user; her HTML is not obeyed.
	dm, _, err := erin.Client.CreateDirectChannel(ctx, erin.Id, sbAlice.Id)
	if err != nil {
		t.Fatal(err)
	}
	erinPost := func(text string, files ...string) *model.Post {
		t.Helper()
		p, _, err := erin.Client.CreatePost(ctx, &model.Post{ChannelId: dm.Id, Message: text, FileIds: files})
		if err != nil {
			t.Fatalf("erin posts %q: %v", text, err)
		}
		return p
	}
	erinPost("Hi **Alice** <script>alert(1)</script><img src=x onerror=alert(2)>")
	push := awaitPush(t, alice, "erin's message", func(p map[string]any) bool { return p["type"] == "message" })
	conv := push["conversation_id"].(string)
	msg := push["message"].(map[string]any)
	html, _ := msg["html"].(string)
	if msg["sender_kind"] != "expert" || msg["sender_name"] != "Erin Expert" || strings.Contains(html, "<script") ||
		strings.Contains(html, "onerror") || strings.Contains(html, "<img") || !strings.Contains(html, "Alice</") {
		t.Errorf("erin's message reached the console as %v", msg)
	}
	chats := snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].Kind != "expert" || chats[0].Peer.ID != erin.Id || chats[0].Peer.Platform != "mattermost" {
		t.Fatalf("alice's chats = %+v, want one expert chat with erin on mattermost", chats)
	}

	// The agent answers with formatting: the expert gets Markdown from sb-alice.
	reply := `<p><b>Bold</b> and <i>italic</i></p><ul><li>one</li><li>two</li></ul><p><a href="https://example.com/kb">KB</a> <code>x()</code></p>`
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r1", "text": "Bold and italic", "html": reply}, nil)
	agentPosts := func(text string) []*model.Post {
		posts, err := erin.Posts(ctx, dm.Id)
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(posts, func(p *model.Post) bool { return p.UserId != sbAlice.Id || !strings.Contains(p.Message, text) })
	}
	mmWait("alice's reply in Mattermost", func() bool { return len(agentPosts("**Bold**")) == 1 })
	md := agentPosts("**Bold**")[0].Message
	for _, want := range []string{"**Bold** and *italic*", "- one\n- two", "[KB](https://example.com/kb)", "`x()`"} {
		if !strings.Contains(md, want) {
			t.Errorf("erin sees %q, want it to contain %q", md, want)
		}
	}

	// Typing both ways.
	alice.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": true}, nil)
	erinEvents.Wait(t, 5*time.Second, "sb-alice typing", mmpeer.Typing(sbAlice.Id, dm.Id))
	alice.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": false}, nil)
	if _, err := erin.Client.PublishUserTyping(ctx, erin.Id, model.TypingRequest{ChannelId: dm.Id}); err != nil {
		t.Fatal(err)
	}
	typing := awaitPush(t, alice, "erin's typing", func(p map[string]any) bool { return p["type"] == "typing" })
	if typing["conversation_id"] != conv || typing["from"] != "Erin Expert" || typing["active"] != true {
		t.Errorf("typing push = %v", typing)
	}
	stopped := time.Now()
	awaitPush(t, alice, "the end of erin's typing", func(p map[string]any) bool { return p["type"] == "typing" && p["active"] == false })
	if waited := time.Since(stopped); waited < 4*time.Second {
		t.Errorf("erin's typing ended after %s; Mattermost repeats typing every few seconds, so it must last ≈ 6 s", waited)
	}

	// Files: a small one reaches the agent; one over max_attachment_bytes is refused, counted,
	// and the expert is told.
	upload := func(name string, size int) string {
		t.Helper()
		res, _, err := erin.Client.UploadFile(ctx, []byte(strings.Repeat("x", size)), dm.Id, name)
		if err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		return res.FileInfos[0].Id
	}
	erinPost("the manual", upload("manual.txt", 2000))
	before := h.metric("switchboard_plugin_rejections_total", `instance="mm"`, `reason="oversized"`)
	erinPost("the big one", upload("big.bin", 2<<20))
	var files []message
	mmWait("both file messages stored", func() bool {
		files = alice.lastMessages(conv, 2)
		return len(files) == 2 && files[1].Text == "the big one"
	})
	if got := files[0]; got.Text != "the manual" || len(got.Attachments) != 1 || got.Attachments[0].Name != "manual.txt" || got.Attachments[0].Size != 2000 {
		t.Errorf("the small file arrived as %+v", got)
	} else {
		res, err := alice.client.Get(h.url + got.Attachments[0].URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || len(body) != 2000 {
			t.Errorf("download of manual.txt: %d, %d bytes", res.StatusCode, len(body))
		}
	}
	if n := len(files[1].Attachments); n != 0 {
		t.Errorf("the oversized file reached the agent (%d attachments)", n)
	}
	mmWait("erin is told the big file was refused", func() bool { return len(agentPosts("big.bin")) == 1 })
	if got := h.metric("switchboard_plugin_rejections_total", `instance="mm"`, `reason="oversized"`); got != before+1 {
		t.Errorf("oversized files counted %v, want %v", got, before+1)
	}

	// Signed out, the agent is offline for experts; what the expert sends arrives at the next
	// sign-in exactly once, unread, and the expert is told once that it waits.
	read, _ := alice.messages(conv, 0)
	alice.must("POST", "/api/v1/conversations/"+conv+"/read", map[string]int64{"seq": read[len(read)-1].Seq}, nil)
	alice.must("POST", "/api/v1/logout", nil, nil)
	if !poll(3*time.Second, func() bool { return status(sbAlice.Id) == model.StatusOffline }) {
		t.Fatalf("3 s after sign-out erin sees sb-alice %q, want offline", status(sbAlice.Id))
	}
	erinPost("while you were out 1")
	erinPost("while you were out 2")
	mmWait("erin is told alice is away", func() bool { return len(agentPosts("signs in")) == 1 })
	alice = login(t, h.url, "acme", "alice")
	alice.listen()
	chats = snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].ID != conv || chats[0].Unread != 2 {
		t.Fatalf("at sign-in alice has %+v, want the chat with erin and 2 unread", chats)
	}
	if n := len(agentPosts("signs in")); n != 1 {
		t.Errorf("erin was told %d times that alice is away, want once", n)
	}
	if notice := agentPosts("signs in")[0]; notice.GetProp("switchboard_notice") != true {
		t.Errorf("the hub's notice is not marked as one: %+v", notice.GetProps())
	}

	// A bridge crash mid-conversation: the hub restarts it, and nothing is lost or doubled on
	// either side: not what alice sent just before the crash, not what erin sent while the
	// bridge was down.
	old, _ := h.plugin("mm")
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "c1", "text": "just before the crash"}, nil)
	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the bridge %d: %v", old.PID, err)
	}
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "c2", "text": "while the bridge was down"}, nil)
	erinPost("sent while the bridge was down")
	h.waitPlugin("mm", old.PID)
	erinPost("after the restart")
	mmWait("alice's messages in Mattermost", func() bool {
		return len(agentPosts("just before the crash")) >= 1 && len(agentPosts("while the bridge was down")) >= 1
	})
	var hist struct {
		Messages []message `json:"messages"`
	}
	mmWait("erin's messages at the hub", func() bool {
		alice.must("GET", "/api/v1/conversations/"+conv+"/messages?last=30", nil, &hist)
		return slices.ContainsFunc(hist.Messages, func(m message) bool { return m.Text == "after the restart" })
	})
	time.Sleep(500 * time.Millisecond) // a doubled post or message would show by now
	alice.must("GET", "/api/v1/conversations/"+conv+"/messages?last=30", nil, &hist)
	var fromErin []string
	for _, m := range hist.Messages {
		if m.SenderKind == "expert" {
			fromErin = append(fromErin, m.Text)
		}
	}
	wantErin := []string{"Hi Alice alert(1)", "the manual", "the big one", "while you were out 1", "while you were out 2",
		"sent while the bridge was down", "after the restart"}
	if !slices.Equal(fromErin, wantErin) {
		t.Errorf("the hub has erin's messages %q, want %q", fromErin, wantErin)
	}
	for _, text := range []string{"just before the crash", "while the bridge was down", "**Bold**"} {
		if n := len(agentPosts(text)); n != 1 {
			t.Errorf("erin sees %q %d times, want once", text, n)
		}
	}

	// The agent starts a chat with another expert: the direct channel opens on Mattermost.
	var started expertChat
	alice.must("POST", "/api/v1/experts/mm/chats", map[string]string{"expert": fred.Id}, &started)
	alice.must("POST", "/api/v1/conversations/"+started.ID+"/messages", map[string]string{"client_id": "f1", "text": "Fred, a question"}, nil)
	fredDM := model.GetDMNameFromIds(fred.Id, sbAlice.Id)
	mmWait("fred gets alice's question", func() bool {
		channels, _, err := fred.Client.GetChannelsForUserWithLastDeleteAt(ctx, fred.Id, 0)
		i := slices.IndexFunc(channels, func(c *model.Channel) bool { return c.Name == fredDM })
		if err != nil || i < 0 {
			return false
		}
		posts, err := fred.Posts(ctx, channels[i].Id)
		return err == nil && slices.ContainsFunc(posts, func(p *model.Post) bool { return p.UserId == sbAlice.Id && p.Message == "Fred, a question" })
	})

	// Signing out for good shows the agent offline again.
	alice.must("POST", "/api/v1/logout", nil, nil)
	if !poll(3*time.Second, func() bool { return status(sbAlice.Id) == model.StatusOffline }) {
		t.Errorf("after sign-out erin sees sb-alice %q, want offline", status(sbAlice.Id))
	}
}
