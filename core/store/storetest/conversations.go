package storetest

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

func createConversation(e *env, c store.Conversation) store.Conversation {
	e.t.Helper()
	e.write(func(tx store.Tx) (err error) {
		c, err = tx.CreateConversation(c)
		return err
	})
	return c
}

func testConversations(t *testing.T, e *env) {
	const ten = "acme"
	full := store.Conversation{TenantID: ten, ID: "conv-full", Kind: store.KindCustomer, State: store.ConvQueued,
		Instance: "sms-us", Channel: "sms", ExternalKey: "+1555", QueueID: "q1", CustomerID: "cust-1",
		Identity: store.Identity{Nickname: "annie", FirstName: "Ann", LastName: "Lee", Email: "ann@x.test",
			Phone: "+1555", AccountNumber: "A-1", Language: "en"},
		Language: "en", Origin: "landing page", Prechat: []store.PrechatAnswer{{Question: "Order?", Answer: "42"}},
		CreatedAt: at(0), EnteredQueueAt: at(1), LastSeq: 99}
	got := createConversation(e, full)
	full.LastSeq = 0 // a new conversation has no messages, whatever the caller says
	equal(t, "CreateConversation", got, full)
	stored, err := e.s.Conversation(e.ctx, ten, "conv-full")
	noErr(t, "Conversation", err)
	equal(t, "Conversation", stored, full)

	fresh := createConversation(e, store.Conversation{TenantID: ten, Kind: store.KindInternal, State: store.ConvActive})
	if fresh.ID == "" || fresh.CreatedAt.IsZero() {
		t.Errorf("CreateConversation: want a fresh id and creation time, got %+v", fresh)
	}
	stored, err = e.s.Conversation(e.ctx, ten, fresh.ID)
	noErr(t, "Conversation", err)
	equal(t, "identity of a conversation without one", stored.Identity, store.Identity{})
	_, err = e.s.Conversation(e.ctx, ten, "ghost")
	isErr(t, "Conversation(ghost)", err, store.ErrNotFound)

	// UpdateConversation writes the mutable fields, the customer and their identity included, and
	// leaves LastSeq to AppendMessage.
	e.write(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv-full", Text: "hi"})
		return err
	})
	upd := full
	upd.State, upd.AgentID, upd.QueueID, upd.AssignedAt = store.ConvWrapUp, "agent-1", "q2", at(5)
	upd.EndedAt, upd.Disposition, upd.Notes, upd.LastSeq = at(9), "solved", "refund sent", 0
	upd.CustomerID, upd.Identity = "cust-2", store.Identity{Email: "ann.lee@x.test", AccountNumber: "A-1"}
	e.write(func(tx store.Tx) error { return tx.UpdateConversation(upd) })
	stored, err = e.s.Conversation(e.ctx, ten, "conv-full")
	noErr(t, "Conversation", err)
	upd.LastSeq = 1
	equal(t, "updated conversation", stored, upd)

	err = e.writeErr(func(tx store.Tx) error {
		return tx.UpdateConversation(store.Conversation{TenantID: ten, ID: "ghost", State: store.ConvClosed})
	})
	isErr(t, "UpdateConversation(ghost)", err, store.ErrNotFound)

	// Listing: open ones oldest first; a customer's newest first, limited.
	for i, c := range []store.Conversation{
		{ID: "c-old", State: store.ConvActive, CreatedAt: at(-100)},
		{ID: "c-closed", State: store.ConvClosed, CreatedAt: at(-50)},
		{ID: "c-new", State: store.ConvQueued, CreatedAt: at(100)},
	} {
		c.TenantID, c.Kind, c.CustomerID = ten, store.KindCustomer, "cust-1"
		c.Instance, c.Channel, c.ExternalKey = "webchat-1", "webchat", name("key", i)
		createConversation(e, c)
	}
	open, err := e.s.OpenConversations(e.ctx, ten)
	noErr(t, "OpenConversations", err)
	equal(t, "OpenConversations", convIDs(open), []string{fresh.ID, "c-old", "conv-full", "c-new"})

	// conv-full moved to cust-2.
	mine, err := e.s.CustomerConversations(e.ctx, ten, "cust-1", 2)
	noErr(t, "CustomerConversations", err)
	equal(t, "CustomerConversations", convIDs(mine), []string{"c-new", "c-closed"})
	mine, err = e.s.CustomerConversations(e.ctx, ten, "cust-2", 0)
	noErr(t, "CustomerConversations", err)
	equal(t, "CustomerConversations(cust-2)", mine, []store.Conversation{upd})
	mine, err = e.s.CustomerConversations(e.ctx, ten, "nobody", 3)
	empty(t, "CustomerConversations(nobody)", mine, err)
}

