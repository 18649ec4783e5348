package main

import "sync"

// recent maps the last n keys it was given to a value, forgetting the oldest; it is safe for
// concurrent use. It is the plugin's memory of what it did lately, lost on restart.
type recent[V any] struct {
	mu   sync.Mutex
	keys []string
	next int
	m    map[string]V
}

func newRecent[V any](n int) *recent[V] {
	return &recent[V]{keys: make([]string, n), m: make(map[string]V, n)}
}

func (r *recent[V]) get(key string) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[key]
	return v, ok
}

func (r *recent[V]) put(key string, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putLocked(key, v)
}

// update replaces the value of key with fn(value, found) in one step.
func (r *recent[V]) update(key string, fn func(v V, found bool) V) V {
	r.mu.Lock()
	defer r.mu.Unlock()
	old, ok := r.m[key]
	v := fn(old, ok)
	r.putLocked(key, v)
	return v
}

func (r *recent[V]) putLocked(key string, v V) {
	if _, ok := r.m[key]; !ok {
		if old := r.keys[r.next]; old != "" {
			delete(r.m, old)
		}
		r.keys[r.next] = key
		r.next = (r.next + 1) % len(r.keys)
	}
	r.m[key] = v
}

// lanes serializes work per key: one inbound SMS of a conversation at a time, so its start
// comes before its messages and messages keep their order.
type lanes struct {
	mu sync.Mutex
	m  map[string]*lane
}

type lane struct {
	sync.Mutex
	users int
}

// lock waits for key's lane and returns the function that releases it.
func (l *lanes) lock(key string) (unlock func()) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*lane{}
	}
	ln := l.m[key]
	if ln == nil {
		ln = &lane{}
		l.m[key] = ln
	}
	ln.users++
	l.mu.Unlock()
	ln.Lock()
	return func() {
		ln.Unlock()
		l.mu.Lock()
		if ln.users--; ln.users == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
}
