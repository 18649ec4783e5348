package hub

import (
	"sync"
)

// Push is one message to an agent's console, sent as JSON over its WebSocket.
type Push struct {
	Type           string            `json:"type"`
	ConversationID string            `json:"conversation_id,omitempty"`
	Conversation   *ConversationView `json:"conversation,omitempty"`
	Message        *MessageView      `json:"message,omitempty"`
	Offer          *OfferView        `json:"offer,omitempty"`
	Active         *bool             `json:"active,omitempty"`
	From           string            `json:"from,omitempty"`
	State          string            `json:"state,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	EventID        string            `json:"event_id,omitempty"`
	Status         string            `json:"status,omitempty"`
}

// Subscription receives the pushes for one signed-in user. When its buffer overflows it is
// closed: the console reconnects and catches up from the store, so nothing is lost.
type Subscription struct {
	C      <-chan Push
	c      chan Push
	bus    *bus
	key    userKey
	closed bool
}

type userKey struct{ tenant, user string }

type bus struct {
	mu   sync.Mutex
	subs map[userKey]map[*Subscription]struct{}
}

func newBus() *bus { return &bus{subs: map[userKey]map[*Subscription]struct{}{}} }

func (b *bus) subscribe(tenant, user string) *Subscription {
	c := make(chan Push, 512)
	s := &Subscription{C: c, c: c, bus: b, key: userKey{tenant, user}}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[s.key] == nil {
		b.subs[s.key] = map[*Subscription]struct{}{}
	}
	b.subs[s.key][s] = struct{}{}
	return s
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	if s.closed {
		return
	}
	s.closed = true
	delete(s.bus.subs[s.key], s)
	if len(s.bus.subs[s.key]) == 0 {
		delete(s.bus.subs, s.key)
	}
	close(s.c)
}

func (b *bus) publish(tenant, user string, p Push) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs[userKey{tenant, user}] {
		select {
		case s.c <- p:
		default:
			s.closeLocked()
		}
	}
}

func (b *bus) online(tenant, user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs[userKey{tenant, user}]) > 0
}
