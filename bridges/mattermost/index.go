package main

import "sync"

// postIndex remembers the idempotency keys of the bridge's recent posts per channel, and which
// channels it has read since it started.
type postIndex struct {
	mu    sync.Mutex
	max   int
	keys  map[string]struct{}
	order []string
	read  map[string]bool
}

func newPostIndex(max int) *postIndex {
	return &postIndex{max: max, keys: map[string]struct{}{}, read: map[string]bool{}}
}

func (x *postIndex) has(channel, key string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	_, ok := x.keys[channel+"\x00"+key]
	return ok
}

func (x *postIndex) add(channel, key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	k := channel + "\x00" + key
	if _, ok := x.keys[k]; ok {
		return
	}
	x.keys[k] = struct{}{}
	x.order = append(x.order, k)
	if len(x.order) > x.max {
		delete(x.keys, x.order[0])
		x.order = x.order[1:]
	}
}

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

// idSet is a bounded set of ids, forgetting the oldest.
type idSet struct {
	mu    sync.Mutex
	max   int
	ids   map[string]struct{}
	order []string
}

func newIDSet(max int) *idSet { return &idSet{max: max, ids: map[string]struct{}{}} }

func (s *idSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *idSet) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return
	}
	s.ids[id] = struct{}{}
	s.order = append(s.order, id)
	if len(s.order) > s.max {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
}
