package routing

import (
	"slices"
	"time"
)

// States lists every agent state, in the order of the per-state counts in QueueStats and
// GroupStats.
var States = [...]State{StateLoggedOut, StateAvailable, StateOnBreak, StateWorkOffline}

// QueueStats are a queue's figures at one moment, for metrics.
type QueueStats struct {
	Queue   Key
	Waiting int       // waiting conversations, offered or not
	Oldest  time.Time // when the longest-waiting one first entered a queue; zero if none
	InHours bool      // inside business hours (always true for a queue without hours)
	// Active counts chats with an agent, not in post-processing, by channel.
	Active  map[string]int
	WrapUp  int
	PastSLA int // active chats whose customer waits past the target for a reply
	// Agents counts the agents who serve the queue, by state (indexed as States).
	Agents [len(States)]int
}

// GroupStats are an agent group's figures at one moment.
type GroupStats struct {
	Tenant, Group string
	Agents        [len(States)]int // by state, indexed as States
	// Load counts the chats signed-in agents hold (active, post-processing and pending offers);
	// Capacity is the sum of the capacities of Available agents.
	Load, Capacity int
}

// Stats returns every queue's and every group's figures, sorted by key. It reads each
// conversation and agent once.
func (r *Router) Stats(now time.Time) ([]QueueStats, []GroupStats) {
	queues := make([]QueueStats, 0, len(r.queues))
	for _, q := range r.queues {
		q.statIdx = len(queues)
		queues = append(queues, QueueStats{Queue: q.key, Waiting: len(q.waiting), InHours: q.cfg.Hours.open(now),
			Active: map[string]int{}})
	}
	for _, c := range r.convs {
		s := &queues[c.q.statIdx]
		switch c.state {
		case convWaiting:
			if s.Oldest.IsZero() || c.entered.Before(s.Oldest) {
				s.Oldest = c.entered
			}
		case convActive:
			s.Active[c.channel]++
			if c.custWaiting && c.breached {
				s.PastSLA++
			}
		case convWrapUp:
			s.WrapUp++
		}
	}
	type groupKey struct{ tenant, group string }
	groups := map[groupKey]*GroupStats{}
	for _, a := range r.agents {
		k := groupKey{a.key.Tenant, a.cfg.Group}
		g := groups[k]
		if g == nil {
			g = &GroupStats{Tenant: k.tenant, Group: k.group}
			groups[k] = g
		}
		g.Agents[a.state]++
		if a.state != StateLoggedOut {
			g.Load += a.load()
		}
		if a.state == StateAvailable {
			g.Capacity += a.cfg.Capacity
		}
		for _, q := range a.queues {
			queues[q.statIdx].Agents[a.state]++
		}
	}
	slices.SortFunc(queues, func(a, b QueueStats) int { return a.Queue.Compare(b.Queue) })
	out := make([]GroupStats, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b GroupStats) int {
		return Key{Tenant: a.Tenant, ID: a.Group}.Compare(Key{Tenant: b.Tenant, ID: b.Group})
	})
	return queues, out
}
