package routing

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestSLA(t *testing.T) {
	q := qc("q")
	q.FirstResponseTarget = 30 * time.Second
	q.ResponseTarget = time.Minute
	f := newFixture(t, q)
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	f.wait(5 * time.Second)
	f.accept("c1", "ann")
	assigned := f.now
	w, ok := f.r.ResponseWait(tk("c1"))
	if !ok || !w.Waiting || !w.Since.Equal(assigned) || w.Target != ReasonFirstResponse {
		t.Fatalf("after assignment %+v %v", w, ok)
	}
	f.tick(30 * time.Second)
	f.tick(time.Hour) // once per wait
	f.want("offer c1 ann", "assigned c1 ann accepted", "sla c1 first_response")
	if w, _ := f.r.ResponseWait(tk("c1")); !w.Breached {
		t.Fatalf("breach not reported %+v", w)
	}
	f.record(f.r.AgentMessage(tk("c1"), f.now))
	if w, _ := f.r.ResponseWait(tk("c1")); w.Waiting {
		t.Fatalf("still waiting after reply %+v", w)
	}
	f.wait(time.Second)
	f.record(f.r.CustomerMessage(tk("c1"), f.now))
	since := f.now
	f.wait(10 * time.Second)
	f.record(f.r.CustomerMessage(tk("c1"), f.now)) // still the same wait
	if w, _ := f.r.ResponseWait(tk("c1")); !w.Waiting || !w.Since.Equal(since) || w.Target != ReasonResponse || w.Breached {
		t.Fatalf("response wait %+v", w)
	}
	f.tick(49 * time.Second)
	f.want()
	f.tick(time.Second)
	f.want("sla c1 response")
	f.record(f.r.AgentMessage(tk("c1"), f.now))
	f.record(f.r.CustomerMessage(tk("c1"), f.now))
	f.record(f.r.AgentMessage(tk("c1"), f.now)) // answered in time
	f.tick(time.Hour)
	f.want()
}

func TestTransferToQueueKeepsFirstEnteredTime(t *testing.T) {
	f := newFixture(t, qc("sales"), qc("support"))
	f.agent("ann", "sales")
	f.agent("ben", "support")
	f.arrive("c1", "sales", 0, "")
	f.accept("c1", "ann")
	f.arrive("busy", "support", 0, "")
	f.accept("busy", "ben")
	f.wait(time.Minute)
	f.arrive("c2", "support", 0, "")
	f.take()
	f.record(f.r.TransferToQueue(tk("c1"), tk("support"), f.now))
	f.want()
	if pos, _, _ := f.r.Position(tk("c1")); pos != 1 {
		t.Fatalf("transferred conversation position %d, want 1 (it entered first)", pos)
	}
	if f.load("ann") != 0 {
		t.Fatalf("sender load %d", f.load("ann"))
	}
	f.end("busy")
	f.endWrap("busy")
	f.want("wrapup_ended busy ben ended_by_agent", "offer c1 ben")
}

func TestTransferToAgent(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q")
	f.agent("ben", "other")
	f.arrive("c1", "q", 0, "")
	f.accept("c1", "ann")
	f.take()
	f.record(f.r.TransferToAgent(tk("c1"), tk("ben"), f.now))
	f.want("offer c1 ben transfer")
	f.reject("c1", "ben")
	f.want("returned c1 ann from ben rejected")
	f.record(f.r.TransferToAgent(tk("c1"), tk("ben"), f.now))
	f.tick(20 * time.Second)
	f.want("offer c1 ben transfer", "returned c1 ann from ben timeout")
	if f.load("ann") != 1 || f.load("ben") != 0 {
		t.Fatalf("after returns ann=%d ben=%d", f.load("ann"), f.load("ben"))
	}
	f.arrive("c2", "q", 0, "")
	f.record(f.r.TransferToAgent(tk("c1"), tk("ben"), f.now))
	f.accept("c1", "ben")
	f.want("offer c1 ben transfer", "assigned c1 ben accepted", "offer c2 ann")
	if f.load("ann") != 1 || f.load("ben") != 1 {
		t.Fatalf("after accept ann=%d ben=%d", f.load("ann"), f.load("ben"))
	}
}

