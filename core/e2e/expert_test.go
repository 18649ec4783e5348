package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The hub's side of Expert Connect, driven through the expertlab test bridge (its platform is a
// small HTTP API under the hub's /c/lab/ path). The real bridges have their own end-to-end tests
// against Dendrite, Mattermost and a Slack fake.

const labPlugin = `  - {instance: lab, plugin: expertlab, tenant: acme}`

// expertLab plays the experts' platform.
type expertLab struct {
	t    *testing.T
	base string
}

func (l expertLab) post(path string, body any) (int, string) {
	l.t.Helper()
	data, _ := json.Marshal(body)
	res, err := http.Post(l.base+path, "application/json", bytes.NewReader(data))
	if err != nil {
		l.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(out))
}

func (l expertLab) mustPost(path string, body any) {
	l.t.Helper()
	if code, msg := l.post(path, body); code != 200 {
		l.t.Fatalf("POST %s: %d %s", path, code, msg)
	}
}

func (l expertLab) get(path string, out any) {
	l.t.Helper()
	res, err := http.Get(l.base + path)
	if err != nil {
		l.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		l.t.Fatalf("GET %s: %v", path, err)
	}
}

type labEvent struct {
	ID, Type, Conversation, FromKind, From, Text, HTML string
	Active                                             bool
}

func (l expertLab) received() []labEvent {
	var evs []struct {
		ID           string `json:"id"`
		Type         string `json:"type"`
		Conversation string `json:"conversation"`
		FromKind     string `json:"from_kind"`
		From         string `json:"from"`
		Text         string `json:"text"`
		HTML         string `json:"html"`
		Active       bool   `json:"active"`
	}
	l.get("/received", &evs)
	out := make([]labEvent, len(evs))
	for i, e := range evs {
		out[i] = labEvent{e.ID, e.Type, e.Conversation, e.FromKind, e.From, e.Text, e.HTML, e.Active}
	}
	return out
}

// agentState is the agent's presence as the bridge last heard it.
func (l expertLab) agentState(username string) string {
	var agents map[string]struct {
		State string `json:"state"`
	}
	l.get("/agents", &agents)
	return agents[username].State
}

func (l expertLab) waitFor(what string, cond func([]labEvent) bool) []labEvent {
	l.t.Helper()
	var evs []labEvent
	if !poll(10*time.Second, func() bool { evs = l.received(); return cond(evs) }) {
		l.t.Fatalf("the bridge never received %s; it has %+v", what, evs)
	}
	return evs
}

// awaitPush waits for a console push of the type matching ok.
func awaitPush(t *testing.T, a *agent, what string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case p := <-a.pushes:
			if ok(p) {
				return p
			}
		case <-deadline:
			t.Fatalf("no %s reached the console", what)
			return nil
		}
	}
}

type expertChat struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	State  string `json:"state"`
	Unread int    `json:"unread"`
	Peer   struct {
		Kind        string `json:"kind"`
		ID          string `json:"id"`
		DisplayName string `json:"display_name"`
		State       string `json:"state"`
		Platform    string `json:"platform"`
	} `json:"peer"`
}

func snapshotChats(t *testing.T, a *agent) []expertChat {
	t.Helper()
	var snap struct {
		Conversations []expertChat `json:"conversations"`
	}
	a.must("GET", "/api/v1/snapshot", nil, &snap)
	return snap.Conversations
}

