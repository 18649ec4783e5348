package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// testHost is the hub as the plugin sees it, in the test's process: it stores emitted events
// (dropping repeated ids, as the hub does), can fail or refuse them, and counts.
type testHost struct {
	mu     sync.Mutex
	events []*sdk.Event
	counts map[string]int
	fail   func(*sdk.Event) error // an error to return instead of storing
	hold   chan struct{}          // while not nil, Emit waits for it to close
	held   int                    // Emits waiting on hold
	news   chan struct{}
}

func newTestHost() *testHost {
	return &testHost{counts: map[string]int{}, news: make(chan struct{})}
}

func (h *testHost) Emit(ctx context.Context, ev *sdk.Event) error {
	h.mu.Lock()
	hold, fail := h.hold, h.fail
	h.mu.Unlock()
	if hold != nil {
		h.mu.Lock()
		h.held++
		h.notify()
		h.mu.Unlock()
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		if err := fail(ev); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !slices.ContainsFunc(h.events, func(e *sdk.Event) bool { return e.GetId() == ev.GetId() }) {
		h.events = append(h.events, ev)
	}
	h.notify()
	return nil
}

// notify wakes the waiters; the caller holds h.mu.
func (h *testHost) notify() {
	close(h.news)
	h.news = make(chan struct{})
}

// awaitHeld waits until an Emit waits on holdEmits.
func (h *testHost) awaitHeld(t *testing.T) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		h.mu.Lock()
		held, news := h.held, h.news
		h.mu.Unlock()
		if held > 0 {
			return
		}
		select {
		case <-news:
		case <-deadline:
			t.Fatal("the plugin never emitted while the hub held events")
		}
	}
}

func (h *testHost) HasCapacity(context.Context, string) (bool, error) { return true, nil }

func (h *testHost) Count(name, reason string) {
	h.mu.Lock()
	h.counts[name+"/"+reason]++
	h.mu.Unlock()
}

func (h *testHost) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (h *testHost) count(reason string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts["webhooks_refused/"+reason]
}

func (h *testHost) setFail(fn func(*sdk.Event) error) {
	h.mu.Lock()
	h.fail = fn
	h.mu.Unlock()
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

func (h *testHost) all() []*sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*sdk.Event(nil), h.events...)
}

// await waits until an emitted event satisfies pred.
func (h *testHost) await(t *testing.T, what string, pred func(*sdk.Event) bool) *sdk.Event {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		h.mu.Lock()
		news := h.news
		i := slices.IndexFunc(h.events, pred)
		var ev *sdk.Event
		if i >= 0 {
			ev = h.events[i]
		}
		h.mu.Unlock()
		if ev != nil {
			return ev
		}
		select {
		case <-news:
		case <-deadline:
			t.Fatalf("the plugin never emitted %s; events: %v", what, h.all())
			return nil
		}
	}
}

// line is one configured plugin running in the test's process, its handler on a test server.
type line struct {
	p    *sms
	host *testHost
	srv  *httptest.Server
}

// startLine configures the plugin with cfg (an instance configuration) and runs it until the test
// ends, its handler on a fresh test server.
func startLine(t *testing.T, cfg map[string]any) *line {
	t.Helper()
	srv, mount := swapServer(t)
	return runLine(t, cfg, srv, mount)
}

// swapServer is a test server whose handler is set later, so that its URL can go into the
// configuration of what it will serve.
func swapServer(t *testing.T) (*httptest.Server, func(http.Handler)) {
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handler := h.Load(); handler != nil {
			(*handler).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not mounted yet", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv, func(handler http.Handler) { h.Store(&handler) }
}

// runLine configures and runs the plugin, its handler mounted on srv.
func runLine(t *testing.T, cfg map[string]any, srv *httptest.Server, mount func(http.Handler)) *line {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := newSMS()
	configured, err := p.Configure(context.Background(), sdk.Config{Instance: "sms-test", Tenant: "acme", JSON: raw})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	host := newTestHost()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx, host); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-p.ready
	mount(configured.Handler)
	return &line{p: p, host: host, srv: srv}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// agentMessage is a reply from an agent, as the hub's outbox holds it.
func agentMessage(id, key, text, html string) *sdk.Event {
	return sdk.NewMessage(id, key, sdk.Agent("sam", "Sam"), &sdk.Content{Text: text, Html: html})
}
