package e2e

import (
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
