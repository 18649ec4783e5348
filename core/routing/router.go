package routing

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// State is an agent's availability.
type State uint8

// Agent states.
const (
	StateLoggedOut State = iota
	StateAvailable
	StateOnBreak
	StateWorkOffline
)

var stateNames = [...]string{"logged_out", "available", "on_break", "work_offline"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Strategy is how a queue orders agents within a language tier.
type Strategy uint8

// Queue strategies.
const (
	LongestWaiting Strategy = iota
	LeastBusy
)

// DefaultOfferTimeout applies to queues whose OfferTimeout is zero.
const DefaultOfferTimeout = 30 * time.Second

// Span is one day's opening, in minutes since midnight: open when Open <= minute < Close.
// A zero Span is closed all day; {0, 1440} is open all day.
type Span struct{ Open, Close int }

// Hours is a weekly schedule in a time zone, indexed by time.Weekday.
type Hours struct {
	Location *time.Location
	Days     [7]Span
}

func (h *Hours) open(t time.Time) bool {
	if h == nil {
		return true
	}
	if h.Location != nil {
		t = t.In(h.Location)
	}
	d := h.Days[t.Weekday()]
	m := t.Hour()*60 + t.Minute()
	return d.Open <= m && m < d.Close
}

// QueueConfig holds a queue's routing settings. Changes apply to later events.
type QueueConfig struct {
	Queue               Key
	Strategy            Strategy
	OfferTimeout        time.Duration // zero: DefaultOfferTimeout
	AutoAccept          bool
	MissedOffersLimit   int           // zero: never move agents to OnBreak
	WrapUpTimeout       time.Duration // zero: post-processing ends only by EndWrapUp
	AllowTranslation    bool
	LanguageWait        time.Duration // zero: no expiry of the language preference
	FirstResponseTarget time.Duration // zero: no target
	ResponseTarget      time.Duration // zero: no target
	MaxWait             time.Duration // zero or no Overflow: no overflow
	Overflow            string        // id of the overflow queue in the same tenant
	Hours               *Hours        // nil: always open
}

// AgentConfig holds what routing knows of an agent.
type AgentConfig struct {
	Agent     Key
	Group     string
	Queues    []string // queue ids in the agent's tenant
	Primary   string
	Secondary []string
	Capacity  int // 1 to 6
}

// Arrival is a conversation entering a queue.
type Arrival struct {
	Conversation Key
	Queue        Key
	Priority     int // higher first
	Language     string
	Channel      string // the channel it came from, as metrics label it (a plugin name)
}

// Errors returned for bad input; the Router is unchanged when a method returns one.
var (
	ErrUnknownQueue        = errors.New("unknown queue")
	ErrUnknownAgent        = errors.New("unknown agent")
	ErrUnknownConversation = errors.New("unknown conversation")
	ErrOtherTenant         = errors.New("belongs to another tenant")
	ErrCapacity            = errors.New("capacity must be 1 to 6")
	ErrInvalid             = errors.New("invalid setting")
	ErrExists              = errors.New("already known")
	ErrNoOffer             = errors.New("no pending offer of this conversation to this agent")
	ErrOfferExpired        = errors.New("offer expired")
	ErrNotActive           = errors.New("conversation is not an active chat")
	ErrNotInWrapUp         = errors.New("conversation is not in post-processing")
	ErrAgentNotEligible    = errors.New("agent cannot take a chat now (not Available, full or already offered one)")
)

// Router is the routing engine. The zero value is not usable: call NewRouter. The []Decision a
// method returns is reused by the next call: copy what must outlive it.
type Router struct {
	queues map[Key]*queue
	agents map[Key]*agentRec
	convs  map[Key]*conv
	timers []timer
	seq    uint64
	dirty  []*queue
	spare  []*queue
	skip   []*conv
	free   []*conv
	out    []Decision
	langs  map[string]int
	// ticking is set while Tick runs deadlines: later deadlines of the same Tick may create
	// better matches, so every match waits for the final dispatch.
	ticking bool
}

// NewRouter returns an empty Router.
func NewRouter() *Router {
	return &Router{queues: map[Key]*queue{}, agents: map[Key]*agentRec{}, convs: map[Key]*conv{}, langs: map[string]int{}}
}

// langID interns a language code so that language sets are found by index (0: no language).
func (r *Router) langID(l string) int {
	if l == "" {
		return 0
	}
	id, ok := r.langs[l]
	if !ok {
		id = len(r.langs) + 1
		r.langs[l] = id
	}
	return id
}

func (r *Router) emit(d Decision) { r.out = append(r.out, d) }

// begin starts a call: the decision buffer is reused, so a returned slice is valid only until
// the next call (this keeps a decision free of allocations).
func (r *Router) begin() { r.out = r.out[:0] }

func (r *Router) finish(now time.Time) []Decision {
	r.flush(now)
	if len(r.out) == 0 {
		return nil
	}
	return r.out
}

// newConv takes a conversation record from the free list or allocates one.
func (r *Router) newConv() *conv {
	if n := len(r.free); n > 0 {
		c := r.free[n-1]
		r.free = r.free[:n-1]
		return c
	}
	return &conv{}
}

// release forgets a conversation and keeps its record for reuse. Stale timers and heap entries
// may still point at it; their generations never match a later use.
func (r *Router) release(c *conv) {
	delete(r.convs, c.key)
	refused := c.refused[:0]
	*c = conv{refused: refused}
	r.free = append(r.free, c)
}

// SetQueue creates or updates a queue. Timers already running (offer, wrap-up, max_wait,
// language_wait, SLA) keep the settings they started with; a change that lets an agent take a
// waiting conversation (allowing translation, say) offers it at once.
func (r *Router) SetQueue(cfg QueueConfig, now time.Time) ([]Decision, error) {
	k := cfg.Queue
	switch {
	case k.Tenant == "" || k.ID == "":
		return nil, fmt.Errorf("routing: set queue %q: empty tenant or id: %w", k.ID, ErrInvalid)
	case cfg.Strategy > LeastBusy, cfg.OfferTimeout < 0, cfg.MissedOffersLimit < 0, cfg.WrapUpTimeout < 0,
		cfg.LanguageWait < 0, cfg.FirstResponseTarget < 0, cfg.ResponseTarget < 0, cfg.MaxWait < 0:
		return nil, fmt.Errorf("routing: set queue %q: negative duration or unknown strategy: %w", k.ID, ErrInvalid)
	case cfg.Overflow == k.ID:
		return nil, fmt.Errorf("routing: set queue %q: overflow to itself: %w", k.ID, ErrInvalid)
	}
	r.begin()
	q := r.queues[k]
	switch {
	case q == nil:
		q = newQueue(cfg)
		r.queues[k] = q
		r.relinkTenant(k.Tenant)
	case cfg.Strategy != q.cfg.Strategy:
		q.cfg = cfg
		q.resetSets(cfg.Strategy == LeastBusy)
		r.relinkTenant(k.Tenant)
	default:
		q.cfg = cfg
	}
	// Offers the new settings no longer allow (translation turned off) are withdrawn.
	var gone []*conv
	for _, c := range q.waiting {
		if c.offerTo != nil && !c.offerTo.fits(c) {
			gone = append(gone, c)
		}
	}
	slices.SortFunc(gone, func(x, y *conv) int { return keyCmp(x.key, y.key) })
	for _, c := range gone {
		r.withdraw(c, ReasonReconfigured, now)
	}
	r.markDirty(q)
	return r.finish(now), nil
}

// relinkTenant re-resolves queue membership of the tenant's agents after a queue appeared or
// changed its strategy. Configuration changes are rare, so a scan is fine here.
func (r *Router) relinkTenant(tenant string) {
	keys := make([]Key, 0)
	for k := range r.agents {
		if k.Tenant == tenant {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, keyCmp)
	for _, k := range keys {
		a := r.agents[k]
		r.unindex(a)
		r.link(a, a.cfg.Queues)
		r.reindex(a, true)
	}
}

func validAgent(cfg AgentConfig) error {
	if cfg.Agent.Tenant == "" || cfg.Agent.ID == "" {
		return fmt.Errorf("routing: set agent %q: empty tenant or id: %w", cfg.Agent.ID, ErrInvalid)
	}
	if cfg.Capacity < 1 || cfg.Capacity > 6 {
		return fmt.Errorf("routing: set agent %q: capacity %d: %w", cfg.Agent.ID, cfg.Capacity, ErrCapacity)
	}
	return nil
}

// SetAgent creates (LoggedOut) or updates an agent's group, queues, languages and capacity.
func (r *Router) SetAgent(cfg AgentConfig, now time.Time) ([]Decision, error) {
	if err := validAgent(cfg); err != nil {
		return nil, err
	}
	r.begin()
	a := r.agents[cfg.Agent]
	if a == nil {
		a = &agentRec{key: cfg.Agent}
		r.agents[cfg.Agent] = a
	}
	r.unindex(a)
	a.cfg = cfg
	a.cfg.Queues = slices.Clone(cfg.Queues)
	a.cfg.Secondary = slices.Clone(cfg.Secondary)
	r.link(a, cfg.Queues)
	// An offer the new settings no longer allow is withdrawn.
	if c := a.offer; c != nil && (a.load() > cfg.Capacity || c.transferFrom == nil && !a.fits(c)) {
		r.withdraw(c, ReasonReconfigured, now)
	}
	r.reindex(a, true)
	return r.finish(now), nil
}

// link resolves the agent's queue ids to known queues and keeps logged-in counts right.
func (r *Router) link(a *agentRec, ids []string) {
	if a.state != StateLoggedOut {
		for _, q := range a.queues {
			q.loggedIn--
		}
	}
	a.queues = a.queues[:0]
	for _, id := range ids {
		if q := r.queues[Key{Tenant: a.key.Tenant, ID: id}]; q != nil && !slices.Contains(a.queues, q) {
			a.queues = append(a.queues, q)
		}
	}
	slices.SortFunc(a.queues, func(x, y *queue) int { return keyCmp(x.key, y.key) })
	a.primary = r.langID(a.cfg.Primary)
	a.secondary = a.secondary[:0]
	for _, l := range a.cfg.Secondary {
		if l != "" {
			a.secondary = append(a.secondary, r.langID(l))
		}
	}
	a.sets = a.sets[:0]
	for _, q := range a.queues {
		a.sets = r.setsIn(a.sets, a, q)
	}
	if a.state != StateLoggedOut {
		for _, q := range a.queues {
			q.loggedIn++
		}
	}
}

// SetState changes an agent's state. Leaving Available withdraws a pending offer
// (reason agent_unavailable); the agent keeps its chats.
func (r *Router) SetState(agent Key, s State, now time.Time) ([]Decision, error) {
	a := r.agents[agent]
	if a == nil {
		return nil, fmt.Errorf("routing: set state of %q: %w", agent.ID, ErrUnknownAgent)
	}
	if s > StateWorkOffline {
		return nil, fmt.Errorf("routing: set state of %q: state %d: %w", agent.ID, s, ErrInvalid)
	}
	r.begin()
	r.setState(a, s, now)
	return r.finish(now), nil
}

func (r *Router) setState(a *agentRec, s State, now time.Time) {
	if a.state == s {
		return
	}
	old := a.state
	r.unindex(a)
	a.state = s
	if (old == StateLoggedOut) != (s == StateLoggedOut) {
		d := 1
		if s == StateLoggedOut {
			d = -1
		}
		for _, q := range a.queues {
			q.loggedIn += d
		}
	}
	if s == StateAvailable {
		a.availableSince = now
		a.missed = 0
	}
	if a.offer != nil && s != StateAvailable {
		r.withdraw(a.offer, ReasonAgentUnavailable, now)
	}
	r.reindex(a, true)
}

func keyCmp(a, b Key) int { return a.Compare(b) }
