package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/switchboardhq/switchboard/core/store"
)

// reader implements store.Reader on the read pool, or on the writer's transaction inside Write.
type reader struct {
	q querier
	// shared is set on the writer's transaction. A cancelled context makes the driver interrupt
	// the running statement, which can roll back the whole transaction, other callers' writes
	// included; so the caller's context is only checked before the statement starts.
	shared bool
}

func (r reader) ctx(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.shared {
		return context.WithoutCancel(ctx), nil
	}
	return ctx, nil
}

// queryRow runs a one-row query and scans it; no row is ErrNotFound described by what and id.
func (r reader) queryRow(ctx context.Context, what, id string, scan func(*sql.Row) error, query string, args ...any) error {
	ctx, err := r.ctx(ctx)
	if err != nil {
		return err
	}
	err = scan(r.q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what, id)
	}
	if err != nil {
		return fmt.Errorf("store: load %s %q: %w", what, id, err)
	}
	return nil
}

// queryList runs query and appends one scanned value per row.
func queryList[T any](ctx context.Context, r reader, what string, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	ctx, err := r.ctx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := r.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list %s: %w", what, err)
	}
	return out, nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func (r reader) Tenant(ctx context.Context, id string) (store.Tenant, error) {
	var t store.Tenant
	err := r.queryRow(ctx, "tenant", id, func(row *sql.Row) error {
		return row.Scan(&t.ID, &t.Name)
	}, `SELECT tenant_id, name FROM tenants WHERE tenant_id = $1`, id)
	return t, err
}

func (r reader) Tenants(ctx context.Context) ([]store.Tenant, error) {
	return queryList(ctx, r, "tenants", func(rows *sql.Rows) (store.Tenant, error) {
		var t store.Tenant
		return t, rows.Scan(&t.ID, &t.Name)
	}, `SELECT tenant_id, name FROM tenants ORDER BY tenant_id`)
}

func (r reader) Groups(ctx context.Context, tenant string) ([]store.Group, error) {
	return queryList(ctx, r, "groups", func(rows *sql.Rows) (store.Group, error) {
		var g store.Group
		return g, rows.Scan(&g.TenantID, &g.ID, &g.Name)
	}, `SELECT tenant_id, id, name FROM groups WHERE tenant_id = $1 ORDER BY id`, tenant)
}

func (r reader) Queues(ctx context.Context, tenant string) ([]store.Queue, error) {
	return queryList(ctx, r, "queues", func(rows *sql.Rows) (store.Queue, error) {
		var q store.Queue
		return q, rows.Scan(&q.TenantID, &q.ID, &q.Name, &q.GroupID)
	}, `SELECT tenant_id, id, name, group_id FROM queues WHERE tenant_id = $1 ORDER BY id`, tenant)
}

const userColumns = `tenant_id, id, username, display_name, email, role, group_id, max_chats,
	primary_language, secondary_languages, password_hash, state, state_reason, state_since, scope`

func scanUser(s scanner) (store.User, error) {
	var u store.User
	var langs string
	var since int64
	if err := s.Scan(&u.TenantID, &u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Role, &u.GroupID,
		&u.MaxChats, &u.PrimaryLanguage, &langs, &u.PasswordHash, &u.State, &u.StateReason, &since,
		&u.Scope); err != nil {
		return u, err
	}
	u.StateSince = fromNanos(since)
	var err error
	if u.SecondaryLanguages, err = decodeList[string](langs); err != nil {
		return u, fmt.Errorf("secondary languages of user %q: %w", u.ID, err)
	}
	return u, nil
}

func (r reader) User(ctx context.Context, tenant, id string) (store.User, error) {
	var u store.User
	err := r.queryRow(ctx, "user", id, func(row *sql.Row) (err error) {
		u, err = scanUser(row)
		return err
	}, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND id = $2`, tenant, id)
	if err != nil {
		return u, err
	}
	return u, r.loadQueues(ctx, tenant, []*store.User{&u})
}

func (r reader) UserByUsername(ctx context.Context, tenant, username string) (store.User, error) {
	var u store.User
	err := r.queryRow(ctx, "user", username, func(row *sql.Row) (err error) {
		u, err = scanUser(row)
		return err
	}, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 AND username = $2`, tenant, username)
	if err != nil {
		return u, err
	}
	return u, r.loadQueues(ctx, tenant, []*store.User{&u})
}

