package hub

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Agent-to-agent chats are conversations of kind internal between two users of a tenant. They
// are not routed: they arrive at the other agent without an offer, do not count against
// capacity, and either side may end them. Agents chat within their functional group;
// supervisors and admins reach every group.

// StartChat opens an agent-to-agent chat with the user named by username, or returns the open
// one between the two.
func (h *Hub) StartChat(ctx context.Context, tenant, userID, username string) (ConversationView, error) {
	me, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	other, err := h.st.UserByUsername(ctx, tenant, username)
	if err != nil {
		return ConversationView{}, fmt.Errorf("%w: no user %q in this tenant", ErrNotFound, username)
	}
	if other.ID == me.ID {
		return ConversationView{}, fmt.Errorf("%w: a chat needs someone else", ErrInvalid)
	}
	if me.Role == store.RoleAgent && other.GroupID != me.GroupID && other.Role == store.RoleAgent {
		// Outside the group the colleague does not exist for an agent.
		return ConversationView{}, fmt.Errorf("%w: no user %q in your group", ErrNotFound, username)
	}
	var (
		conv  store.Conversation
		fresh bool
	)
	err = h.st.Write(ctx, func(tx store.Tx) error {
		open, err := tx.UserConversations(ctx, tenant, me.ID)
		if err != nil {
			return err
		}
		for _, c := range open {
			if c.Kind != store.KindInternal {
				continue
			}
			parts, err := tx.Participants(ctx, tenant, c.ID)
			if err != nil {
				return err
			}
			if present(parts, other.ID) {
				conv = c
				return nil
			}
		}
		now := h.now()
		conv, err = tx.CreateConversation(store.Conversation{TenantID: tenant, Kind: store.KindInternal, State: store.ConvActive,
			Channel: "internal", AgentID: me.ID, CreatedAt: now, AssignedAt: now})
		if err != nil {
			return err
		}
		for _, u := range []store.User{me, other} {
			if err := tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: conv.ID, Kind: store.PartAgent,
				RefID: u.ID, DisplayName: u.DisplayName, JoinedAt: now}); err != nil {
				return err
			}
		}
		fresh = true
		return nil
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	if fresh {
		h.metrics.conversations.WithLabelValues("internal_started").Inc()
		h.pushTo(ctx, conv, other.ID)
	}
	return h.viewFor(ctx, conv, me.ID)
}

func present(parts []store.Participant, userID string) bool {
	for _, p := range parts {
		if p.Kind == store.PartAgent && p.RefID == userID && p.LeftAt.IsZero() {
			return true
		}
	}
	return false
}

// viewFor is the view of a conversation for one user: for an agent-to-agent chat, the colleague
// on the other side is its peer.
func (h *Hub) viewFor(ctx context.Context, c store.Conversation, userID string) (ConversationView, error) {
	v, err := h.view(ctx, c)
	if err != nil || c.Kind != store.KindInternal {
		return v, err
	}
	parts, err := h.st.Participants(ctx, c.TenantID, c.ID)
	if err != nil {
		return v, err
	}
	for _, p := range parts {
		if p.Kind != store.PartAgent || p.RefID == userID {
			continue
		}
		peer := PeerView{ID: p.RefID, DisplayName: p.DisplayName, State: string(store.StateLoggedOut)}
		if u, err := h.st.User(ctx, c.TenantID, p.RefID); err == nil {
			peer.Username, peer.State = u.Username, string(u.State)
		}
		v.Peer = &peer
	}
	return v, nil
}

// pushTo sends a conversation's current view to one user's consoles.
func (h *Hub) pushTo(ctx context.Context, c store.Conversation, userID string) {
	v, err := h.viewFor(ctx, c, userID)
	if err != nil {
		h.log.Error("load conversation view", "conversation", c.ID, "error", err)
		return
	}
	h.bus.publish(c.TenantID, userID, Push{Type: "conversation", ConversationID: c.ID, Conversation: &v})
}

