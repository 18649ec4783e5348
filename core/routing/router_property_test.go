package routing

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Run one failing case again with: go test ./core/routing -run TestRouterProperties -seed N
// (or ROUTING_SEED=N). A longer search: go test ./core/routing -run TestRouterProperties -runs 5000.
var (
	seedFlag = flag.Uint64("seed", 0, "run the routing property test with this seed only")
	runsFlag = flag.Int("runs", 200, "number of seeds the routing property test tries")
)

const propertySteps = 500

func propertySeeds(t *testing.T) []uint64 {
	if *seedFlag != 0 {
		return []uint64{*seedFlag}
	}
	if s := os.Getenv("ROUTING_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ROUTING_SEED: %v", err)
		}
		return []uint64{n}
	}
	runs := *runsFlag
	if testing.Short() || raceDetector {
		// The engine is single-threaded: the race detector only slows these runs down.
		runs = 30
	}
	seeds := make([]uint64, runs)
	for i := range seeds {
		seeds[i] = 1_000 + uint64(i) // fixed, so every run checks the same sequences
	}
	return seeds
}

func TestRouterProperties(t *testing.T) {
	for _, seed := range propertySeeds(t) {
		s := newSim(seed)
		for step := 0; step < propertySteps; step++ {
			op := s.step()
			if err := s.check(); err != nil {
				t.Fatalf("seed %d step %d (%s): %v\nreproduce: go test ./core/routing -run TestRouterProperties -seed %d",
					seed, step, op, err, seed)
			}
		}
	}
}

var simLangs = []string{"", "en", "de", "fr"}

type sim struct {
	rng    *rand.Rand
	r      *Router
	now    time.Time
	next   int
	last   []Decision
	queues []QueueConfig
}

func newSim(seed uint64) *sim {
	s := &sim{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), r: NewRouter(), now: monday}
	nq := 2 + s.rng.IntN(3)
	for i := range nq {
		q := QueueConfig{Queue: tk(fmt.Sprintf("q%d", i)), OfferTimeout: time.Duration(5+s.rng.IntN(20)) * time.Second}
		q.Strategy = Strategy(s.rng.IntN(2))
		q.AutoAccept = s.rng.IntN(4) == 0
		q.AllowTranslation = s.rng.IntN(3) == 0
		if s.rng.IntN(2) == 0 {
			q.LanguageWait = time.Duration(10+s.rng.IntN(60)) * time.Second
		}
		q.MissedOffersLimit = s.rng.IntN(4)
		if s.rng.IntN(2) == 0 {
			q.WrapUpTimeout = time.Duration(10+s.rng.IntN(60)) * time.Second
		}
		if s.rng.IntN(2) == 0 {
			q.MaxWait = time.Duration(20+s.rng.IntN(120)) * time.Second
			q.Overflow = fmt.Sprintf("q%d", (i+1)%nq)
		}
		q.FirstResponseTarget = time.Duration(s.rng.IntN(60)) * time.Second
		q.ResponseTarget = time.Duration(s.rng.IntN(60)) * time.Second
		s.queues = append(s.queues, q)
		_, err := s.r.SetQueue(q, s.now)
		must(err)
	}
	_, err := s.r.SetQueue(QueueConfig{Queue: Key{Tenant: "beta", ID: "q0"}}, s.now)
	must(err)
	for i := range 3 + s.rng.IntN(6) {
		_, err := s.r.SetAgent(s.agentConfig(tk(fmt.Sprintf("a%d", i)), 1+s.rng.IntN(3)), s.now)
		must(err)
	}
	return s
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (s *sim) agentConfig(k Key, capacity int) AgentConfig {
	cfg := AgentConfig{Agent: k, Group: "g", Capacity: capacity, Primary: simLangs[s.rng.IntN(len(simLangs))]}
	for _, q := range s.queues {
		if s.rng.IntN(2) == 0 {
			cfg.Queues = append(cfg.Queues, q.Queue.ID)
		}
	}
	for _, l := range simLangs[1:] {
		if s.rng.IntN(3) == 0 {
			cfg.Secondary = append(cfg.Secondary, l)
		}
	}
	return cfg
}