func testOpenConversationKey(t *testing.T, e *env) {
	const ten = "acme"
	conv := func(id string) store.Conversation {
		return store.Conversation{TenantID: ten, ID: id, Kind: store.KindCustomer, State: store.ConvQueued,
			Instance: "webchat-1", Channel: "webchat", ExternalKey: "visitor-9"}
	}
	createConversation(e, conv("first"))
	err := e.writeErr(func(tx store.Tx) error {
		_, err := tx.CreateConversation(conv("second"))
		return err
	})
	isErr(t, "second open conversation for a key", err, store.ErrConflict)
	_, err = e.s.Conversation(e.ctx, ten, "second")
	isErr(t, "the conflicting conversation", err, store.ErrNotFound)

	// The same key on another instance, and chats without an instance, are independent.
	other := conv("other-instance")
	other.Instance = "webchat-2"
	createConversation(e, other)
	for _, id := range []string{"internal-1", "internal-2"} {
		createConversation(e, store.Conversation{TenantID: ten, ID: id, Kind: store.KindInternal, State: store.ConvActive})
	}

	got, err := e.s.OpenConversationByKey(e.ctx, ten, "webchat-1", "visitor-9")
	if err != nil || got.ID != "first" {
		t.Errorf("OpenConversationByKey: got %q, %v; want first", got.ID, err)
	}

	// Post-processing frees the key: the customer may start again while the agent wraps up.
	wrapUp := conv("first")
	wrapUp.State, wrapUp.EndedAt = store.ConvWrapUp, at(5)
	e.write(func(tx store.Tx) error { return tx.UpdateConversation(wrapUp) })
	_, err = e.s.OpenConversationByKey(e.ctx, ten, "webchat-1", "visitor-9")
	isErr(t, "OpenConversationByKey in post-processing", err, store.ErrNotFound)
	createConversation(e, conv("again"))
	got, err = e.s.OpenConversationByKey(e.ctx, ten, "webchat-1", "visitor-9")
	if err != nil || got.ID != "again" {
		t.Errorf("OpenConversationByKey while the first is in post-processing: got %q, %v; want again", got.ID, err)
	}
	gone := conv("again")
	gone.State, gone.ClosedAt = store.ConvClosed, at(6)
	e.write(func(tx store.Tx) error { return tx.UpdateConversation(gone) })

	// Closing frees the key.
	closed := wrapUp
	closed.State, closed.ClosedAt = store.ConvClosed, at(10)
	e.write(func(tx store.Tx) error { return tx.UpdateConversation(closed) })
	_, err = e.s.OpenConversationByKey(e.ctx, ten, "webchat-1", "visitor-9")
	isErr(t, "OpenConversationByKey after close", err, store.ErrNotFound)
	createConversation(e, conv("third"))
	got, err = e.s.OpenConversationByKey(e.ctx, ten, "webchat-1", "visitor-9")
	if err != nil || got.ID != "third" {
		t.Errorf("OpenConversationByKey after reuse: got %q, %v; want third", got.ID, err)
	}

	// Reopening the closed one while the key is taken again is a conflict.
	reopened := closed
	reopened.State = store.ConvActive
	err = e.writeErr(func(tx store.Tx) error { return tx.UpdateConversation(reopened) })
	isErr(t, "reopening a conversation whose key is taken", err, store.ErrConflict)
}

