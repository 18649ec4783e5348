package routing

import (
	"slices"
	"time"
)

type convState uint8

const (
	convWaiting convState = iota
	convActive
	convWrapUp
)

// conv is a conversation the engine routes: waiting in a queue, active with an agent, or in
// post-processing.
type conv struct {
	key      Key
	q        *queue // queue it waits in, or was assigned from
	priority int
	lang     string
	channel  string
	lid      int       // interned lang, 0 for none
	entered  time.Time // first entered any queue
	queuedAt time.Time // entered the current queue (max_wait, wait statistics)
	hgen     uint64    // generation of its entry in q.heap, 0 when not there
	agent    *agentRec

	offerTo      *agentRec
	deadline     time.Time
	transferFrom *agentRec // transfer to a named agent pending: the sender
	refused      []*agentRec

	offerTimer, langTimer, maxWaitTimer, wrapTimer, slaTimer uint64

	waitSince time.Time

	state       convState
	langOpen    bool
	overdue     bool // max_wait passed while offered
	custWaiting bool
	answered    bool
	breached    bool
}

func (c *conv) refusedBy(a *agentRec) bool {
	for _, x := range c.refused {
		if x == a {
			return true
		}
	}
	return false
}

// before is the queue order: priority (higher first), first-entered time, id.
func (c *conv) before(d *conv) bool {
	if c.priority != d.priority {
		return c.priority > d.priority
	}
	if !c.entered.Equal(d.entered) {
		return c.entered.Before(d.entered)
	}
	return c.key.ID < d.key.ID
}

// queue holds the conversations waiting for offers (heap) and the eligible member agents
// ordered per language tier, so one decision touches only the head of each.
type queue struct {
	key     Key
	cfg     QueueConfig
	heap    []qent           // waiting, without a pending offer
	stale   int              // entries in heap no longer live
	waiting map[string]*conv // all waiting, offered or not
	// sets[0] holds all eligible members; for language id l, sets[2l-1] those whose primary
	// language it is and sets[2l] those who speak it as a secondary language.
	sets     []agentSet
	loggedIn int
	avgWait  float64 // moving average of waits, in nanoseconds
	waits    int
	dirty    bool
	statIdx  int // the queue's place in the slice Stats is building
}

func newQueue(cfg QueueConfig) *queue {
	q := &queue{key: cfg.Queue, cfg: cfg, waiting: map[string]*conv{}}
	q.resetSets(cfg.Strategy == LeastBusy)
	return q
}

// resetSets empties the agent sets; the caller re-indexes the agents.
func (q *queue) resetSets(leastBusy bool) {
	q.sets = []agentSet{{leastBusy: leastBusy}}
}

func (q *queue) all() *agentSet { return &q.sets[0] }

// grow makes room for set index i.
func (q *queue) grow(i int) {
	for len(q.sets) <= i {
		q.sets = append(q.sets, agentSet{leastBusy: q.sets[0].leastBusy})
	}
}

func (q *queue) offerTimeout() time.Duration {
	if q.cfg.OfferTimeout > 0 {
		return q.cfg.OfferTimeout
	}
	return DefaultOfferTimeout
}

func (q *queue) open(now time.Time) (bool, Reason) {
	if q.loggedIn == 0 {
		return false, ReasonNoAgents
	}
	if !q.cfg.Hours.open(now) {
		return false, ReasonOutsideHours
	}
	return true, ReasonNone
}

// best is the agent c should be offered to: the first unrefused agent of the best allowed tier.
func (q *queue) best(c *conv) *agentRec {
	if l := c.lid; l != 0 {
		for i := 2*l - 1; i <= 2*l && i < len(q.sets); i++ {
			if a := q.sets[i].first(c); a != nil {
				return a
			}
		}
		if !q.cfg.AllowTranslation && !c.langOpen {
			return nil
		}
	}
	return q.sets[0].first(c)
}

const waitAlpha = 0.2 // weight of the newest wait in the moving average

func (q *queue) recordWait(w time.Duration) {
	if q.waits == 0 {
		q.avgWait = float64(w)
	} else {
		q.avgWait += waitAlpha * (float64(w) - q.avgWait)
	}
	q.waits++
}

func (r *Router) markDirty(q *queue) {
	if !q.dirty {
		q.dirty = true
		r.dirty = append(r.dirty, q)
	}
}

// flush offers waiting conversations of every queue that may have a new match, serving first
// the queue whose first conversation ranks highest.
func (r *Router) flush(now time.Time) {
	for len(r.dirty) > 0 {
		ds := r.dirty
		r.dirty = r.spare[:0]
		// Only queues with both an eligible agent and a waiting conversation have work.
		n := 0
		for _, q := range ds {
			if len(q.sets[0].list) > 0 && len(q.heap) > 0 {
				ds[n] = q
				n++
			} else {
				q.dirty = false
			}
		}
		clear(ds[n:])
		ds = ds[:n]
		if len(ds) > 1 {
			slices.SortFunc(ds, func(x, y *queue) int {
				// Both heaps are non-empty here and their tops are live.
				if x.heap[0].before(y.heap[0]) {
					return -1
				}
				if y.heap[0].before(x.heap[0]) {
					return 1
				}
				return keyCmp(x.key, y.key)
			})
		}
		for _, q := range ds {
			q.dirty = false
			r.dispatch(q, now)
		}
		clear(ds)
		r.spare = ds[:0]
	}
}

