package routing

import "time"

type timerKind uint8

const (
	timerOffer timerKind = iota
	timerWrapUp
	timerMaxWait
	timerLanguage
	timerSLA
)

// timer is a deadline. Cancelling one clears the matching generation field of its
// conversation; Tick drops timers whose generation no longer matches.
type timer struct {
	at   time.Time
	gen  uint64
	kind timerKind
	c    *conv
}

func (t timer) before(u timer) bool {
	if !t.at.Equal(u.at) {
		return t.at.Before(u.at)
	}
	return t.gen < u.gen
}

func (r *Router) schedule(at time.Time, kind timerKind, c *conv) uint64 {
	r.seq++
	r.timers = heapPush(r.timers, timer{at: at, gen: r.seq, kind: kind, c: c})
	return r.seq
}

func (t timer) live() bool {
	c := t.c
	switch t.kind {
	case timerOffer:
		return c.offerTimer == t.gen
	case timerWrapUp:
		return c.wrapTimer == t.gen
	case timerMaxWait:
		return c.maxWaitTimer == t.gen
	case timerLanguage:
		return c.langTimer == t.gen
	case timerSLA:
		return c.slaTimer == t.gen
	}
	return false
}

// Tick handles every deadline up to now (offer timeouts, wrap-up timeouts, max_wait, SLA
// targets, language_wait expiry) in deadline order, then offers waiting conversations.
func (r *Router) Tick(now time.Time) []Decision {
	r.begin()
	r.ticking = true
	defer func() { r.ticking = false }()
	for len(r.timers) > 0 && !r.timers[0].at.After(now) {
		var t timer
		r.timers, t = heapPop(r.timers)
		if t.live() {
			r.fire(t, now)
		}
	}
	return r.finish(now)
}

// NextDeadline is the earliest pending deadline, so the caller knows when to Tick.
func (r *Router) NextDeadline() (time.Time, bool) {
	for len(r.timers) > 0 {
		if r.timers[0].live() {
			return r.timers[0].at, true
		}
		r.timers, _ = heapPop(r.timers)
	}
	return time.Time{}, false
}

func (r *Router) fire(t timer, now time.Time) {
	c := t.c
	switch t.kind {
	case timerOffer:
		r.withdraw(c, ReasonTimeout, now)
	case timerWrapUp:
		r.endWrapUp(c, ReasonWrapUpTimeout, now)
	case timerMaxWait:
		c.maxWaitTimer = 0
		if c.offerTo != nil {
			c.overdue = true
		} else {
			r.overflow(c, now)
		}
	case timerLanguage:
		c.langTimer = 0
		c.langOpen = true
		if c.hgen != 0 {
			r.markDirty(c.q)
		}
	case timerSLA:
		c.slaTimer = 0
		c.breached = true
		why := ReasonResponse
		if !c.answered {
			why = ReasonFirstResponse
		}
		r.emit(Decision{Kind: DecisionSLABreached, Conversation: c.key, Agent: c.agent.key, Queue: c.q.key, Reason: why, Since: c.waitSince})
	}
}
