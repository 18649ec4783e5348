package sdktest

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// Host is the hub as a plugin sees it, inside a test's process: run the plugin's Run with it to
// test adapters without starting a hub. It stores what the plugin emits (dropping repeated ids,
// as the hub does), counts what the plugin counts, and can hold or refuse events the way a busy
// or strict hub does.
type Host struct {
	mu     sync.Mutex
	events []*sdk.Event
	counts map[string]int
	hold   chan struct{}          // while not nil, Emit waits for it to close (for events holdIf selects)
	holdIf func(*sdk.Event) bool  // nil: every event
	held   int                    // Emits that waited on a hold
	fail   func(*sdk.Event) error // an error to answer instead of storing, if it returns one
	news   chan struct{}          // closed at every change
}

// NewHost returns an empty Host.
func NewHost() *Host { return &Host{counts: map[string]int{}, news: make(chan struct{})} }

// Emit implements sdk.Host.
func (h *Host) Emit(ctx context.Context, ev *sdk.Event) error {
	h.mu.Lock()
	hold, holdIf, fail := h.hold, h.holdIf, h.fail
	if hold != nil && (holdIf == nil || holdIf(ev)) {
		h.held++
		h.changedLocked()
	} else {
		hold = nil
	}
	h.mu.Unlock()
	if hold != nil {
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
	h.changedLocked()
	return nil
}

func (h *Host) changedLocked() {
	close(h.news)
	h.news = make(chan struct{})
}

// HasCapacity implements sdk.Host: an agent could always take a chat.
func (h *Host) HasCapacity(context.Context, string) (bool, error) { return true, nil }

// Count implements sdk.Host.
func (h *Host) Count(name, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts[name+"/"+reason]++
	h.changedLocked()
}

// Logger implements sdk.Host; the plugin's log lines are dropped.
func (h *Host) Logger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Counted is how often the plugin counted name/reason.
func (h *Host) Counted(name, reason string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[name+"/"+reason]
}

// Events returns the stored events, in order.
func (h *Host) Events() []*sdk.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.events)
}

// Messages returns the stored message events, in order.
func (h *Host) Messages() []*sdk.Event {
	var out []*sdk.Event
	for _, ev := range h.Events() {
		if ev.GetMessage() != nil {
			out = append(out, ev)
		}
	}
	return out
}

// Fail makes Emit answer fn's error instead of storing the event, when fn returns one: an
// ordinary error is a hub the plugin cannot reach, a *sdk.RejectedError a refusal. nil stops it.
func (h *Host) Fail(fn func(*sdk.Event) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = fn
}

// Hold makes Emit wait, for the events pred selects (nil: all), until release is called, as a
// hub slow to store them would.
func (h *Host) Hold(pred func(*sdk.Event) bool) (release func()) {
	ch := make(chan struct{})
	h.mu.Lock()
	h.hold, h.holdIf, h.held = ch, pred, 0
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

// AwaitHeld waits until an Emit waits on the current Hold.
func (h *Host) AwaitHeld(t testing.TB) {
	t.Helper()
	h.WaitFor(t, "an event the hub holds", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.held > 0
	})
}

// Await waits until a stored event satisfies pred and returns it.
func (h *Host) Await(t testing.TB, what string, pred func(*sdk.Event) bool) *sdk.Event {
	t.Helper()
	var found *sdk.Event
	h.WaitFor(t, what, func() bool {
		for _, ev := range h.Events() {
			if pred(ev) {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// WaitFor waits until cond holds, checking it after every emit and count; it fails the test
// after 15 s.
func (h *Host) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
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
			t.Fatalf("timed out waiting for %s; events: %v", what, fmt.Sprint(h.Events()))
		}
	}
}
