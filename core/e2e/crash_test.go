package e2e

import (
	"fmt"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// traffic has the customer and the agent each send n numbered messages, one every gap, and calls
// disrupt once the customer has had `at` messages acknowledged.
func traffic(t *testing.T, a *agent, c *customer, conv string, n, at int, gap time.Duration, disrupt func()) {
	t.Helper()
	ctx := ctxTimeout(t, 90*time.Second)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			c.say(ctx, fmt.Sprintf("c%03d", i))
			time.Sleep(gap)
		}
	}()
	errc := make(chan error, 1)
	go func() {
		defer wg.Done()
		for i := 1; i <= n; i++ {
			if err := a.send(ctx, conv, fmt.Sprintf("a%03d", i), fmt.Sprintf("a%03d", i)); err != nil {
				errc <- err
				return
			}
			time.Sleep(gap)
		}
	}()
	go func() {
		defer wg.Done()
		if !poll(30*time.Second, func() bool { acked, _, _ := c.snapshot(); return len(acked) >= at }) {
			errc <- fmt.Errorf("the customer never had %d messages acknowledged", at)
			return
		}
		disrupt()
	}()
	wg.Wait()
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	expectDelivered(t, a, c, conv, n)
}

// expectDelivered checks that every message of both sides arrived on the other side exactly once
// and in order.
func expectDelivered(t *testing.T, a *agent, c *customer, conv string, n int) {
	t.Helper()
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, fmt.Sprintf("a%03d", i))
	}
	ok := poll(60*time.Second, func() bool {
		acked, got, pending := c.snapshot()
		return pending == 0 && len(acked) == n && len(got) >= n
	})
	acked, got, pending := c.snapshot()
	if !ok {
		t.Fatalf("not everything arrived: customer acked %d/%d (pending %d), customer received %d/%d", len(acked), n, pending, len(got), n)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the customer received the agent's messages out of order or twice:\n got %v\nwant %v", got, want)
	}
	stored, _ := a.messages(conv, 0)
	var fromCustomer, fromAgent []string
	for _, m := range stored {
		switch m.SenderKind {
		case "customer":
			fromCustomer = append(fromCustomer, m.Text)
		case "agent":
			fromAgent = append(fromAgent, m.Text)
		}
	}
	var wantC []string
	for i := 1; i <= n; i++ {
		wantC = append(wantC, fmt.Sprintf("c%03d", i))
	}
	if !slices.Equal(fromCustomer, wantC) {
		t.Fatalf("the agent sees the customer's messages out of order or twice:\n got %v\nwant %v", fromCustomer, wantC)
	}
	if !slices.Equal(fromAgent, want) {
		t.Fatalf("the store holds the agent's messages out of order or twice:\n got %v\nwant %v", fromAgent, want)
	}
}

func TestWebchatPluginKillLosesNothing(t *testing.T) {
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Kim", "")
	conv := startChat(t, h, a, c)
	restartsBefore := h.metric("switchboard_plugin_restarts_total", `instance="webchat"`)

	var restartedIn time.Duration
	traffic(t, a, c, conv, 150, 50, 8*time.Millisecond, func() {
		p, _ := h.plugin("webchat")
		if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
			t.Errorf("kill plugin %d: %v", p.PID, err)
			return
		}
		killed := time.Now()
		h.waitPlugin("webchat", p.PID)
		restartedIn = time.Since(killed)
	})
	t.Logf("web chat plugin restarted %s after SIGKILL", restartedIn.Round(time.Millisecond))
	if restartedIn <= 0 || restartedIn > 2*time.Second {
		t.Fatalf("the plugin must be back within 2s of a crash, took %s", restartedIn)
	}
	if got := h.metric("switchboard_plugin_restarts_total", `instance="webchat"`); got != restartsBefore+1 {
		t.Fatalf("switchboard_plugin_restarts_total = %v, want %v", got, restartsBefore+1)
	}
}

func TestCoreKillLosesNothing(t *testing.T) {
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Kim", "")
	conv := startChat(t, h, a, c)

	old, _ := h.plugin("webchat")
	traffic(t, a, c, conv, 150, 50, 8*time.Millisecond, func() {
		h.kill()
		// Everything acknowledged before the crash must survive it.
		ackedAtCrash, _, _ := c.snapshot()
		h.start()
		poll(20*time.Second, func() bool {
			stored, ok := a.messages(conv, 0)
			if !ok {
				return false
			}
			for _, want := range ackedAtCrash {
				if !slices.ContainsFunc(stored, func(m message) bool { return m.Text == want }) {
					t.Errorf("message %q was acknowledged to the customer before the crash but is not stored after it", want)
					return true
				}
			}
			return true
		})
	})
	// The orphaned plugin of the killed hub ends by itself.
	if !poll(5*time.Second, func() bool { return syscall.Kill(old.PID, 0) != nil }) {
		t.Fatalf("the plugin %d of the killed hub still runs", old.PID)
	}
}

// A conversation waiting when the hub crashed keeps its place and is offered after the restart.
func TestWaitingConversationSurvivesARestart(t *testing.T) {
	h := startHub(t, hubOptions{})
	alice := login(t, h.url, "acme", "alice") // signed in, not yet Available
	c := newCustomer(t, h.url, "Zoe", "")
	go c.run(ctxTimeout(t, 60*time.Second))
	c.waitStarted(t)
	c.say(ctxTimeout(t, 10*time.Second), "still there?")
	if !poll(10*time.Second, func() bool { acked, _, _ := c.snapshot(); return len(acked) == 1 }) {
		t.Fatal("the message was not acknowledged")
	}
	h.kill()
	h.start()
	// The session survives the restart: the same console carries on.
	alice.listen()
	alice.setState("available")
	conv := alice.waitOffer(ctxTimeout(t, 15*time.Second))
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	if msgs, _ := alice.messages(conv, 0); len(msgs) != 1 || msgs[0].Text != "still there?" {
		t.Fatalf("after the restart the conversation holds %+v", msgs)
	}
}
