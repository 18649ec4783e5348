package routing

import (
	"fmt"
	"slices"
	"time"
)

func (r *Router) tenantQueue(tenant string, queue Key, op string) (*queue, error) {
	if queue.Tenant != tenant {
		return nil, fmt.Errorf("routing: %s: queue %q: %w", op, queue.ID, ErrOtherTenant)
	}
	q := r.queues[queue]
	if q == nil {
		return nil, fmt.Errorf("routing: %s: queue %q: %w", op, queue.ID, ErrUnknownQueue)
	}
	return q, nil
}

// Arrive puts a new conversation in a queue and offers it at once if an agent can take it.
// A closed queue (no member logged in, or outside business hours) answers DecisionQueueClosed
// and the conversation does not enter.
func (r *Router) Arrive(in Arrival, now time.Time) ([]Decision, error) {
	q, err := r.tenantQueue(in.Conversation.Tenant, in.Queue, "arrive")
	if err != nil {
		return nil, err
	}
	if in.Conversation.ID == "" {
		return nil, fmt.Errorf("routing: arrive: empty conversation id: %w", ErrInvalid)
	}
	if r.convs[in.Conversation] != nil {
		return nil, fmt.Errorf("routing: arrive: conversation %q: %w", in.Conversation.ID, ErrExists)
	}
	r.begin()
	if open, why := q.open(now); !open {
		r.emit(Decision{Kind: DecisionQueueClosed, Conversation: in.Conversation, Queue: q.key, Reason: why})
		return r.finish(now), nil
	}
	r.add(in, q, now, now)
	return r.finish(now), nil
}

func (r *Router) add(in Arrival, q *queue, entered, now time.Time) {
	c := r.newConv()
	c.key, c.priority, c.lang, c.channel, c.entered, c.queuedAt = in.Conversation, in.Priority, in.Language, in.Channel, entered, entered
	c.lid = r.langID(in.Language)
	r.convs[c.key] = c
	r.enqueue(c, q, now)
}

func (r *Router) offered(conversation, agent Key, now time.Time, op string) (*conv, error) {
	c := r.convs[conversation]
	if c == nil {
		return nil, fmt.Errorf("routing: %s: conversation %q: %w", op, conversation.ID, ErrUnknownConversation)
	}
	a := r.agents[agent]
	if a == nil {
		return nil, fmt.Errorf("routing: %s: agent %q: %w", op, agent.ID, ErrUnknownAgent)
	}
	if c.offerTo != a {
		return nil, fmt.Errorf("routing: %s: %q to %q: %w", op, conversation.ID, agent.ID, ErrNoOffer)
	}
	if !now.Before(c.deadline) {
		return nil, fmt.Errorf("routing: %s: %q: %w", op, conversation.ID, ErrOfferExpired)
	}
	return c, nil
}

// Accept turns the agent's pending offer into an assignment.
func (r *Router) Accept(conversation, agent Key, now time.Time) ([]Decision, error) {
	c, err := r.offered(conversation, agent, now, "accept")
	if err != nil {
		return nil, err
	}
	r.begin()
	a := c.offerTo
	c.offerTo, c.offerTimer, a.offer = nil, 0, nil
	a.missed = 0
	if s := c.transferFrom; s != nil {
		c.transferFrom = nil
		r.unindex(s)
		s.active--
		r.reindex(s, true)
		c.agent = a
		a.active++
		a.lastAssigned = now
		r.startWait(c, now)
		r.emit(Decision{Kind: DecisionAssigned, Conversation: c.key, Agent: a.key, Queue: c.q.key, Reason: ReasonAccepted, Transfer: true})
		r.reindex(a, true)
	} else {
		r.assign(c, a, now, ReasonAccepted)
		r.reindexFreed(a, now)
	}
	return r.finish(now), nil
}

