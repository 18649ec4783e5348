package routing

import (
	"fmt"
	"time"
)

// startWait marks the customer of an active chat as waiting for a reply since now.
func (r *Router) startWait(c *conv, now time.Time) {
	c.custWaiting, c.waitSince, c.breached = true, now, false
	target := c.q.cfg.ResponseTarget
	if !c.answered {
		target = c.q.cfg.FirstResponseTarget
	}
	c.slaTimer = 0
	if target > 0 {
		c.slaTimer = r.schedule(now.Add(target), timerSLA, c)
	}
}

func (c *conv) stopWait() {
	c.custWaiting, c.slaTimer = false, 0
}

// CustomerMessage records that the customer wrote: in an active chat the customer now waits for
// a reply (if not already waiting).
func (r *Router) CustomerMessage(conversation Key, now time.Time) ([]Decision, error) {
	c := r.convs[conversation]
	if c == nil {
		return nil, fmt.Errorf("routing: customer message in %q: %w", conversation.ID, ErrUnknownConversation)
	}
	r.begin()
	if c.state == convActive && !c.custWaiting {
		r.startWait(c, now)
	}
	return r.finish(now), nil
}

// AgentMessage records that the agent replied in an active chat: the customer no longer waits.
func (r *Router) AgentMessage(conversation Key, now time.Time) ([]Decision, error) {
	c := r.convs[conversation]
	if c == nil || c.state != convActive {
		return nil, fmt.Errorf("routing: agent message in %q: %w", conversation.ID, ErrNotActive)
	}
	r.begin()
	c.answered = true
	c.stopWait()
	return r.finish(now), nil
}

// SLAWait says whether the customer of an active chat waits for a reply, since when,
// which target applies and whether it was breached. ok is false for unknown or non-active chats.
type SLAWait struct {
	Waiting  bool
	Since    time.Time
	Target   Reason // ReasonFirstResponse or ReasonResponse
	Breached bool
}

// ResponseWait reports the SLA wait of an active chat (the console's blue and red icons).
func (r *Router) ResponseWait(conversation Key) (SLAWait, bool) {
	c := r.convs[conversation]
	if c == nil || c.state != convActive {
		return SLAWait{}, false
	}
	w := SLAWait{Waiting: c.custWaiting, Target: ReasonResponse}
	if !c.answered {
		w.Target = ReasonFirstResponse
	}
	if c.custWaiting {
		w.Since, w.Breached = c.waitSince, c.breached
	}
	return w, true
}