func testParticipants(t *testing.T, e *env) {
	const ten = "acme"
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	customer := store.Participant{TenantID: ten, ConversationID: "conv", Kind: store.PartCustomer, RefID: "cust-1",
		DisplayName: "Ann", JoinedAt: at(0)}
	agent := store.Participant{TenantID: ten, ConversationID: "conv", Kind: store.PartAgent, RefID: "agent-1",
		DisplayName: "Bob", JoinedAt: at(1)}
	e.write(func(tx store.Tx) error {
		if err := tx.AddParticipant(customer); err != nil {
			return err
		}
		return tx.AddParticipant(agent)
	})
	err := e.writeErr(func(tx store.Tx) error {
		again := agent
		again.JoinedAt = at(2)
		return tx.AddParticipant(again)
	})
	isErr(t, "adding a participant who is present", err, store.ErrConflict)

	e.write(func(tx store.Tx) error {
		return tx.LeaveParticipant(ten, "conv", store.PartAgent, "agent-1", at(3))
	})
	// Leaving twice keeps the first time.
	e.write(func(tx store.Tx) error {
		return tx.LeaveParticipant(ten, "conv", store.PartAgent, "agent-1", at(4))
	})
	// The agent comes back after a transfer.
	back := agent
	back.JoinedAt = at(5)
	e.write(func(tx store.Tx) error { return tx.AddParticipant(back) })

	parts, err := e.s.Participants(e.ctx, ten, "conv")
	noErr(t, "Participants", err)
	left := agent
	left.LeftAt = at(3)
	equal(t, "Participants", sortedBy(parts, func(p store.Participant) string {
		return p.JoinedAt.Format("20060102150405.000000000") + string(p.Kind)
	}), []store.Participant{customer, left, back})

	err = e.writeErr(func(tx store.Tx) error {
		return tx.LeaveParticipant(ten, "conv", store.PartExpert, "nobody", at(6))
	})
	isErr(t, "LeaveParticipant(nobody)", err, store.ErrNotFound)
	err = e.writeErr(func(tx store.Tx) error {
		return tx.AddParticipant(store.Participant{TenantID: ten, ConversationID: "ghost", Kind: store.PartAgent, RefID: "a"})
	})
	isErr(t, "AddParticipant to a missing conversation", err, store.ErrNotFound)
	parts, err = e.s.Participants(e.ctx, ten, "ghost")
	empty(t, "Participants(ghost)", parts, err)
}

// testMarkRead checks that MarkRead only raises the read mark of the participant's present row.
func testMarkRead(t *testing.T, e *env) {
	const ten = "acme"
	createConversation(e, store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer, State: store.ConvActive})
	add := func(kind store.ParticipantKind, ref string, joined int, readSeq int64) {
		t.Helper()
		e.write(func(tx store.Tx) error {
			return tx.AddParticipant(store.Participant{TenantID: ten, ConversationID: "conv", Kind: kind, RefID: ref,
				JoinedAt: at(joined), ReadSeq: readSeq})
		})
	}
	mark := func(conv string, kind store.ParticipantKind, ref string, seq int64) error {
		return e.writeErr(func(tx store.Tx) error { return tx.MarkRead(ten, conv, kind, ref, seq) })
	}
	// readSeqs lists the read marks of the conversation's participant rows, in joining order.
	readSeqs := func() []int64 {
		t.Helper()
		parts, err := e.s.Participants(e.ctx, ten, "conv")
		noErr(t, "Participants", err)
		var out []int64
		for _, p := range sortedBy(parts, func(p store.Participant) string { return p.JoinedAt.Format(time.RFC3339Nano) }) {
			out = append(out, p.ReadSeq)
		}
		return out
	}
	add(store.PartCustomer, "cust-1", 0, 0)
	add(store.PartAgent, "agent-1", 1, 0)

	steps := []struct {
		name string
		kind store.ParticipantKind
		ref  string
		seq  int64
		want []int64
	}{
		{"agent reads", store.PartAgent, "agent-1", 3, []int64{0, 3}},
		{"an older mark is kept", store.PartAgent, "agent-1", 2, []int64{0, 3}},
		{"the same mark again", store.PartAgent, "agent-1", 3, []int64{0, 3}},
		{"customer reads", store.PartCustomer, "cust-1", 5, []int64{5, 3}},
	}
	for _, s := range steps {
		okErr(t, s.name, mark("conv", s.kind, s.ref, s.seq))
		equal(t, s.name, readSeqs(), s.want)
	}

	isErr(t, "MarkRead of another kind", mark("conv", store.PartExpert, "agent-1", 9), store.ErrNotFound)
	isErr(t, "MarkRead of someone who never joined", mark("conv", store.PartAgent, "nobody", 9), store.ErrNotFound)
	isErr(t, "MarkRead in a missing conversation", mark("ghost", store.PartAgent, "agent-1", 9), store.ErrNotFound)

	e.write(func(tx store.Tx) error { return tx.LeaveParticipant(ten, "conv", store.PartAgent, "agent-1", at(2)) })
	isErr(t, "MarkRead of a participant who left", mark("conv", store.PartAgent, "agent-1", 9), store.ErrNotFound)
	equal(t, "read marks after the agent left", readSeqs(), []int64{5, 3})

	// Back after a transfer: a new row with the mark it was added with; the old row keeps its own.
	add(store.PartAgent, "agent-1", 3, 4)
	equal(t, "read marks after the agent came back", readSeqs(), []int64{5, 3, 4})
	okErr(t, "MarkRead after coming back", mark("conv", store.PartAgent, "agent-1", 7))
	equal(t, "read marks after reading again", readSeqs(), []int64{5, 3, 7})
}

