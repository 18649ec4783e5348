package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// startChat starts a customer conversation and has the agent accept it; it returns the
// conversation id.
func startChat(t testing.TB, h *hubProc, a *agent, c *customer) string {
	t.Helper()
	ctx := ctxTimeout(t, 60*time.Second)
	go c.run(ctx)
	c.waitStarted(t)
	conv := a.waitOffer(ctxTimeout(t, 15*time.Second))
	a.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	return conv
}

// waitPush waits for a console push of the given type.
func waitPush(a *agent, typ string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case p := <-a.pushes:
			if p["type"] == typ {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func TestConversationBothWays(t *testing.T) {
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Carla", "carla@example.com")
	conv := startChat(t, h, a, c)
	ctx := ctxTimeout(t, 30*time.Second)

	c.say(ctx, "Hello, my <b>order</b> is late")
	if !poll(10*time.Second, func() bool { m, _ := a.messages(conv, 0); return len(m) == 1 }) {
		t.Fatal("the customer's message did not reach the agent")
	}
	msgs, _ := a.messages(conv, 0)
	if msgs[0].Text != "Hello, my <b>order</b> is late" || strings.Contains(msgs[0].HTML, "<b>") {
		t.Fatalf("customer text must arrive as text, its markup escaped: %+v", msgs[0])
	}
	if err := a.send(ctx, conv, "m1", "Sorry to hear that, Carla."); err != nil {
		t.Fatal(err)
	}
	if !poll(10*time.Second, func() bool { _, got, _ := c.snapshot(); return slices.Contains(got, "Sorry to hear that, Carla.") }) {
		t.Fatal("the agent's reply did not reach the customer")
	}
	// Typing, both ways.
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	c.write(ctx, conn, map[string]any{"type": "typing", "active": true})
	if !waitPush(a, "typing", 5*time.Second) {
		t.Fatal("the customer's typing did not reach the agent")
	}
	a.must("POST", "/api/v1/conversations/"+conv+"/typing", map[string]bool{"active": true}, nil)
	if !poll(5*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.events {
			if e["type"] == "typing" && e["active"] == true && e["name"] == "Alice Archer" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the agent's typing did not reach the customer")
	}
	// A repeated send with the same client id is stored once.
	if err := a.send(ctx, conv, "m1", "Sorry to hear that, Carla."); err != nil {
		t.Fatal(err)
	}
	msgs, _ = a.messages(conv, 0)
	if len(msgs) != 2 {
		t.Fatalf("want 2 stored messages, got %d: %+v", len(msgs), msgs)
	}
	var view struct {
		State    string `json:"state"`
		Customer struct {
			DisplayName string `json:"display_name"`
			Email       string `json:"email"`
		} `json:"customer"`
	}
	a.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.State != "active" || view.Customer.DisplayName != "Carla" || view.Customer.Email != "carla@example.com" {
		t.Fatalf("conversation view: %+v", view)
	}
	a.must("POST", "/api/v1/conversations/"+conv+"/end", nil, &view)
	if view.State != "wrap_up" {
		t.Fatalf("after End the chat is in post-processing, got %q", view.State)
	}
	if !poll(10*time.Second, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.events {
			if e["type"] == "ended" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the customer was not told the chat ended")
	}
	a.must("POST", "/api/v1/conversations/"+conv+"/wrapup", map[string]string{"disposition": "resolved", "notes": "refund issued"}, &view)
	if view.State != "closed" {
		t.Fatalf("after post-processing the chat is closed, got %q", view.State)
	}
	if got := h.metric("switchboard_plugin_messages_total", `direction="in"`); got < 1 {
		t.Fatalf("messages in metric = %v", got)
	}
}
