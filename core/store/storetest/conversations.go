package storetest

import (
	"testing"

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
	_, err = e.s.Conversation(e.ctx, ten, "ghost")
	isErr(t, "Conversation(ghost)", err, store.ErrNotFound)

	// UpdateConversation writes the mutable fields and leaves LastSeq to AppendMessage.
	e.write(func(tx store.Tx) error {
		_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv-full", Text: "hi"})
		return err
	})
	upd := full
	upd.State, upd.AgentID, upd.QueueID, upd.AssignedAt = store.ConvWrapUp, "agent-1", "q2", at(5)
	upd.EndedAt, upd.Disposition, upd.Notes, upd.LastSeq = at(9), "solved", "refund sent", 0
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
	var ids []string
	for _, c := range open {
		ids = append(ids, c.ID)
	}
	equal(t, "OpenConversations", ids, []string{fresh.ID, "c-old", "conv-full", "c-new"})

	mine, err := e.s.CustomerConversations(e.ctx, ten, "cust-1", 3)
	noErr(t, "CustomerConversations", err)
	ids = nil
	for _, c := range mine {
		ids = append(ids, c.ID)
	}
	equal(t, "CustomerConversations", ids, []string{"c-new", "conv-full", "c-closed"})
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

	// Closing frees the key.
	closed := conv("first")
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
