package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// testHost is the hub as the plugin sees it, in the test's process: it stores emitted events
// (dropping repeated ids, as the hub does), can hold them or refuse them, and counts.
type testHost struct {
	mu     sync.Mutex
	events []*sdk.Event
	counts map[string]int
	hold   chan struct{} // while not nil, Emit waits for it to close (events holdIf selects)
	holdIf func(*sdk.Event) bool
	fail   error // while not nil, Emit returns it (the hub is unreachable)
	reject func(*sdk.Event) string
	news   chan struct{}
}

func newTestHost() *testHost {
	return &testHost{counts: map[string]int{}, news: make(chan struct{})}
}

func (h *testHost) Emit(ctx context.Context, ev *sdk.Event) error {
	h.mu.Lock()
	hold, holdIf, reject, fail := h.hold, h.holdIf, h.reject, h.fail
	h.mu.Unlock()
	if hold != nil && (holdIf == nil || holdIf(ev)) {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
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
	h.changedLocked()
	return nil
}

func (h *testHost) changedLocked() {
	close(h.news)
	h.news = make(chan struct{})
}

func (h *testHost) HasCapacity(context.Context, string) (bool, error) { return true, nil }

func (h *testHost) Count(name, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[name+"/"+reason]++
	h.changedLocked()
}

func (h *testHost) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func (h *testHost) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

// holdEmits makes Emit wait until release is called, for the events pred selects (nil: all).
func (h *testHost) holdEmits(pred func(*sdk.Event) bool) (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.hold, h.holdIf = ch, pred
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.hold, h.holdIf = nil, nil
			h.mu.Unlock()
			close(ch)
		})
	}
}

func (h *testHost) setFail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = err
}

func (h *testHost) setReject(f func(*sdk.Event) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reject = f
}

// all returns the stored events, in order.
func (h *testHost) all() []*sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// messages returns the stored messages, in order.
func (h *testHost) messages() []*sdk.Event {
	var out []*sdk.Event
	for _, ev := range h.all() {
		if ev.GetMessage() != nil {
			out = append(out, ev)
		}
	}
	return out
}

// await waits until a stored event satisfies pred.
func (h *testHost) await(t *testing.T, what string, pred func(*sdk.Event) bool) *sdk.Event {
	t.Helper()
	var found *sdk.Event
	h.waitFor(t, what, func() bool {
		for _, ev := range h.all() {
			if pred(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// waitFor waits until cond holds; it is checked after every emit and count.
func (h *testHost) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		news := h.news
		h.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-news:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func withText(text string) func(*sdk.Event) bool {
	return func(ev *sdk.Event) bool { return ev.GetMessage().GetContent().GetText() == text }
}

// clock is the plugin's clock in tests: it stands still until moved.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// instance is a social plugin running in the test's process, its handler on a test server.
type instance struct {
	p    *social
	url  string // base URL of the handler, ending in "/"
	stop func()
}

// lateHandler serves a handler set after the server started (the instance's public URL must be
// known before Configure makes the handler).
type lateHandler struct {
	mu sync.Mutex
	h  http.Handler
}

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	h := l.h
	l.mu.Unlock()
	if h == nil {
		http.Error(w, "not configured", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// startInstance configures and runs a social plugin with cfg (the hub's public URL is the test
// server's) until the test ends or stop is called. clk may be nil for the real clock.
func startInstance(t *testing.T, host *testHost, cfg map[string]any, clk *clock) *instance {
	t.Helper()
	lh := &lateHandler{}
	srv := httptest.NewServer(lh)
	t.Cleanup(srv.Close)
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := newSocial()
	if clk != nil {
		p.now = clk.Now
	}
	configured, err := p.Configure(context.Background(), sdk.Config{Instance: "social-test", Tenant: "acme", JSON: raw, PublicURL: srv.URL + "/"})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	lh.mu.Lock()
	lh.h = configured.Handler
	lh.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := p.Run(ctx, host); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	<-p.ready
	return &instance{p: p, url: srv.URL + "/", stop: stop}
}

// deliver hands the plugin an agent's message and returns Deliver's answer.
func deliver(p *social, key, id, text string) error {
	ev := sdk.NewMessage(id, key, &pb.Participant{Kind: sdk.AsAgent, Id: "sam", DisplayName: "Sam"}, &pb.Content{Text: text})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.Deliver(ctx, ev)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rejected returns the reason of a refusal, failing the test if err is not one.
func rejected(t *testing.T, err error) string {
	t.Helper()
	reason, ok := sdk.IsRejected(err)
	if !ok {
		t.Fatalf("want a refusal (sdk.Reject), got %v", err)
	}
	return reason
}
