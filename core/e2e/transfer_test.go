package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTransfers(t *testing.T) {
	h := startHub(t, hubOptions{offerTimeout: "5s"})
	alice := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Yan", "")
	conv := startChat(t, h, alice, c)
	c.say(ctxTimeout(t, 10*time.Second), "I want to buy more")
	poll(10*time.Second, func() bool { m, _ := alice.messages(conv, 0); return len(m) == 1 })

	// To a named agent who rejects: the chat comes back to alice with a notice.
	bob := availableAgent(t, h, "acme", "bob")
	alice.must("POST", "/api/v1/conversations/"+conv+"/transfer", map[string]string{"agent": "bob"}, nil)
	if got := bob.waitOffer(ctxTimeout(t, 10*time.Second)); got != conv {
		t.Fatalf("bob was offered %s", got)
	}
	bob.must("POST", "/api/v1/conversations/"+conv+"/reject", nil, nil)
	if !waitPush(alice, "transfer_returned", 10*time.Second) {
		t.Fatal("alice was not told bob declined the transfer")
	}

	// Bad input changes nothing.
	for _, body := range []map[string]string{{"queue": "nowhere"}, {"agent": "nobody"}, {"queue": "sales", "agent": "bob"}, {}} {
		if code := alice.call("POST", "/api/v1/conversations/"+conv+"/transfer", body, nil); code != 400 {
			t.Fatalf("transfer %v answered %d, want 400", body, code)
		}
	}
	other := login(t, h.url, "globex", "alice")
	if code := other.call("POST", "/api/v1/conversations/"+conv+"/transfer", map[string]string{"queue": "support"}, nil); code != 404 {
		t.Fatalf("a transfer from another tenant answered %d, want 404", code)
	}

	// To the sales queue: sam (a member) gets it with its history; the customer is told.
	alice.must("POST", "/api/v1/conversations/"+conv+"/transfer", map[string]string{"queue": "sales"}, nil)
	var snap struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	alice.must("GET", "/api/v1/snapshot", nil, &snap)
	if len(snap.Conversations) != 0 {
		t.Fatalf("alice still holds %d chats after the transfer", len(snap.Conversations))
	}
	sam := availableAgent(t, h, "acme", "sam")
	if got := sam.waitOffer(ctxTimeout(t, 10*time.Second)); got != conv {
		t.Fatalf("sam was offered %s", got)
	}
	var view struct {
		Queue string `json:"queue"`
		State string `json:"state"`
	}
	sam.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, &view)
	if view.Queue != "sales" || view.State != "active" {
		t.Fatalf("after the transfer: %+v", view)
	}
	msgs, _ := sam.messages(conv, 0)
	if len(msgs) < 2 || msgs[0].Text != "I want to buy more" {
		t.Fatalf("the history did not follow the chat: %+v", msgs)
	}
	if !poll(10*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		var seen []string
		for _, e := range c.events {
			seen = append(seen, e["type"].(string)+":"+fmt.Sprint(e["name"]))
		}
		i := slices.IndexFunc(seen, func(s string) bool { return strings.HasPrefix(s, "transferred:") })
		return i >= 0 && slices.Contains(seen[i:], "assigned:Sam Super")
	}) {
		t.Fatal("the customer was not told of the transfer and the new agent")
	}
}