func TestBadInputLeavesStateUnchanged(t *testing.T) {
	f := newFixture(t, qc("q"))
	if _, err := f.r.SetQueue(QueueConfig{Queue: Key{Tenant: "other", ID: "q"}}, f.now); err != nil {
		t.Fatal(err)
	}
	f.agent("ann", "q")
	f.agent("ben", "q")
	f.arrive("c1", "q", 0, "")
	f.accept("c1", "ann")
	f.arrive("c2", "q", 0, "")
	f.take()
	before := fmt.Sprint(f.r.AgentStatus(tk("ann")))
	cases := []struct {
		name string
		call func() ([]Decision, error)
		want error
	}{
		{"capacity 0", func() ([]Decision, error) {
			return f.r.SetAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"q"}, Capacity: 0}, f.now)
		}, ErrCapacity},
		{"capacity 7", func() ([]Decision, error) {
			return f.r.SetAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"q"}, Capacity: 7}, f.now)
		}, ErrCapacity},
		{"unknown queue", func() ([]Decision, error) {
			return f.r.Arrive(Arrival{Conversation: tk("c9"), Queue: tk("nope")}, f.now)
		}, ErrUnknownQueue},
		{"unknown agent", func() ([]Decision, error) { return f.r.SetState(tk("nobody"), StateAvailable, f.now) }, ErrUnknownAgent},
		{"accept someone else's offer", func() ([]Decision, error) { return f.r.Accept(tk("c2"), tk("ann"), f.now) }, ErrNoOffer},
		{"accept unknown conversation", func() ([]Decision, error) { return f.r.Accept(tk("c9"), tk("ben"), f.now) }, ErrUnknownConversation},
		{"transfer to another tenant's queue", func() ([]Decision, error) {
			return f.r.TransferToQueue(tk("c1"), Key{Tenant: "other", ID: "q"}, f.now)
		}, ErrOtherTenant},
		{"transfer to unknown queue", func() ([]Decision, error) { return f.r.TransferToQueue(tk("c1"), tk("nope"), f.now) }, ErrUnknownQueue},
		{"transfer to unknown agent", func() ([]Decision, error) { return f.r.TransferToAgent(tk("c1"), tk("nobody"), f.now) }, ErrUnknownAgent},
		{"transfer to another tenant's agent", func() ([]Decision, error) {
			return f.r.TransferToAgent(tk("c1"), Key{Tenant: "other", ID: "ben"}, f.now)
		}, ErrOtherTenant},
		{"transfer to a busy agent", func() ([]Decision, error) { return f.r.TransferToAgent(tk("c1"), tk("ben"), f.now) }, ErrAgentNotEligible},
		{"transfer a waiting conversation", func() ([]Decision, error) { return f.r.TransferToQueue(tk("c2"), tk("q"), f.now) }, ErrNotActive},
		{"end a waiting conversation", func() ([]Decision, error) { return f.r.End(tk("c2"), f.now) }, ErrNotActive},
		{"arrive twice", func() ([]Decision, error) { return f.r.Arrive(Arrival{Conversation: tk("c2"), Queue: tk("q")}, f.now) }, ErrExists},
	}
	for _, tc := range cases {
		ds, err := tc.call()
		if !errors.Is(err, tc.want) || ds != nil {
			t.Errorf("%s: got %v %v, want %v", tc.name, ds, err, tc.want)
		}
	}
	if after := fmt.Sprint(f.r.AgentStatus(tk("ann"))); after != before {
		t.Fatalf("state changed: %s -> %s", before, after)
	}
	f.accept("c2", "ben")
	f.want("assigned c2 ben accepted")
}