func (s *sim) agentKeys() []Key {
	var ks []Key
	for k := range s.r.agents {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, keyCmp)
	return ks
}

func (s *sim) convs(pred func(*conv) bool) []*conv {
	var cs []*conv
	for _, c := range s.r.convs {
		if pred(c) {
			cs = append(cs, c)
		}
	}
	slices.SortFunc(cs, func(a, b *conv) int { return keyCmp(a.key, b.key) })
	return cs
}

func pick[T any](rng *rand.Rand, xs []T) (T, bool) {
	var zero T
	if len(xs) == 0 {
		return zero, false
	}
	return xs[rng.IntN(len(xs))], true
}

// step applies one random event and keeps its decisions for check.
func (s *sim) step() string {
	s.last = nil
	before := fingerprint(s.r)
	var ds []Decision
	var err error
	var op string
	expectErr := false
	okErrs := []error{ErrOfferExpired, ErrAgentNotEligible}
	switch n := s.rng.IntN(100); {
	case n < 12:
		k, _ := pick(s.rng, s.agentKeys())
		st := State(s.rng.IntN(4))
		if s.rng.IntN(2) == 0 {
			st = StateAvailable
		}
		op = fmt.Sprintf("state %s %s", k.ID, st)
		ds, err = s.r.SetState(k, st, s.now)
	case n < 30:
		q, _ := pick(s.rng, s.queues)
		s.next++
		in := Arrival{Conversation: tk(fmt.Sprintf("c%d", s.next)), Queue: q.Queue, Priority: s.rng.IntN(3), Language: simLangs[s.rng.IntN(len(simLangs))]}
		op = fmt.Sprintf("arrive %+v", in)
		ds, err = s.r.Arrive(in, s.now)
	case n < 42:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.offerTo != nil }))
		if !ok {
			return "no offer to accept"
		}
		op = "accept " + c.key.ID
		ds, err = s.r.Accept(c.key, c.offerTo.key, s.now)
	case n < 50:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.offerTo != nil }))
		if !ok {
			return "no offer to reject"
		}
		op = "reject " + c.key.ID
		ds, err = s.r.Reject(c.key, c.offerTo.key, s.now)
	case n < 62:
		s.now = s.now.Add(time.Duration(s.rng.IntN(30_000)) * time.Millisecond)
		op = "tick " + s.now.Format(time.TimeOnly)
		ds = s.r.Tick(s.now)
	case n < 65:
		s.now = s.now.Add(time.Duration(s.rng.IntN(10_000)) * time.Millisecond)
		return "clock moves without tick"
	case n < 72:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.state == convActive && c.transferFrom == nil }))
		if !ok {
			return "nothing to end"
		}
		op = "end " + c.key.ID
		ds, err = s.r.End(c.key, s.now)
	case n < 78:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.state == convWrapUp }))
		if !ok {
			return "nothing to wrap up"
		}
		op = "end wrap-up " + c.key.ID
		ds, err = s.r.EndWrapUp(c.key, s.now)
	case n < 83:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.state == convActive && c.transferFrom == nil }))
		if !ok {
			return "nothing to transfer"
		}
		q, _ := pick(s.rng, s.queues)
		to := q.Queue
		if s.rng.IntN(5) == 0 {
			to, expectErr = Key{Tenant: "beta", ID: "q0"}, true
		} else if s.rng.IntN(8) == 0 {
			to, expectErr = tk("nope"), true
		}
		op = fmt.Sprintf("transfer %s to queue %v", c.key.ID, to)
		ds, err = s.r.TransferToQueue(c.key, to, s.now)
	case n < 87:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.state == convActive && c.transferFrom == nil }))
		if !ok {
			return "nothing to transfer"
		}
		k, _ := pick(s.rng, s.agentKeys())
		if s.rng.IntN(6) == 0 {
			k, expectErr = Key{Tenant: "beta", ID: k.ID}, true
		}
		op = fmt.Sprintf("transfer %s to agent %v", c.key.ID, k)
		ds, err = s.r.TransferToAgent(c.key, k, s.now)
		if k == c.agent.key {
			expectErr = true
		}
	case n < 90:
		c, ok := pick(s.rng, s.convs(func(*conv) bool { return true }))
		if !ok {
			return "nobody to leave"
		}
		op = "leave " + c.key.ID
		ds, err = s.r.Leave(c.key, s.now)
	case n < 94:
		c, ok := pick(s.rng, s.convs(func(c *conv) bool { return c.state == convActive }))
		if !ok {
			return "no chat to write in"
		}
		op = "message " + c.key.ID
		if s.rng.IntN(2) == 0 {
			ds, err = s.r.CustomerMessage(c.key, s.now)
		} else {
			ds, err = s.r.AgentMessage(c.key, s.now)
		}
	case n < 96:
		k, _ := pick(s.rng, s.agentKeys())
		v, _ := s.r.AgentStatus(k)
		op = "reconfigure " + k.ID
		ds, err = s.r.SetAgent(s.agentConfig(k, v.Capacity), s.now)
	case n < 98:
		i := s.rng.IntN(len(s.queues))
		q := &s.queues[i]
		q.AllowTranslation = !q.AllowTranslation
		if s.rng.IntN(3) == 0 {
			q.Strategy = 1 - q.Strategy
		}
		op = fmt.Sprintf("reconfigure queue %s translation=%v strategy=%d", q.Queue.ID, q.AllowTranslation, q.Strategy)
		ds, err = s.r.SetQueue(*q, s.now)
	default:
		op = "rebuild"
		ds = s.rebuild()
	}
	if err != nil {
		if !expectErr && !slices.ContainsFunc(okErrs, func(e error) bool { return strings.Contains(err.Error(), e.Error()) }) {
			panic(fmt.Sprintf("%s: unexpected error %v", op, err))
		}
		if after := fingerprint(s.r); after != before {
			panic(fmt.Sprintf("%s failed (%v) but changed state:\n%s\n->\n%s", op, err, before, after))
		}
	} else if expectErr {
		panic(fmt.Sprintf("%s: no error", op))
	}
	s.last = ds
	return op
}

