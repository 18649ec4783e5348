package routing

import (
	"math"
	"slices"
	"time"
)

// agentRec is the engine's record of an agent. While indexed (eligible for offers) it sits in
// sorted sets of each of its queues under the sort key frozen in skReady/skActive; the live
// fields change only while it is out of the sets.
type agentRec struct {
	key            Key
	cfg            AgentConfig
	queues         []*queue
	sets           []setRef // the sets of its queues it belongs in (resolved by link)
	primary        int      // interned languages (resolved by link)
	secondary      []int
	state          State
	active, wrap   int
	offer          *conv // pending offer to this agent
	availableSince time.Time
	lastAssigned   time.Time
	missed         int
	indexed        bool
	skReady        int64
	skActive       int
}

func (a *agentRec) load() int {
	n := a.active + a.wrap
	if a.offer != nil {
		n++
	}
	return n
}

func (a *agentRec) eligible() bool {
	return a.state == StateAvailable && a.offer == nil && a.load() < a.cfg.Capacity
}

// ready is when the agent started waiting: the later of becoming Available and last assignment.
func (a *agentRec) ready() time.Time {
	if a.lastAssigned.After(a.availableSince) {
		return a.lastAssigned
	}
	return a.availableSince
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixNano()
}

// fits says whether the agent's queues and languages allow it to be offered c.
func (a *agentRec) fits(c *conv) bool {
	if !slices.Contains(a.queues, c.q) {
		return false
	}
	if c.lang == "" || c.lang == a.cfg.Primary || slices.Contains(a.cfg.Secondary, c.lang) {
		return true
	}
	return c.q.cfg.AllowTranslation || c.langOpen
}

// agentSet keeps eligible agents of one queue (and language tier) in routing order. Entries
// carry the sort key inline so a search follows no pointers except on ties.
type agentSet struct {
	leastBusy bool
	list      []setEntry
}

type setEntry struct {
	ready  int64
	active int
	a      *agentRec
}

func (s *agentSet) less(x, y setEntry) bool {
	if s.leastBusy {
		if x.active != y.active {
			return x.active < y.active
		}
		if x.ready != y.ready {
			return x.ready < y.ready
		}
	} else {
		if x.ready != y.ready {
			return x.ready < y.ready
		}
		if x.active != y.active {
			return x.active < y.active
		}
	}
	return x.a != y.a && x.a.key.ID < y.a.key.ID
}

func entryOf(a *agentRec) setEntry { return setEntry{ready: a.skReady, active: a.skActive, a: a} }

func (s *agentSet) search(e setEntry) int {
	lo, hi := 0, len(s.list)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.less(s.list[m], e) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (s *agentSet) insert(a *agentRec) {
	e := entryOf(a)
	i := s.search(e)
	s.list = append(s.list, setEntry{})
	copy(s.list[i+1:], s.list[i:])
	s.list[i] = e
}

func (s *agentSet) remove(a *agentRec) {
	i := s.search(entryOf(a))
	if i < len(s.list) && s.list[i].a == a {
		copy(s.list[i:], s.list[i+1:])
		s.list[len(s.list)-1] = setEntry{}
		s.list = s.list[:len(s.list)-1]
	}
}

// first returns the best agent who has not refused c.
func (s *agentSet) first(c *conv) *agentRec {
	for _, e := range s.list {
		if !c.refusedBy(e.a) {
			return e.a
		}
	}
	return nil
}

// setRef names one set of a queue by index (the queue's set slice may grow).
type setRef struct {
	q *queue
	i int
}

func (x setRef) set() *agentSet { return &x.q.sets[x.i] }

// setsIn adds the sets of q the agent belongs in (all, primary, secondary languages).
func (r *Router) setsIn(out []setRef, a *agentRec, q *queue) []setRef {
	out = append(out, setRef{q, 0})
	if l := a.cfg.Primary; l != "" {
		i := 2*r.langID(l) - 1
		q.grow(i)
		out = append(out, setRef{q, i})
	}
	for j, l := range a.cfg.Secondary {
		if l == "" || l == a.cfg.Primary || containsBefore(a.cfg.Secondary, j, l) {
			continue
		}
		i := 2 * r.langID(l)
		q.grow(i)
		out = append(out, setRef{q, i})
	}
	return out
}

func containsBefore(xs []string, i int, x string) bool {
	for _, y := range xs[:i] {
		if y == x {
			return true
		}
	}
	return false
}

// unindex takes the agent out of every set; call before changing what its sort key depends on.
func (r *Router) unindex(a *agentRec) {
	if !a.indexed {
		return
	}
	for _, x := range a.sets {
		if x.i < len(x.q.sets) { // a queue whose sets were reset no longer holds it
			x.set().remove(a)
		}
	}
	a.indexed = false
}

// reindex puts an eligible agent back in its sets. markDirty asks for its queues to be
// dispatched, which is needed whenever the agent may have just become eligible.
func (r *Router) reindex(a *agentRec, markDirty bool) {
	if a.indexed || !a.eligible() {
		return
	}
	a.skReady, a.skActive = nanos(a.ready()), a.active
	for _, x := range a.sets {
		x.set().insert(a)
	}
	if markDirty {
		for _, q := range a.queues {
			r.markDirty(q)
		}
	}
	a.indexed = true
}

// reindexFreed puts an agent whose load just dropped back to work. Outside Tick, when nothing
// earlier in the call has created a possible match, no waiting conversation without an offer
// had an eligible agent, so this agent is the only candidate for any it may take: if it may
// take the head of each of its non-empty queues, it is offered the best-ranked of those heads
// directly, without a round trip through the sorted sets. Otherwise it goes the usual way.
func (r *Router) reindexFreed(a *agentRec, now time.Time) {
	if a.indexed || !a.eligible() {
		return
	}
	if r.ticking || len(r.dirty) > 0 {
		r.reindex(a, true)
		return
	}
	var best *queue
	for _, q := range a.queues {
		if len(q.heap) == 0 {
			continue
		}
		if e := q.heap[0]; !a.takesFast(q, e) && (e.c.refusedBy(a) || !a.fits(e.c)) {
			r.reindex(a, true)
			return
		}
		if best == nil || q.heap[0].before(best.heap[0]) {
			best = q
		}
	}
	if best == nil {
		r.reindex(a, true)
		return
	}
	r.offer(best.pop(), a, now)
	if a.eligible() { // auto_accept assigned it and capacity is left: look again
		r.reindex(a, false)
		for _, q := range a.queues {
			r.markDirty(q)
		}
	}
}

// takesFast says from the heap entry alone (without following its pointer) that the agent, a
// member of q, may take the conversation; false means "look closer".
func (a *agentRec) takesFast(q *queue, e qent) bool {
	if e.refused {
		return false
	}
	if e.lid == 0 || q.cfg.AllowTranslation || e.lid == a.primary {
		return true
	}
	return slices.Contains(a.secondary, e.lid)
}

// AgentView is a read-only view of an agent.
type AgentView struct {
	State        State
	Active       int
	WrapUp       int
	Offered      Key // conversation with a pending offer, zero if none
	Load         int
	Capacity     int
	MissedOffers int
}

// AgentStatus reports an agent's routing state.
func (r *Router) AgentStatus(agent Key) (AgentView, bool) {
	a := r.agents[agent]
	if a == nil {
		return AgentView{}, false
	}
	st := AgentView{State: a.state, Active: a.active, WrapUp: a.wrap, Load: a.load(), Capacity: a.cfg.Capacity, MissedOffers: a.missed}
	if a.offer != nil {
		st.Offered = a.offer.key
	}
	return st, true
}
