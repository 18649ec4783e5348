package sdk

import "sync"

// RecentIDs remembers the last n ids it was given, forgetting the oldest; it is safe for
// concurrent use. Plugins use it to drop a platform's retries and to skip repeats of the hub's
// events within a process (the hub's own deduplication stays the durable one).
type RecentIDs struct {
	mu   sync.Mutex
	ring *idRing
}

// NewRecentIDs remembers up to n ids.
func NewRecentIDs(n int) *RecentIDs { return &RecentIDs{ring: newIDRing(n)} }

// Has reports whether id is among the remembered ones.
func (r *RecentIDs) Has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ring.has(id)
}

// Add remembers id.
func (r *RecentIDs) Add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ring.add(id)
}