// rebuild builds a new Router from what a store would hold and ticks it once.
func (s *sim) rebuild() []Decision {
	old := s.r
	s.r = NewRouter()
	for _, q := range old.queueKeys() {
		_, err := s.r.SetQueue(old.queues[q].cfg, s.now)
		must(err)
	}
	for _, k := range s.agentKeysOf(old) {
		a := old.agents[k]
		must(s.r.RestoreAgent(a.cfg, a.state, a.availableSince, a.lastAssigned))
	}
	var cs []*conv
	for _, c := range old.convs {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *conv) int { return keyCmp(a.key, b.key) })
	for _, c := range cs {
		if c.state == convWaiting {
			must(s.r.RestoreWaiting(Arrival{Conversation: c.key, Queue: c.q.key, Priority: c.priority, Language: c.lang}, c.entered))
			continue
		}
		sc := StoredChat{Conversation: c.key, Queue: c.q.key, Agent: c.agent.key, Priority: c.priority, Language: c.lang,
			Entered: c.entered, WrapUp: c.state == convWrapUp, WrapUpSince: s.now, Answered: c.answered}
		if c.custWaiting {
			sc.WaitingSince = c.waitSince
		}
		must(s.r.RestoreChat(sc))
	}
	return s.r.Tick(s.now)
}

func (r *Router) queueKeys() []Key {
	var ks []Key
	for k := range r.queues {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, keyCmp)
	return ks
}

func (s *sim) agentKeysOf(r *Router) []Key {
	var ks []Key
	for k := range r.agents {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, keyCmp)
	return ks
}