// Reject declines the agent's pending offer; the conversation goes to the next agent (or, for a
// transfer to a named agent, back to the sender).
func (r *Router) Reject(conversation, agent Key, now time.Time) ([]Decision, error) {
	c, err := r.offered(conversation, agent, now, "reject")
	if err != nil {
		return nil, err
	}
	r.begin()
	r.withdraw(c, ReasonRejected, now)
	return r.finish(now), nil
}

func (r *Router) activeChat(conversation Key, op string) (*conv, error) {
	c := r.convs[conversation]
	if c == nil {
		return nil, fmt.Errorf("routing: %s: conversation %q: %w", op, conversation.ID, ErrUnknownConversation)
	}
	if c.state != convActive || c.transferFrom != nil {
		return nil, fmt.Errorf("routing: %s: conversation %q (or a transfer is pending): %w", op, conversation.ID, ErrNotActive)
	}
	return c, nil
}

// End ends an active chat: it enters post-processing and keeps counting in the agent's load
// until EndWrapUp or the queue's wrap_up_timeout.
func (r *Router) End(conversation Key, now time.Time) ([]Decision, error) {
	c, err := r.activeChat(conversation, "end")
	if err != nil {
		return nil, err
	}
	r.begin()
	r.toWrapUp(c, now)
	return r.finish(now), nil
}

func (r *Router) toWrapUp(c *conv, now time.Time) {
	a := c.agent
	r.unindex(a)
	a.active--
	a.wrap++
	c.state = convWrapUp
	c.stopWait()
	if t := c.q.cfg.WrapUpTimeout; t > 0 {
		c.wrapTimer = r.schedule(now.Add(t), timerWrapUp, c)
	}
	r.reindex(a, true)
}

// EndWrapUp ends post-processing; the agent's capacity is free again.
func (r *Router) EndWrapUp(conversation Key, now time.Time) ([]Decision, error) {
	c := r.convs[conversation]
	if c == nil || c.state != convWrapUp {
		return nil, fmt.Errorf("routing: end wrap-up: conversation %q: %w", conversation.ID, ErrNotInWrapUp)
	}
	r.begin()
	r.endWrapUp(c, ReasonEndedByAgent, now)
	return r.finish(now), nil
}

func (r *Router) endWrapUp(c *conv, why Reason, now time.Time) {
	a := c.agent
	r.unindex(a)
	a.wrap--
	c.wrapTimer = 0
	r.emit(Decision{Kind: DecisionWrapUpEnded, Conversation: c.key, Agent: a.key, Queue: c.q.key, Reason: why})
	r.release(c)
	r.reindexFreed(a, now)
}

// Leave records that the customer left: a waiting conversation is dropped (its offer withdrawn,
// reason conversation_gone), an active chat enters post-processing.
func (r *Router) Leave(conversation Key, now time.Time) ([]Decision, error) {
	c := r.convs[conversation]
	if c == nil {
		return nil, fmt.Errorf("routing: leave: conversation %q: %w", conversation.ID, ErrUnknownConversation)
	}
	r.begin()
	if a := c.offerTo; a != nil {
		c.offerTo, c.offerTimer, a.offer = nil, 0, nil
		r.emit(Decision{Kind: DecisionOfferWithdrawn, Conversation: c.key, Agent: a.key, Queue: c.q.key, Reason: ReasonConversationGone})
		c.transferFrom = nil
		r.reindex(a, true)
	}
	switch c.state {
	case convWaiting:
		r.unqueue(c)
		r.release(c)
	case convActive:
		r.toWrapUp(c, now)
	}
	return r.finish(now), nil
}

// TransferToQueue moves an active chat to a queue of the same tenant. It waits there with the
// time it first entered, and is not offered again to the agent who transferred it.
func (r *Router) TransferToQueue(conversation, queue Key, now time.Time) ([]Decision, error) {
	c, err := r.activeChat(conversation, "transfer")
	if err != nil {
		return nil, err
	}
	q, err := r.tenantQueue(conversation.Tenant, queue, "transfer")
	if err != nil {
		return nil, err
	}
	r.begin()
	a := c.agent
	r.unindex(a)
	a.active--
	c.stopWait()
	c.refused = append(c.refused[:0], a)
	c.queuedAt = now
	r.enqueue(c, q, now)
	r.reindex(a, true)
	return r.finish(now), nil
}