func (r reader) Users(ctx context.Context, tenant string) ([]store.User, error) {
	users, err := queryList(ctx, r, "users", func(rows *sql.Rows) (store.User, error) {
		return scanUser(rows)
	}, `SELECT `+userColumns+` FROM users WHERE tenant_id = $1 ORDER BY username`, tenant)
	if err != nil || len(users) == 0 {
		return users, err
	}
	ptrs := make([]*store.User, len(users))
	for i := range users {
		ptrs[i] = &users[i]
	}
	return users, r.loadQueues(ctx, tenant, ptrs)
}

// loadQueues fills the queue memberships of users, all of tenant. One user is looked up by id;
// more load the tenant's whole membership table, which is what Users needs anyway.
func (r reader) loadQueues(ctx context.Context, tenant string, users []*store.User) error {
	type member struct{ user, queue string }
	scan := func(rows *sql.Rows) (member, error) {
		var m member
		return m, rows.Scan(&m.user, &m.queue)
	}
	var members []member
	var err error
	if len(users) == 1 {
		members, err = queryList(ctx, r, "queue members", scan,
			`SELECT user_id, queue_id FROM queue_members WHERE tenant_id = $1 AND user_id = $2 ORDER BY position, queue_id`,
			tenant, users[0].ID)
	} else {
		members, err = queryList(ctx, r, "queue members", scan,
			`SELECT user_id, queue_id FROM queue_members WHERE tenant_id = $1 ORDER BY user_id, position, queue_id`,
			tenant)
	}
	if err != nil {
		return err
	}
	byID := make(map[string]*store.User, len(users))
	for _, u := range users {
		byID[u.ID] = u
	}
	for _, m := range members {
		if u := byID[m.user]; u != nil {
			u.Queues = append(u.Queues, m.queue)
		}
	}
	return nil
}

const customerColumns = `tenant_id, id, nickname, first_name, last_name, email, phone, account_number,
	language, created_at, updated_at`

func scanCustomer(s scanner) (store.Customer, error) {
	var c store.Customer
	var created, updated int64
	err := s.Scan(&c.TenantID, &c.ID, &c.Nickname, &c.FirstName, &c.LastName, &c.Email, &c.Phone,
		&c.AccountNumber, &c.Language, &created, &updated)
	c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
	return c, err
}

func (r reader) Customer(ctx context.Context, tenant, id string) (store.Customer, error) {
	var c store.Customer
	err := r.queryRow(ctx, "customer", id, func(row *sql.Row) (err error) {
		c, err = scanCustomer(row)
		return err
	}, `SELECT `+customerColumns+` FROM customers WHERE tenant_id = $1 AND id = $2`, tenant, id)
	return c, err
}

func (r reader) FindCustomer(ctx context.Context, tenant string, m store.CustomerMatch) (store.Customer, error) {
	tries := []struct{ value, where string }{
		{m.AccountNumber, `account_number = $2`},
		{m.Email, `lower(email) = lower($2)`},
		{m.Phone, `phone = $2`},
	}
	for _, try := range tries {
		if try.value == "" {
			continue
		}
		var c store.Customer
		err := r.queryRow(ctx, "customer matching", try.value, func(row *sql.Row) (err error) {
			c, err = scanCustomer(row)
			return err
		}, `SELECT `+customerColumns+` FROM customers WHERE tenant_id = $1 AND `+try.where+`
			ORDER BY created_at, id LIMIT 1`, tenant, try.value)
		if !errors.Is(err, store.ErrNotFound) {
			return c, err
		}
	}
	return store.Customer{}, fmt.Errorf("store: customer matching %+v: %w", m, store.ErrNotFound)
}

const fileColumns = `tenant_id, id, conversation_id, name, content_type, size, data, created_at`