// fingerprint is a deterministic dump of the routing state, to prove failed calls change nothing.
func fingerprint(r *Router) string {
	var b strings.Builder
	for _, k := range r.queueKeys() {
		q := r.queues[k]
		fmt.Fprintf(&b, "q %v heap=%d/%d waiting=%d in=%d all=%d\n", k, len(q.heap), q.stale, len(q.waiting), q.loggedIn, len(q.all().list))
	}
	for _, k := range (&sim{}).agentKeysOf(r) {
		a := r.agents[k]
		fmt.Fprintf(&b, "a %s %v %d/%d/%v cap=%d missed=%d q=%d\n", k.ID, a.state, a.active, a.wrap, a.offer != nil, a.cfg.Capacity, a.missed, len(a.queues))
	}
	var cs []Key
	for k := range r.convs {
		cs = append(cs, k)
	}
	slices.SortFunc(cs, keyCmp)
	for _, k := range cs {
		c := r.convs[k]
		fmt.Fprintf(&b, "c %s %d %s %p %p %p %d\n", k.ID, c.state, c.q.key.ID, c.agent, c.offerTo, c.transferFrom, len(c.refused))
	}
	return b.String()
}

func speaks(a *agentRec, lang string) int {
	switch {
	case lang == "":
		return 2
	case a.cfg.Primary == lang:
		return 0
	case slices.Contains(a.cfg.Secondary, lang):
		return 1
	}
	return 2
}

// mayTake says whether a may be offered c, as if a's pending offer of c (or of instead) were not there.
func mayTake(a *agentRec, c *conv, instead ...*conv) bool {
	load := a.load()
	if a.offer == c || a.offer != nil && slices.Contains(instead, a.offer) {
		load--
	} else if a.offer != nil {
		return false
	}
	if a.state != StateAvailable || load >= a.cfg.Capacity || !slices.Contains(a.queues, c.q) || c.refusedBy(a) {
		return false
	}
	return c.lang == "" || speaks(a, c.lang) < 2 || c.q.cfg.AllowTranslation || c.langOpen
}

// better says whether b ranks before a for c: language tier, then the queue's strategy.
func better(b, a *agentRec, c *conv) bool {
	tb, ta := speaks(b, c.lang), speaks(a, c.lang)
	if tb != ta {
		return tb < ta
	}
	rb, ra := b.ready(), a.ready()
	if c.q.cfg.Strategy == LeastBusy && b.active != a.active {
		return b.active < a.active
	}
	if !rb.Equal(ra) {
		return rb.Before(ra)
	}
	if b.active != a.active {
		return b.active < a.active
	}
	return b.key.ID < a.key.ID
}

// queuedBefore is the documented queue order, written out again independently of the engine.
func queuedBefore(x, y *conv) bool {
	if x.priority != y.priority {
		return x.priority > y.priority
	}
	if !x.entered.Equal(y.entered) {
		return x.entered.Before(y.entered)
	}
	return x.key.ID < y.key.ID
}

