package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// txView is the store.Tx handed to Write functions: the writer's connection, inside the batch's
// transaction.
type txView struct {
	reader
}

var _ store.Tx = (*txView)(nil)

func newTxView(q querier) *txView {
	return &txView{reader: reader{q: q, shared: true}}
}

func (t *txView) exec(query string, args ...any) (sql.Result, error) {
	return t.q.ExecContext(context.Background(), query, args...)
}

// execOne runs an UPDATE that must touch a row; none is ErrNotFound described by what and id.
func (t *txView) execOne(what, id, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return writeErr(fmt.Sprintf("update %s %q", what, id), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: update %s %q: %w", what, id, err)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// atomic runs fn in a nested savepoint, so that a method made of several statements leaves nothing
// behind when it fails, even if the Write function goes on after the error.
func (t *txView) atomic(fn func() error) error {
	if _, err := t.exec("SAVEPOINT store_op"); err != nil {
		return fmt.Errorf("store: savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rbErr := t.exec("ROLLBACK TO store_op"); rbErr != nil {
			return errors.Join(err, fmt.Errorf("store: roll back savepoint: %w", rbErr))
		}
		t.exec("RELEASE store_op")
		return err
	}
	if _, err := t.exec("RELEASE store_op"); err != nil {
		return fmt.Errorf("store: release savepoint: %w", err)
	}
	return nil
}

func need(value, what string) error {
	if value == "" {
		return fmt.Errorf("store: %s is empty", what)
	}
	return nil
}

func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

func (t *txView) UpsertTenant(tn store.Tenant) error {
	if err := need(tn.ID, "tenant id"); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO tenants (tenant_id, name) VALUES ($1, $2)
		ON CONFLICT (tenant_id) DO UPDATE SET name = excluded.name`, tn.ID, tn.Name)
	if err != nil {
		return writeErr(fmt.Sprintf("upsert tenant %q", tn.ID), err)
	}
	return nil
}

func (t *txView) UpsertGroup(g store.Group) error {
	if err := errors.Join(need(g.TenantID, "tenant id"), need(g.ID, "group id")); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO groups (tenant_id, id, name) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name`, g.TenantID, g.ID, g.Name)
	if err != nil {
		return writeErr(fmt.Sprintf("upsert group %q", g.ID), err)
	}
	return nil
}

func (t *txView) UpsertQueue(q store.Queue) error {
	if err := errors.Join(need(q.TenantID, "tenant id"), need(q.ID, "queue id")); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO queues (tenant_id, id, name, group_id) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name, group_id = excluded.group_id`,
		q.TenantID, q.ID, q.Name, q.GroupID)
	if err != nil {
		return writeErr(fmt.Sprintf("upsert queue %q", q.ID), err)
	}
	return nil
}

// UpsertUser also keeps an existing user's agent state when u.State is empty, and gives a new user
// with an empty state store.StateLoggedOut: the state belongs to SetAgentState, not to the
// configuration that upserts users.
func (t *txView) UpsertUser(u store.User) (store.User, error) {
	if err := errors.Join(need(u.TenantID, "tenant id"), need(u.Username, "username")); err != nil {
		return store.User{}, err
	}
	err := t.atomic(func() error {
		var old struct {
			id, hash, state, reason string
			since                   int64
		}
		err := t.q.QueryRowContext(context.Background(), `SELECT id, password_hash, state, state_reason, state_since
			FROM users WHERE tenant_id = $1 AND username = $2`, u.TenantID, u.Username).
			Scan(&old.id, &old.hash, &old.state, &old.reason, &old.since)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: load user %q: %w", u.Username, err)
		}
		switch {
		case exists:
			u.ID = old.id
			if u.PasswordHash == "" {
				u.PasswordHash = old.hash
			}
			if u.State == "" {
				u.State, u.StateReason, u.StateSince = store.AgentState(old.state), old.reason, fromNanos(old.since)
			}
		case u.ID == "":
			if u.ID, err = newID(); err != nil {
				return err
			}
			fallthrough
		default:
			if u.State == "" {
				u.State = store.StateLoggedOut
			}
		}
		langs, err := encodeList(u.SecondaryLanguages)
		if err != nil {
			return fmt.Errorf("store: encode languages of user %q: %w", u.Username, err)
		}
		args := []any{u.TenantID, u.ID, u.Username, u.DisplayName, u.Email, u.Role, u.GroupID, u.MaxChats,
			u.PrimaryLanguage, langs, u.PasswordHash, u.State, u.StateReason, nanos(u.StateSince), u.Scope}
		if exists {
			_, err = t.exec(`UPDATE users SET display_name = $4, email = $5, role = $6, group_id = $7,
				max_chats = $8, primary_language = $9, secondary_languages = $10, password_hash = $11,
				state = $12, state_reason = $13, state_since = $14, scope = $15
				WHERE tenant_id = $1 AND id = $2 AND username = $3`, args...)
		} else {
			_, err = t.exec(`INSERT INTO users (`+userColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, args...)
		}
		if err != nil {
			return writeErr(fmt.Sprintf("upsert user %q", u.Username), err)
		}
		return t.setQueues(u.TenantID, u.ID, u.Queues)
	})
	if err != nil {
		return store.User{}, err
	}
	return t.User(context.Background(), u.TenantID, u.ID)
}

// setQueues replaces the user's queue memberships, keeping their order.
func (t *txView) setQueues(tenant, userID string, queues []string) error {
	if _, err := t.exec(`DELETE FROM queue_members WHERE tenant_id = $1 AND user_id = $2`, tenant, userID); err != nil {
		return fmt.Errorf("store: clear queues of user %q: %w", userID, err)
	}
	seen := make(map[string]bool, len(queues))
	for i, q := range queues {
		if seen[q] {
			continue
		}
		seen[q] = true
		if _, err := t.exec(`INSERT INTO queue_members (tenant_id, user_id, queue_id, position)
			VALUES ($1, $2, $3, $4)`, tenant, userID, q, i); err != nil {
			return writeErr(fmt.Sprintf("add user %q to queue %q", userID, q), err)
		}
	}
	return nil
}

func (t *txView) SetUserPassword(tenant, userID, passwordHash string) error {
	return t.execOne("user", userID, `UPDATE users SET password_hash = $3 WHERE tenant_id = $1 AND id = $2`,
		tenant, userID, passwordHash)
}

func (t *txView) SetAgentState(tenant, userID string, state store.AgentState, reason string, since time.Time) error {
	return t.execOne("user", userID, `UPDATE users SET state = $3, state_reason = $4, state_since = $5
		WHERE tenant_id = $1 AND id = $2`, tenant, userID, state, reason, nanos(since))
}

func (t *txView) CreateCustomer(c store.Customer) (store.Customer, error) {
	if err := need(c.TenantID, "tenant id"); err != nil {
		return store.Customer{}, err
	}
	if c.ID == "" {
		var err error
		if c.ID, err = newID(); err != nil {
			return store.Customer{}, err
		}
	}
	c.CreatedAt = orNow(c.CreatedAt)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	_, err := t.exec(`INSERT INTO customers (`+customerColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.TenantID, c.ID, c.Nickname, c.FirstName, c.LastName, c.Email, c.Phone, c.AccountNumber,
		c.Language, nanos(c.CreatedAt), nanos(c.UpdatedAt))
	if err != nil {
		return store.Customer{}, writeErr(fmt.Sprintf("create customer %q", c.ID), err)
	}
	return c, nil
}

// UpdateCustomer writes every field but CreatedAt; a zero UpdatedAt becomes now.
func (t *txView) UpdateCustomer(c store.Customer) error {
	return t.execOne("customer", c.ID, `UPDATE customers SET nickname = $3, first_name = $4, last_name = $5,
		email = $6, phone = $7, account_number = $8, language = $9, updated_at = $10
		WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID, c.Nickname, c.FirstName, c.LastName, c.Email, c.Phone, c.AccountNumber,
		c.Language, nanos(orNow(c.UpdatedAt)))
}

// CreateCase fills in a zero CreatedAt with now and a zero UpdatedAt with CreatedAt.
func (t *txView) CreateCase(c store.Case) (store.Case, error) {
	if err := need(c.TenantID, "tenant id"); err != nil {
		return store.Case{}, err
	}
	if c.ID == "" {
		var err error
		if c.ID, err = newID(); err != nil {
			return store.Case{}, err
		}
	}
	c.CreatedAt = orNow(c.CreatedAt)
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	_, err := t.exec(`INSERT INTO cases (`+caseColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.TenantID, c.ID, c.CustomerID, c.ConversationID, c.Subject, c.Notes, c.Status, c.CreatedBy,
		nanos(c.CreatedAt), nanos(c.UpdatedAt))
	if err != nil {
		return store.Case{}, writeErr(fmt.Sprintf("create case %q of customer %q", c.ID, c.CustomerID), err)
	}
	return c, nil
}

// PutFile fills in a zero CreatedAt with now.
func (t *txView) PutFile(f store.File) (store.File, error) {
	if err := need(f.TenantID, "tenant id"); err != nil {
		return store.File{}, err
	}
	if f.ID == "" {
		var err error
		if f.ID, err = newID(); err != nil {
			return store.File{}, err
		}
	}
	if f.Data == nil {
		f.Data = []byte{}
	}
	f.Size, f.CreatedAt = int64(len(f.Data)), orNow(f.CreatedAt)
	_, err := t.exec(`INSERT INTO files (`+fileColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.TenantID, f.ID, f.ConversationID, f.Name, f.ContentType, f.Size, f.Data, nanos(f.CreatedAt))
	if err != nil {
		return store.File{}, writeErr(fmt.Sprintf("put file %q of conversation %q", f.ID, f.ConversationID), err)
	}
	return f, nil
}

func (t *txView) SetDelivery(tenant, eventID string, d store.Delivery, reason string) (store.Message, bool, error) {
	m, err := t.MessageByEventID(context.Background(), tenant, eventID)
	if err != nil {
		return store.Message{}, false, err
	}
	if d.Rank() < m.Delivery.Rank() || (d == m.Delivery && reason == m.DeliveryReason) {
		return m, false, nil // stale or repeated
	}
	_, err = t.exec(`UPDATE messages SET delivery = $3, delivery_reason = $4 WHERE tenant_id = $1 AND event_id = $2`,
		tenant, eventID, string(d), reason)
	if err != nil {
		return store.Message{}, false, writeErr(fmt.Sprintf("record delivery of message %q", m.ID), err)
	}
	m.Delivery, m.DeliveryReason = d, reason
	return m, true, nil
}

// CreateConversation starts LastSeq at 0 whatever c holds; a zero CreatedAt becomes now.
func (t *txView) CreateConversation(c store.Conversation) (store.Conversation, error) {
	if err := need(c.TenantID, "tenant id"); err != nil {
		return store.Conversation{}, err
	}
	if c.ID == "" {
		var err error
		if c.ID, err = newID(); err != nil {
			return store.Conversation{}, err
		}
	}
	c.CreatedAt = orNow(c.CreatedAt)
	c.LastSeq = 0
	identity, prechat, err := encodeConversation(c)
	if err != nil {
		return store.Conversation{}, err
	}
	_, err = t.exec(`INSERT INTO conversations (`+conversationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
		$21, $22)`,
		c.TenantID, c.ID, c.Kind, c.State, c.Instance, c.Channel, c.ExternalKey, c.QueueID, c.CustomerID,
		identity, c.AgentID, c.Language, c.Origin, prechat, nanos(c.CreatedAt), nanos(c.EnteredQueueAt),
		nanos(c.AssignedAt), nanos(c.EndedAt), nanos(c.ClosedAt), c.LastSeq, c.Disposition, c.Notes)
	if err != nil {
		return store.Conversation{}, writeErr(fmt.Sprintf("create conversation %q (instance %q, key %q)",
			c.ID, c.Instance, c.ExternalKey), err)
	}
	return c, nil
}

// UpdateConversation leaves what names the conversation (kind, instance, channel, key), CreatedAt
// and LastSeq alone: LastSeq belongs to AppendMessage. The customer's Identity is written.
func (t *txView) UpdateConversation(c store.Conversation) error {
	identity, prechat, err := encodeConversation(c)
	if err != nil {
		return err
	}
	return t.execOne("conversation", c.ID, `UPDATE conversations SET state = $3, queue_id = $4,
		customer_id = $5, identity = $6, agent_id = $7, language = $8, origin = $9, prechat = $10,
		entered_queue_at = $11, assigned_at = $12, ended_at = $13, closed_at = $14, disposition = $15,
		notes = $16
		WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID, c.State, c.QueueID, c.CustomerID, identity, c.AgentID, c.Language, c.Origin,
		prechat, nanos(c.EnteredQueueAt), nanos(c.AssignedAt), nanos(c.EndedAt), nanos(c.ClosedAt),
		c.Disposition, c.Notes)
}

// encodeConversation encodes the JSON columns of c.
func encodeConversation(c store.Conversation) (identity, prechat string, err error) {
	if identity, err = encodeObject(c.Identity); err != nil {
		return "", "", fmt.Errorf("store: encode identity of conversation %q: %w", c.ID, err)
	}
	if prechat, err = encodeList(c.Prechat); err != nil {
		return "", "", fmt.Errorf("store: encode prechat of conversation %q: %w", c.ID, err)
	}
	return identity, prechat, nil
}

// AddParticipant is ErrConflict while the same participant is in the conversation and has not
// left; a zero JoinedAt becomes now.
func (t *txView) AddParticipant(p store.Participant) error {
	_, err := t.exec(`INSERT INTO participants (tenant_id, conversation_id, kind, ref_id, display_name,
		joined_at, left_at, read_seq) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.TenantID, p.ConversationID, p.Kind, p.RefID, p.DisplayName, nanos(orNow(p.JoinedAt)), nanos(p.LeftAt),
		p.ReadSeq)
	if isForeignKey(err) {
		return notFound("conversation", p.ConversationID)
	}
	if err != nil {
		return writeErr(fmt.Sprintf("add %s %q to conversation %q", p.Kind, p.RefID, p.ConversationID), err)
	}
	return nil
}

// MarkRead touches only the participant's present row: earlier stays keep the mark they left with.
func (t *txView) MarkRead(tenant, conversationID string, kind store.ParticipantKind, refID string, seq int64) error {
	res, err := t.exec(`UPDATE participants SET read_seq = max(read_seq, $5)
		WHERE tenant_id = $1 AND conversation_id = $2 AND kind = $3 AND ref_id = $4 AND left_at = 0`,
		tenant, conversationID, kind, refID, seq)
	if err != nil {
		return fmt.Errorf("store: mark read for %s %q of conversation %q: %w", kind, refID, conversationID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: mark read for %s %q of conversation %q: %w", kind, refID, conversationID, err)
	}
	if n == 0 {
		return fmt.Errorf("store: present %s %q of conversation %q: %w", kind, refID, conversationID, store.ErrNotFound)
	}
	return nil
}

// LeaveParticipant is ErrNotFound when the participant never joined; a zero at becomes now.
func (t *txView) LeaveParticipant(tenant, conversationID string, kind store.ParticipantKind, refID string, at time.Time) error {
	res, err := t.exec(`UPDATE participants SET left_at = $5
		WHERE tenant_id = $1 AND conversation_id = $2 AND kind = $3 AND ref_id = $4 AND left_at = 0`,
		tenant, conversationID, kind, refID, nanos(orNow(at)))
	if err != nil {
		return fmt.Errorf("store: leave %s %q of conversation %q: %w", kind, refID, conversationID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var n int
	err = t.q.QueryRowContext(context.Background(), `SELECT count(*) FROM participants
		WHERE tenant_id = $1 AND conversation_id = $2 AND kind = $3 AND ref_id = $4`,
		tenant, conversationID, kind, refID).Scan(&n)
	if err != nil {
		return fmt.Errorf("store: leave %s %q of conversation %q: %w", kind, refID, conversationID, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s %q of conversation %q: %w", kind, refID, conversationID, store.ErrNotFound)
	}
	return nil
}

func (t *txView) AppendMessage(m store.Message) (store.Message, error) {
	if m.ID == "" {
		var err error
		if m.ID, err = newID(); err != nil {
			return store.Message{}, err
		}
	}
	m.CreatedAt = orNow(m.CreatedAt)
	attachments, err := encodeList(m.Attachments)
	if err != nil {
		return store.Message{}, fmt.Errorf("store: encode attachments of message %q: %w", m.ID, err)
	}
	// The row takes the next sequence number in one statement; only once it is in does the
	// conversation's counter move, so a refused row (a duplicate event id) burns no number.
	err = t.q.QueryRowContext(context.Background(), `INSERT INTO messages (`+messageColumns+`)
		SELECT tenant_id, id, last_seq + 1, $3, $4, $5, $6, $7, $8, $9, $10, $11
		FROM conversations WHERE tenant_id = $1 AND id = $2
		RETURNING seq`,
		m.TenantID, m.ConversationID, m.ID, m.EventID, m.SenderKind, m.SenderID, m.SenderName,
		m.Text, m.HTML, attachments, nanos(m.CreatedAt)).Scan(&m.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Message{}, notFound("conversation", m.ConversationID)
	}
	if err != nil {
		return store.Message{}, writeErr(fmt.Sprintf("append message %q (event %q) to conversation %q",
			m.ID, m.EventID, m.ConversationID), err)
	}
	_, err = t.exec(`UPDATE conversations SET last_seq = $3 WHERE tenant_id = $1 AND id = $2`,
		m.TenantID, m.ConversationID, m.Seq)
	if err != nil {
		err = fmt.Errorf("store: advance seq of conversation %q: %w", m.ConversationID, err)
	}
	if err != nil {
		return store.Message{}, err
	}
	return m, nil
}

func (t *txView) Seen(tenant, source, eventID string, at time.Time) (bool, error) {
	if err := errors.Join(need(tenant, "tenant id"), need(eventID, "event id")); err != nil {
		return false, err
	}
	res, err := t.exec(`INSERT INTO seen_events (tenant_id, source, event_id, at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, source, event_id) DO NOTHING`, tenant, source, eventID, nanos(orNow(at)))
	if err != nil {
		return false, fmt.Errorf("store: record event %q of %q: %w", eventID, source, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: record event %q of %q: %w", eventID, source, err)
	}
	return n == 1, nil
}

// EnqueueOutbox stores e as pending unless e.State says otherwise; a zero CreatedAt becomes now.
func (t *txView) EnqueueOutbox(e store.OutboxEvent) (store.OutboxEvent, error) {
	if err := errors.Join(need(e.TenantID, "tenant id"), need(e.Instance, "instance"), need(e.EventID, "event id")); err != nil {
		return store.OutboxEvent{}, err
	}
	if e.State == "" {
		e.State = store.OutboxPending
	}
	if e.Payload == nil {
		e.Payload = []byte{}
	}
	e.CreatedAt = orNow(e.CreatedAt)
	err := t.q.QueryRowContext(context.Background(), `INSERT INTO outbox (tenant_id, instance, event_id,
		conversation_id, payload, state, reason, created_at, settled_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		e.TenantID, e.Instance, e.EventID, e.ConversationID, e.Payload, e.State, e.Reason,
		nanos(e.CreatedAt), nanos(e.SettledAt)).Scan(&e.ID)
	if err != nil {
		return store.OutboxEvent{}, writeErr(fmt.Sprintf("enqueue event %q for %q", e.EventID, e.Instance), err)
	}
	return e, nil
}

func (t *txView) SettleOutbox(tenant, instance, eventID string, state store.OutboxState, reason string, at time.Time) error {
	if state != store.OutboxDelivered && state != store.OutboxRejected {
		return fmt.Errorf("store: settle event %q for %q: state %q is neither delivered nor rejected", eventID, instance, state)
	}
	_, err := t.exec(`UPDATE outbox SET state = $4, reason = $5, settled_at = $6
		WHERE tenant_id = $1 AND instance = $2 AND event_id = $3 AND state = 'pending'`,
		tenant, instance, eventID, state, reason, nanos(orNow(at)))
	if err != nil {
		return fmt.Errorf("store: settle event %q for %q: %w", eventID, instance, err)
	}
	return nil
}

func (t *txView) CreateSession(s store.Session) error {
	if err := errors.Join(need(s.TenantID, "tenant id"), need(s.TokenHash, "token hash")); err != nil {
		return err
	}
	_, err := t.exec(`INSERT INTO sessions (tenant_id, token_hash, user_id, csrf_token, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		s.TenantID, s.TokenHash, s.UserID, s.CSRFToken, nanos(orNow(s.CreatedAt)), nanos(s.ExpiresAt))
	if err != nil {
		return writeErr(fmt.Sprintf("create session of user %q", s.UserID), err)
	}
	return nil
}

// DeleteSession does nothing when the session is gone already: signing out may repeat.
func (t *txView) DeleteSession(tenant, tokenHash string) error {
	if _, err := t.exec(`DELETE FROM sessions WHERE tenant_id = $1 AND token_hash = $2`, tenant, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

func (t *txView) DeleteExpiredSessions(now time.Time) (int, error) {
	// The one statement that spans tenants: expiry is the same rule for all of them.
	res, err := t.exec(`DELETE FROM sessions WHERE expires_at < $1`, nanos(now))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return int(n), nil
}

func (t *txView) PruneSeen(before time.Time) (int, error) {
	// Spans tenants: retention is one rule for all of them.
	return t.prune("seen events", `DELETE FROM seen_events WHERE at < $1`, before)
}

func (t *txView) PruneOutbox(settledBefore time.Time) (int, error) {
	// Spans tenants: retention is one rule for all of them.
	return t.prune("settled outbox", `DELETE FROM outbox WHERE state <> 'pending' AND settled_at < $1`, settledBefore)
}

func (t *txView) prune(what, query string, before time.Time) (int, error) {
	res, err := t.exec(query, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune %s: %w", what, err)
	}
	return int(n), nil
}