func TestOverflowAfterMaxWait(t *testing.T) {
	q := qc("q")
	q.MaxWait = 2 * time.Minute
	q.Overflow = "spill"
	f := newFixture(t, q, qc("spill"))
	f.agent("ann", "q")
	f.agent("ben", "spill")
	f.arrive("hold", "q", 0, "")
	f.accept("hold", "ann")
	f.arrive("hold2", "spill", 0, "")
	f.accept("hold2", "ben")
	f.arrive("c1", "q", 0, "")
	f.take()
	f.tick(2 * time.Minute)
	f.want("overflow c1 q>spill")
	f.end("hold2")
	f.endWrap("hold2")
	f.want("wrapup_ended hold2 ben ended_by_agent", "offer c1 ben")
}

func TestOverflowWaitsForPendingOffer(t *testing.T) {
	q := qc("q")
	q.MaxWait = 10 * time.Second
	q.Overflow = "spill"
	f := newFixture(t, q, qc("spill"))
	f.agent("ann", "q")
	f.agent("ben", "spill")
	f.take()
	f.arrive("c1", "q", 0, "")
	f.tick(10 * time.Second)
	f.want("offer c1 ann")
	f.tick(10 * time.Second)
	f.want("withdrawn c1 ann timeout", "overflow c1 q>spill", "offer c1 ben")
}

func TestQueueClosed(t *testing.T) {
	q := qc("q")
	q.Hours = &Hours{Location: time.FixedZone("UTC+2", 2*3600)}
	for d := time.Monday; d <= time.Friday; d++ {
		q.Hours.Days[d] = Span{Open: 8 * 60, Close: 17 * 60}
	}
	f := newFixture(t, q)
	f.arrive("c1", "q", 0, "")
	f.want("closed c1 q no_agents")
	f.agent("ann", "q")
	f.state("ann", StateOnBreak) // logged in, not available: the queue is open
	f.arrive("c2", "q", 0, "")
	f.want()
	f.wait(8 * time.Hour) // 17:00 in UTC+2
	f.arrive("c3", "q", 0, "")
	f.want("closed c3 q outside_hours")
	if f.r.HasCapacity(tk("q"), f.now) {
		t.Fatal("capacity outside hours")
	}
	if _, _, ok := f.r.Position(tk("c3")); ok {
		t.Fatal("closed arrival entered the queue")
	}
}

func TestLanguageWaitOpensToAnyone(t *testing.T) {
	q := qc("q")
	q.LanguageWait = time.Minute
	f := newFixture(t, q)
	f.agent("ann", "q", langs("en"))
	f.arrive("c1", "q", 0, "de")
	f.want()
	f.tick(time.Minute)
	f.want("offer c1 ann")
}

func TestPositionEstimateAndCapacity(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q")
	if !f.r.HasCapacity(tk("q"), f.now) {
		t.Fatal("no capacity with an idle agent")
	}
	f.arrive("c0", "q", 0, "")
	f.wait(16 * time.Second)
	f.accept("c0", "ann") // waited 16s
	if f.r.HasCapacity(tk("q"), f.now) {
		t.Fatal("capacity with a full agent")
	}
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	pos, est, ok := f.r.Position(tk("c2"))
	if !ok || pos != 2 || est != 16*time.Second {
		t.Fatalf("position %d estimate %v ok %v", pos, est, ok)
	}
	pos, est, _ = f.r.Position(tk("c1"))
	if pos != 1 || est != 8*time.Second {
		t.Fatalf("position %d estimate %v", pos, est)
	}
}

func TestCustomerLeaves(t *testing.T) {
	f := newFixture(t, qc("q"))
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	f.arrive("c2", "q", 0, "")
	f.record(f.r.Leave(tk("c1"), f.now))
	f.want("offer c1 ann", "withdrawn c1 ann conversation_gone", "offer c2 ann")
}