func (r reader) File(ctx context.Context, tenant, id string) (store.File, error) {
	var f store.File
	err := r.queryRow(ctx, "file", id, func(row *sql.Row) error {
		var created int64
		err := row.Scan(&f.TenantID, &f.ID, &f.ConversationID, &f.Name, &f.ContentType, &f.Size, &f.Data, &created)
		f.CreatedAt = fromNanos(created)
		return err
	}, `SELECT `+fileColumns+` FROM files WHERE tenant_id = $1 AND id = $2`, tenant, id)
	return f, err
}

const caseColumns = `tenant_id, id, customer_id, conversation_id, subject, notes, status, created_by,
	created_at, updated_at`

func (r reader) CustomerCases(ctx context.Context, tenant, customerID string) ([]store.Case, error) {
	return queryList(ctx, r, "customer cases", func(rows *sql.Rows) (store.Case, error) {
		var c store.Case
		var created, updated int64
		err := rows.Scan(&c.TenantID, &c.ID, &c.CustomerID, &c.ConversationID, &c.Subject, &c.Notes,
			&c.Status, &c.CreatedBy, &created, &updated)
		c.CreatedAt, c.UpdatedAt = fromNanos(created), fromNanos(updated)
		return c, err
	}, `SELECT `+caseColumns+` FROM cases WHERE tenant_id = $1 AND customer_id = $2
		ORDER BY created_at DESC, id DESC`, tenant, customerID)
}

const conversationColumns = `tenant_id, id, kind, state, instance, channel, external_key, queue_id,
	customer_id, identity, agent_id, language, origin, prechat, created_at, entered_queue_at,
	assigned_at, ended_at, closed_at, last_seq, disposition, notes`

// convColumns is conversationColumns qualified with the alias c, for queries whose subqueries
// read participants.
const convColumns = `c.tenant_id, c.id, c.kind, c.state, c.instance, c.channel, c.external_key,
	c.queue_id, c.customer_id, c.identity, c.agent_id, c.language, c.origin, c.prechat, c.created_at,
	c.entered_queue_at, c.assigned_at, c.ended_at, c.closed_at, c.last_seq, c.disposition, c.notes`

func scanConversation(s scanner) (store.Conversation, error) {
	var c store.Conversation
	var identity, prechat string
	var created, entered, assigned, ended, closed int64
	if err := s.Scan(&c.TenantID, &c.ID, &c.Kind, &c.State, &c.Instance, &c.Channel, &c.ExternalKey,
		&c.QueueID, &c.CustomerID, &identity, &c.AgentID, &c.Language, &c.Origin, &prechat, &created,
		&entered, &assigned, &ended, &closed, &c.LastSeq, &c.Disposition, &c.Notes); err != nil {
		return c, err
	}
	c.CreatedAt, c.EnteredQueueAt, c.AssignedAt = fromNanos(created), fromNanos(entered), fromNanos(assigned)
	c.EndedAt, c.ClosedAt = fromNanos(ended), fromNanos(closed)
	var err error
	if c.Identity, err = decodeObject[store.Identity](identity); err != nil {
		return c, fmt.Errorf("identity of conversation %q: %w", c.ID, err)
	}
	if c.Prechat, err = decodeList[store.PrechatAnswer](prechat); err != nil {
		return c, fmt.Errorf("prechat of conversation %q: %w", c.ID, err)
	}
	return c, nil
}

func (r reader) Conversation(ctx context.Context, tenant, id string) (store.Conversation, error) {
	var c store.Conversation
	err := r.queryRow(ctx, "conversation", id, func(row *sql.Row) (err error) {
		c, err = scanConversation(row)
		return err
	}, `SELECT `+conversationColumns+` FROM conversations WHERE tenant_id = $1 AND id = $2`, tenant, id)
	return c, err
}

func (r reader) OpenConversationByKey(ctx context.Context, tenant, instance, key string) (store.Conversation, error) {
	var c store.Conversation
	err := r.queryRow(ctx, "open conversation", instance+"/"+key, func(row *sql.Row) (err error) {
		c, err = scanConversation(row)
		return err
	}, `SELECT `+conversationColumns+` FROM conversations
		WHERE tenant_id = $1 AND instance = $2 AND external_key = $3 AND state IN ('queued', 'active') AND instance <> ''`,
		tenant, instance, key)
	return c, err
}

