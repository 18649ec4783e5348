package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestMalformedConfigNamesTheField(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	cfg := `tenants:
  - id: acme
    groups: [{id: support}]
    queues: [{id: support, group: support}]
    users:
      - {username: alice, group: support, queues: [support], max_chats: 9}
      - {username: bob, group: nowhere, queues: [support]}
`
	os.WriteFile(path, []byte(cfg), 0o600)
	for _, args := range [][]string{{"check-config", path}, {"-config", path}} {
		out, err := exec.Command(filepath.Join(binDir, "switchboard"), args...).CombinedOutput()
		if err == nil {
			t.Fatalf("switchboard %v accepted a bad config:\n%s", args, out)
		}
		for _, want := range []string{"tenants[0].users[0].max_chats", "between 1 and 6", "tenants[0].users[1].group"} {
			if !strings.Contains(string(out), want) {
				t.Fatalf("switchboard %v: the error does not name %q:\n%s", args, want, out)
			}
		}
	}
	good := filepath.Join("..", "..", "config", "switchboard.example.yaml")
	if out, err := exec.Command(filepath.Join(binDir, "switchboard"), "check-config", "-skip-plugins", good).CombinedOutput(); err != nil {
		t.Fatalf("check-config refuses the example config: %v\n%s", err, out)
	}

	// check-config also has each plugin check its own instance configuration.
	pluginCfg := fmt.Sprintf(`plugins_dir: %s
plugins:
  - {instance: webchat, plugin: webchat, tenant: acme, config: {max_frame_bytes: 1, colour: red}}
  - {instance: gone, path: %s/nothing-here, tenant: acme}
tenants:
  - {id: acme, groups: [{id: support}], queues: [{id: support, group: support}]}
`, binDir, dir)
	os.WriteFile(path, []byte(pluginCfg), 0o600)
	out, err := exec.Command(filepath.Join(binDir, "switchboard"), "check-config", path).CombinedOutput()
	if err == nil {
		t.Fatalf("check-config accepted a bad plugin configuration:\n%s", out)
	}
	for _, want := range []string{"plugins.webchat.config.colour: unknown field", "plugins.gone: plugin binary " + dir + "/nothing-here"} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("check-config does not report %q:\n%s", want, out)
		}
	}
	pluginCfg = strings.Replace(pluginCfg, "colour: red", "title: Hi", 1)
	os.WriteFile(path, []byte(pluginCfg), 0o600)
	out, _ = exec.Command(filepath.Join(binDir, "switchboard"), "check-config", path).CombinedOutput()
	if !strings.Contains(string(out), "plugins.webchat.config.max_frame_bytes: must be between 256 and 1048576") {
		t.Fatalf("check-config does not report the plugin's own validation:\n%s", out)
	}
}

// Broken plugins are retried with backoff and shown by /readyz while the hub serves the others.
func TestBrokenPluginsDoNotStopTheHub(t *testing.T) {
	dir := t.TempDir()
	crash := filepath.Join(binDir, "crashplugin")
	badHandshake := filepath.Join(dir, "badhandshake")
	if err := os.Symlink(crash, badHandshake); err != nil {
		t.Fatal(err)
	}
	extra := `  - {instance: missing, path: ` + filepath.Join(dir, "no-such-plugin") + `, tenant: acme}
  - {instance: crasher, path: ` + crash + `, tenant: acme}
  - {instance: handshake, path: ` + badHandshake + `, tenant: acme}`
	h := startHub(t, hubOptions{dataDir: dir, extraPlugins: extra})

	want := map[string]string{
		"missing":   "no-such-plugin",
		"crasher":   "crashing at start",
		"handshake": "incompatible api version",
	}
	var last readiness
	ok := poll(15*time.Second, func() bool {
		r, code, err := h.readiness()
		last = r
		if err != nil || code != 200 || r.Status != "degraded" {
			return false
		}
		for _, p := range r.Plugins {
			if frag, bad := want[p.Instance]; bad && (p.State == "up" || p.Restarts < 2 || !strings.Contains(strings.ToLower(p.LastError), frag)) {
				return false
			}
		}
		return true
	})
	if !ok {
		for _, p := range last.Plugins {
			t.Logf("%s: %s restarts=%d error=%s", p.Instance, p.State, p.Restarts, p.LastError)
		}
		t.Fatal("readiness does not report the broken plugins")
	}
	if _, code, _ := h.readinessStrict(); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz?strict=1 answered %d while plugins are down", code)
	}
	if p, _ := h.plugin("webchat"); p.State != "up" {
		t.Fatalf("the healthy plugin is %q", p.State)
	}
	if got := h.metric("switchboard_plugin_up", `instance="crasher"`); got != 0 {
		t.Fatalf("switchboard_plugin_up for the crasher = %v", got)
	}
	if got := h.metric("switchboard_plugin_start_failures_total", `instance="missing"`, `stage="binary"`); got < 2 {
		t.Fatalf("start failures of the missing plugin = %v", got)
	}
	// The hub still carries conversations.
	a := availableAgent(t, h, "acme", "alice")
	startChat(t, h, a, newCustomer(t, h.url, "Ines", ""))
}