// members lists the users present in an agent-to-agent chat.
func (h *Hub) members(ctx context.Context, c store.Conversation) ([]string, error) {
	parts, err := h.st.Participants(ctx, c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range parts {
		if p.Kind == store.PartAgent && p.LeftAt.IsZero() {
			ids = append(ids, p.RefID)
		}
	}
	return ids, nil
}

// sendInternal stores a message of an agent-to-agent chat and pushes it to both sides.
func (h *Hub) sendInternal(ctx context.Context, u store.User, convID, eventID, text, html string) (MessageView, bool, error) {
	var (
		stored store.Message
		conv   store.Conversation
		repeat bool
	)
	err := h.st.Write(ctx, func(tx store.Tx) error {
		fresh, err := tx.Seen(u.TenantID, "console", eventID, h.now())
		if err != nil {
			return err
		}
		if !fresh {
			repeat = true
			stored, err = tx.MessageByEventID(ctx, u.TenantID, eventID)
			return err
		}
		if conv, err = h.memberOf(ctx, tx, u, convID); err != nil {
			return err
		}
		if conv.State != store.ConvActive {
			return fmt.Errorf("%w: the chat is %s", ErrConflict, conv.State)
		}
		stored, err = tx.AppendMessage(store.Message{TenantID: u.TenantID, ConversationID: convID, EventID: eventID,
			SenderKind: store.PartAgent, SenderID: u.ID, SenderName: u.DisplayName, Text: text, HTML: html, CreatedAt: h.now()})
		if err != nil {
			return err
		}
		return tx.MarkRead(u.TenantID, convID, store.PartAgent, u.ID, stored.Seq)
	})
	if err != nil {
		return MessageView{}, false, notFound(err)
	}
	mv := messageView(stored)
	if repeat {
		return mv, false, nil
	}
	h.metrics.messages.WithLabelValues("internal").Inc()
	ids, err := h.members(ctx, conv)
	if err != nil {
		return mv, true, err
	}
	for _, id := range ids {
		h.bus.publish(u.TenantID, id, Push{Type: "message", ConversationID: convID, Message: &mv})
	}
	return mv, true, nil
}

// memberOf loads an open agent-to-agent chat the user is in.
func (h *Hub) memberOf(ctx context.Context, tx store.Reader, u store.User, convID string) (store.Conversation, error) {
	c, err := tx.Conversation(ctx, u.TenantID, convID)
	if err != nil {
		return c, err
	}
	parts, err := tx.Participants(ctx, u.TenantID, convID)
	if err != nil {
		return c, err
	}
	if c.Kind != store.KindInternal || !present(parts, u.ID) {
		return c, fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
	}
	return c, nil
}

// endInternal closes an agent-to-agent chat for both sides with a note of who ended it.
func (h *Hub) endInternal(ctx context.Context, u store.User, convID string) (ConversationView, error) {
	var c store.Conversation
	var ids []string
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = h.memberOf(ctx, tx, u, convID); err != nil {
			return err
		}
		if c.State != store.ConvActive {
			return fmt.Errorf("%w: the chat is %s", ErrConflict, c.State)
		}
		parts, err := tx.Participants(ctx, u.TenantID, convID)
		if err != nil {
			return err
		}
		now := h.now()
		note := u.DisplayName + " ended the chat."
		if _, err := tx.AppendMessage(store.Message{TenantID: u.TenantID, ConversationID: convID, SenderKind: store.PartSystem,
			SenderName: "Switchboard", Text: note, HTML: richtext.FromText(note), CreatedAt: now}); err != nil {
			return err
		}
		for _, p := range parts {
			if p.Kind == store.PartAgent && p.LeftAt.IsZero() {
				ids = append(ids, p.RefID)
				if err := tx.LeaveParticipant(u.TenantID, convID, store.PartAgent, p.RefID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
			}
		}
		c.State, c.EndedAt, c.ClosedAt = store.ConvClosed, now, now
		return tx.UpdateConversation(c)
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	for _, id := range ids {
		h.pushTo(ctx, c, id)
	}
	return h.viewFor(ctx, c, u.ID)
}
