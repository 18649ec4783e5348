package main

import (
	"sync"

	"github.com/switchboardhq/switchboard/sdk"
)

// postIndex remembers the idempotency keys of the bridge's recent posts per channel, and which
// channels it has read since it started.
type postIndex struct {
	keys *sdk.RecentIDs

	mu   sync.Mutex
	read map[string]bool
}

func newPostIndex(max int) *postIndex {
	return &postIndex{keys: sdk.NewRecentIDs(max), read: map[string]bool{}}
}

func (x *postIndex) has(channel, key string) bool { return x.keys.Has(channel + "\x00" + key) }

func (x *postIndex) add(channel, key string) { x.keys.Add(channel + "\x00" + key) }

// needsScan says the channel's latest posts were not read since the bridge started, or since a
// post's fate became unknown.
func (x *postIndex) needsScan(channel string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return !x.read[channel]
}

func (x *postIndex) scanned(channel string) {
	x.mu.Lock()
	x.read[channel] = true
	x.mu.Unlock()
}

func (x *postIndex) rescan(channel string) {
	x.mu.Lock()
	delete(x.read, channel)
	x.mu.Unlock()
}