func (h *hubProc) readinessStrict() (readiness, int, error) {
	var r readiness
	res, err := http.Get(h.url + "/readyz?strict=1")
	if err != nil {
		return r, 0, err
	}
	defer res.Body.Close()
	err = json.NewDecoder(res.Body).Decode(&r)
	return r, res.StatusCode, err
}

// Oversized and malformed customer frames are refused with a reason, the connection is closed
// and nothing is stored.
func TestBadCustomerFrames(t *testing.T) {
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Olga", "")
	conv := startChat(t, h, a, c)
	c.stop()
	key := c.conversation

	cases := []struct {
		name   string
		frame  string
		code   websocket.StatusCode
		reason string
		stat   string
	}{
		{"oversized", `{"type":"message","id":"x1","text":"` + strings.Repeat("a", 20000) + `"}`, websocket.StatusMessageTooBig, "larger than", "oversized"},
		{"not json", `{"type":"message",`, websocket.StatusPolicyViolation, "malformed frame", "malformed"},
		{"unknown field", `{"type":"message","id":"x2","text":"hi","evil":1}`, websocket.StatusPolicyViolation, "unknown field", "malformed"},
		{"unknown type", `{"type":"shout","id":"x3"}`, websocket.StatusPolicyViolation, "unknown frame type", "malformed"},
		{"bad id", `{"type":"message","id":"../../x","text":"hi"}`, websocket.StatusPolicyViolation, "message id", "malformed"},
		{"too long", `{"type":"message","id":"x4","text":"` + strings.Repeat("b", 4001) + `"}`, websocket.StatusPolicyViolation, "limit is 4000", "oversized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := h.metric("switchboard_plugin_rejections_total", `reason="`+tc.stat+`"`)
			ctx := ctxTimeout(t, 10*time.Second)
			conn, _, err := websocket.Dial(ctx, strings.Replace(h.url, "http", "ws", 1)+"/c/webchat/ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			start, _ := json.Marshal(map[string]any{"type": "start", "conversation": key})
			conn.Write(ctx, websocket.MessageText, start)
			// Hub events still owed to this conversation may come first.
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					t.Fatalf("start: %v", err)
				}
				if bytes.Contains(data, []byte(`"started"`)) {
					break
				}
			}
			conn.Write(ctx, websocket.MessageText, []byte(tc.frame))
			var reason string
			var err2 error
			for err2 == nil {
				var data []byte
				_, data, err2 = conn.Read(ctx)
				if bytes.Contains(data, []byte(`"error"`)) {
					reason = string(data)
				}
			}
			if websocket.CloseStatus(err2) != tc.code {
				t.Fatalf("close status %v (%v), want %v", websocket.CloseStatus(err2), err2, tc.code)
			}
			if !strings.Contains(reason+err2.Error(), tc.reason) {
				t.Fatalf("the refusal does not say why (want %q): frame %q, close %v", tc.reason, reason, err2)
			}
			if !poll(5*time.Second, func() bool {
				return h.metric("switchboard_plugin_rejections_total", `reason="`+tc.stat+`"`) > before
			}) {
				t.Fatalf("switchboard_plugin_rejections_total{reason=%q} did not grow", tc.stat)
			}
		})
	}
	if msgs, _ := a.messages(conv, 0); len(msgs) != 0 {
		t.Fatalf("refused frames stored messages: %+v", msgs)
	}
}