func TestRecovery(t *testing.T) {
	q := qc("q")
	q.WrapUpTimeout = time.Minute
	r := NewRouter()
	if _, err := r.SetQueue(q, monday); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.RestoreAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"q"}, Capacity: 2}, StateAvailable, monday, time.Time{}))
	must(r.RestoreAgent(AgentConfig{Agent: tk("ben"), Queues: []string{"q"}, Capacity: 1}, StateAvailable, monday.Add(-time.Hour), time.Time{}))
	must(r.RestoreChat(StoredChat{Conversation: tk("a1"), Queue: tk("q"), Agent: tk("ann"), Entered: monday}))
	must(r.RestoreChat(StoredChat{Conversation: tk("b1"), Queue: tk("q"), Agent: tk("ben"), Entered: monday, WrapUp: true, WrapUpSince: monday}))
	must(r.RestoreWaiting(Arrival{Conversation: tk("w2"), Queue: tk("q")}, monday.Add(2*time.Second)))
	must(r.RestoreWaiting(Arrival{Conversation: tk("w1"), Queue: tk("q")}, monday.Add(time.Second)))
	if err := r.RestoreChat(StoredChat{Conversation: tk("x"), Queue: tk("q"), Agent: tk("nobody")}); !errors.Is(err, ErrUnknownAgent) {
		t.Fatalf("restore chat of unknown agent: %v", err)
	}
	var got []string
	for _, d := range r.Tick(monday.Add(time.Minute)) {
		got = append(got, show(d))
	}
	want := []string{"wrapup_ended b1 ben wrap_up_timeout", "offer w1 ben", "offer w2 ann"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestReconfiguringAnAgentWithdrawsAnOfferItNoLongerFits(t *testing.T) {
	f := newFixture(t, qc("q"), qc("r"))
	f.agent("ann", "q r", langs("de"))
	f.arrive("c1", "q", 0, "de")
	f.take()
	f.record(f.r.SetAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"r"}, Primary: "de", Capacity: 1}, f.now))
	f.want("withdrawn c1 ann reconfigured")
	f.record(f.r.SetAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"q"}, Primary: "de", Capacity: 1}, f.now))
	f.want("offer c1 ann")
	f.record(f.r.SetAgent(AgentConfig{Agent: tk("ann"), Queues: []string{"q"}, Primary: "en", Capacity: 1}, f.now))
	f.want("withdrawn c1 ann reconfigured") // the queue does not translate
}

func TestQueueSettingsOfferAtOnce(t *testing.T) {
	q := qc("q")
	f := newFixture(t, q)
	f.agent("ann", "q", langs("en"))
	f.arrive("c1", "q", 0, "de")
	f.want()
	q.AllowTranslation = true
	f.record(f.r.SetQueue(q, f.now))
	f.want("offer c1 ann")
	q.AllowTranslation = false
	f.record(f.r.SetQueue(q, f.now))
	f.want("withdrawn c1 ann reconfigured")
}

func TestQueueCreatedAfterItsAgents(t *testing.T) {
	f := newFixture(t)
	f.agent("ann", "late")
	if _, err := f.r.SetQueue(qc("late"), f.now); err != nil {
		t.Fatal(err)
	}
	f.arrive("c1", "late", 0, "")
	f.want("offer c1 ann")
}

func TestNextDeadline(t *testing.T) {
	f := newFixture(t, qc("q"))
	if _, ok := f.r.NextDeadline(); ok {
		t.Fatal("deadline without work")
	}
	f.agent("ann", "q")
	f.arrive("c1", "q", 0, "")
	if d, ok := f.r.NextDeadline(); !ok || !d.Equal(f.now.Add(20*time.Second)) {
		t.Fatalf("next deadline %v %v", d, ok)
	}
	f.accept("c1", "ann")
	if _, ok := f.r.NextDeadline(); ok {
		t.Fatal("the accepted offer's deadline is still pending")
	}
}
