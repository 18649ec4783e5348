package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
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
	path  string // "" for memory only
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

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// openWindowStore loads the instance's state file from dir, creating dir when needed; with an
// empty dir it keeps state in memory.
func openWindowStore(dir, instance string) (*windowStore, error) {
	w := &windowStore{state: windowState{Customers: map[string]*customerState{}}}
	if dir == "" {
		return w, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the state directory: %w", err)
	}
	name := unsafeName.ReplaceAllString(instance, "_")
	if name == "" {
		name = "social"
	}
	w.path = filepath.Join(dir, name+".json")
	data, err := os.ReadFile(w.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return w, w.save() // proves the directory is writable now, not at the first message
	case err != nil:
		return nil, fmt.Errorf("cannot read %s: %w", w.path, err)
	}
	if err := json.Unmarshal(data, &w.state); err != nil {
		return nil, fmt.Errorf("%s is not a state file of this plugin (%v): move it away", w.path, err)
	}
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

func (w *windowStore) save() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.saveLocked()
}

// saveLocked forgets stale customers and writes the state file: a temporary file, synced, then
// renamed over the old one, so a crash leaves either the old or the new state.
func (w *windowStore) saveLocked() error {
	now := time.Now()
	for key, c := range w.state.Customers {
		if now.Sub(c.LastMessage) > forgetAfter && (c.TemplateSent == nil || now.Sub(*c.TemplateSent) > forgetAfter) {
			delete(w.state.Customers, key)
		}
	}
	if w.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(w.state, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(w.path), filepath.Base(w.path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), w.path); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}