func (r reader) OpenConversations(ctx context.Context, tenant string) ([]store.Conversation, error) {
	return queryList(ctx, r, "open conversations", func(rows *sql.Rows) (store.Conversation, error) {
		return scanConversation(rows)
	}, `SELECT `+conversationColumns+` FROM conversations WHERE tenant_id = $1 AND state <> 'closed'
		ORDER BY created_at, id`, tenant)
}

func (r reader) CustomerConversations(ctx context.Context, tenant, customerID string, limit int) ([]store.Conversation, error) {
	return queryList(ctx, r, "customer conversations", func(rows *sql.Rows) (store.Conversation, error) {
		return scanConversation(rows)
	}, `SELECT `+conversationColumns+` FROM conversations WHERE tenant_id = $1 AND customer_id = $2
		ORDER BY created_at DESC, id DESC LIMIT $3`, tenant, customerID, sqlLimit(limit))
}

// UserConversations finds the conversations through their agent or through the present agent
// participants; EXISTS rather than a join, so that a conversation matching both ways, or with
// several participant rows, comes once.
func (r reader) UserConversations(ctx context.Context, tenant, userID string) ([]store.Conversation, error) {
	return queryList(ctx, r, "conversations of user", func(rows *sql.Rows) (store.Conversation, error) {
		return scanConversation(rows)
	}, `SELECT `+convColumns+` FROM conversations c
		WHERE c.tenant_id = $1 AND c.state <> 'closed' AND (c.agent_id = $2 OR EXISTS (
			SELECT 1 FROM participants p
			WHERE p.tenant_id = c.tenant_id AND p.conversation_id = c.id
				AND p.kind = 'agent' AND p.ref_id = $2 AND p.left_at = 0))
		ORDER BY c.created_at, c.id`, tenant, userID)
}

// ClosedConversations is one constant statement whatever the filter, so that it is prepared once:
// an unset field disables its condition, and the queue ids travel as one JSON array.
func (r reader) ClosedConversations(ctx context.Context, tenant string, f store.ClosedFilter) ([]store.Conversation, error) {
	queues, err := encodeList(f.QueueIDs)
	if err != nil {
		return nil, fmt.Errorf("store: encode queue filter %v: %w", f.QueueIDs, err)
	}
	before := int64(math.MaxInt64)
	if !f.Before.IsZero() {
		before = nanos(f.Before)
	}
	return queryList(ctx, r, "closed conversations", func(rows *sql.Rows) (store.Conversation, error) {
		return scanConversation(rows)
	}, `SELECT `+convColumns+` FROM conversations c
		WHERE c.tenant_id = $1 AND c.state = 'closed' AND c.closed_at < $2
			AND ($3 = '' OR c.kind = $3)
			AND ($4 = '[]' OR c.queue_id IN (SELECT value FROM json_each($4)))
			AND ($5 = '' OR c.agent_id = $5 OR EXISTS (
				SELECT 1 FROM participants p
				WHERE p.tenant_id = c.tenant_id AND p.conversation_id = c.id
					AND p.kind = 'agent' AND p.ref_id = $5))
		ORDER BY c.closed_at DESC, c.id DESC LIMIT $6`,
		tenant, before, f.Kind, queues, f.AgentID, sqlLimit(f.Limit))
}

func (r reader) Participants(ctx context.Context, tenant, conversationID string) ([]store.Participant, error) {
	return queryList(ctx, r, "participants", func(rows *sql.Rows) (store.Participant, error) {
		var p store.Participant
		var joined, left int64
		err := rows.Scan(&p.TenantID, &p.ConversationID, &p.Kind, &p.RefID, &p.DisplayName, &joined, &left,
			&p.ReadSeq)
		p.JoinedAt, p.LeftAt = fromNanos(joined), fromNanos(left)
		return p, err
	}, `SELECT tenant_id, conversation_id, kind, ref_id, display_name, joined_at, left_at, read_seq
		FROM participants WHERE tenant_id = $1 AND conversation_id = $2
		ORDER BY joined_at, kind, ref_id`, tenant, conversationID)
}