func TestExpertConnectThroughABridge(t *testing.T) {
	h := startHub(t, hubOptions{extraPlugins: labPlugin, limitsExtra: ", max_body_bytes: 50331648"})
	h.waitPlugin("lab", 0)
	lab := expertLab{t: t, base: h.url + "/c/lab"}

	// The bridge learns the agents at connect: all signed out.
	if !poll(5*time.Second, func() bool { return lab.agentState("alice") == "PRESENCE_STATE_OFFLINE" }) {
		t.Fatalf("the bridge does not list alice as offline after connecting: %q", lab.agentState("alice"))
	}
	if lab.agentState("ada") != "" {
		t.Error("the bridge lists the admin ada as an agent")
	}

	// Sign-in makes the agent online for experts, within 2 s.
	alice := login(t, h.url, "acme", "alice")
	alice.listen()
	if !poll(2*time.Second, func() bool { return lab.agentState("alice") == "PRESENCE_STATE_ONLINE" }) {
		t.Fatalf("2 s after sign-in the bridge has alice %q, want online", lab.agentState("alice"))
	}
	// Breaks do not show.
	alice.setState("on_break")
	alice.setState("available")
	if got := lab.agentState("alice"); got != "PRESENCE_STATE_ONLINE" {
		t.Errorf("after a break the bridge has alice %q, want online", got)
	}

	// The expert directory, with presence.
	lab.mustPost("/presence", map[string]string{"expert": "@erin:lab", "name": "Erin Expert", "state": "online"})
	lab.mustPost("/presence", map[string]string{"expert": "@fred:lab", "name": "Fred Fixer", "state": "away"})
	var dir struct {
		Experts []struct {
			Instance, Platform, ID, State, DisplayName string
			ConversationID                             string `json:"conversation_id"`
		} `json:"experts"`
	}
	alice.must("GET", "/api/v1/experts", nil, &dir)
	if len(dir.Experts) != 2 || dir.Experts[0].ID != "@erin:lab" || dir.Experts[0].State != "online" ||
		dir.Experts[0].Platform != "expertlab" || dir.Experts[1].State != "away" {
		t.Fatalf("experts = %+v, want Erin online and Fred away on expertlab", dir.Experts)
	}

	// An expert writes to a signed-in agent: the chat opens without an offer.
	lab.mustPost("/messages", map[string]any{"id": "m1", "agent": "alice", "expert": "@erin:lab", "name": "Erin Expert",
		"text": "Hi Alice", "html": `<p>Hi <b>Alice</b><script>alert(1)</script><img src=x onerror=alert(2)></p>`})
	push := awaitPush(t, alice, "the expert's message", func(p map[string]any) bool { return p["type"] == "message" })
	conv := push["conversation_id"].(string)
	msg := push["message"].(map[string]any)
	if msg["sender_kind"] != "expert" || msg["sender_name"] != "Erin Expert" || strings.Contains(msg["html"].(string), "script") ||
		strings.Contains(msg["html"].(string), "onerror") || !strings.Contains(msg["html"].(string), "<b>Alice</b>") {
		t.Errorf("the expert's message reached the console as %v", msg)
	}
	chats := snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].Kind != "expert" || chats[0].Peer.Kind != "expert" || chats[0].Peer.ID != "@erin:lab" ||
		chats[0].Peer.State != "online" || chats[0].Peer.Platform != "expertlab" {
		t.Fatalf("alice's chats = %+v, want one expert chat with Erin, online", chats)
	}
	// A platform retry is stored once.
	lab.mustPost("/messages", map[string]any{"id": "m1", "agent": "alice", "expert": "@erin:lab", "text": "Hi Alice"})

	// The agent replies with formatting; it reaches the bridge with the agent's username.
	reply := `<p><b>Bold</b> and <i>italic</i></p><ul><li>one</li></ul><p><a href="https://example.com/kb">KB</a> <code>x()</code></p>`
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r1", "text": "Bold and italic", "html": reply}, nil)
	evs := lab.waitFor("the agent's reply", func(evs []labEvent) bool {
		return slices.ContainsFunc(evs, func(e labEvent) bool { return e.Type == "message" && e.From == "alice" })
	})
	for _, e := range evs {
		if e.Type == "message" && e.From == "alice" {
			if e.Conversation != "alice|@erin:lab" || e.FromKind != "PARTICIPANT_KIND_AGENT" ||
				!strings.Contains(e.HTML, "<b>Bold</b>") || !strings.Contains(e.HTML, "<li>one</li>") || !strings.Contains(e.HTML, `href="https://example.com/kb"`) {
				t.Errorf("the reply reached the bridge as %+v", e)
			}
		}
	}

	// Typing both ways.
	alice.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": true}, nil)
	lab.waitFor("the agent's typing", func(evs []labEvent) bool {
		return slices.ContainsFunc(evs, func(e labEvent) bool { return e.Type == "typing" && e.From == "alice" && e.Active })
	})
	lab.mustPost("/typing", map[string]any{"agent": "alice", "expert": "@erin:lab", "name": "Erin Expert", "active": true})
	typing := awaitPush(t, alice, "the expert's typing", func(p map[string]any) bool { return p["type"] == "typing" })
	if typing["conversation_id"] != conv || typing["from"] != "Erin Expert" || typing["active"] != true {
		t.Errorf("typing push = %v", typing)
	}

	// A file: stored by the hub, downloadable by its agent only.
	pdf := []byte("%PDF-1.4 manual")
	lab.mustPost("/messages", map[string]any{"id": "m2", "agent": "alice", "expert": "@erin:lab", "text": "the manual",
		"files": []map[string]any{{"name": "../../manual.pdf", "type": "application/pdf", "data": pdf}}})
	last := alice.lastMessages(conv, 1)
	if len(last) != 1 || len(last[0].Attachments) != 1 {
		t.Fatalf("last message = %+v, want the manual", last)
	}
	att := last[0].Attachments[0]
	if att.Name != "manual.pdf" || att.Size != int64(len(pdf)) || !strings.HasPrefix(att.URL, "/api/v1/files/") {
		t.Errorf("attachment = %+v", att)
	}
	res, err := alice.client.Get(h.url + att.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != string(pdf) || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") ||
		res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("download: %d %q %v", res.StatusCode, body, res.Header)
	}
	bob := login(t, h.url, "acme", "bob")
	if code := bob.call("GET", att.URL, nil, nil); code != 404 {
		t.Errorf("bob downloads alice's file: %d, want 404", code)
	}

	// Bad input from the platform: refused with the reason, nothing stored.
	before, _ := alice.messages(conv, 0)
	for _, bad := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"unknown agent", map[string]any{"id": "b1", "agent": "nobody", "expert": "@erin:lab", "text": "hello?"}, `there is no agent "nobody"`},
		{"admin", map[string]any{"id": "b2", "agent": "ada", "expert": "@erin:lab", "text": "hello?"}, `there is no agent "ada"`},
		{"empty", map[string]any{"id": "b3", "agent": "alice", "expert": "@erin:lab", "text": "  "}, "empty message"},
		{"oversized file", map[string]any{"id": "b4", "agent": "alice", "expert": "@erin:lab", "text": "big",
			"files": []map[string]any{{"name": "big.bin", "data": make([]byte, 24<<20+1)}}}, "larger than"},
	} {
		code, msg := lab.post("/messages", bad.body)
		if code != 422 || !strings.Contains(msg, bad.want) {
			t.Errorf("%s: %d %q, want 422 with %q", bad.name, code, msg, bad.want)
		}
	}
	if after, _ := alice.messages(conv, 0); len(after) != len(before) {
		t.Errorf("refused messages were stored: %d messages, had %d", len(after), len(before))
	}

	// Offline delivery: signed out, the agent is offline for experts; what the expert sends is
	// stored, the expert is told once, and it all arrives at the next sign-in, unread, in order.
	read, _ := alice.messages(conv, 0)
	alice.must("POST", "/api/v1/conversations/"+conv+"/read", map[string]int64{"seq": read[len(read)-1].Seq}, nil)
	alice.must("POST", "/api/v1/logout", nil, nil)
	if !poll(2*time.Second, func() bool { return lab.agentState("alice") == "PRESENCE_STATE_OFFLINE" }) {
		t.Fatalf("2 s after sign-out the bridge has alice %q, want offline", lab.agentState("alice"))
	}
	for i := 1; i <= 3; i++ {
		lab.mustPost("/messages", map[string]any{"id": fmt.Sprintf("off%d", i), "agent": "alice", "expert": "@erin:lab", "text": fmt.Sprintf("while you were out %d", i)})
	}
	lab.mustPost("/messages", map[string]any{"id": "off2", "agent": "alice", "expert": "@erin:lab", "text": "while you were out 2"}) // a retry
	notices := func(evs []labEvent) int {
		n := 0
		for _, e := range evs {
			if e.Type == "message" && e.FromKind == "PARTICIPANT_KIND_SYSTEM" && strings.Contains(e.Text, "delivered when Alice Archer signs in") {
				n++
			}
		}
		return n
	}
	lab.waitFor("the offline notice", func(evs []labEvent) bool { return notices(evs) > 0 })
	alice = login(t, h.url, "acme", "alice")
	alice.listen()
	chats = snapshotChats(t, alice)
	if len(chats) != 1 || chats[0].ID != conv || chats[0].Unread != 3 {
		t.Fatalf("at sign-in alice has %+v, want the chat with Erin and 3 unread", chats)
	}
	var texts []string
	for _, m := range alice.lastMessages(conv, 30) {
		texts = append(texts, m.Text)
	}
	want := []string{"Hi Alice", "Bold and italic", "the manual", "while you were out 1", "while you were out 2", "while you were out 3"}
	if !slices.Equal(texts, want) {
		t.Errorf("history = %q, want %q", texts, want)
	}
	if n := notices(lab.received()); n != 1 {
		t.Errorf("the expert was told %d times that alice is offline, want once", n)
	}
	if got := h.metric("switchboard_expert_offline_messages_total", "event", "delivered"); got != 3 {
		t.Errorf("expert offline messages delivered = %v, want 3", got)
	}
	if got := h.metric("switchboard_expert_offline_messages_total", "event", "stored"); got != 3 {
		t.Errorf("expert offline messages stored = %v, want 3", got)
	}

	// An agent starts a chat with an expert; ending it tells the bridge; the next message opens a
	// new one.
	var started expertChat
	alice.must("POST", "/api/v1/experts/lab/chats", map[string]string{"expert": "@fred:lab"}, &started)
	if started.Kind != "expert" || started.Peer.ID != "@fred:lab" || started.Peer.State != "away" {
		t.Errorf("started chat = %+v", started)
	}
	var again expertChat
	alice.must("POST", "/api/v1/experts/lab/chats", map[string]string{"expert": "@fred:lab"}, &again)
	if again.ID != started.ID {
		t.Errorf("starting the chat again gave %s, want the open one %s", again.ID, started.ID)
	}
	lab.waitFor("the started chat", func(evs []labEvent) bool {
		return slices.ContainsFunc(evs, func(e labEvent) bool {
			return e.Type == "started" && e.Conversation == "alice|@fred:lab" && e.From == "alice"
		})
	})
	if code := alice.call("POST", "/api/v1/experts/lab/chats", map[string]string{"expert": "@nobody:lab"}, nil); code != 404 {
		t.Errorf("a chat with an unknown expert: %d, want 404", code)
	}
	if code := alice.call("POST", "/api/v1/experts/nolab/chats", map[string]string{"expert": "@fred:lab"}, nil); code != 404 {
		t.Errorf("a chat on an unknown bridge: %d, want 404", code)
	}
	alice.must("POST", "/api/v1/conversations/"+started.ID+"/end", nil, nil)
	lab.waitFor("the end of the chat", func(evs []labEvent) bool {
		return slices.ContainsFunc(evs, func(e labEvent) bool { return e.Type == "ended" && e.Conversation == "alice|@fred:lab" })
	})
	lab.mustPost("/messages", map[string]any{"id": "f1", "agent": "alice", "expert": "@fred:lab", "text": "one more thing"})
	awaitPush(t, alice, "the message in a new chat", func(p map[string]any) bool {
		return p["type"] == "message" && p["conversation_id"] != started.ID && p["conversation_id"] != conv
	})

	// The expert leaves: the chat closes for the agent.
	lab.mustPost("/ended", map[string]any{"id": "e1", "agent": "alice", "expert": "@erin:lab", "name": "Erin Expert"})
	if !poll(5*time.Second, func() bool {
		var c expertChat
		return alice.call("GET", "/api/v1/conversations/"+conv, nil, &c) == 200 && c.State == "closed"
	}) {
		t.Error("the chat with Erin did not close when she left")
	}

	// A hub restart: the bridge gets the directory again, the chat history is all there.
	h.stop()
	h.start()
	h.waitPlugin("lab", 0)
	if !poll(5*time.Second, func() bool {
		return lab.agentState("alice") == "PRESENCE_STATE_ONLINE" && lab.agentState("bob") == "PRESENCE_STATE_ONLINE"
	}) {
		t.Errorf("after a hub restart the bridge has alice %q and bob %q, want both online (signed in)", lab.agentState("alice"), lab.agentState("bob"))
	}
	if kept, ok := alice.messages(conv, 0); !ok || len(kept) != len(want)+1 {
		t.Errorf("after a hub restart the chat with Erin has %d messages (%v), want %d and the note that she left", len(kept), ok, len(want)+1)
	}
}
