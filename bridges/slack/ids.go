package main

import (
	"context"
	"sync"

	"github.com/switchboardhq/switchboard/sdk"
)

// onceSet runs the work for an id once: a repeat that arrives while the work runs waits for its
// outcome; one that arrives after it succeeded is a no-op. Failed work may be tried again.
type onceSet struct {
	mu      sync.Mutex
	running map[string]*onceCall
	done    *sdk.RecentIDs
}

type onceCall struct {
	finished chan struct{}
	err      error
}

func newOnceSet(n int) *onceSet {
	return &onceSet{running: map[string]*onceCall{}, done: sdk.NewRecentIDs(n)}
}

// do runs fn unless id is done or running; repeat says whether it was a repeat.
func (o *onceSet) do(ctx context.Context, id string, fn func() error) (repeat bool, err error) {
	if id == "" {
		return false, fn()
	}
	o.mu.Lock()
	if o.done.Has(id) {
		o.mu.Unlock()
		return true, nil
	}
	if c := o.running[id]; c != nil {
		o.mu.Unlock()
		select {
		case <-c.finished:
			return true, c.err
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	c := &onceCall{finished: make(chan struct{})}
	o.running[id] = c
	o.mu.Unlock()

	c.err = fn()
	o.mu.Lock()
	delete(o.running, id)
	if c.err == nil {
		o.done.Add(id)
	}
	o.mu.Unlock()
	close(c.finished)
	return false, c.err
}

// lanes keeps the work of one key in the order it arrived while different keys run
// concurrently: take a ticket when the work arrives, wait for it, and release it when done.
type lanes struct {
	mu   sync.Mutex
	tail map[string]chan struct{}
}

type ticket struct {
	l         *lanes
	key       string
	prev, own chan struct{}
}

func newLanes() *lanes { return &lanes{tail: map[string]chan struct{}{}} }

func (l *lanes) take(key string) *ticket {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := &ticket{l: l, key: key, prev: l.tail[key], own: make(chan struct{})}
	l.tail[key] = t.own
	return t
}

// wait returns once the work ahead of this ticket is done, or ctx ended.
func (t *ticket) wait(ctx context.Context) error {
	if t.prev == nil {
		return nil
	}
	select {
	case <-t.prev:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *ticket) release() {
	t.l.mu.Lock()
	if t.l.tail[t.key] == t.own {
		delete(t.l.tail, t.key)
	}
	t.l.mu.Unlock()
	close(t.own)
}
