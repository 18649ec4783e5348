package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testpeer/dendrite"
	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// TestMatrixBridge runs Expert Connect end to end with a real Matrix homeserver (Dendrite): the
// hub, the matrix bridge binary behind the hub's /c/matrix/ route, and experts using the
// client-server API as their Matrix app does.
func TestMatrixBridge(t *testing.T) {
	addr := testproc.FreeAddr(t)
	asToken, hsToken := "as-"+newID(), "hs-"+newID()
	hs := dendrite.Start(t, dendrite.Options{
		AppserviceURL: "http://" + addr + "/c/matrix/", ASToken: asToken, HSToken: hsToken, UserRegex: "@sb_.*:localhost",
	})
	erin := newMXUser(t, hs, "erin", "Erin Expert")
	fred := newMXUser(t, hs, "fred", "Fred Fixer")
	plugin := fmt.Sprintf(`  - {instance: matrix, plugin: matrix, tenant: acme, config: {homeserver_url: %q, server_name: localhost, as_token: %q, hs_token: %q, presence_interval: 5s, max_attachment_bytes: 65536}}`,
		hs.URL, asToken, hsToken)
	h := startHub(t, hubOptions{addr: addr, extraPlugins: plugin, limitsExtra: ", max_body_bytes: 33554432"})
	h.waitPlugin("matrix", 0)
	ctx := ctxTimeout(t, 3*time.Minute)
	ghost := "@sb_alice:localhost"
	wait := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		if !poll(d, cond) {
			t.Fatalf("%s: not within %s", what, d)
		}
	}

	// Experts find the agents in the agents room the bridge keeps; the bridge finds the experts there.
	var agentsRoom string
	wait("the bridge creates #agents:localhost", 10*time.Second, func() bool {
		return erin.do(ctx, "POST", "/join/"+url.PathEscape("#agents:localhost"), map[string]any{}, &mxRoom{&agentsRoom}) == nil
	})
	if err := fred.do(ctx, "POST", "/join/"+url.PathEscape("#agents:localhost"), map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	erin.setPresence(ctx, "online")
	fred.setPresence(ctx, "unavailable")
	erin.startSync(ctx)
	wait("alice's ghost in the agents room", 10*time.Second, func() bool {
		return slices.Contains(erin.joinedMembers(ctx, agentsRoom), ghost)
	})
	if name := erin.displayName(ctx, ghost); name != "Alice Archer" {
		t.Errorf("alice's ghost is named %q, want Alice Archer", name)
	}

	// Signing in shows the agent online to experts; signing out offline.
	wait("erin sees alice offline before sign-in", 5*time.Second, func() bool { return erin.presenceOf(ghost) == "offline" })
	alice := login(t, h.url, "acme", "alice")
	alice.listen()
	signedIn := time.Now()
	wait("erin sees alice online", 2*time.Second, func() bool { return erin.presenceOf(ghost) == "online" })
	t.Logf("erin saw alice online %s after sign-in", time.Since(signedIn).Round(10*time.Millisecond))

	// The expert directory lists the agents room's members with their Matrix presence.
	expertState := func(id string) string {
		var dir struct {
			Experts []struct {
				Instance, ID, State string
				DisplayName         string `json:"display_name"`
			} `json:"experts"`
		}
		alice.must("GET", "/api/v1/experts", nil, &dir)
		for _, e := range dir.Experts {
			if e.Instance == "matrix" && e.ID == id {
				return e.State + "/" + e.DisplayName
			}
		}
		return ""
	}
	var dirState string
	if !poll(10*time.Second, func() bool { dirState = expertState(erin.id); return dirState == "online/Erin Expert" }) {
		t.Fatalf("erin is %q in the directory, want online/Erin Expert", dirState)
	}
	wait("fred away in the directory", 10*time.Second, func() bool { return expertState(fred.id) == "away/Fred Fixer" })
	fred.setPresence(ctx, "online")
	wait("fred's change of presence reaches the directory", 10*time.Second, func() bool { return expertState(fred.id) == "online/Fred Fixer" })

	// The expert opens a DM with the agent's ghost and writes, with hostile HTML.
	var dm string
	if err := erin.do(ctx, "POST", "/createRoom", map[string]any{"preset": "trusted_private_chat", "is_direct": true, "invite": []string{ghost}}, &mxRoom{&dm}); err != nil {
		t.Fatal(err)
	}
	wait("the ghost joins the DM", 10*time.Second, func() bool { return slices.Contains(erin.joinedMembers(ctx, dm), ghost) })
	erin.send(ctx, dm, map[string]any{"msgtype": "m.text", "body": "Hi Alice",
		"format": "org.matrix.custom.html", "formatted_body": `<p>Hi <b>Alice</b><script>alert(1)</script><img src=x onerror=alert(2)></p>`})
	push := awaitPush(t, alice, "erin's message", func(p map[string]any) bool { return p["type"] == "message" })
	conv := push["conversation_id"].(string)
	msg := push["message"].(map[string]any)
	if html, _ := msg["html"].(string); msg["sender_kind"] != "expert" || msg["sender_name"] != "Erin Expert" ||
		strings.Contains(html, "script") || strings.Contains(html, "onerror") || !strings.Contains(html, "<b>Alice</b>") {
		t.Errorf("erin's message reached the console as %v", msg)
	}

	// The agent replies with formatting: the expert gets formatted_body from the ghost.
	reply := `<p><b>Bold</b> and <i>italic</i></p><ul><li>one</li><li>two</li></ul><p><a href="https://example.com/kb">KB</a> <code>x()</code></p>`
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r1", "text": "Bold and italic", "html": reply}, nil)
	var got mxEvent
	wait("erin receives the reply", 10*time.Second, func() bool {
		for _, e := range erin.timeline(dm) {
			if e.Sender == ghost && e.Content.Body == "Bold and italic" {
				got = e
				return true
			}
		}
		return false
	})
	for _, want := range []string{"<b>Bold</b>", "<i>italic</i>", "<li>one</li>", `<a href="https://example.com/kb">KB</a>`, "<code>x()</code>"} {
		if got.Content.Format != "org.matrix.custom.html" || !strings.Contains(got.Content.FormattedBody, want) {
			t.Errorf("formatted_body %q (format %q) lacks %s", got.Content.FormattedBody, got.Content.Format, want)
		}
	}

	// Typing both ways.
	alice.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": true}, nil)
	wait("erin sees alice typing", 5*time.Second, func() bool { return slices.Contains(erin.typingIn(dm), ghost) })
	alice.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": false}, nil)
	wait("alice's typing ends", 5*time.Second, func() bool { return !slices.Contains(erin.typingIn(dm), ghost) })
	erin.typing(ctx, dm, true)
	typing := awaitPush(t, alice, "erin's typing", func(p map[string]any) bool { return p["type"] == "typing" && p["active"] == true })
	if typing["conversation_id"] != conv || typing["from"] != "Erin Expert" {
		t.Errorf("typing push = %v", typing)
	}
	erin.typing(ctx, dm, false)
	awaitPush(t, alice, "the end of erin's typing", func(p map[string]any) bool { return p["type"] == "typing" && p["active"] == false })

	// A file within max_attachment_bytes reaches the agent; a larger one is refused in the room.
	small := erin.upload(ctx, "notes.txt", []byte("the notes"))
	erin.send(ctx, dm, map[string]any{"msgtype": "m.file", "body": "notes.txt", "url": small, "info": map[string]any{"mimetype": "text/plain", "size": 9}})
	big := erin.upload(ctx, "big.bin", make([]byte, 70000))
	erin.send(ctx, dm, map[string]any{"msgtype": "m.file", "body": "big.bin", "url": big, "info": map[string]any{"size": 70000}})
	wait("the refusal of big.bin", 10*time.Second, func() bool { return erin.countFrom(dm, ghost, "m.notice", "big.bin") == 1 })
	wait("notes.txt stored", 10*time.Second, func() bool {
		return slices.ContainsFunc(alice.lastMessages(conv, 5), func(m message) bool {
			return len(m.Attachments) == 1 && m.Attachments[0].Name == "notes.txt"
		})
	})

	// Signed out, the agent is offline for experts; what the expert writes waits for the next
	// sign-in, and the expert is told once.
	read, _ := alice.messages(conv, 0)
	alice.must("POST", "/api/v1/conversations/"+conv+"/read", map[string]int64{"seq": read[len(read)-1].Seq}, nil)
	alice.must("POST", "/api/v1/logout", nil, nil)
	wait("erin sees alice offline", 2*time.Second, func() bool { return erin.presenceOf(ghost) == "offline" })
	erin.send(ctx, dm, map[string]any{"msgtype": "m.text", "body": "while you were out 1"})
	erin.send(ctx, dm, map[string]any{"msgtype": "m.text", "body": "while you were out 2"})
	wait("erin is told alice gets it at sign-in", 10*time.Second, func() bool { return erin.countFrom(dm, ghost, "m.notice", "signs in") >= 1 })
	alice = login(t, h.url, "acme", "alice")
	alice.listen()
	wait("erin sees alice online again", 5*time.Second, func() bool { return erin.presenceOf(ghost) == "online" })
	chats := snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].ID != conv || chats[0].Unread != 2 {
		t.Errorf("at sign-in alice has %+v, want the chat with erin and 2 unread", chats)
	}
	if n := erin.countFrom(dm, ghost, "m.notice", "signs in"); n != 1 {
		t.Errorf("erin was told %d times that alice is away, want once", n)
	}

	// The bridge is killed mid-conversation: what either side sent meanwhile arrives once.
	before := h.waitPlugin("matrix", 0)
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	erin.send(ctx, dm, map[string]any{"msgtype": "m.text", "body": "sent while the bridge was down"})
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r2", "text": "answered while the bridge was down"}, nil)
	h.waitPlugin("matrix", before.PID)
	wait("erin's message after the restart", 30*time.Second, func() bool {
		msgs, _ := alice.messages(conv, 0)
		return slices.ContainsFunc(msgs, func(m message) bool { return m.Text == "sent while the bridge was down" })
	})
	wait("alice's answer after the restart", 30*time.Second, func() bool {
		return erin.countFrom(dm, ghost, "m.text", "answered while the bridge was down") > 0
	})
	// Each side's events arrive in order: once a later message is through, a duplicate of an
	// earlier one would be too.
	erin.send(ctx, dm, map[string]any{"msgtype": "m.text", "body": "after the restart"})
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r3", "text": "after the restart too"}, nil)
	wait("the messages after the restart", 10*time.Second, func() bool {
		msgs, _ := alice.messages(conv, 0)
		return erin.countFrom(dm, ghost, "m.text", "after the restart too") > 0 &&
			slices.ContainsFunc(msgs, func(m message) bool { return m.Text == "after the restart" })
	})
	msgs, _ := alice.messages(conv, 0)
	var texts []string
	for _, m := range msgs {
		if m.SenderKind == "expert" {
			texts = append(texts, m.Text)
		}
	}
	wantTexts := []string{"Hi Alice", "", "while you were out 1", "while you were out 2", "sent while the bridge was down", "after the restart"}
	if !slices.Equal(texts, wantTexts) {
		t.Errorf("the agent has erin's messages %q, want %q", texts, wantTexts)
	}
	for _, text := range []string{"Bold and italic", "answered while the bridge was down"} {
		if n := erin.countFrom(dm, ghost, "m.text", text); n != 1 {
			t.Errorf("erin has %q %d times, want once", text, n)
		}
	}

	// The agent starts a chat with another expert: the ghost opens a DM and invites him.
	var started expertChat
	alice.must("POST", "/api/v1/experts/matrix/chats", map[string]string{"expert": fred.id}, &started)
	fred.startSync(ctx)
	var fredDM string
	wait("fred is invited to a DM by alice's ghost", 10*time.Second, func() bool {
		fredDM = fred.invitedBy(ghost)
		return fredDM != ""
	})
	if err := fred.do(ctx, "POST", "/join/"+url.PathEscape(fredDM), map[string]any{}, nil); err != nil {
		t.Fatal(err)
	}
	fred.send(ctx, fredDM, map[string]any{"msgtype": "m.text", "body": "Fred here"})
	wait("fred's message in the chat alice started", 10*time.Second, func() bool {
		msgs, _ := alice.messages(started.ID, 0)
		return slices.ContainsFunc(msgs, func(m message) bool { return m.Text == "Fred here" })
	})

	// A transaction with a forged hs_token is refused at the bridge and counted; nothing is stored.
	forgedBefore := h.metric("switchboard_plugin_rejections_total", `instance="matrix"`, `reason="forged_token"`)
	forged := fmt.Sprintf(`{"events": [{"event_id": "$forged", "type": "m.room.message", "room_id": %q, "sender": %q, "content": {"msgtype": "m.text", "body": "forged"}}]}`, dm, erin.id)
	req, _ := http.NewRequest(http.MethodPut, h.url+"/c/matrix/_matrix/app/v1/transactions/forged1", strings.NewReader(forged))
	req.Header.Set("Authorization", "Bearer not-the-hs-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "M_FORBIDDEN") {
		t.Errorf("forged transaction: %d %s, want 403 M_FORBIDDEN", res.StatusCode, body)
	}
	wait("the forged transaction is counted", 5*time.Second, func() bool {
		return h.metric("switchboard_plugin_rejections_total", `instance="matrix"`, `reason="forged_token"`) == forgedBefore+1
	})
	if msgs, _ := alice.messages(conv, 0); slices.ContainsFunc(msgs, func(m message) bool { return m.Text == "forged" }) {
		t.Error("the forged message was stored")
	}
}

