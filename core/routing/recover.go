package routing

import (
	"fmt"
	"slices"
	"time"
)

// RestoreAgent rebuilds an agent from stored state: its state, when it entered it, and when it
// was last assigned a chat. Nothing is offered until the next Tick.
func (r *Router) RestoreAgent(cfg AgentConfig, s State, stateSince, lastAssigned time.Time) error {
	if err := validAgent(cfg); err != nil {
		return err
	}
	if s > StateWorkOffline {
		return fmt.Errorf("routing: restore agent %q: state %d: %w", cfg.Agent.ID, s, ErrInvalid)
	}
	if r.agents[cfg.Agent] != nil {
		return fmt.Errorf("routing: restore agent %q: %w", cfg.Agent.ID, ErrExists)
	}
	a := &agentRec{key: cfg.Agent, cfg: cfg, lastAssigned: lastAssigned}
	a.cfg.Queues = slices.Clone(cfg.Queues)
	a.cfg.Secondary = slices.Clone(cfg.Secondary)
	r.agents[cfg.Agent] = a
	r.link(a, cfg.Queues)
	r.setState(a, s, stateSince)
	return nil
}

// StoredChat is an assigned chat as stored: active, or in post-processing since WrapUpSince.
type StoredChat struct {
	Conversation Key
	Queue        Key
	Agent        Key
	Priority     int
	Language     string
	Channel      string
	Entered      time.Time
	WrapUp       bool
	WrapUpSince  time.Time
	Answered     bool      // the agent has replied at least once
	WaitingSince time.Time // the customer waits for a reply since then; zero: not waiting
}

// RestoreChat rebuilds an assigned chat; it counts in its agent's load (even beyond capacity,
// as stored). Restore the agent first.
func (r *Router) RestoreChat(s StoredChat) error {
	q, err := r.tenantQueue(s.Conversation.Tenant, s.Queue, "restore chat")
	if err != nil {
		return err
	}
	a := r.agents[s.Agent]
	if a == nil || s.Agent.Tenant != s.Conversation.Tenant {
		return fmt.Errorf("routing: restore chat %q: agent %q: %w", s.Conversation.ID, s.Agent.ID, ErrUnknownAgent)
	}
	if r.convs[s.Conversation] != nil || s.Conversation.ID == "" {
		return fmt.Errorf("routing: restore chat %q: %w", s.Conversation.ID, ErrExists)
	}
	c := &conv{key: s.Conversation, q: q, priority: s.Priority, lang: s.Language, channel: s.Channel, entered: s.Entered,
		queuedAt: s.Entered, agent: a, answered: s.Answered}
	c.lid = r.langID(s.Language)
	r.convs[c.key] = c
	r.unindex(a)
	if s.WrapUp {
		c.state = convWrapUp
		a.wrap++
		if t := q.cfg.WrapUpTimeout; t > 0 {
			c.wrapTimer = r.schedule(s.WrapUpSince.Add(t), timerWrapUp, c)
		}
	} else {
		c.state = convActive
		a.active++
		if !s.WaitingSince.IsZero() {
			r.startWait(c, s.WaitingSince)
		}
	}
	r.reindex(a, true)
	return nil
}

// RestoreWaiting rebuilds a waiting conversation (with or without a pending offer before the
// restart) with the time it first entered; the next Tick offers it.
func (r *Router) RestoreWaiting(in Arrival, entered time.Time) error {
	q, err := r.tenantQueue(in.Conversation.Tenant, in.Queue, "restore waiting")
	if err != nil {
		return err
	}
	if r.convs[in.Conversation] != nil || in.Conversation.ID == "" {
		return fmt.Errorf("routing: restore waiting %q: %w", in.Conversation.ID, ErrExists)
	}
	r.begin()
	r.add(in, q, entered, entered)
	r.out = r.out[:0]
	return nil
}
