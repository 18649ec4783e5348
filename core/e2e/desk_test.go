package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDeskScopesAndCRM checks the console API's rules behind the browser tests: who sees which
// conversations, agents and queues, and how the local CRM refuses bad input.
func TestDeskScopesAndCRM(t *testing.T) {
	h := startHub(t, hubOptions{extraUsers: "" +
		"      - {username: sue, display_name: Sue Sales, role: supervisor, group: sales, queues: [sales], password: " + password + "}\n" +
		"      - {username: carl, display_name: Carl Seller, group: sales, queues: [sales], password: " + password + "}\n"})
	alice := availableAgent(t, h, "acme", "alice")
	c := newCustomer(t, h.url, "Nora", "nora@example.com")
	conv := startChat(t, h, alice, c)
	sam, sue, ada, bob := login(t, h.url, "acme", "sam"), login(t, h.url, "acme", "sue"), login(t, h.url, "acme", "ada"), login(t, h.url, "acme", "bob")
	other := login(t, h.url, "globex", "alice")

	// Who may read the support chat: its agent, the support supervisor, the admin.
	for _, tc := range []struct {
		who  string
		a    *agent
		want int
	}{{"alice", alice, 200}, {"sam (group support)", sam, 200}, {"ada (admin)", ada, 200}, {"bob (another agent)", bob, 404}, {"sue (group sales)", sue, 404}, {"globex", other, 404}} {
		if got := tc.a.call("GET", "/api/v1/conversations/"+conv, nil, nil); got != tc.want {
			t.Errorf("%s reads the support chat: %d, want %d", tc.who, got, tc.want)
		}
	}

	// The supervisor view follows the scope; agents have none.
	type sup struct {
		Scope  string `json:"scope"`
		Queues []struct {
			ID     string `json:"id"`
			Active int    `json:"active"`
		} `json:"queues"`
		Agents []struct {
			Username string `json:"username"`
			Load     int    `json:"load"`
		} `json:"agents"`
	}
	var s1, s2, s3 sup
	sam.must("GET", "/api/v1/supervisor", nil, &s1)
	sue.must("GET", "/api/v1/supervisor", nil, &s2)
	ada.must("GET", "/api/v1/supervisor", nil, &s3)
	ids := func(s sup) (q, a []string) {
		for _, x := range s.Queues {
			q = append(q, x.ID)
		}
		for _, x := range s.Agents {
			a = append(a, x.Username)
		}
		return
	}
	q1, a1 := ids(s1)
	q2, a2 := ids(s2)
	q3, _ := ids(s3)
	if strings.Join(q1, ",") != "support" || strings.Contains(strings.Join(a1, ","), "carl") || !strings.Contains(strings.Join(a1, ","), "alice") {
		t.Errorf("sam's scope: queues %v, agents %v", q1, a1)
	}
	if strings.Join(q2, ",") != "sales" || strings.Contains(strings.Join(a2, ","), "alice") || !strings.Contains(strings.Join(a2, ","), "carl") {
		t.Errorf("sue's scope: queues %v, agents %v", q2, a2)
	}
	if strings.Join(q3, ",") != "support,sales" {
		t.Errorf("the admin's scope: queues %v", q3)
	}
	if s1.Queues[0].Active != 1 {
		t.Errorf("the support queue shows %d active chats, want 1", s1.Queues[0].Active)
	}
	for _, a := range s1.Agents {
		if a.Username == "alice" && a.Load != 1 {
			t.Errorf("alice's load is %d, want 1", a.Load)
		}
	}
	if got := bob.call("GET", "/api/v1/supervisor", nil, nil); got != 403 {
		t.Errorf("an agent opens the supervisor view: %d, want 403", got)
	}

	// The local CRM: bad input is refused and nothing is linked.
	for _, tc := range []struct {
		what string
		a    *agent
		body map[string]string
		want int
	}{
		{"no details", alice, map[string]string{}, 400},
		{"a bad email", alice, map[string]string{"email": "not an address"}, 400},
		{"an overlong name", alice, map[string]string{"first_name": strings.Repeat("x", 201)}, 400},
		{"another agent's chat", bob, map[string]string{"first_name": "Nora"}, 404},
		{"another tenant", other, map[string]string{"first_name": "Nora"}, 404},
	} {
		if got := tc.a.call("POST", "/api/v1/conversations/"+conv+"/customer", tc.body, nil); got != tc.want {
			t.Errorf("create a customer with %s: %d, want %d", tc.what, got, tc.want)
		}
	}
	var card struct {
		Customer struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"customer"`
	}
	alice.must("POST", "/api/v1/conversations/"+conv+"/customer", map[string]string{"first_name": "Nora", "email": "nora@example.com"}, &card)
	if card.Customer.ID == "" || card.Customer.Email != "nora@example.com" {
		t.Fatalf("created customer: %+v", card)
	}
	if got := alice.call("POST", "/api/v1/conversations/"+conv+"/customer", map[string]string{"first_name": "Nora"}, nil); got != 409 {
		t.Errorf("a second record for the same chat: %d, want 409", got)
	}
	cases := "/api/v1/customers/" + card.Customer.ID + "/cases"
	if got := alice.call("POST", cases, map[string]string{"subject": " "}, nil); got != 400 {
		t.Errorf("a case without a subject: %d, want 400", got)
	}
	if got := other.call("POST", cases, map[string]string{"subject": "x"}, nil); got != 404 {
		t.Errorf("a case for another tenant's customer: %d, want 404", got)
	}
	if got := alice.call("POST", cases, map[string]string{"subject": "Refund", "conversation_id": conv}, nil); got != 200 {
		t.Errorf("a case from the chat: %d", got)
	}
	var view struct {
		Customer struct {
			ID string `json:"id"`
		} `json:"customer"`
	}
	alice.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.Customer.ID != card.Customer.ID {
		t.Errorf("the chat is linked to %q, want the new record %q", view.Customer.ID, card.Customer.ID)
	}

	// A later chat of the same customer opens the record by its email.
	alice.must("POST", "/api/v1/conversations/"+conv+"/end", nil, nil)
	alice.must("POST", "/api/v1/conversations/"+conv+"/wrapup", map[string]string{"disposition": "Resolved"}, nil)
	c.stop()
	c2 := newCustomer(t, h.url, "Nora", "NORA@example.com")
	conv2 := startChat(t, h, alice, c2)
	alice.must("GET", "/api/v1/conversations/"+conv2, nil, &view)
	if view.Customer.ID != card.Customer.ID {
		t.Errorf("the second chat is linked to %q, want %q", view.Customer.ID, card.Customer.ID)
	}
	var full struct {
		Cases         []struct{ Subject string } `json:"cases"`
		Conversations []struct{ ID string }      `json:"conversations"`
	}
	alice.must("GET", "/api/v1/customers/"+card.Customer.ID, nil, &full)
	if len(full.Cases) != 1 || full.Cases[0].Subject != "Refund" || len(full.Conversations) != 2 {
		t.Errorf("customer card: %+v", full)
	}

	// Transcripts: read marks, formats, bad parameters.
	if got := alice.call("POST", "/api/v1/conversations/"+conv+"/read", map[string]int{"seq": -1}, nil); got != 400 {
		t.Errorf("a negative read mark: %d, want 400", got)
	}
	if got := alice.call("GET", "/api/v1/conversations/"+conv+"/transcript?format=pdf", nil, nil); got != 400 {
		t.Errorf("an unknown transcript format: %d, want 400", got)
	}
	req, _ := http.NewRequest("GET", h.url+"/api/v1/conversations/"+conv+"/transcript?format=html", nil)
	res, err := alice.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(string(body), "Resolved") {
		t.Errorf("HTML transcript: %d %v\n%s", res.StatusCode, res.Header, body)
	}
	var list struct {
		Conversations []struct{ ID string } `json:"conversations"`
	}
	sue.must("GET", "/api/v1/transcripts", nil, &list)
	if len(list.Conversations) != 0 {
		t.Errorf("the sales supervisor lists support transcripts: %+v", list)
	}
	sam.must("GET", "/api/v1/transcripts", nil, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].ID != conv {
		t.Errorf("the support supervisor's transcripts: %+v", list)
	}
	if got := sam.call("GET", "/api/v1/transcripts?before=yesterday", nil, nil); got != 400 {
		t.Errorf("a bad before: %d, want 400", got)
	}
}