// mxUser is a real Matrix user, as their chat app sees the homeserver.
type mxUser struct {
	t               *testing.T
	hs              *dendrite.Server
	base, id, token string

	mu       sync.Mutex
	presence map[string]string
	typers   map[string][]string
	events   map[string][]mxEvent
	invites  map[string]string // room → inviter
}

// mxRoom decodes the room_id of a join or createRoom answer.
type mxRoom struct {
	RoomID *string `json:"room_id"`
}

type mxEvent struct {
	ID      string `json:"event_id"`
	Type    string `json:"type"`
	Sender  string `json:"sender"`
	Content struct {
		MsgType       string `json:"msgtype"`
		Body          string `json:"body"`
		Format        string `json:"format"`
		FormattedBody string `json:"formatted_body"`
	} `json:"content"`
}

func newMXUser(t *testing.T, hs *dendrite.Server, name, displayName string) *mxUser {
	id, token := hs.CreateUser(name)
	u := &mxUser{t: t, hs: hs, base: hs.URL, id: id, token: token,
		presence: map[string]string{}, typers: map[string][]string{}, events: map[string][]mxEvent{}, invites: map[string]string{}}
	if err := u.do(context.Background(), "PUT", "/profile/"+url.PathEscape(id)+"/displayname", map[string]string{"displayname": displayName}, nil); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *mxUser) do(ctx context.Context, method, path string, body, out any) error {
	if err := u.hs.ClientCall(ctx, u.token, method, path, body, out); err != nil {
		return fmt.Errorf("as %s: %w", u.id, err)
	}
	return nil
}

