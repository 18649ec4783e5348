package main

import (
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// forgetAfter is how long a customer's last message time is kept: long after the 24-hour
// window, so the state file stays small.
const forgetAfter = 7 * 24 * time.Hour

// windowStore remembers when each customer last wrote (the start of the platform's 24-hour
// customer-service window) and when a template went out since. With a state directory it keeps
// them in <state_dir>/<instance>.json, written atomically on every change; without one, in
// memory only, so after a restart the platform alone decides whether a reply may go out.
type windowStore struct {
	mu    sync.Mutex
	file  sdk.StateFile
	state windowState
}

type windowState struct {
	Customers map[string]*customerState `json:"customers"`
}

// customerState is what is known of one conversation key's window.
type customerState struct {
	LastMessage  time.Time  `json:"last_message"`
	TemplateSent *time.Time `json:"template_sent,omitempty"`
}

// openWindowStore loads the instance's state file from dir; with an empty dir it keeps state in
// memory.
func openWindowStore(dir, instance string) (*windowStore, error) {
	w := &windowStore{state: windowState{Customers: map[string]*customerState{}}}
	file, err := sdk.OpenStateFile(dir, instance, &w.state)
	if err != nil {
		return nil, err
	}
	w.file = file
	if w.state.Customers == nil {
		w.state.Customers = map[string]*customerState{}
	}
	return w, nil
}

// last is when the customer of the conversation last wrote, if known.
func (w *windowStore) last(key string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.state.Customers[key]
	if c == nil {
		return time.Time{}, false
	}
	return c.LastMessage, true
}

// wrote records a customer's message at; a message reopens the window, so a template may go out
// again once it closes.
func (w *windowStore) wrote(key string, at time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.state.Customers[key]
	if c == nil {
		c = &customerState{}
		w.state.Customers[key] = c
	}
	if at.After(c.LastMessage) {
		c.LastMessage = at.UTC()
		c.TemplateSent = nil
	}
	return w.saveLocked()
}

// templateSent is when a template went out since the customer's last message, if one did.
func (w *windowStore) templateSent(key string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.state.Customers[key]
	if c == nil || c.TemplateSent == nil {
		return time.Time{}, false
	}
	return *c.TemplateSent, true
}

// markTemplate records that a template went out at.
func (w *windowStore) markTemplate(key string, at time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.state.Customers[key]
	if c == nil {
		c = &customerState{}
		w.state.Customers[key] = c
	}
	at = at.UTC()
	c.TemplateSent = &at
	return w.saveLocked()
}

// saveLocked forgets stale customers and writes the state file.
func (w *windowStore) saveLocked() error {
	now := time.Now()
	for key, c := range w.state.Customers {
		if now.Sub(c.LastMessage) > forgetAfter && (c.TemplateSent == nil || now.Sub(*c.TemplateSent) > forgetAfter) {
			delete(w.state.Customers, key)
		}
	}
	return w.file.Save(w.state)
}
