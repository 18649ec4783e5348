package routing

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// monday is a Monday morning in UTC; every scenario starts there on a fake clock.
var monday = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func tk(id string) Key { return Key{Tenant: "acme", ID: id} }

// show prints a decision compactly for comparing scenarios.
func show(d Decision) string {
	switch d.Kind {
	case DecisionOffer:
		if d.Transfer {
			return fmt.Sprintf("offer %s %s transfer", d.Conversation.ID, d.Agent.ID)
		}
		return fmt.Sprintf("offer %s %s", d.Conversation.ID, d.Agent.ID)
	case DecisionOfferWithdrawn:
		return fmt.Sprintf("withdrawn %s %s %s", d.Conversation.ID, d.Agent.ID, d.Reason)
	case DecisionAssigned:
		return fmt.Sprintf("assigned %s %s %s", d.Conversation.ID, d.Agent.ID, d.Reason)
	case DecisionAgentState:
		return fmt.Sprintf("state %s %s %s", d.Agent.ID, d.State, d.Reason)
	case DecisionWrapUpEnded:
		return fmt.Sprintf("wrapup_ended %s %s %s", d.Conversation.ID, d.Agent.ID, d.Reason)
	case DecisionOverflowed:
		return fmt.Sprintf("overflow %s %s>%s", d.Conversation.ID, d.From.ID, d.Queue.ID)
	case DecisionQueueClosed:
		return fmt.Sprintf("closed %s %s %s", d.Conversation.ID, d.Queue.ID, d.Reason)
	case DecisionSLABreached:
		return fmt.Sprintf("sla %s %s", d.Conversation.ID, d.Reason)
	case DecisionTransferReturned:
		return fmt.Sprintf("returned %s %s from %s %s", d.Conversation.ID, d.Agent.ID, d.From.ID, d.Reason)
	}
	return "?"
}

type fixture struct {
	t   *testing.T
	r   *Router
	now time.Time
	log []string
}