func (u *mxUser) must(ctx context.Context, method, path string, body, out any) {
	u.t.Helper()
	if err := u.do(ctx, method, path, body, out); err != nil {
		u.t.Fatal(err)
	}
}

func (u *mxUser) send(ctx context.Context, room string, content map[string]any) {
	u.t.Helper()
	u.must(ctx, "PUT", "/rooms/"+url.PathEscape(room)+"/send/m.room.message/t"+newID(), content, nil)
}

func (u *mxUser) setPresence(ctx context.Context, state string) {
	u.t.Helper()
	u.must(ctx, "PUT", "/presence/"+url.PathEscape(u.id)+"/status", map[string]string{"presence": state}, nil)
}

func (u *mxUser) typing(ctx context.Context, room string, active bool) {
	u.t.Helper()
	u.must(ctx, "PUT", "/rooms/"+url.PathEscape(room)+"/typing/"+url.PathEscape(u.id), map[string]any{"typing": active, "timeout": 30000}, nil)
}

func (u *mxUser) displayName(ctx context.Context, id string) string {
	var p struct {
		DisplayName string `json:"displayname"`
	}
	u.do(ctx, "GET", "/profile/"+url.PathEscape(id)+"/displayname", nil, &p)
	return p.DisplayName
}

func (u *mxUser) joinedMembers(ctx context.Context, room string) []string {
	var res struct {
		Joined map[string]any `json:"joined"`
	}
	u.do(ctx, "GET", "/rooms/"+url.PathEscape(room)+"/joined_members", nil, &res)
	var ids []string
	for id := range res.Joined {
		ids = append(ids, id)
	}
	return ids
}

