package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Many agents accepting at once through the real API never go over capacity, and no
// conversation is assigned twice.
func TestConcurrentAcceptsKeepCapacity(t *testing.T) {
	const agents, chats, capacity = 8, 40, 3
	var users strings.Builder
	for i := 0; i < agents; i++ {
		fmt.Fprintf(&users, "      - {username: c%02d, group: support, queues: [support], max_chats: %d, password: %s}\n", i, capacity, password)
	}
	h := startHub(t, hubOptions{extraUsers: users.String()})
	var consoles []*agent
	for i := 0; i < agents; i++ {
		consoles = append(consoles, availableAgent(t, h, "acme", fmt.Sprintf("c%02d", i)))
	}
	ctx := ctxTimeout(t, 60*time.Second)
	for i := 0; i < chats; i++ {
		c := newCustomer(t, h.url, fmt.Sprintf("Cust %d", i), "")
		go c.run(ctx)
	}

	// Every agent accepts every offer it gets, as fast as it can, and also tries to grab offers
	// made to others.
	var (
		mu       sync.Mutex
		assigned = map[string]string{} // conversation -> agent, from successful accepts
		double   []string
		wg       sync.WaitGroup
	)
	offered := make(chan string, 1024)
	full := make(chan struct{})
	var fullOnce sync.Once
	for _, a := range consoles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.After(20 * time.Second)
			for {
				var conv string
				select {
				case p := <-a.pushes:
					if p["type"] != "offer" {
						continue
					}
					conv = p["conversation_id"].(string)
					offered <- conv
				case conv = <-offered: // someone else's offer: accepting it must fail
				case <-deadline:
					return
				case <-full:
					return
				}
				if a.call("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil) == 200 {
					mu.Lock()
					if prev, ok := assigned[conv]; ok {
						double = append(double, conv+" to "+prev+" and "+a.id)
					}
					assigned[conv] = a.id
					n := len(assigned)
					mu.Unlock()
					if n == agents*capacity {
						fullOnce.Do(func() { close(full) })
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if len(double) > 0 {
		t.Fatalf("conversations assigned twice: %v", double)
	}
	if len(assigned) != agents*capacity {
		t.Fatalf("%d conversations assigned, want every agent full: %d", len(assigned), agents*capacity)
	}
	perAgent := map[string]int{}
	for _, a := range assigned {
		perAgent[a]++
	}
	for _, a := range consoles {
		var snap struct {
			Conversations []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"conversations"`
		}
		a.must("GET", "/api/v1/snapshot", nil, &snap)
		if len(snap.Conversations) > capacity || perAgent[a.id] > capacity {
			t.Fatalf("agent %s holds %d chats (accepted %d), capacity %d", a.id, len(snap.Conversations), perAgent[a.id], capacity)
		}
		if len(snap.Conversations) != perAgent[a.id] {
			t.Fatalf("agent %s: the store says %d chats, accepts said %d", a.id, len(snap.Conversations), perAgent[a.id])
		}
	}
}