func (s *sim) check() error {
	r := s.r
	agents := s.agentKeysOf(r)
	// Loads, and one pending offer per agent and per conversation.
	for _, k := range agents {
		a := r.agents[k]
		var active, wrap int
		for _, c := range r.convs {
			if c.agent == a && c.state == convActive {
				active++
			}
			if c.agent == a && c.state == convWrapUp {
				wrap++
			}
		}
		if active != a.active || wrap != a.wrap {
			return fmt.Errorf("agent %s counts %d/%d, chats say %d/%d", k.ID, a.active, a.wrap, active, wrap)
		}
		if a.load() > a.cfg.Capacity {
			return fmt.Errorf("agent %s load %d over capacity %d", k.ID, a.load(), a.cfg.Capacity)
		}
		if a.offer != nil && a.offer.offerTo != a {
			return fmt.Errorf("agent %s offer of %s is not its conversation's offer", k.ID, a.offer.key.ID)
		}
		if a.indexed != a.eligible() {
			return fmt.Errorf("agent %s indexed=%v eligible=%v", k.ID, a.indexed, a.eligible())
		}
	}
	waiting := s.convs(func(c *conv) bool { return c.state == convWaiting })
	for _, c := range s.convs(func(c *conv) bool { return c.offerTo != nil }) {
		a := c.offerTo
		if a.offer != c {
			return fmt.Errorf("conversation %s offered to %s who holds another offer", c.key.ID, a.key.ID)
		}
		if a.state != StateAvailable {
			return fmt.Errorf("pending offer of %s to %s who is %v", c.key.ID, a.key.ID, a.state)
		}
		if c.transferFrom == nil && !mayTake(a, c) {
			return fmt.Errorf("pending offer of %s to ineligible agent %s (load %d cap %d member %v refused %v tier %d)",
				c.key.ID, a.key.ID, a.load(), a.cfg.Capacity, slices.Contains(a.queues, c.q), c.refusedBy(a), speaks(a, c.lang))
		}
	}
	// Every waiting conversation without an offer has no eligible agent.
	for _, c := range waiting {
		if (c.offerTo == nil) != (c.hgen != 0) || c.q.waiting[c.key.ID] != c {
			return fmt.Errorf("conversation %s: offered=%v in heap=%v", c.key.ID, c.offerTo != nil, c.hgen != 0)
		}
		if c.offerTo != nil {
			continue
		}
		for _, k := range agents {
			if a := r.agents[k]; mayTake(a, c) {
				return fmt.Errorf("conversation %s waits although %s could take it", c.key.ID, k.ID)
			}
		}
	}
	// Offers made by this event: FIFO within the queue and the best agent.
	for _, d := range s.last {
		if d.Kind != DecisionOffer || d.Transfer {
			continue
		}
		c := r.convs[d.Conversation]
		if c == nil || c.offerTo == nil || c.offerTo.key != d.Agent {
			continue // already answered within this event
		}
		a := c.offerTo
		for _, o := range waiting {
			if o.q == c.q && o.offerTo == nil && queuedBefore(o, c) && mayTake(a, o, c) {
				return fmt.Errorf("%s offered to %s before %s, which ranks higher in %s", c.key.ID, a.key.ID, o.key.ID, c.q.key.ID)
			}
		}
		for _, k := range agents {
			if b := r.agents[k]; b != a && mayTake(b, c) && better(b, a, c) {
				return fmt.Errorf("%s offered to %s but %s ranks better", c.key.ID, a.key.ID, b.key.ID)
			}
		}
	}
	// Every language set holds exactly the eligible members who speak its language, in order.
	for _, qk := range r.queueKeys() {
		q := r.queues[qk]
		want := make([]int, len(q.sets))
		for _, k := range agents {
			a := r.agents[k]
			if !a.eligible() {
				continue
			}
			for _, x := range a.sets {
				if x.q == q {
					want[x.i]++
					if i := x.set().search(entryOf(a)); i >= len(x.set().list) || x.set().list[i].a != a {
						return fmt.Errorf("queue %s set %d lacks eligible agent %s", qk.ID, x.i, k.ID)
					}
				}
			}
		}
		for i := range q.sets {
			if len(q.sets[i].list) != want[i] {
				return fmt.Errorf("queue %s set %d holds %d agents, want %d", qk.ID, i, len(q.sets[i].list), want[i])
			}
		}
	}
	// The sorted agent sets hold exactly the eligible members, in order.
	for _, qk := range r.queueKeys() {
		q := r.queues[qk]
		n := 0
		for _, k := range agents {
			if a := r.agents[k]; a.eligible() && slices.Contains(a.queues, q) {
				n++
			}
		}
		if len(q.heap) > 0 && !q.heap[0].live() {
			return fmt.Errorf("queue %s: stale entry on top of the heap", qk.ID)
		}
		if n != len(q.all().list) {
			return fmt.Errorf("queue %s set holds %d agents, %d eligible", qk.ID, len(q.all().list), n)
		}
		for i := 1; i < len(q.all().list); i++ {
			if !q.all().less(q.all().list[i-1], q.all().list[i]) || q.all().list[i].a.skReady != q.all().list[i].ready {
				return fmt.Errorf("queue %s set out of order", qk.ID)
			}
		}
	}
	return nil
}