func convIDs(convs []store.Conversation) []string {
	var ids []string
	for _, c := range convs {
		ids = append(ids, c.ID)
	}
	return ids
}

func testUserConversations(t *testing.T, e *env) {
	const ten, me = "acme", "agent-1"
	conv := func(id string, kind store.ConversationKind, state store.ConversationState, agentID string, created int) store.Conversation {
		return createConversation(e, store.Conversation{TenantID: ten, ID: id, Kind: kind, State: state,
			AgentID: agentID, Identity: store.Identity{Nickname: id}, CreatedAt: at(created)})
	}
	joined := conv("joined", store.KindInternal, store.ConvActive, "", 1)
	conv("both", store.KindCustomer, store.ConvActive, me, 2)     // assigned and present: listed once
	conv("assigned", store.KindCustomer, store.ConvActive, me, 3) // assigned, no participant row
	conv("rejoined", store.KindExpert, store.ConvActive, "", 4)   // left, then came back: listed once
	conv("wrap-up", store.KindCustomer, store.ConvWrapUp, me, 5)  // ended, not closed
	conv("left", store.KindInternal, store.ConvActive, "", 0)
	conv("closed", store.KindCustomer, store.ConvClosed, me, 6)
	conv("someone-else", store.KindCustomer, store.ConvActive, "agent-2", 7)
	conv("not-as-agent", store.KindExpert, store.ConvActive, "", 8) // me as an expert and a customer
	part := func(conv string, kind store.ParticipantKind, ref string, joined, left int) store.Participant {
		p := store.Participant{TenantID: ten, ConversationID: conv, Kind: kind, RefID: ref, JoinedAt: at(joined)}
		if left != 0 {
			p.LeftAt = at(left)
		}
		return p
	}
	e.write(func(tx store.Tx) error {
		for _, p := range []store.Participant{
			part("joined", store.PartAgent, me, 1, 0),
			part("joined", store.PartAgent, "agent-2", 1, 0),
			part("both", store.PartAgent, me, 2, 0),
			part("rejoined", store.PartAgent, me, 10, 11),
			part("rejoined", store.PartAgent, me, 12, 0),
			part("left", store.PartAgent, me, 0, 1),
			part("closed", store.PartAgent, me, 6, 0),
			part("someone-else", store.PartAgent, "agent-2", 7, 0),
			part("not-as-agent", store.PartExpert, me, 8, 0),
			part("not-as-agent", store.PartCustomer, me, 8, 0),
		} {
			if err := tx.AddParticipant(p); err != nil {
				return err
			}
		}
		return nil
	})

	mine, err := e.s.UserConversations(e.ctx, ten, me)
	noErr(t, "UserConversations", err)
	equal(t, "UserConversations", convIDs(mine), []string{"joined", "both", "assigned", "rejoined", "wrap-up"})
	if len(mine) > 0 {
		equal(t, "first of UserConversations", mine[0], joined)
	}
	theirs, err := e.s.UserConversations(e.ctx, ten, "agent-2")
	noErr(t, "UserConversations(agent-2)", err)
	equal(t, "UserConversations(agent-2)", convIDs(theirs), []string{"joined", "someone-else"})
	none, err := e.s.UserConversations(e.ctx, ten, "nobody")
	empty(t, "UserConversations(nobody)", none, err)

	// Leaving takes the chat off the list.
	e.write(func(tx store.Tx) error { return tx.LeaveParticipant(ten, "joined", store.PartAgent, me, at(20)) })
	mine, err = e.s.UserConversations(e.ctx, ten, me)
	noErr(t, "UserConversations", err)
	equal(t, "UserConversations after leaving", convIDs(mine), []string{"both", "assigned", "rejoined", "wrap-up"})
}