func TestWrongPasswordGivesNoHint(t *testing.T) {
	h := startHub(t, hubOptions{})
	try := func(tenant, user, pw string) (int, string) {
		body, _ := json.Marshal(map[string]string{"tenant": tenant, "username": user, "password": pw})
		res, err := http.Post(h.url+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if len(res.Cookies()) > 0 {
			t.Fatalf("a failed sign-in set a cookie")
		}
		return res.StatusCode, readAll(res.Body)
	}
	code1, body1 := try("acme", "alice", "wrong")
	code2, body2 := try("acme", "nobody", password)
	code3, body3 := try("nowhere", "alice", password)
	if code1 != 401 || code2 != 401 || code3 != 401 {
		t.Fatalf("statuses %d %d %d, want 401", code1, code2, code3)
	}
	if body1 != body2 || body2 != body3 {
		t.Fatalf("the answers differ, hinting which part was wrong:\n%s\n%s\n%s", body1, body2, body3)
	}
	if got := h.metric("switchboard_console_logins_total", `outcome="failed"`); got != 3 {
		t.Fatalf("failed sign-ins counted %v, want 3", got)
	}
	a := login(t, h.url, "acme", "alice")
	// A state change without the CSRF token is refused.
	a.csrf = "forged"
	if code := a.call("PUT", "/api/v1/state", map[string]string{"state": "available"}, nil); code != 403 {
		t.Fatalf("a request without the CSRF token answered %d", code)
	}
	res, _ := http.Get(h.url + "/api/v1/snapshot")
	if res.StatusCode != 401 {
		t.Fatalf("an anonymous request answered %d", res.StatusCode)
	}
	res.Body.Close()
}

// Nothing of one tenant is visible from another, whatever ids a caller sends.
func TestOtherTenantsDataIsNotFound(t *testing.T) {
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Tom", "")
	conv := startChat(t, h, a, c)
	c.say(ctxTimeout(t, 10*time.Second), "private")
	poll(5*time.Second, func() bool { m, _ := a.messages(conv, 0); return len(m) == 1 })

	other := login(t, h.url, "globex", "alice")
	for _, path := range []string{"/api/v1/conversations/" + conv, "/api/v1/conversations/" + conv + "/messages"} {
		if code := other.call("GET", path, nil, nil); code != 404 {
			t.Fatalf("GET %s from another tenant answered %d, want 404", path, code)
		}
	}
	for _, action := range []string{"accept", "reject", "end", "wrapup"} {
		if code := other.call("POST", "/api/v1/conversations/"+conv+"/"+action, map[string]any{}, nil); code != 404 && code != 409 {
			t.Fatalf("POST %s from another tenant answered %d", action, code)
		}
	}
	if code := other.call("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "z", "text": "hi"}, nil); code != 404 {
		t.Fatalf("sending into another tenant's conversation answered %d, want 404", code)
	}
	// Another agent of the same tenant does not see it either.
	bob := login(t, h.url, "acme", "bob")
	if code := bob.call("GET", "/api/v1/conversations/"+conv, nil, nil); code != 404 {
		t.Fatalf("another agent's conversation answered %d, want 404", code)
	}
	// A supervisor of the tenant does.
	sam := login(t, h.url, "acme", "sam")
	if code := sam.call("GET", "/api/v1/conversations/"+conv+"/messages", nil, nil); code != 200 {
		t.Fatalf("the supervisor's view answered %d", code)
	}
}

// A customer connection that floods messages has the excess refused with a reason; what was
// acknowledged is stored, the rest is not.
func TestCustomerFloodIsRefused(t *testing.T) {
	extra := `  - {instance: strict, plugin: webchat, tenant: acme, config: {messages_per_second: 0.001, message_burst: 3}}`
	h := startHub(t, hubOptions{extraPlugins: extra})
	h.waitPlugin("strict", 0)
	ctx := ctxTimeout(t, 15*time.Second)
	conn, _, err := websocket.Dial(ctx, strings.Replace(h.url, "http", "ws", 1)+"/c/strict/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"start","customer":{"nickname":"Flo"}}`))
	for i := 0; i < 10; i++ {
		conn.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"type":"message","id":"m%d","text":"spam %d"}`, i, i)))
	}
	acks, refusals := 0, 0
	for acks+refusals < 10 {
		_, data, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("after %d acks and %d refusals: %v", acks, refusals, err)
		}
		var f map[string]any
		json.Unmarshal(data, &f)
		switch f["type"] {
		case "ack":
			acks++
		case "error":
			if !strings.Contains(fmt.Sprint(f["reason"]), "too many messages") {
				t.Fatalf("refusal without the reason: %s", data)
			}
			refusals++
		}
	}
	if acks != 3 || refusals != 7 {
		t.Fatalf("%d acknowledged and %d refused, want the burst of 3 and 7 refused", acks, refusals)
	}
	if !poll(5*time.Second, func() bool {
		return h.metric("switchboard_plugin_rejections_total", `instance="strict"`, `reason="rate_limited"`) == 7
	}) {
		t.Fatal("the refusals are not counted")
	}
}
