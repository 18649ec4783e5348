package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Keywords a customer sends, alone, to stop or restart messages from a number (the carriers'
// and Twilio's standard set).
var (
	stopWords  = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
	startWords = []string{"START", "UNSTOP"}
)

type keyword int

const (
	noKeyword keyword = iota
	optOutWord
	optInWord
)

// keywordOf says whether the whole message, ignoring case and surrounding whitespace, is an
// opt-out or opt-in keyword.
func keywordOf(text string) keyword {
	t := strings.TrimSpace(text)
	for _, w := range stopWords {
		if strings.EqualFold(t, w) {
			return optOutWord
		}
	}
	for _, w := range startWords {
		if strings.EqualFold(t, w) {
			return optInWord
		}
	}
	return noKeyword
}

// optOuts holds the conversations (customer + our number) whose customer sent STOP. With a path
// it is kept in a JSON file rewritten atomically on every change; without, in memory only.
type optOuts struct {
	path string

	mu  sync.Mutex
	out map[string]time.Time // conversation key → when the customer opted out
}

// stateFile is the JSON kept in <state_dir>/<instance>.json.
type stateFile struct {
	OptedOut map[string]time.Time `json:"opted_out"`
}

// loadOptOuts reads the state file of instance in dir, creating dir when needed; an empty dir
// keeps opt-outs in memory.
func loadOptOuts(dir, instance string) (*optOuts, error) {
	o := &optOuts{out: map[string]time.Time{}}
	if dir == "" {
		return o, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	o.path = filepath.Join(dir, instance+".json")
	data, err := os.ReadFile(o.path)
	if errors.Is(err, fs.ErrNotExist) {
		return o, o.save() // proves now, not at the first STOP, that the directory is writable
	}
	if err != nil {
		return nil, fmt.Errorf("state_dir: read %s: %w", o.path, err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("state_dir: %s is not a state file of this plugin (%v): move it away", o.path, err)
	}
	for k, t := range st.OptedOut {
		o.out[k] = t
	}
	return o, nil
}

// has reports whether the customer of conversation key opted out.
func (o *optOuts) has(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.out[key]
	return ok
}

// set records that the customer of key opted out (out) or back in, and saves the change.
func (o *optOuts) set(key string, out bool, at time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, was := o.out[key]
	if was == out {
		return nil
	}
	if out {
		o.out[key] = at.UTC()
	} else {
		delete(o.out, key)
	}
	if err := o.save(); err != nil {
		if out {
			delete(o.out, key)
		} else {
			o.out[key] = at.UTC()
		}
		return err
	}
	return nil
}

// save writes the state file through a temporary file and a rename, so a crash leaves the old
// file or the new one, never half of one. Callers hold o.mu.
func (o *optOuts) save() error {
	if o.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(stateFile{OptedOut: o.out}, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(o.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(o.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save opt-outs: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save opt-outs: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save opt-outs: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save opt-outs: %w", err)
	}
	if err := os.Rename(tmp.Name(), o.path); err != nil {
		return fmt.Errorf("save opt-outs: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename itself is durable once the directory is
		d.Close()
	}
	return nil
}
