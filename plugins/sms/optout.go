package main

import (
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
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

// optOuts holds the conversations (customer + our number) whose customer sent STOP. With a state
// directory it is kept in a JSON file rewritten atomically on every change; without, in memory
// only.
type optOuts struct {
	file sdk.StateFile

	mu  sync.Mutex
	out map[string]time.Time // conversation key → when the customer opted out
}

// stateFile is the JSON kept in <state_dir>/<instance>.json.
type stateFile struct {
	OptedOut map[string]time.Time `json:"opted_out"`
}

// loadOptOuts reads the state file of instance in dir; an empty dir keeps opt-outs in memory.
func loadOptOuts(dir, instance string) (*optOuts, error) {
	st := stateFile{OptedOut: map[string]time.Time{}}
	file, err := sdk.OpenStateFile(dir, instance, &st)
	if err != nil {
		return nil, err
	}
	if st.OptedOut == nil {
		st.OptedOut = map[string]time.Time{}
	}
	return &optOuts{file: file, out: st.OptedOut}, nil
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

// save writes the state file. Callers hold o.mu.
func (o *optOuts) save() error { return o.file.Save(stateFile{OptedOut: o.out}) }
