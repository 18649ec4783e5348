package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboardhq/switchboard/core/store"
)

// The isolation test gives two tenants rows under the very same ids and keys, and checks that
// every Reader method, on the Store and inside a Write, shows each tenant only its own.
const (
	isoGroup    = "g1"
	isoQueue    = "q1"
	isoUser     = "u1"
	isoUsername = "alice"
	isoCustomer = "c1"
	isoAccount  = "ACC-1"
	isoEmail    = "alice@example.test"
	isoPhone    = "+15550100"
	isoConv     = "conv1"
	isoClosed   = "conv0" // a closed conversation, under the same channel key as isoConv
	isoCase     = "case1"
	isoInstance = "webchat-1"
	isoKey      = "key-1"
	isoEvent    = "ev-1"
	isoOutbox   = "out-1"
	isoSession  = "hash-1"
)

// seedTenant stores one row of every kind for tenant, named after label.
func seedTenant(e *env, tenant, label string) {
	e.t.Helper()
	e.write(func(tx store.Tx) error {
		steps := []func() error{
			func() error { return tx.UpsertTenant(store.Tenant{ID: tenant, Name: label}) },
			func() error { return tx.UpsertGroup(store.Group{TenantID: tenant, ID: isoGroup, Name: label}) },
			func() error {
				return tx.UpsertQueue(store.Queue{TenantID: tenant, ID: isoQueue, Name: label, GroupID: isoGroup})
			},
			func() error {
				_, err := tx.UpsertUser(store.User{TenantID: tenant, ID: isoUser, Username: isoUsername,
					DisplayName: label, Role: store.RoleAgent, Queues: []string{isoQueue}, PasswordHash: "pw-" + label})
				return err
			},
			func() error {
				_, err := tx.CreateCustomer(store.Customer{TenantID: tenant, ID: isoCustomer, Nickname: label,
					AccountNumber: isoAccount, Email: isoEmail, Phone: isoPhone, CreatedAt: at(0)})
				return err
			},
			func() error {
				_, err := tx.CreateConversation(store.Conversation{TenantID: tenant, ID: isoConv,
					Kind: store.KindCustomer, State: store.ConvQueued, Instance: isoInstance, Channel: "webchat",
					ExternalKey: isoKey, CustomerID: isoCustomer, Notes: label, CreatedAt: at(1)})
				return err
			},
			func() error {
				return tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: isoConv,
					Kind: store.PartCustomer, RefID: isoCustomer, DisplayName: label, JoinedAt: at(1)})
			},
			func() error {
				_, err := tx.AppendMessage(store.Message{TenantID: tenant, ConversationID: isoConv, EventID: isoEvent,
					SenderKind: store.PartCustomer, SenderID: isoCustomer, Text: label, CreatedAt: at(2)})
				return err
			},
			func() error {
				return tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: isoConv,
					Kind: store.PartAgent, RefID: isoUser, DisplayName: label, JoinedAt: at(2)})
			},
			func() error { return tx.MarkRead(tenant, isoConv, store.PartAgent, isoUser, 1) },
			func() error {
				_, err := tx.CreateConversation(store.Conversation{TenantID: tenant, ID: isoClosed,
					Kind: store.KindCustomer, State: store.ConvClosed, Instance: isoInstance, Channel: "webchat",
					ExternalKey: isoKey, QueueID: isoQueue, AgentID: isoUser, Notes: label,
					CreatedAt: at(-10), ClosedAt: at(-5)})
				return err
			},
			func() error {
				return tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: isoClosed,
					Kind: store.PartAgent, RefID: isoUser, DisplayName: label, JoinedAt: at(-8), LeftAt: at(-5)})
			},
			func() error {
				_, err := tx.CreateCase(store.Case{TenantID: tenant, ID: isoCase, CustomerID: isoCustomer,
					ConversationID: isoConv, Subject: label, Status: store.CaseOpen, CreatedBy: isoUser, CreatedAt: at(3)})
				return err
			},
			func() error {
				_, err := tx.EnqueueOutbox(store.OutboxEvent{TenantID: tenant, Instance: isoInstance,
					EventID: isoOutbox, ConversationID: isoConv, Payload: []byte(label)})
				return err
			},
			func() error {
				return tx.CreateSession(store.Session{TenantID: tenant, TokenHash: isoSession, UserID: isoUser,
					CSRFToken: label, CreatedAt: at(0), ExpiresAt: at(3600)})
			},
			func() error {
				fresh, err := tx.Seen(tenant, isoInstance, isoEvent, at(2))
				if err == nil && !fresh {
					e.t.Errorf("Seen(%s): got not fresh, want fresh: events are per tenant", tenant)
				}
				return err
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkInvisible asks r, for tenant, about every row seeded in another tenant. Like every check
// that may run inside a Write function, it reports with t.Errorf only.
func checkInvisible(t *testing.T, ctx context.Context, r store.Reader, tenant string) {
	t.Helper()
	groups, err := r.Groups(ctx, tenant)
	empty(t, "Groups", groups, err)
	queues, err := r.Queues(ctx, tenant)
	empty(t, "Queues", queues, err)
	_, err = r.User(ctx, tenant, isoUser)
	isErr(t, "User", err, store.ErrNotFound)
	_, err = r.UserByUsername(ctx, tenant, isoUsername)
	isErr(t, "UserByUsername", err, store.ErrNotFound)
	users, err := r.Users(ctx, tenant)
	empty(t, "Users", users, err)
	_, err = r.Customer(ctx, tenant, isoCustomer)
	isErr(t, "Customer", err, store.ErrNotFound)
	for _, m := range []store.CustomerMatch{{AccountNumber: isoAccount}, {Email: isoEmail}, {Phone: isoPhone}} {
		_, err = r.FindCustomer(ctx, tenant, m)
		isErr(t, "FindCustomer", err, store.ErrNotFound)
	}
	_, err = r.Conversation(ctx, tenant, isoConv)
	isErr(t, "Conversation", err, store.ErrNotFound)
	_, err = r.OpenConversationByKey(ctx, tenant, isoInstance, isoKey)
	isErr(t, "OpenConversationByKey", err, store.ErrNotFound)
	open, err := r.OpenConversations(ctx, tenant)
	empty(t, "OpenConversations", open, err)
	convs, err := r.CustomerConversations(ctx, tenant, isoCustomer, 10)
	empty(t, "CustomerConversations", convs, err)
	cases, err := r.CustomerCases(ctx, tenant, isoCustomer)
	empty(t, "CustomerCases", cases, err)
	convs, err = r.UserConversations(ctx, tenant, isoUser)
	empty(t, "UserConversations", convs, err)
	for _, f := range isoClosedFilters {
		convs, err = r.ClosedConversations(ctx, tenant, f)
		empty(t, fmt.Sprintf("ClosedConversations(%+v)", f), convs, err)
	}
	parts, err := r.Participants(ctx, tenant, isoConv)
	empty(t, "Participants", parts, err)
	msgs, err := r.Messages(ctx, tenant, isoConv, 0, 100)
	empty(t, "Messages", msgs, err)
	_, err = r.MessageByEventID(ctx, tenant, isoEvent)
	isErr(t, "MessageByEventID", err, store.ErrNotFound)
	pending, err := r.PendingOutbox(ctx, tenant, isoInstance, 0, 100)
	empty(t, "PendingOutbox", pending, err)
	depth, err := r.OutboxDepth(ctx, tenant, isoInstance)
	if err != nil || depth != 0 {
		t.Errorf("OutboxDepth: got %d, %v; want 0", depth, err)
	}
	_, err = r.Session(ctx, tenant, isoSession)
	isErr(t, "Session", err, store.ErrNotFound)
}

// checkOwn asks r, for tenant, about every row seeded for it with label.
func checkOwn(t *testing.T, ctx context.Context, r store.Reader, tenant, label string) {
	t.Helper()
	ten, err := r.Tenant(ctx, tenant)
	if err != nil || ten.Name != label {
		t.Errorf("Tenant(%s): got %+v, %v; want name %q", tenant, ten, err, label)
	}
	groups, err := r.Groups(ctx, tenant)
	equal(t, "Groups", groups, []store.Group{{TenantID: tenant, ID: isoGroup, Name: label}})
	okErr(t, "Groups", err)
	queues, err := r.Queues(ctx, tenant)
	equal(t, "Queues", queues, []store.Queue{{TenantID: tenant, ID: isoQueue, Name: label, GroupID: isoGroup}})
	okErr(t, "Queues", err)
	for what, get := range map[string]func() (store.User, error){
		"User":           func() (store.User, error) { return r.User(ctx, tenant, isoUser) },
		"UserByUsername": func() (store.User, error) { return r.UserByUsername(ctx, tenant, isoUsername) },
	} {
		u, err := get()
		if err != nil || u.TenantID != tenant || u.DisplayName != label || u.PasswordHash != "pw-"+label {
			t.Errorf("%s(%s): got %+v, %v; want the user of %s", what, tenant, u, err, label)
		}
	}
	users, err := r.Users(ctx, tenant)
	if err != nil || len(users) != 1 || users[0].DisplayName != label {
		t.Errorf("Users(%s): got %+v, %v; want the one user of %s", tenant, users, err, label)
	}
	c, err := r.Customer(ctx, tenant, isoCustomer)
	if err != nil || c.Nickname != label {
		t.Errorf("Customer(%s): got %+v, %v", tenant, c, err)
	}
	c, err = r.FindCustomer(ctx, tenant, store.CustomerMatch{Email: isoEmail})
	if err != nil || c.Nickname != label {
		t.Errorf("FindCustomer(%s): got %+v, %v", tenant, c, err)
	}
	conv, err := r.Conversation(ctx, tenant, isoConv)
	if err != nil || conv.Notes != label || conv.LastSeq != 1 {
		t.Errorf("Conversation(%s): got %+v, %v", tenant, conv, err)
	}
	conv, err = r.OpenConversationByKey(ctx, tenant, isoInstance, isoKey)
	if err != nil || conv.Notes != label {
		t.Errorf("OpenConversationByKey(%s): got %+v, %v", tenant, conv, err)
	}
	convs, err := r.OpenConversations(ctx, tenant)
	if err != nil || len(convs) != 1 || convs[0].Notes != label {
		t.Errorf("OpenConversations(%s): got %+v, %v", tenant, convs, err)
	}
	convs, err = r.CustomerConversations(ctx, tenant, isoCustomer, 10)
	if err != nil || len(convs) != 1 || convs[0].Notes != label {
		t.Errorf("CustomerConversations(%s): got %+v, %v", tenant, convs, err)
	}
	cases, err := r.CustomerCases(ctx, tenant, isoCustomer)
	if err != nil || len(cases) != 1 || cases[0].Subject != label {
		t.Errorf("CustomerCases(%s): got %+v, %v", tenant, cases, err)
	}
	convs, err = r.UserConversations(ctx, tenant, isoUser)
	if err != nil || len(convs) != 1 || convs[0].ID != isoConv || convs[0].Notes != label {
		t.Errorf("UserConversations(%s): got %+v, %v", tenant, convs, err)
	}
	for _, f := range isoClosedFilters {
		convs, err = r.ClosedConversations(ctx, tenant, f)
		if err != nil || len(convs) != 1 || convs[0].ID != isoClosed || convs[0].Notes != label {
			t.Errorf("ClosedConversations(%s, %+v): got %+v, %v", tenant, f, convs, err)
		}
	}
	parts, err := r.Participants(ctx, tenant, isoConv)
	if err != nil || len(parts) != 2 || parts[0].DisplayName != label || parts[1].DisplayName != label {
		t.Errorf("Participants(%s): got %+v, %v", tenant, parts, err)
	}
	for _, p := range parts {
		want := int64(0)
		if p.Kind == store.PartAgent {
			want = 1 // seedTenant marked the one message read
		}
		if p.ReadSeq != want {
			t.Errorf("Participants(%s): %s has read up to %d, want %d", tenant, p.Kind, p.ReadSeq, want)
		}
	}
	msgs, err := r.Messages(ctx, tenant, isoConv, 0, 100)
	if err != nil || len(msgs) != 1 || msgs[0].Text != label {
		t.Errorf("Messages(%s): got %+v, %v", tenant, msgs, err)
	}
	m, err := r.MessageByEventID(ctx, tenant, isoEvent)
	if err != nil || m.Text != label {
		t.Errorf("MessageByEventID(%s): got %+v, %v", tenant, m, err)
	}
	pending, err := r.PendingOutbox(ctx, tenant, isoInstance, 0, 100)
	if err != nil || len(pending) != 1 || string(pending[0].Payload) != label {
		t.Errorf("PendingOutbox(%s): got %+v, %v", tenant, pending, err)
	}
	depth, err := r.OutboxDepth(ctx, tenant, isoInstance)
	if err != nil || depth != 1 {
		t.Errorf("OutboxDepth(%s): got %d, %v; want 1", tenant, depth, err)
	}
	s, err := r.Session(ctx, tenant, isoSession)
	if err != nil || s.CSRFToken != label {
		t.Errorf("Session(%s): got %+v, %v", tenant, s, err)
	}
}

// isoClosedFilters each select the seeded closed conversation.
var isoClosedFilters = []store.ClosedFilter{
	{},
	{Kind: store.KindCustomer, QueueIDs: []string{isoQueue}, AgentID: isoUser, Before: at(0), Limit: 10},
}

func testTenantIsolation(t *testing.T, e *env) {
	seedTenant(e, "tenant-a", "A")
	e.write(func(tx store.Tx) error { return tx.UpsertTenant(store.Tenant{ID: "tenant-b", Name: "B"}) })

	t.Run("ReaderSeesNothingOfOtherTenant", func(t *testing.T) {
		checkInvisible(t, e.ctx, e.s, "tenant-b")
		checkOwn(t, e.ctx, e.s, "tenant-a", "A")
	})
	t.Run("TxSeesNothingOfOtherTenant", func(t *testing.T) {
		e := e.in(t)
		e.write(func(tx store.Tx) error {
			checkInvisible(t, e.ctx, tx, "tenant-b")
			checkOwn(t, e.ctx, tx, "tenant-a", "A")
			return nil
		})
	})

	t.Run("WritesCannotReachOtherTenant", func(t *testing.T) {
		e := e.in(t)
		const b = "tenant-b"
		cases := map[string]func(tx store.Tx) error{
			"SetUserPassword": func(tx store.Tx) error { return tx.SetUserPassword(b, isoUser, "stolen") },
			"SetAgentState": func(tx store.Tx) error {
				return tx.SetAgentState(b, isoUser, store.StateAvailable, "", at(5))
			},
			"UpdateCustomer": func(tx store.Tx) error {
				return tx.UpdateCustomer(store.Customer{TenantID: b, ID: isoCustomer, Nickname: "stolen"})
			},
			"UpdateConversation": func(tx store.Tx) error {
				return tx.UpdateConversation(store.Conversation{TenantID: b, ID: isoConv, State: store.ConvClosed, Notes: "stolen"})
			},
			"AppendMessage": func(tx store.Tx) error {
				_, err := tx.AppendMessage(store.Message{TenantID: b, ConversationID: isoConv, Text: "stolen"})
				return err
			},
			"AddParticipant": func(tx store.Tx) error {
				return tx.AddParticipant(store.Participant{TenantID: b, ConversationID: isoConv,
					Kind: store.PartAgent, RefID: "intruder"})
			},
			"LeaveParticipant": func(tx store.Tx) error {
				return tx.LeaveParticipant(b, isoConv, store.PartCustomer, isoCustomer, at(9))
			},
			"MarkRead": func(tx store.Tx) error {
				return tx.MarkRead(b, isoConv, store.PartAgent, isoUser, 99)
			},
		}
		for what, fn := range cases {
			err := e.writeErr(fn)
			isErr(t, what, err, store.ErrNotFound)
		}
		// These succeed by contract (repeated acks and sign-outs), but must not touch tenant A.
		e.write(func(tx store.Tx) error {
			if err := tx.SettleOutbox(b, isoInstance, isoOutbox, store.OutboxDelivered, "", at(9)); err != nil {
				return err
			}
			return tx.DeleteSession(b, isoSession)
		})
		checkOwn(t, e.ctx, e.s, "tenant-a", "A")
		conv, err := e.s.Conversation(e.ctx, "tenant-a", isoConv)
		okErr(t, "Conversation", err)
		if conv.State != store.ConvQueued {
			t.Errorf("conversation of tenant-a: state %q, want %q", conv.State, store.ConvQueued)
		}
		parts, err := e.s.Participants(e.ctx, "tenant-a", isoConv)
		if err != nil || len(parts) != 2 || !parts[0].LeftAt.IsZero() || !parts[1].LeftAt.IsZero() {
			t.Errorf("participants of tenant-a: got %+v, %v", parts, err)
		}
		u, err := e.s.User(e.ctx, "tenant-a", isoUser)
		if err != nil || u.State != store.StateLoggedOut {
			t.Errorf("user of tenant-a: got %+v, %v; want state %q", u, err, store.StateLoggedOut)
		}
	})

	t.Run("ParticipantsOfOtherTenantDoNotCount", func(t *testing.T) {
		// Tenant d has conversations under tenant a's ids in which the user takes no part: finding
		// them through tenant a's participant rows would be a leak.
		e := e.in(t)
		const d = "tenant-d"
		createConversation(e, store.Conversation{TenantID: d, ID: isoConv, Kind: store.KindInternal,
			State: store.ConvActive, CreatedAt: at(1)})
		createConversation(e, store.Conversation{TenantID: d, ID: isoClosed, Kind: store.KindCustomer,
			State: store.ConvClosed, CreatedAt: at(-10), ClosedAt: at(-5)})
		convs, err := e.s.UserConversations(e.ctx, d, isoUser)
		empty(t, "UserConversations", convs, err)
		convs, err = e.s.ClosedConversations(e.ctx, d, store.ClosedFilter{AgentID: isoUser})
		empty(t, "ClosedConversations", convs, err)
		err = e.writeErr(func(tx store.Tx) error { return tx.MarkRead(d, isoConv, store.PartAgent, isoUser, 99) })
		isErr(t, "MarkRead", err, store.ErrNotFound)
	})

	t.Run("SameIDsInTwoTenants", func(t *testing.T) {
		e := e.in(t)
		seedTenant(e, "tenant-b", "B")
		checkOwn(t, e.ctx, e.s, "tenant-a", "A")
		checkOwn(t, e.ctx, e.s, "tenant-b", "B")
		e.write(func(tx store.Tx) error {
			checkOwn(t, e.ctx, tx, "tenant-a", "A")
			checkOwn(t, e.ctx, tx, "tenant-b", "B")
			return nil
		})
		checkInvisible(t, e.ctx, e.s, "tenant-c")
	})
}
