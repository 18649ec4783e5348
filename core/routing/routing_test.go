package routing

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

func key(id string) Key { return Key{Tenant: "acme", ID: id} }

func TestLongestWaitingAvailableAgentGetsTheOldestConversation(t *testing.T) {
	e := New(30 * time.Second)
	e.SetAgent(key("ann"), true, 2, []string{"support"}, t0.Add(2*time.Minute))
	e.SetAgent(key("ben"), true, 2, []string{"support"}, t0.Add(1*time.Minute)) // waited longer
	e.SetAgent(key("cat"), false, 2, []string{"support"}, t0)                   // not available
	e.SetAgent(key("dan"), true, 2, []string{"sales"}, t0)                      // other queue
	e.Enqueue(key("c2"), "support", t0.Add(5*time.Second))
	e.Enqueue(key("c1"), "support", t0)

	offers := e.Assign(t0.Add(3 * time.Minute))
	if len(offers) != 2 {
		t.Fatalf("offers %+v", offers)
	}
	if offers[0].Conversation != key("c1") || offers[0].Agent != key("ben") {
		t.Fatalf("the oldest conversation goes to the agent who waited longest: %+v", offers[0])
	}
	if offers[1].Conversation != key("c2") || offers[1].Agent != key("ann") {
		t.Fatalf("second offer %+v", offers[1])
	}
	if again := e.Assign(t0.Add(3 * time.Minute)); len(again) != 0 {
		t.Fatalf("one pending offer per conversation and per agent: %+v", again)
	}
}

func TestNeverAboveCapacity(t *testing.T) {
	e := New(30 * time.Second)
	e.SetAgent(key("ann"), true, 2, []string{"support"}, t0)
	for i := 0; i < 5; i++ {
		e.Enqueue(key(string(rune('a'+i))), "support", t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(time.Minute)
	accepted := 0
	for round := 0; round < 10; round++ {
		for _, o := range e.Assign(now) {
			if !e.Accept(o.Conversation, o.Agent, now) {
				t.Fatalf("accept %+v", o)
			}
			accepted++
		}
		if load := e.Agent(key("ann")).Load(); load > 2 {
			t.Fatalf("load %d above capacity 2", load)
		}
	}
	if accepted != 2 {
		t.Fatalf("accepted %d, want capacity 2", accepted)
	}
	e.Release(key("ann"), "a")
	if offers := e.Assign(now); len(offers) != 1 || offers[0].Conversation != key("c") {
		t.Fatalf("after a release the next conversation in line is offered: %+v", offers)
	}
}

func TestRejectAndTimeoutMoveOn(t *testing.T) {
	e := New(10 * time.Second)
	e.SetAgent(key("ann"), true, 1, []string{"support"}, t0)
	e.SetAgent(key("ben"), true, 1, []string{"support"}, t0.Add(time.Second))
	e.Enqueue(key("c1"), "support", t0)
	o := e.Assign(t0)[0]
	if o.Agent != key("ann") || !e.Reject(o.Conversation, o.Agent) {
		t.Fatalf("offer %+v", o)
	}
	o = e.Assign(t0)[0]
	if o.Agent != key("ben") {
		t.Fatalf("after a rejection the next agent gets it: %+v", o)
	}
	if exp := e.Expire(t0.Add(9 * time.Second)); len(exp) != 0 {
		t.Fatalf("expired early: %+v", exp)
	}
	if exp := e.Expire(t0.Add(10 * time.Second)); len(exp) != 1 {
		t.Fatalf("not expired at the deadline: %+v", exp)
	}
	if offers := e.Assign(t0.Add(10 * time.Second)); len(offers) != 0 {
		t.Fatalf("both agents declined: nobody is offered it again: %+v", offers)
	}
	if e.Accept(key("c1"), key("ben"), t0.Add(11*time.Second)) {
		t.Fatal("an expired offer was accepted")
	}
}

func TestTenantsNeverMix(t *testing.T) {
	e := New(time.Minute)
	e.SetAgent(Key{"globex", "ann"}, true, 6, []string{"support"}, t0)
	e.Enqueue(Key{"acme", "c1"}, "support", t0)
	if offers := e.Assign(t0); len(offers) != 0 {
		t.Fatalf("offered across tenants: %+v", offers)
	}
}

func TestQueueOfferTimeout(t *testing.T) {
	e := New(time.Minute)
	e.SetQueue(key("support"), 5*time.Second)
	e.SetAgent(key("ann"), true, 1, []string{"support", "sales"}, t0)
	e.SetAgent(key("ben"), true, 1, []string{"sales"}, t0)
	e.Enqueue(key("c1"), "support", t0)
	e.Enqueue(key("c2"), "sales", t0.Add(time.Second))
	offers := e.Assign(t0)
	if len(offers) != 2 || !offers[0].Expires.Equal(t0.Add(5*time.Second)) || !offers[1].Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("offers %+v: support offers expire after its 5s, sales after the default minute", offers)
	}
}
