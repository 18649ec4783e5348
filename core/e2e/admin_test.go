package e2e

import (
	"testing"
	"time"
)

// An admin changes routing settings at run time; bad values are refused and change nothing.
func TestAdminChangesRoutingAtRunTime(t *testing.T) {
	h := startHub(t, hubOptions{})
	ada := login(t, h.url, "acme", "ada")
	alice := availableAgent(t, h, "acme", "alice")

	if code := alice.call("PUT", "/api/v1/admin/agents/alice", map[string]int{"max_chats": 6}, nil); code != 403 {
		t.Fatalf("an agent changed routing settings: %d", code)
	}
	for _, bad := range []map[string]any{{"max_chats": 7}, {"max_chats": 0}, {"queues": []string{"nowhere"}}} {
		if code := ada.call("PUT", "/api/v1/admin/agents/alice", bad, nil); code != 400 {
			t.Fatalf("%v answered %d, want 400", bad, code)
		}
	}
	if code := ada.call("PUT", "/api/v1/admin/agents/nobody", map[string]int{"max_chats": 2}, nil); code != 404 {
		t.Fatalf("an unknown agent answered %d", code)
	}
	for _, bad := range []map[string]any{{"strategy": "random"}, {"offer_timeout": "1s"}, {"overflow_queue": "support"}, {"missed_offers_limit": 0}} {
		if code := ada.call("PUT", "/api/v1/admin/queues/support", bad, nil); code != 400 {
			t.Fatalf("queue change %v answered %d, want 400", bad, code)
		}
	}
	if code := ada.call("PUT", "/api/v1/admin/queues/nowhere", map[string]any{"auto_accept": true}, nil); code != 404 {
		t.Fatalf("an unknown queue answered %d", code)
	}

	// Capacity 1: alice takes one chat and the second waits…
	var u struct {
		MaxChats int `json:"max_chats"`
	}
	ada.must("PUT", "/api/v1/admin/agents/alice", map[string]int{"max_chats": 1}, &u)
	if u.MaxChats != 1 {
		t.Fatalf("max_chats is %d", u.MaxChats)
	}
	ctx := ctxTimeout(t, 60*time.Second)
	for _, name := range []string{"One", "Two"} {
		c := newCustomer(t, h.url, name, "")
		go c.run(ctx)
		c.waitStarted(t)
	}
	first := alice.waitOffer(ctxTimeout(t, 10*time.Second))
	alice.must("POST", "/api/v1/conversations/"+first+"/accept", nil, nil)
	// …until the admin raises it, when the second is offered at once; with auto_accept on, the
	// queue's next chat needs no click.
	ada.must("PUT", "/api/v1/admin/queues/support", map[string]any{"auto_accept": true}, nil)
	ada.must("PUT", "/api/v1/admin/agents/alice", map[string]int{"max_chats": 2}, nil)
	if !poll(10*time.Second, func() bool {
		var snap struct {
			Conversations []struct{ ID string } `json:"conversations"`
		}
		alice.must("GET", "/api/v1/snapshot", nil, &snap)
		return len(snap.Conversations) == 2
	}) {
		t.Fatal("raising the capacity did not bring alice the waiting chat")
	}
}
