package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// An offer nobody answers expires after the queue's offer_timeout and goes to the next agent;
// a rejected one too; and an agent cannot accept an offer that is not theirs.
func TestOfferRejectAndTimeout(t *testing.T) {
	h := startHub(t, hubOptions{offerTimeout: "5s"})
	alice := availableAgent(t, h, "acme", "alice")
	bob := availableAgent(t, h, "acme", "bob")

	c := newCustomer(t, h.url, "Uma", "")
	go c.run(ctxTimeout(t, 60*time.Second))
	c.waitStarted(t)
	conv := alice.waitOffer(ctxTimeout(t, 10*time.Second))
	if code := bob.call("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil); code != 409 {
		t.Fatalf("bob accepted alice's offer: %d", code)
	}
	began := time.Now()
	if got := bob.waitOffer(ctxTimeout(t, 15*time.Second)); got != conv {
		t.Fatalf("bob was offered %s, want %s", got, conv)
	}
	if waited := time.Since(began); waited < 4*time.Second {
		t.Fatalf("the offer moved on after %s, before the queue's 5s offer timeout", waited)
	}
	if !waitPush(alice, "offer_revoked", 5*time.Second) {
		t.Fatal("alice was not told her offer expired")
	}
	if code := alice.call("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil); code != 409 {
		t.Fatalf("accepting an expired offer answered %d", code)
	}
	bob.must("POST", "/api/v1/conversations/"+conv+"/reject", nil, nil)
	if got := h.metric("switchboard_offers_total", `outcome="timed_out"`); got != 1 {
		t.Fatalf("timed-out offers %v", got)
	}
	if got := h.metric("switchboard_offers_total", `outcome="rejected"`); got != 1 {
		t.Fatalf("rejected offers %v", got)
	}
	// Both declined; a third agent who becomes available gets it.
	sam := availableAgent(t, h, "acme", "sam")
	if got := sam.waitOffer(ctxTimeout(t, 10*time.Second)); got != conv {
		t.Fatalf("sam was offered %s", got)
	}
	sam.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
}

// An agent who misses missed_offers_limit offers in a row is put On Break with the reason; the
// next agent gets the chat, and a first reply later than the queue's target counts as an SLA
// breach pushed to the agent.
func TestMissedOffersAndFirstResponseSLA(t *testing.T) {
	h := startHub(t, hubOptions{offerTimeout: "5s", queueExtra: ", missed_offers_limit: 1, first_response_target: 1s"})
	alice := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Wes", "")
	go c.run(ctxTimeout(t, 60*time.Second))
	c.waitStarted(t)
	conv := alice.waitOffer(ctxTimeout(t, 10*time.Second))

	// alice does not answer.
	var state map[string]any
	if !poll(15*time.Second, func() bool {
		select {
		case p := <-alice.pushes:
			if p["type"] == "state" {
				state = p
				return true
			}
		default:
		}
		return false
	}) {
		t.Fatal("alice was not moved out of Available after missing the offer")
	}
	if state["state"] != "on_break" || state["reason"] != "missed_offers_limit" {
		t.Fatalf("state push %v, want on_break with reason missed_offers_limit", state)
	}
	var session struct {
		User struct {
			State       string `json:"state"`
			StateReason string `json:"state_reason"`
		} `json:"user"`
	}
	alice.must("GET", "/api/v1/session", nil, &session)
	if session.User.State != "on_break" || session.User.StateReason != "missed_offers_limit" {
		t.Fatalf("stored state %+v", session.User)
	}

	bob := availableAgent(t, h, "acme", "bob")
	if got := bob.waitOffer(ctxTimeout(t, 10*time.Second)); got != conv {
		t.Fatalf("bob was offered %s, want %s", got, conv)
	}
	bob.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	if !poll(10*time.Second, func() bool {
		select {
		case p := <-bob.pushes:
			return p["type"] == "sla" && p["reason"] == "first_response" && p["conversation_id"] == conv
		default:
			return false
		}
	}) {
		t.Fatal("no SLA breach was pushed to bob after the first-response target passed")
	}
	if got := h.metric("switchboard_sla_breaches_total", `kind="first_response"`); got != 1 {
		t.Fatalf("first-response breaches counted %v", got)
	}
	var view struct {
		WaitingSince string `json:"waiting_since"`
		PastSLA      bool   `json:"past_sla"`
	}
	bob.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.WaitingSince == "" || !view.PastSLA {
		t.Fatalf("the conversation does not show the customer waiting past the SLA: %+v", view)
	}
	if err := bob.send(ctxTimeout(t, 10*time.Second), conv, "b1", "Sorry for the wait!"); err != nil {
		t.Fatal(err)
	}
	view.WaitingSince, view.PastSLA = "", false
	bob.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.WaitingSince != "" || view.PastSLA {
		t.Fatalf("after the reply the customer still shows as waiting: %+v", view)
	}
}