// upload stores a file in the media repository and returns its mxc:// URI.
func (u *mxUser) upload(ctx context.Context, name string, data []byte) string {
	u.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", u.base+"/_matrix/media/v3/upload?filename="+url.QueryEscape(name), bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+u.token)
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		ContentURI string `json:"content_uri"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.ContentURI == "" {
		u.t.Fatalf("upload %s: %s %v", name, res.Status, err)
	}
	return out.ContentURI
}

// startSync follows the user's /sync as a Matrix app does, until the test ends.
func (u *mxUser) startSync(ctx context.Context) {
	go func() {
		since := ""
		for ctx.Err() == nil {
			var res struct {
				NextBatch string `json:"next_batch"`
				Presence  struct {
					Events []struct {
						Sender  string `json:"sender"`
						Content struct {
							Presence string `json:"presence"`
						} `json:"content"`
					} `json:"events"`
				} `json:"presence"`
				Rooms struct {
					Join map[string]struct {
						Timeline struct {
							Events []mxEvent `json:"events"`
						} `json:"timeline"`
						Ephemeral struct {
							Events []struct {
								Type    string `json:"type"`
								Content struct {
									UserIDs []string `json:"user_ids"`
								} `json:"content"`
							} `json:"events"`
						} `json:"ephemeral"`
					} `json:"join"`
					Invite map[string]struct {
						State struct {
							Events []struct {
								Type     string `json:"type"`
								Sender   string `json:"sender"`
								StateKey string `json:"state_key"`
							} `json:"events"`
						} `json:"invite_state"`
					} `json:"invite"`
				} `json:"rooms"`
			}
			q := url.Values{"timeout": {"5000"}}
			if since != "" {
				q.Set("since", since)
			}
			if err := u.do(ctx, "GET", "/sync?"+q.Encode(), nil, &res); err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			since = res.NextBatch
			u.mu.Lock()
			for _, p := range res.Presence.Events {
				u.presence[p.Sender] = p.Content.Presence
			}
			for room, r := range res.Rooms.Join {
				u.events[room] = append(u.events[room], r.Timeline.Events...)
				for _, e := range r.Ephemeral.Events {
					if e.Type == "m.typing" {
						u.typers[room] = e.Content.UserIDs
					}
				}
			}
			for room, r := range res.Rooms.Invite {
				for _, e := range r.State.Events {
					if e.Type == "m.room.member" && e.StateKey == u.id {
						u.invites[room] = e.Sender
					}
				}
			}
			u.mu.Unlock()
		}
	}()
}

func (u *mxUser) presenceOf(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.presence[id]
}

func (u *mxUser) typingIn(room string) []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.typers[room]
}

func (u *mxUser) timeline(room string) []mxEvent {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.events[room])
}

func (u *mxUser) invitedBy(inviter string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	for room, by := range u.invites {
		if by == inviter {
			return room
		}
	}
	return ""
}

// countFrom counts sender's messages of msgtype in the room whose body contains text; events
// are counted by id, so a sync that repeats one does not count twice.
func (u *mxUser) countFrom(room, sender, msgtype, text string) int {
	seen := map[string]bool{}
	for _, e := range u.timeline(room) {
		if e.Sender == sender && e.Type == "m.room.message" && e.Content.MsgType == msgtype && strings.Contains(e.Content.Body, text) && !seen[e.ID] {
			seen[e.ID] = true
		}
	}
	return len(seen)
}