func testClosedConversations(t *testing.T, e *env) {
	const ten = "acme"
	conv := func(id string, kind store.ConversationKind, state store.ConversationState, queue, agent string, closed int) store.Conversation {
		c := store.Conversation{TenantID: ten, ID: id, Kind: kind, State: state, QueueID: queue, AgentID: agent,
			Identity: store.Identity{Nickname: id}, CreatedAt: at(closed - 5)}
		if state == store.ConvClosed {
			c.ClosedAt = at(closed)
		}
		return createConversation(e, c)
	}
	conv("c1", store.KindCustomer, store.ConvClosed, "q1", "a1", 10)
	conv("c2", store.KindCustomer, store.ConvClosed, "q2", "a2", 20) // a1 took part before a transfer
	conv("c3", store.KindInternal, store.ConvClosed, "", "", 30)     // a1 (twice) and a2 took part
	conv("c4", store.KindExpert, store.ConvClosed, "q1", "a2", 40)
	conv("c5", store.KindCustomer, store.ConvClosed, "q3", "a1", 50)
	c6 := conv("c6", store.KindCustomer, store.ConvClosed, "q1", "", 60) // a1 took part, but not as an agent
	conv("open", store.KindCustomer, store.ConvActive, "q1", "a1", 0)
	conv("wrap-up", store.KindCustomer, store.ConvWrapUp, "q1", "a1", 0)
	e.write(func(tx store.Tx) error {
		for _, p := range []store.Participant{
			{ConversationID: "c2", Kind: store.PartAgent, RefID: "a1", JoinedAt: at(16), LeftAt: at(17)},
			{ConversationID: "c3", Kind: store.PartAgent, RefID: "a1", JoinedAt: at(25), LeftAt: at(26)},
			{ConversationID: "c3", Kind: store.PartAgent, RefID: "a1", JoinedAt: at(27), LeftAt: at(28)},
			{ConversationID: "c3", Kind: store.PartAgent, RefID: "a2", JoinedAt: at(25), LeftAt: at(30)},
			{ConversationID: "c6", Kind: store.PartExpert, RefID: "a1", JoinedAt: at(56), LeftAt: at(57)},
			{ConversationID: "c6", Kind: store.PartCustomer, RefID: "a1", JoinedAt: at(56), LeftAt: at(60)},
			{ConversationID: "open", Kind: store.PartAgent, RefID: "a2", JoinedAt: at(0)},
		} {
			p.TenantID = ten
			if err := tx.AddParticipant(p); err != nil {
				return err
			}
		}
		return nil
	})

	all := []string{"c6", "c5", "c4", "c3", "c2", "c1"}
	cases := []struct {
		name string
		f    store.ClosedFilter
		want []string
	}{
		{"no filter", store.ClosedFilter{}, all},
		{"negative limit", store.ClosedFilter{Limit: -1}, all},
		{"kind", store.ClosedFilter{Kind: store.KindCustomer}, []string{"c6", "c5", "c2", "c1"}},
		{"one queue", store.ClosedFilter{QueueIDs: []string{"q1"}}, []string{"c6", "c4", "c1"}},
		{"two queues", store.ClosedFilter{QueueIDs: []string{"q1", "q3"}}, []string{"c6", "c5", "c4", "c1"}},
		{"repeated queue", store.ClosedFilter{QueueIDs: []string{"q1", "q1"}}, []string{"c6", "c4", "c1"}},
		{"unknown queue", store.ClosedFilter{QueueIDs: []string{"nope"}}, nil},
		{"assigned or took part", store.ClosedFilter{AgentID: "a1"}, []string{"c5", "c3", "c2", "c1"}},
		{"another agent", store.ClosedFilter{AgentID: "a2"}, []string{"c4", "c3", "c2"}},
		{"unknown agent", store.ClosedFilter{AgentID: "nobody"}, nil},
		{"before is exclusive", store.ClosedFilter{Before: at(50)}, []string{"c4", "c3", "c2", "c1"}},
		{"limit", store.ClosedFilter{Limit: 2}, []string{"c6", "c5"}},
		{"next page", store.ClosedFilter{Before: at(50), Limit: 2}, []string{"c4", "c3"}},
		{"every filter", store.ClosedFilter{Kind: store.KindCustomer, QueueIDs: []string{"q1", "q2"}, AgentID: "a1",
			Before: at(60), Limit: 1}, []string{"c2"}},
	}
	for _, tc := range cases {
		got, err := e.s.ClosedConversations(e.ctx, ten, tc.f)
		okErr(t, tc.name, err)
		equal(t, tc.name, convIDs(got), tc.want)
	}
	got, err := e.s.ClosedConversations(e.ctx, ten, store.ClosedFilter{Limit: 1})
	noErr(t, "ClosedConversations", err)
	equal(t, "ClosedConversations", got, []store.Conversation{c6})
}