// With nobody of its queue logged in, the customer is told so (and may leave a message); when an
// agent signs in and becomes Available, the conversation is offered.
func TestClosedQueueTellsTheCustomer(t *testing.T) {
	h := startHub(t, hubOptions{})
	c := newCustomer(t, h.url, "Xia", "")
	go c.run(ctxTimeout(t, 60*time.Second))
	c.waitStarted(t)
	if !poll(10*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.events {
			if e["type"] == "queue" && e["closed"] == true && e["reason"] != "" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the customer was not told that nobody can answer")
	}
	c.say(ctxTimeout(t, 10*time.Second), "Please call me back")
	if !poll(10*time.Second, func() bool { acked, _, _ := c.snapshot(); return len(acked) == 1 }) {
		t.Fatal("the customer could not leave a message")
	}
	alice := availableAgent(t, h, "acme", "alice")
	conv := alice.waitOffer(ctxTimeout(t, 10*time.Second))
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	if msgs, _ := alice.messages(conv, 0); len(msgs) != 1 || msgs[0].Text != "Please call me back" {
		t.Fatalf("the message left while the queue was closed: %+v", msgs)
	}
}

// Waiting customers are told their place in line, and told again when it changes.
func TestCustomersHearTheirPlaceInLine(t *testing.T) {
	h := startHub(t, hubOptions{})
	login(t, h.url, "acme", "alice") // signed in, not Available: the queue is open, nobody answers
	ctx := ctxTimeout(t, 60*time.Second)
	first := newCustomer(t, h.url, "First", "")
	go first.run(ctx)
	first.waitStarted(t)
	second := newCustomer(t, h.url, "Second", "")
	go second.run(ctx)
	second.waitStarted(t)

	place := func(c *customer, want float64) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i := len(c.events) - 1; i >= 0; i-- {
			if e := c.events[i]; e["type"] == "queue" {
				return e["position"] == want
			}
		}
		return false
	}
	if !poll(10*time.Second, func() bool { return place(first, 1) && place(second, 2) }) {
		t.Fatalf("places in line not told: first %v, second %v", first.events, second.events)
	}
	first.mu.Lock()
	conn := first.conn
	first.mu.Unlock()
	first.write(ctx, conn, map[string]any{"type": "end"})
	if !poll(15*time.Second, func() bool { return place(second, 1) }) {
		t.Fatal("the second customer was not told they moved up")
	}
}

// A page can ask the web chat whether an agent could take a chat now (for proactive offers).
func TestAvailabilityForProactiveOffers(t *testing.T) {
	h := startHub(t, hubOptions{})
	available := func(query string) (int, map[string]any) {
		res, err := http.Get(h.url + "/c/webchat/availability" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	if code, body := available(""); code != 200 || body["available"] != false {
		t.Fatalf("with nobody signed in: %d %v", code, body)
	}
	availableAgent(t, h, "acme", "alice")
	if code, body := available(""); code != 200 || body["available"] != true {
		t.Fatalf("with alice available: %d %v", code, body)
	}
	if code, body := available("?queue=sales"); code != 200 || body["available"] != false {
		t.Fatalf("sales has nobody available: %d %v", code, body)
	}
	if code, body := available("?queue=nowhere"); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "unknown queue") {
		t.Fatalf("an unknown queue: %d %v", code, body)
	}
}
