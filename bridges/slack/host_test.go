package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/bridges/slack/slackfake"
	"github.com/switchboardhq/switchboard/sdk"
)

// testHost is the hub as the bridge sees it, in the test's process: it stores emitted events
// (dropping repeated ids, as the hub does), can hold them, refuse them, and counts.
type testHost struct {
	mu     sync.Mutex
	events []*sdk.Event
	counts map[string]int
	hold   chan struct{} // while not nil, Emit waits for it to close
	reject func(*sdk.Event) string
	news   chan struct{}
}

func newTestHost() *testHost {
	return &testHost{counts: map[string]int{}, news: make(chan struct{})}
}

func (h *testHost) Emit(ctx context.Context, ev *sdk.Event) error {
	h.mu.Lock()
	hold, reject := h.hold, h.reject
	h.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if reject != nil {
		if reason := reject(ev); reason != "" {
			return &sdk.RejectedError{Reason: reason}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.ContainsFunc(h.events, func(e *sdk.Event) bool { return e.GetId() == ev.GetId() }) {
		h.events = append(h.events, ev)
	}
	close(h.news)
	h.news = make(chan struct{})
	return nil
}

func (h *testHost) HasCapacity(context.Context, string) (bool, error) { return true, nil }

func (h *testHost) Count(name, reason string) {
	h.mu.Lock()
	h.counts[name+"/"+reason]++
	h.mu.Unlock()
}

func (h *testHost) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (h *testHost) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

// holdEmits makes Emit wait until release is called.
func (h *testHost) holdEmits() (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.hold = ch
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		h.hold = nil
		h.mu.Unlock()
		close(ch)
	}
}

// messages returns the emitted messages (text and conversation).
func (h *testHost) messages() []*sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*sdk.Event
	for _, ev := range h.events {
		if ev.GetMessage() != nil {
			out = append(out, ev)
		}
	}
	return out
}

func (h *testHost) find(pred func(*sdk.Event) bool) *sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range h.events {
		if pred(ev) {
			return ev
		}
	}
	return nil
}

// await waits until an emitted event satisfies pred.
func (h *testHost) await(t *testing.T, what string, pred func(*sdk.Event) bool) *sdk.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		news := h.news
		h.mu.Unlock()
		if ev := h.find(pred); ev != nil {
			return ev
		}
		select {
		case <-news:
		case <-deadline:
			t.Fatalf("the bridge never emitted %s", what)
			return nil
		}
	}
}

// startBridge runs a bridge in the test's process against the fake workspace until the test
// ends or stop is called.
func startBridge(t *testing.T, fake *slackfake.Server, host *testHost, mode string) (b *bridge, stop func()) {
	t.Helper()
	cfg := map[string]any{"bot_token": fake.BotToken, "api_url": fake.APIURL(), "presence_poll_interval": "1s",
		"agent_icon_url": "https://avatars.example.com/{agent}.png", "max_attachment_bytes": 1024}
	if mode == "events" {
		cfg["mode"], cfg["signing_secret"] = "events", fake.SigningSecret
	} else {
		cfg["app_token"] = fake.AppToken
	}
	raw, _ := json.Marshal(cfg)
	b = newBridge()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := b.Configure(ctx, sdk.Config{Instance: "slack", Tenant: "acme", JSON: raw, PublicURL: "http://hub.example/c/slack/"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { b.Run(ctx, host); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	select {
	case <-b.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge never identified itself on Slack")
	}
	if mode != "events" {
		if !poll(func() bool { return fake.Connections() > 0 }) {
			t.Fatal("the bridge never connected over Socket Mode")
		}
	}
	return b, stop
}

func poll(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func agentOnline(b *bridge, username, name string, online bool) {
	state := sdk.Offline
	if online {
		state = sdk.Online
	}
	b.Deliver(context.Background(), sdk.NewPresence("p-"+username+strconv.FormatBool(online), sdk.Agent(username, name), state, ""))
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
