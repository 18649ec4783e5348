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
		h.metrics.teamChats.WithLabelValues(tenant, "internal").Inc()
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
	parts, err := h.st.Participants(ctx, c.TenantID, c.ID)
	if err != nil {
		return ConversationView{}, err
	}
	return h.userView(ctx, c, userID, parts)
}

// userView is viewFor with the conversation's participants already loaded.
func (h *Hub) userView(ctx context.Context, c store.Conversation, userID string, parts []store.Participant) (ConversationView, error) {
	v, err := h.viewOf(ctx, c, parts)
	if err == nil && c.Kind == store.KindExpert {
		v.Peer = h.expertPeer(c, parts)
	}
	if err != nil || c.Kind != store.KindInternal {
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

// members lists the agents present in a chat.
func members(parts []store.Participant) []string {
	var ids []string
	for _, p := range parts {
		if p.Kind == store.PartAgent && p.LeftAt.IsZero() {
			ids = append(ids, p.RefID)
		}
	}
	return ids
}

// member checks that c is an agent-to-agent chat the user is in and returns its participants.
func member(ctx context.Context, r store.Reader, c store.Conversation, userID string) ([]store.Participant, error) {
	if c.Kind != store.KindInternal {
		return nil, fmt.Errorf("%w: conversation %s", ErrNotFound, c.ID)
	}
	parts, err := r.Participants(ctx, c.TenantID, c.ID)
	if err != nil {
		return nil, err
	}
	if !present(parts, userID) {
		return nil, fmt.Errorf("%w: conversation %s", ErrNotFound, c.ID)
	}
	return parts, nil
}

// endInternal closes an agent-to-agent chat for both sides with a note of who ended it.
func (h *Hub) endInternal(ctx context.Context, u store.User, convID string) (ConversationView, error) {
	var c store.Conversation
	var ids []string
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.Conversation(ctx, u.TenantID, convID); err != nil {
			return err
		}
		parts, err := member(ctx, tx, c, u.ID)
		if err != nil {
			return err
		}
		if c.State != store.ConvActive {
			return fmt.Errorf("%w: the chat is %s", ErrConflict, c.State)
		}
		ids = members(parts)
		now := h.now()
		note := u.DisplayName + " ended the chat."
		if _, err := tx.AppendMessage(store.Message{TenantID: u.TenantID, ConversationID: convID, SenderKind: store.PartSystem,
			SenderName: "Switchboard", Text: note, HTML: richtext.FromText(note), CreatedAt: now}); err != nil {
			return err
		}
		for _, id := range ids {
			if err := tx.LeaveParticipant(u.TenantID, convID, store.PartAgent, id, now); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
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