const messageColumns = `tenant_id, conversation_id, seq, id, event_id, sender_kind, sender_id,
	sender_name, text, html, attachments, created_at`

// messageReadColumns are messageColumns and the delivery report, which only SetDelivery writes.
const messageReadColumns = messageColumns + `, delivery, delivery_reason`

func scanMessage(s scanner) (store.Message, error) {
	var m store.Message
	var attachments string
	var created int64
	if err := s.Scan(&m.TenantID, &m.ConversationID, &m.Seq, &m.ID, &m.EventID, &m.SenderKind,
		&m.SenderID, &m.SenderName, &m.Text, &m.HTML, &attachments, &created, &m.Delivery, &m.DeliveryReason); err != nil {
		return m, err
	}
	m.CreatedAt = fromNanos(created)
	var err error
	if m.Attachments, err = decodeList[store.Attachment](attachments); err != nil {
		return m, fmt.Errorf("attachments of message %q: %w", m.ID, err)
	}
	return m, nil
}

func (r reader) Messages(ctx context.Context, tenant, conversationID string, afterSeq int64, limit int) ([]store.Message, error) {
	return queryList(ctx, r, "messages", func(rows *sql.Rows) (store.Message, error) {
		return scanMessage(rows)
	}, `SELECT `+messageReadColumns+` FROM messages WHERE tenant_id = $1 AND conversation_id = $2 AND seq > $3
		ORDER BY seq LIMIT $4`, tenant, conversationID, afterSeq, sqlLimit(limit))
}

func (r reader) MessageByEventID(ctx context.Context, tenant, eventID string) (store.Message, error) {
	var m store.Message
	err := r.queryRow(ctx, "message of event", eventID, func(row *sql.Row) (err error) {
		m, err = scanMessage(row)
		return err
	}, `SELECT `+messageReadColumns+` FROM messages WHERE tenant_id = $1 AND event_id = $2 AND event_id <> ''`,
		tenant, eventID)
	return m, err
}

func (r reader) PendingOutbox(ctx context.Context, tenant, instance string, afterID int64, limit int) ([]store.OutboxEvent, error) {
	return queryList(ctx, r, "pending outbox", func(rows *sql.Rows) (store.OutboxEvent, error) {
		var e store.OutboxEvent
		var created, settled int64
		err := rows.Scan(&e.TenantID, &e.ID, &e.Instance, &e.EventID, &e.ConversationID, &e.Payload,
			&e.State, &e.Reason, &created, &settled)
		e.CreatedAt, e.SettledAt = fromNanos(created), fromNanos(settled)
		return e, err
	}, `SELECT tenant_id, id, instance, event_id, conversation_id, payload, state, reason, created_at, settled_at
		FROM outbox WHERE tenant_id = $1 AND instance = $2 AND state = 'pending' AND id > $3
		ORDER BY id LIMIT $4`, tenant, instance, afterID, sqlLimit(limit))
}

func (r reader) OutboxDepth(ctx context.Context, tenant, instance string) (int, error) {
	ctx, err := r.ctx(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	err = r.q.QueryRowContext(ctx, `SELECT count(*) FROM outbox
		WHERE tenant_id = $1 AND instance = $2 AND state = 'pending'`, tenant, instance).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth of %q: %w", instance, err)
	}
	return n, nil
}

func (r reader) Session(ctx context.Context, tenant, tokenHash string) (store.Session, error) {
	var s store.Session
	var created, expires int64
	// The token hash stays out of error messages: logs should not carry session keys.
	err := r.queryRow(ctx, "session of tenant", tenant, func(row *sql.Row) error {
		return row.Scan(&s.TenantID, &s.TokenHash, &s.UserID, &s.CSRFToken, &created, &expires)
	}, `SELECT tenant_id, token_hash, user_id, csrf_token, created_at, expires_at
		FROM sessions WHERE tenant_id = $1 AND token_hash = $2`, tenant, tokenHash)
	if err != nil {
		return store.Session{}, err
	}
	s.CreatedAt, s.ExpiresAt = fromNanos(created), fromNanos(expires)
	return s, nil
}
