package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

// testHost is the hub as the plugin sees it, with the counts this plugin makes ("name/reason").
type testHost struct{ *sdktest.Host }

func newTestHost() *testHost { return &testHost{sdktest.NewHost()} }

func (h *testHost) count(key string) int {
	name, reason, _ := strings.Cut(key, "/")
	return h.Counted(name, reason)
}

// setFail makes the hub unreachable while err is not nil.
func (h *testHost) setFail(err error) {
	if err == nil {
		h.Fail(nil)
		return
	}
	h.Fail(func(*sdk.Event) error { return err })
}

// setReject makes the hub refuse the events for which f gives a reason.
func (h *testHost) setReject(f func(*sdk.Event) string) {
	h.Fail(func(ev *sdk.Event) error {
		if reason := f(ev); reason != "" {
			return &sdk.RejectedError{Reason: reason}
		}
		return nil
	})
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