// TransferToAgent offers an active chat to a named agent of the same tenant. The chat stays with
// the sender until the target accepts; on reject or timeout DecisionTransferReturned tells the
// sender.
func (r *Router) TransferToAgent(conversation, agent Key, now time.Time) ([]Decision, error) {
	c, err := r.activeChat(conversation, "transfer")
	if err != nil {
		return nil, err
	}
	if agent.Tenant != conversation.Tenant {
		return nil, fmt.Errorf("routing: transfer %q: agent %q: %w", conversation.ID, agent.ID, ErrOtherTenant)
	}
	t := r.agents[agent]
	if t == nil {
		return nil, fmt.Errorf("routing: transfer %q: agent %q: %w", conversation.ID, agent.ID, ErrUnknownAgent)
	}
	if t == c.agent || !t.eligible() {
		return nil, fmt.Errorf("routing: transfer %q: agent %q: %w", conversation.ID, agent.ID, ErrAgentNotEligible)
	}
	r.begin()
	r.unindex(t)
	c.transferFrom, c.offerTo, t.offer = c.agent, t, c
	c.deadline = now.Add(c.q.offerTimeout())
	c.offerTimer = r.schedule(c.deadline, timerOffer, c)
	r.emit(Decision{Kind: DecisionOffer, Conversation: c.key, Agent: t.key, Queue: c.q.key, Deadline: c.deadline, Transfer: true})
	return r.finish(now), nil
}

// Position gives a waiting conversation's place in its queue (1 = next) and an estimated wait:
// the queue's moving average wait scaled by the place among those waiting.
func (r *Router) Position(conversation Key) (pos int, estimate time.Duration, ok bool) {
	c := r.convs[conversation]
	if c == nil || c.state != convWaiting {
		return 0, 0, false
	}
	pos = 1
	for _, o := range c.q.waiting {
		if o != c && o.before(c) {
			pos++
		}
	}
	estimate = time.Duration(c.q.avgWait * float64(pos) / float64(len(c.q.waiting)))
	return pos, estimate, true
}

// HasCapacity says whether the queue is open and an agent could take a new chat now.
func (r *Router) HasCapacity(queue Key, now time.Time) bool {
	q := r.queues[queue]
	if q == nil {
		return false
	}
	open, _ := q.open(now)
	return open && len(q.sets[0].list) > 0
}

// QueueView is a read-only view of a queue for supervisors.
type QueueView struct {
	Waiting int       // waiting conversations, offered or not
	Oldest  time.Time // when the longest-waiting conversation first entered a queue; zero if none
	// Active counts the queue's chats with an agent (in conversation or post-processing) and
	// PastSLA those among them whose customer has waited past the queue's target for a reply.
	Active, PastSLA int
	// Eligible counts the Available agents who serve the queue.
	Eligible int
}

// QueueStatus reports a queue's waiting line and its chats in progress.
func (r *Router) QueueStatus(queue Key) (QueueView, bool) {
	q := r.queues[queue]
	if q == nil {
		return QueueView{}, false
	}
	v := QueueView{Waiting: len(q.waiting)}
	for _, c := range q.waiting {
		if v.Oldest.IsZero() || c.entered.Before(v.Oldest) {
			v.Oldest = c.entered
		}
	}
	for _, c := range r.convs {
		if c.q != q || c.state == convWaiting {
			continue
		}
		v.Active++
		if c.custWaiting && c.breached {
			v.PastSLA++
		}
	}
	for _, a := range r.agents {
		if a.state == StateAvailable && slices.Contains(a.queues, q) {
			v.Eligible++
		}
	}
	return v, true
}