func newFixture(t *testing.T, queues ...QueueConfig) *fixture {
	t.Helper()
	f := &fixture{t: t, r: NewRouter(), now: monday}
	for _, q := range queues {
		if _, err := f.r.SetQueue(q, f.now); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func qc(id string) QueueConfig {
	return QueueConfig{Queue: tk(id), OfferTimeout: 20 * time.Second}
}

func (f *fixture) record(ds []Decision, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, d := range ds {
		f.log = append(f.log, show(d))
	}
}

// take returns and clears the decisions seen so far.
func (f *fixture) take() []string {
	l := f.log
	f.log = nil
	return l
}

type agentOpt func(*AgentConfig)

func langs(primary string, secondary ...string) agentOpt {
	return func(c *AgentConfig) { c.Primary, c.Secondary = primary, secondary }
}
func capacity(n int) agentOpt { return func(c *AgentConfig) { c.Capacity = n } }

// agent creates an agent and makes it Available at the current time.
func (f *fixture) agent(id string, queues string, opts ...agentOpt) {
	f.t.Helper()
	cfg := AgentConfig{Agent: tk(id), Group: "g", Queues: strings.Fields(queues), Capacity: 1}
	for _, o := range opts {
		o(&cfg)
	}
	f.record(f.r.SetAgent(cfg, f.now))
	f.record(f.r.SetState(tk(id), StateAvailable, f.now))
}

func (f *fixture) state(id string, s State) { f.t.Helper(); f.record(f.r.SetState(tk(id), s, f.now)) }
func (f *fixture) wait(d time.Duration)     { f.now = f.now.Add(d) }
func (f *fixture) tick(d time.Duration)     { f.t.Helper(); f.wait(d); f.record(f.r.Tick(f.now), nil) }
func (f *fixture) arrive(id, queue string, prio int, lang string) {
	f.t.Helper()
	f.record(f.r.Arrive(Arrival{Conversation: tk(id), Queue: tk(queue), Priority: prio, Language: lang}, f.now))
}
func (f *fixture) accept(c, a string) { f.t.Helper(); f.record(f.r.Accept(tk(c), tk(a), f.now)) }
func (f *fixture) reject(c, a string) { f.t.Helper(); f.record(f.r.Reject(tk(c), tk(a), f.now)) }
func (f *fixture) end(c string)       { f.t.Helper(); f.record(f.r.End(tk(c), f.now)) }
func (f *fixture) endWrap(c string)   { f.t.Helper(); f.record(f.r.EndWrapUp(tk(c), f.now)) }

func (f *fixture) want(want ...string) {
	f.t.Helper()
	got := f.take()
	if !slices.Equal(got, want) {
		f.t.Fatalf("decisions\n got: %q\nwant: %q", got, want)
	}
}

func (f *fixture) load(id string) int {
	v, ok := f.r.AgentStatus(tk(id))
	if !ok {
		f.t.Fatalf("no agent %s", id)
	}
	return v.Load
}

func TestChoosingTheAgent(t *testing.T) {
	cases := []struct {
		name  string
		queue func(*QueueConfig)
		setup func(f *fixture)
		lang  string
		want  string
	}{
		{"longest waiting since available", nil, func(f *fixture) {
			f.agent("ann", "q")
			f.wait(time.Second)
			f.agent("ben", "q")
		}, "", "offer c ann"},
		{"last assignment counts when later than becoming available", nil, func(f *fixture) {
			f.agent("ann", "q", capacity(2))
			f.wait(time.Second)
			f.agent("ben", "q", capacity(2))
			f.arrive("x", "q", 0, "")
			f.wait(time.Second)
			f.accept("x", "ann") // ann's wait restarts now
		}, "", "offer c ben"},
		{"tie by fewest active chats", nil, func(f *fixture) {
			f.agent("ann", "q", capacity(3))
			f.agent("ben", "q", capacity(3))
			f.arrive("x", "q", 0, "")
			f.accept("x", "ann")
			f.arrive("y", "q", 0, "")
			f.accept("y", "ben")
			f.arrive("z", "q", 0, "")
			f.accept("z", "ann") // same clock: both last assigned now, ann has 2 active
		}, "", "offer c ben"},
		{"tie by agent id", nil, func(f *fixture) {
			f.agent("ben", "q")
			f.agent("ann", "q")
		}, "", "offer c ann"},
		{"primary language before longer wait", nil, func(f *fixture) {
			f.agent("ann", "q", langs("en", "de"))
			f.wait(time.Second)
			f.agent("ben", "q", langs("de"))
		}, "de", "offer c ben"},
		{"secondary language before anyone", func(q *QueueConfig) { q.AllowTranslation = true }, func(f *fixture) {
			f.agent("ann", "q", langs("en"))
			f.wait(time.Second)
			f.agent("ben", "q", langs("en", "fr", "de"))
		}, "de", "offer c ben"},
		{"no match without translation waits", nil, func(f *fixture) {
			f.agent("ann", "q", langs("en"))
		}, "de", ""},
		{"translation allows anyone", func(q *QueueConfig) { q.AllowTranslation = true }, func(f *fixture) {
			f.agent("ann", "q", langs("en"))
		}, "de", "offer c ann"},
		{"least busy before longest waiting", func(q *QueueConfig) { q.Strategy = LeastBusy }, func(f *fixture) {
			f.agent("ann", "q", capacity(3))
			f.arrive("x", "q", 0, "")
			f.accept("x", "ann") // ann waits longest, with 1 active chat
			f.wait(time.Second)
			f.agent("ben", "q", capacity(3))
			f.wait(time.Second)
			f.agent("cat", "q", capacity(3))
			f.arrive("y", "q", 0, "")
			f.wait(time.Second)
			f.accept("y", "ben")
			f.end("y") // ben: 0 active, 1 in post-processing, waiting since the accept
		}, "", "offer c cat"},
		{"only available members below capacity", nil, func(f *fixture) {
			f.agent("ann", "q")
			f.state("ann", StateOnBreak)
			f.agent("ben", "other")
			f.agent("cat", "q")
			f.arrive("x", "q", 0, "")
			f.accept("x", "cat")
			f.agent("dan", "q")
		}, "", "offer c dan"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := qc("q")
			if tc.queue != nil {
				tc.queue(&q)
			}
			f := newFixture(t, q, qc("other"))
			tc.setup(f)
			f.wait(time.Second)
			f.take()
			f.arrive("c", "q", 0, tc.lang)
			got := strings.Join(f.take(), ";")
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestQueueOrderPriorityThenFirstEntered(t *testing.T) {
	f := newFixture(t, qc("q"), qc("r"))
	f.agent("ann", "q r")
	f.arrive("hold", "q", 0, "") // keeps ann busy
	f.accept("hold", "ann")
	f.arrive("old", "q", 0, "")
	f.wait(time.Second)
	f.arrive("vip", "q", 5, "")
	f.wait(time.Second)
	f.arrive("new", "q", 0, "")
	f.take()
	f.end("hold")
	f.endWrap("hold")
	f.want("wrapup_ended hold ann ended_by_agent", "offer vip ann")
	f.accept("vip", "ann")
	f.end("vip")
	f.endWrap("vip")
	f.want("assigned vip ann accepted", "wrapup_ended vip ann ended_by_agent", "offer old ann")
	if pos, _, _ := f.r.Position(tk("new")); pos != 2 {
		t.Fatalf("position of new = %d, want 2", pos)
	}
}

func TestOffersRejectAcceptAndTimeout(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q", capacity(2))
	f.wait(time.Second)
	f.agent("ben", "q", capacity(2))
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	f.want("offer c1 ann", "offer c2 ben") // at most one pending offer per agent
	f.reject("c1", "ann")
	f.want("withdrawn c1 ann rejected") // ann refused c1, ben is busy with an offer
	f.accept("c2", "ben")
	f.want("assigned c2 ben accepted", "offer c1 ben")
	if f.load("ben") != 2 || f.load("ann") != 0 {
		t.Fatalf("loads ann=%d ben=%d", f.load("ann"), f.load("ben"))
	}
	f.tick(19 * time.Second)
	f.want()
	f.tick(time.Second)
	f.want("withdrawn c1 ben timeout") // nobody left who has not refused or missed c1
	if _, err := f.r.Accept(tk("c1"), tk("ben"), f.now); !errors.Is(err, ErrNoOffer) {
		t.Fatalf("accept after timeout: %v", err)
	}
	f.agent("cat", "q")
	f.want("offer c1 cat")
}

func TestAcceptAfterDeadlineBeforeTickIsExpired(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	f.wait(20 * time.Second)
	if _, err := f.r.Accept(tk("c1"), tk("ann"), f.now); !errors.Is(err, ErrOfferExpired) {
		t.Fatalf("got %v", err)
	}
	f.tick(0)
	f.want("offer c1 ann", "withdrawn c1 ann timeout")
}

func TestMissedOffersLimitMovesToOnBreak(t *testing.T) {
	q := qc("q")
	q.MissedOffersLimit = 2
	f := newFixture(t, q)
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	f.tick(20 * time.Second)
	f.tick(20 * time.Second)
	f.want("offer c1 ann", "withdrawn c1 ann timeout", "offer c2 ann",
		"withdrawn c2 ann timeout", "state ann on_break missed_offers_limit")
	if v, _ := f.r.AgentStatus(tk("ann")); v.State != StateOnBreak {
		t.Fatalf("state %v", v.State)
	}
	// A reject or an accept breaks the row.
	f.state("ann", StateAvailable)
	f.arrive("c3", "q", 0, "")
	f.tick(20 * time.Second)
	f.arrive("c4", "q", 0, "")
	f.reject("c4", "ann")
	f.arrive("c5", "q", 0, "")
	f.tick(20 * time.Second)
	if v, _ := f.r.AgentStatus(tk("ann")); v.State != StateAvailable {
		t.Fatalf("state %v after miss, reject, miss", v.State)
	}
}

func TestAutoAccept(t *testing.T) {
	q := qc("q")
	q.AutoAccept = true
	f := newFixture(t, q)
	f.agent("ann", "q", capacity(2))
	f.wait(time.Second)
	f.agent("ben", "q", capacity(2))
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	f.arrive("c3", "q", 0, "")
	f.want("assigned c1 ann auto_accept", "assigned c2 ben auto_accept", "assigned c3 ann auto_accept")
}

func TestLeavingAvailableWithdrawsTheOffer(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q")
	f.agent("ben", "q")
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	f.take()
	f.state("ann", StateWorkOffline)
	f.want("withdrawn c1 ann agent_unavailable")
	f.accept("c2", "ben")
	f.want("assigned c2 ben accepted")
	f.state("ann", StateAvailable)
	f.want("offer c1 ann") // not refused: ann may get it again
}

func TestPostProcessingCountsInLoad(t *testing.T) {
	q := qc("q")
	q.WrapUpTimeout = time.Minute
	f := newFixture(t, q)
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	f.accept("c1", "ann")
	f.arrive("c2", "q", 0, "")
	f.end("c1")
	f.want("offer c1 ann", "assigned c1 ann accepted")
	if f.load("ann") != 1 {
		t.Fatalf("load %d", f.load("ann"))
	}
	f.tick(59 * time.Second)
	f.want()
	f.tick(time.Second)
	f.want("wrapup_ended c1 ann wrap_up_timeout", "offer c2 ann")
	if _, err := f.r.EndWrapUp(tk("c1"), f.now); !errors.Is(err, ErrNotInWrapUp) {
		t.Fatalf("end wrap-up twice: %v", err)
	}
}

func TestQueueStatusForSupervisors(t *testing.T) {
	q := qc("q")
	q.FirstResponseTarget, q.ResponseTarget = 30*time.Second, 30*time.Second
	f := newFixture(t, q)
	if _, ok := f.r.QueueStatus(tk("nope")); ok {
		t.Fatal("an unknown queue has a status")
	}
	f.agent("a", "q", capacity(1))
	f.agent("b", "q", capacity(1))
	f.state("a", StateAvailable)
	f.state("b", StateOnBreak)
	f.arrive("c1", "q", 0, "")
	f.wait(10 * time.Second)
	f.arrive("c2", "q", 0, "")
	f.accept("c1", "a")
	f.arrive("c3", "q", 0, "")
	v, _ := f.r.QueueStatus(tk("q"))
	// c2 and c3 wait (a is full, b is on break); c2 has waited longest; c1 is active; one agent
	// is available.
	want := QueueView{Waiting: 2, Oldest: monday.Add(10 * time.Second), Active: 1, Eligible: 1}
	if v != want {
		t.Fatalf("status %+v, want %+v", v, want)
	}
	f.record(f.r.CustomerMessage(tk("c1"), f.now))
	f.tick(31 * time.Second)
	if v, _ := f.r.QueueStatus(tk("q")); v.PastSLA != 1 {
		t.Errorf("the customer of c1 waits past the target: %+v", v)
	}
	f.end("c1")
	v, _ = f.r.QueueStatus(tk("q"))
	if v.Active != 1 || v.PastSLA != 0 {
		t.Errorf("after the end: %+v (post-processing counts as active; an ended chat is not past its SLA)", v)
	}
}

func TestStatsForMetrics(t *testing.T) {
	q := qc("q")
	q.ResponseTarget, q.FirstResponseTarget = 30*time.Second, 30*time.Second
	closed := qc("night")
	closed.Hours = &Hours{Location: time.UTC} // closed every day
	f := newFixture(t, q, closed)
	f.agent("a", "q", capacity(2))
	f.agent("b", "q night", capacity(3))
	f.agent("c", "q")
	f.state("c", StateLoggedOut)
	f.state("b", StateOnBreak)
	f.record(f.r.Arrive(Arrival{Conversation: tk("c1"), Queue: tk("q"), Channel: "webchat"}, f.now))
	f.accept("c1", "a")
	f.wait(5 * time.Second)
	f.record(f.r.Arrive(Arrival{Conversation: tk("c2"), Queue: tk("q"), Channel: "sms"}, f.now))
	f.accept("c2", "a")
	f.record(f.r.CustomerMessage(tk("c2"), f.now))
	f.wait(time.Second)
	f.arrive("c3", "q", 0, "") // a is full: c3 waits
	f.tick(31 * time.Second)   // c2's customer waits past the target
	f.end("c1")
	f.take()

	queues, groups := f.r.Stats(f.now)
	if len(queues) != 2 || queues[0].Queue != tk("night") || queues[1].Queue != tk("q") {
		t.Fatalf("queues %+v, want night and q in key order", queues)
	}
	night, main := queues[0], queues[1]
	if night.InHours || !main.InHours {
		t.Errorf("in hours: night %v (closed every day), q %v (no hours)", night.InHours, main.InHours)
	}
	if night.Agents != [4]int{0, 0, 1, 0} {
		t.Errorf("night's agents by state %v, want b on break only", night.Agents)
	}
	want := QueueStats{Queue: tk("q"), Waiting: 1, Oldest: monday.Add(6 * time.Second), InHours: true,
		Active: map[string]int{"sms": 1}, WrapUp: 1, PastSLA: 1, Agents: [4]int{1, 1, 1, 0}}
	if main.Queue != want.Queue || main.Waiting != want.Waiting || !main.Oldest.Equal(want.Oldest) ||
		!maps.Equal(main.Active, want.Active) || main.WrapUp != want.WrapUp || main.PastSLA != want.PastSLA ||
		main.Agents != want.Agents {
		t.Errorf("q stats\n got %+v\nwant %+v", main, want)
	}
	// a holds c2 and c1 in post-processing (load 2 of 2); b (on break) and c (signed out) hold
	// nothing; only a is Available, so only a's capacity counts.
	wantGroups := []GroupStats{{Tenant: "acme", Group: "g", Agents: [4]int{1, 1, 1, 0}, Load: 2, Capacity: 2}}
	if !slices.Equal(groups, wantGroups) {
		t.Errorf("groups %+v, want %+v", groups, wantGroups)
	}
}
