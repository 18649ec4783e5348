package routing

import (
	"sort"
	"time"
)

// Key names a tenant-scoped object.
type Key struct {
	Tenant string
	ID     string
}

// Agent is what routing knows of an agent.
type Agent struct {
	Key       Key
	Available bool
	Capacity  int
	Queues    []string
	// IdleSince is when the agent last became Available or last got a conversation.
	IdleSince time.Time
	load      map[string]bool // conversations counting against capacity
	offered   string          // conversation with a pending offer, or ""
}

// Load is the number of conversations counting against the agent's capacity (active, in
// post-processing and offered).
func (a *Agent) Load() int {
	n := len(a.load)
	if a.offered != "" {
		n++
	}
	return n
}

// Offer proposes a conversation to an agent until Expires.
type Offer struct {
	Conversation Key
	Agent        Key
	Queue        string
	Expires      time.Time
}

type waiting struct {
	key     Key
	queue   string
	entered time.Time
	offer   *Offer
	refused map[string]bool
}

// Engine is the first, simpler engine the hub uses until Router is wired in: each queue's
// conversations, in arrival order, go to the Available member agent with free capacity who has
// waited longest; one pending offer per conversation and per agent.
//
// Engine holds routing state. It is not safe for concurrent use: the caller serializes.
type Engine struct {
	// OfferTimeout applies to queues without one of their own.
	OfferTimeout  time.Duration
	queueTimeouts map[Key]time.Duration
	agents        map[Key]*Agent
	waiting       map[Key]*waiting
}

// New returns an empty engine.
func New(offerTimeout time.Duration) *Engine {
	return &Engine{OfferTimeout: offerTimeout, queueTimeouts: map[Key]time.Duration{}, agents: map[Key]*Agent{}, waiting: map[Key]*waiting{}}
}

// SetQueue sets how long the queue's offers wait for an answer.
func (e *Engine) SetQueue(queue Key, offerTimeout time.Duration) {
	e.queueTimeouts[queue] = offerTimeout
}

// SetAgent creates or updates an agent's availability, capacity and queues.
func (e *Engine) SetAgent(k Key, available bool, capacity int, queues []string, now time.Time) {
	a := e.agents[k]
	if a == nil {
		a = &Agent{Key: k, load: map[string]bool{}}
		e.agents[k] = a
	}
	if available && !a.Available {
		a.IdleSince = now
	}
	a.Available, a.Capacity, a.Queues = available, capacity, queues
}

// Agent returns the agent's routing view, or nil.
func (e *Engine) Agent(k Key) *Agent { return e.agents[k] }

// Enqueue puts a conversation in a queue, keeping the time it first entered one.
func (e *Engine) Enqueue(conv Key, queue string, entered time.Time) {
	e.waiting[conv] = &waiting{key: conv, queue: queue, entered: entered, refused: map[string]bool{}}
}

// Hold counts an already assigned conversation against the agent's capacity (recovery, accept).
func (e *Engine) Hold(agent Key, conv string) {
	if a := e.agents[agent]; a != nil {
		a.load[conv] = true
	}
}

// Release frees the agent's capacity held by the conversation.
func (e *Engine) Release(agent Key, conv string) {
	if a := e.agents[agent]; a != nil {
		delete(a.load, conv)
	}
}

// Remove drops a waiting conversation (the customer left) and any offer of it.
func (e *Engine) Remove(conv Key) (revoked *Offer) {
	w := e.waiting[conv]
	if w == nil {
		return nil
	}
	delete(e.waiting, conv)
	if w.offer != nil {
		if a := e.agents[w.offer.Agent]; a != nil && a.offered == conv.ID {
			a.offered = ""
		}
		return w.offer
	}
	return nil
}

// Accept turns the agent's pending offer into an assignment. It reports false when there is no
// such offer (it expired or was revoked).
func (e *Engine) Accept(conv, agent Key, now time.Time) bool {
	w := e.waiting[conv]
	if w == nil || w.offer == nil || w.offer.Agent != agent {
		return false
	}
	a := e.agents[agent]
	delete(e.waiting, conv)
	a.offered = ""
	a.load[conv.ID] = true
	a.IdleSince = now
	return true
}

// Reject returns the conversation to its queue; the agent is not offered it again.
func (e *Engine) Reject(conv, agent Key) bool {
	w := e.waiting[conv]
	if w == nil || w.offer == nil || w.offer.Agent != agent {
		return false
	}
	w.refused[agent.ID] = true
	w.offer = nil
	e.agents[agent].offered = ""
	return true
}

// Expire withdraws offers past their deadline and returns them.
func (e *Engine) Expire(now time.Time) []Offer {
	var out []Offer
	for _, w := range e.waiting {
		if w.offer != nil && !now.Before(w.offer.Expires) {
			out = append(out, *w.offer)
			w.refused[w.offer.Agent.ID] = true
			if a := e.agents[w.offer.Agent]; a != nil {
				a.offered = ""
			}
			w.offer = nil
		}
	}
	return out
}

// Position returns the conversation's place in its queue (1 = next), or 0 when it is not waiting.
func (e *Engine) Position(conv Key) int {
	w := e.waiting[conv]
	if w == nil {
		return 0
	}
	pos := 1
	for _, o := range e.waiting {
		if o.key.Tenant == conv.Tenant && o.queue == w.queue && o.entered.Before(w.entered) {
			pos++
		}
	}
	return pos
}

// Assign makes new offers: each waiting conversation without an offer, oldest first, goes to the
// eligible agent who has waited longest.
func (e *Engine) Assign(now time.Time) []Offer {
	queue := make([]*waiting, 0, len(e.waiting))
	for _, w := range e.waiting {
		if w.offer == nil {
			queue = append(queue, w)
		}
	}
	sort.Slice(queue, func(i, j int) bool {
		if !queue[i].entered.Equal(queue[j].entered) {
			return queue[i].entered.Before(queue[j].entered)
		}
		return queue[i].key.ID < queue[j].key.ID
	})
	var out []Offer
	for _, w := range queue {
		a := e.pick(w)
		if a == nil {
			continue
		}
		timeout, ok := e.queueTimeouts[Key{Tenant: w.key.Tenant, ID: w.queue}]
		if !ok {
			timeout = e.OfferTimeout
		}
		o := &Offer{Conversation: w.key, Agent: a.Key, Queue: w.queue, Expires: now.Add(timeout)}
		w.offer = o
		a.offered = w.key.ID
		out = append(out, *o)
	}
	return out
}

func (e *Engine) pick(w *waiting) *Agent {
	var best *Agent
	for _, a := range e.agents {
		if a.Key.Tenant != w.key.Tenant || !a.Available || a.offered != "" || a.Load() >= a.Capacity ||
			w.refused[a.Key.ID] || !member(a.Queues, w.queue) {
			continue
		}
		if best == nil || a.IdleSince.Before(best.IdleSince) ||
			(a.IdleSince.Equal(best.IdleSince) && a.Key.ID < best.Key.ID) {
			best = a
		}
	}
	return best
}

func member(queues []string, q string) bool {
	for _, x := range queues {
		if x == q {
			return true
		}
	}
	return false
}