// dispatch offers q's waiting conversations in order while it has eligible agents.
// Conversations no eligible agent may take are set aside and put back.
func (r *Router) dispatch(q *queue, now time.Time) {
	skip := r.skip[:0]
	for len(q.sets[0].list) > 0 {
		c := q.pop()
		if c == nil {
			break
		}
		a := q.best(c)
		if a == nil {
			skip = append(skip, c)
			continue
		}
		r.offer(c, a, now)
	}
	for i, c := range skip {
		r.push(q, c)
		skip[i] = nil
	}
	r.skip = skip[:0]
}

func (r *Router) offer(c *conv, a *agentRec, now time.Time) {
	r.unindex(a)
	if c.q.cfg.AutoAccept {
		r.assign(c, a, now, ReasonAutoAccept)
		r.reindex(a, false)
		return
	}
	c.offerTo, a.offer = a, c
	c.deadline = now.Add(c.q.offerTimeout())
	c.offerTimer = r.schedule(c.deadline, timerOffer, c)
	r.emit(Decision{Kind: DecisionOffer, Conversation: c.key, Agent: a.key, Queue: c.q.key, Deadline: c.deadline})
}

// assign makes a waiting conversation an active chat of a (which is out of its sets).
func (r *Router) assign(c *conv, a *agentRec, now time.Time, why Reason) {
	q := c.q
	delete(q.waiting, c.key.ID)
	q.recordWait(now.Sub(c.queuedAt))
	c.maxWaitTimer, c.langTimer = 0, 0
	c.state, c.agent = convActive, a
	c.refused, c.overdue = nil, false
	a.active++
	a.lastAssigned = now
	r.startWait(c, now)
	r.emit(Decision{Kind: DecisionAssigned, Conversation: c.key, Agent: a.key, Queue: q.key, Reason: why})
}

// withdraw ends c's pending offer without an assignment.
func (r *Router) withdraw(c *conv, why Reason, now time.Time) {
	a := c.offerTo
	c.offerTo, c.offerTimer = nil, 0
	a.offer = nil
	switch why {
	case ReasonTimeout, ReasonRejected:
		c.refused = append(c.refused, a)
	}
	if c.transferFrom != nil {
		r.emit(Decision{Kind: DecisionTransferReturned, Conversation: c.key, Agent: c.transferFrom.key, From: a.key, Queue: c.q.key, Reason: why})
		c.transferFrom = nil
	} else {
		r.emit(Decision{Kind: DecisionOfferWithdrawn, Conversation: c.key, Agent: a.key, Queue: c.q.key, Reason: why})
		if c.overdue {
			r.overflow(c, now)
		} else {
			r.push(c.q, c)
			r.markDirty(c.q)
		}
	}
	switch why {
	case ReasonTimeout:
		a.missed++
		if lim := c.q.cfg.MissedOffersLimit; lim > 0 && a.missed >= lim && a.state == StateAvailable {
			r.setState(a, StateOnBreak, now)
			r.emit(Decision{Kind: DecisionAgentState, Agent: a.key, State: StateOnBreak, Reason: ReasonMissedOffers})
		}
	case ReasonRejected:
		a.missed = 0
	}
	r.reindex(a, true)
}

// enqueue puts c in q's waiting line (c.entered and c.queuedAt set by the caller).
func (r *Router) enqueue(c *conv, q *queue, now time.Time) {
	c.q, c.state, c.agent = q, convWaiting, nil
	q.waiting[c.key.ID] = c
	r.push(q, c)
	c.maxWaitTimer = 0
	if q.cfg.MaxWait > 0 && q.cfg.Overflow != "" {
		c.maxWaitTimer = r.schedule(c.queuedAt.Add(q.cfg.MaxWait), timerMaxWait, c)
	}
	c.langTimer = 0
	if c.lang != "" && !c.langOpen && q.cfg.LanguageWait > 0 {
		at := c.entered.Add(q.cfg.LanguageWait)
		if at.After(now) {
			c.langTimer = r.schedule(at, timerLanguage, c)
		} else {
			c.langOpen = true
		}
	}
	r.markDirty(q)
}

// unqueue takes a waiting conversation out of its queue.
func (r *Router) unqueue(c *conv) {
	c.q.drop(c)
	delete(c.q.waiting, c.key.ID)
	c.maxWaitTimer, c.langTimer = 0, 0
}

// overflow moves a waiting conversation without an offer to its queue's overflow queue.
func (r *Router) overflow(c *conv, now time.Time) {
	from := c.q
	to := r.queues[Key{Tenant: from.key.Tenant, ID: from.cfg.Overflow}]
	c.overdue = false
	if to == nil {
		if c.hgen == 0 {
			r.push(from, c)
		}
		r.markDirty(from)
		return
	}
	r.unqueue(c)
	c.queuedAt = now
	r.enqueue(c, to, now)
	r.emit(Decision{Kind: DecisionOverflowed, Conversation: c.key, From: from.key, Queue: to.key, Reason: ReasonMaxWait})
}
