package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Snapshot is what a console needs to (re)draw: the user, their state, their conversations and
// their pending offer.
type Snapshot struct {
	User          UserView           `json:"user"`
	Conversations []ConversationView `json:"conversations"`
	Offers        []OfferView        `json:"offers"`
}

// UserView is a console user as the console shows it.
type UserView struct {
	ID          string `json:"id"`
	Tenant      string `json:"tenant"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Role        string `json:"role"`
	Group       string `json:"group"`
	MaxChats    int    `json:"max_chats"`
	State       string `json:"state"`
	StateReason string `json:"state_reason,omitempty"`
}

// NewUserView is the console's view of a stored user.
func NewUserView(u store.User) UserView {
	return UserView{ID: u.ID, Tenant: u.TenantID, Username: u.Username, DisplayName: u.DisplayName, Role: string(u.Role),
		Group: u.GroupID, MaxChats: u.MaxChats, State: string(u.State), StateReason: u.StateReason}
}

// Snapshot returns the user's current console state.
func (h *Hub) Snapshot(ctx context.Context, tenant, userID string) (Snapshot, error) {
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return Snapshot{}, notFound(err)
	}
	snap := Snapshot{User: NewUserView(u), Conversations: []ConversationView{}, Offers: []OfferView{}}
	open, err := h.st.UserConversations(ctx, tenant, userID)
	if err != nil {
		return Snapshot{}, err
	}
	for _, c := range open {
		parts, err := h.st.Participants(ctx, tenant, c.ID)
		if err != nil {
			return Snapshot{}, err
		}
		v, err := h.userView(ctx, c, userID, parts)
		if err != nil {
			return Snapshot{}, err
		}
		if v.Unread, err = h.unread(ctx, c, userID, parts); err != nil {
			return Snapshot{}, err
		}
		snap.Conversations = append(snap.Conversations, h.withSLA(tenant, v))
	}
	h.carryMu.Lock()
	o, offered := h.offers[routing.Key{Tenant: tenant, ID: userID}]
	h.carryMu.Unlock()
	if offered {
		if v, err := h.offerView(ctx, o); err == nil {
			snap.Offers = append(snap.Offers, *v)
		}
	}
	return snap, nil
}

// SetState changes an agent's routing state.
func (h *Hub) SetState(ctx context.Context, tenant, userID string, state store.AgentState, reason string) (UserView, error) {
	switch state {
	case store.StateAvailable, store.StateOnBreak, store.StateWorkOffline, store.StateLoggedOut:
	default:
		return UserView{}, fmt.Errorf("%w: state must be available, on_break, work_offline or logged_out", ErrInvalid)
	}
	now := h.now()
	var before, u store.User
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if before, err = tx.User(ctx, tenant, userID); err != nil {
			return err
		}
		if err := tx.SetAgentState(tenant, userID, state, reason, now); err != nil {
			return err
		}
		u, err = tx.User(ctx, tenant, userID)
		return err
	})
	if err != nil {
		return UserView{}, notFound(err)
	}
	if signedOut(before) != signedOut(u) {
		h.announce(u)
		if !signedOut(u) {
			h.deliveredAtLogin(ctx, tenant, userID, before.StateSince)
		}
	}
	view := NewUserView(u)
	h.bus.publish(tenant, userID, Push{Type: "state", State: view.State, Reason: view.StateReason})
	err = h.decide(ctx, evAgentState, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.SetState(routing.Key{Tenant: tenant, ID: userID}, routingState(state), now)
	})
	if err != nil && !errors.Is(err, routing.ErrUnknownAgent) {
		return view, err
	}
	if state != store.StateLoggedOut {
		h.retryParked(ctx, tenant)
	}
	return view, nil
}

// Accept assigns the conversation offered to the agent.
func (h *Hub) Accept(ctx context.Context, tenant, userID, convID string) (ConversationView, error) {
	err := h.decide(ctx, evAccept, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.Accept(routing.Key{Tenant: tenant, ID: convID}, routing.Key{Tenant: tenant, ID: userID}, now)
	})
	if err != nil {
		return ConversationView{}, routingError(err)
	}
	c, err := h.st.Conversation(ctx, tenant, convID)
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	v, err := h.view(ctx, c)
	return h.withSLA(tenant, v), err
}

// Reject declines the conversation offered to the agent; it goes to the next agent.
func (h *Hub) Reject(ctx context.Context, tenant, userID, convID string) error {
	err := h.decide(ctx, evReject, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.Reject(routing.Key{Tenant: tenant, ID: convID}, routing.Key{Tenant: tenant, ID: userID}, now)
	})
	return routingError(err)
}

// routingError maps the engine's refusals to the hub's errors.
func routingError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, routing.ErrNoOffer), errors.Is(err, routing.ErrOfferExpired):
		return fmt.Errorf("%w: no pending offer of this conversation for you (it expired or was withdrawn)", ErrConflict)
	case errors.Is(err, routing.ErrUnknownConversation), errors.Is(err, routing.ErrUnknownAgent), errors.Is(err, routing.ErrOtherTenant):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, routing.ErrNotActive), errors.Is(err, routing.ErrNotInWrapUp), errors.Is(err, routing.ErrAgentNotEligible):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case errors.Is(err, routing.ErrInvalid), errors.Is(err, routing.ErrCapacity), errors.Is(err, routing.ErrUnknownQueue):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}

// Send stores an agent's message and queues it for the customer, or, in an agent-to-agent
// chat, pushes it to both sides. clientID makes the call idempotent: sending the same clientID
// again returns the stored message.
func (h *Hub) Send(ctx context.Context, tenant, userID, convID, clientID, text, html string) (MessageView, error) {
	clientID = strings.TrimSpace(clientID)
	if clientID == "" || len(clientID) > 64 {
		return MessageView{}, fmt.Errorf("%w: client_id must be 1 to 64 characters", ErrInvalid)
	}
	text, html = richtext.Normalize(text, html)
	if richtext.IsEmpty(text, html) {
		return MessageView{}, fmt.Errorf("%w: the message is empty", ErrInvalid)
	}
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return MessageView{}, notFound(err)
	}
	eventID := "agent:" + userID + ":" + clientID
	var (
		stored store.Message
		conv   store.Conversation
		parts  []store.Participant // of an agent-to-agent chat
	)
	err = h.st.Write(ctx, func(tx store.Tx) error {
		fresh, err := tx.Seen(tenant, "console", eventID, h.now())
		if err != nil {
			return err
		}
		if !fresh {
			stored, err = tx.MessageByEventID(ctx, tenant, eventID)
			return err
		}
		if conv, err = tx.Conversation(ctx, tenant, convID); err != nil {
			return err
		}
		if conv.Kind == store.KindInternal {
			parts, err = member(ctx, tx, conv, userID)
		} else if conv.AgentID != userID {
			err = fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
		}
		if err != nil {
			return err
		}
		if conv.State != store.ConvActive {
			return fmt.Errorf("%w: the conversation is %s", ErrConflict, conv.State)
		}
		stored, err = tx.AppendMessage(store.Message{TenantID: tenant, ConversationID: convID, EventID: eventID,
			SenderKind: store.PartAgent, SenderID: userID, SenderName: u.DisplayName, Text: text, HTML: html, CreatedAt: h.now()})
		if err != nil {
			return err
		}
		// Replying reads the chat: its unread count starts again after the reply.
		if err := tx.MarkRead(tenant, convID, store.PartAgent, userID, stored.Seq); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if conv.Kind == store.KindInternal {
			return nil // agent to agent: no channel
		}
		ev := sdk.NewMessage(eventID, conv.ExternalKey, participantFor(conv, u), &pb.Content{Text: text, Html: html})
		return h.enqueue(tx, conv, ev)
	})
	if err != nil {
		return MessageView{}, notFound(err)
	}
	mv := messageView(stored)
	mv.ClientID = clientID
	switch {
	case conv.ID == "": // a repeat
	case conv.Kind == store.KindInternal:
		h.metrics.messages.WithLabelValues(tenant, "internal").Inc()
		for _, id := range members(parts) {
			h.bus.publish(tenant, id, Push{Type: "message", ConversationID: convID, Message: &mv})
		}
	default:
		h.metrics.messages.WithLabelValues(tenant, "agent").Inc()
		h.plugins.Notify(conv.Instance)
		h.bus.publish(tenant, userID, Push{Type: "message", ConversationID: convID, Message: &mv})
		if conv.Kind == store.KindCustomer {
			var first bool
			h.decide(ctx, evAgentMsg, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
				key := routing.Key{Tenant: tenant, ID: convID}
				w, ok := r.ResponseWait(key)
				first = ok && w.Target == routing.ReasonFirstResponse
				return r.AgentMessage(key, now)
			})
			if first {
				h.metrics.firstResponse.WithLabelValues(tenant, conv.QueueID).Observe(seconds(conv.EnteredQueueAt, stored.CreatedAt))
			}
		}
	}
	return mv, nil
}

// Typing tells the customer the agent is typing (or stopped). It is not stored.
func (h *Hub) Typing(ctx context.Context, tenant, userID, convID string, active bool) error {
	c, err := h.st.Conversation(ctx, tenant, convID)
	if err != nil {
		return fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
	}
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return notFound(err)
	}
	if c.Kind == store.KindInternal {
		parts, err := member(ctx, h.st, c, userID)
		if err != nil {
			return err
		}
		for _, id := range members(parts) {
			if id != userID {
				h.bus.publish(tenant, id, Push{Type: "typing", ConversationID: convID, Active: &active, From: u.DisplayName})
			}
		}
		return nil
	}
	if c.AgentID != userID {
		return fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
	}
	h.plugins.Signal(c.Instance, sdk.NewTyping("typing:"+uuid.NewString(), c.ExternalKey, participantFor(c, u), active))
	return nil
}

// End ends the chat for the customer and puts it into post-processing for the agent.
func (h *Hub) End(ctx context.Context, tenant, userID, convID string) (ConversationView, error) {
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	if c, err := h.st.Conversation(ctx, tenant, convID); err == nil && c.Kind == store.KindInternal {
		return h.endInternal(ctx, u, convID)
	} else if err == nil && c.Kind == store.KindExpert {
		return h.endExpert(ctx, u, convID)
	}
	var c store.Conversation
	err = h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = h.ownConversation(ctx, tx, tenant, userID, convID); err != nil {
			return err
		}
		if c.State != store.ConvActive {
			return fmt.Errorf("%w: the conversation is %s", ErrConflict, c.State)
		}
		c.State, c.EndedAt = store.ConvWrapUp, h.now()
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		return h.enqueue(tx, c, sdk.NewConversationEnded("ended:"+convID, c.ExternalKey, agentParticipant(u), "the agent ended the chat"))
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	h.metrics.conversation(c, "ended")
	h.plugins.Notify(c.Instance)
	h.decide(ctx, evEnd, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.End(routing.Key{Tenant: tenant, ID: convID}, now)
	})
	return h.pushConversation(c), nil
}

// EndWrapUp closes post-processing with an optional disposition and notes; the agent's capacity
// is free again.
func (h *Hub) EndWrapUp(ctx context.Context, tenant, userID, convID, disposition, notes string) (ConversationView, error) {
	if len(disposition) > 200 || len(notes) > 10000 {
		return ConversationView{}, fmt.Errorf("%w: disposition is limited to 200 characters and notes to 10000", ErrInvalid)
	}
	var c store.Conversation
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = h.ownConversation(ctx, tx, tenant, userID, convID); err != nil {
			return err
		}
		if c.State != store.ConvWrapUp {
			return fmt.Errorf("%w: the conversation is %s, not in post-processing", ErrConflict, c.State)
		}
		c.State, c.ClosedAt, c.Disposition, c.Notes = store.ConvClosed, h.now(), disposition, notes
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		return tx.LeaveParticipant(tenant, convID, store.PartAgent, userID, c.ClosedAt)
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	h.decide(ctx, evEndWrapUp, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.EndWrapUp(routing.Key{Tenant: tenant, ID: convID}, now)
	})
	h.wrapUpClosed(c)
	return h.pushConversation(c), nil
}

// Conversation returns a conversation the user may see: their own, or any for supervisors and
// admins of the tenant.
func (h *Hub) Conversation(ctx context.Context, tenant, userID, convID string) (ConversationView, error) {
	c, err := h.visible(ctx, tenant, userID, convID)
	if err != nil {
		return ConversationView{}, err
	}
	v, err := h.viewFor(ctx, c, userID)
	return h.withSLA(tenant, v), err
}

// Messages returns a visible conversation's messages after afterSeq.
func (h *Hub) Messages(ctx context.Context, tenant, userID, convID string, afterSeq int64, limit int) ([]MessageView, error) {
	if _, err := h.visible(ctx, tenant, userID, convID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	msgs, err := h.st.Messages(ctx, tenant, convID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	out := make([]MessageView, len(msgs))
	for i, m := range msgs {
		out[i] = messageView(m)
	}
	return out, nil
}

// visible loads a conversation the user may read: one they take or took part in as an agent, or,
// for supervisors and admins, a customer chat of a queue in their scope. Anything else does not
// exist for them.
func (h *Hub) visible(ctx context.Context, tenant, userID, convID string) (store.Conversation, error) {
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return store.Conversation{}, notFound(err)
	}
	c, err := h.st.Conversation(ctx, tenant, convID)
	if err != nil {
		return store.Conversation{}, notFound(err)
	}
	if c.AgentID == userID {
		return c, nil
	}
	if o, ok := h.oversees(u); ok && c.Kind == store.KindCustomer && o.queue(c.QueueID) {
		return c, nil
	}
	parts, err := h.st.Participants(ctx, tenant, convID)
	if err != nil {
		return store.Conversation{}, err
	}
	for _, p := range parts {
		if p.Kind == store.PartAgent && p.RefID == userID {
			return c, nil
		}
	}
	return store.Conversation{}, fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
}

func (h *Hub) ownConversation(ctx context.Context, tx store.Tx, tenant, userID, convID string) (store.Conversation, error) {
	c, err := tx.Conversation(ctx, tenant, convID)
	if err != nil {
		return c, err
	}
	if c.AgentID != userID {
		return c, fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
	}
	return c, nil
}

// enqueue puts an outbound event for the conversation's plugin instance into the outbox.
func (h *Hub) enqueue(tx store.Tx, c store.Conversation, ev *pb.Event) error {
	payload, err := proto.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.EnqueueOutbox(store.OutboxEvent{TenantID: c.TenantID, Instance: c.Instance, EventID: ev.Id,
		ConversationID: c.ID, Payload: payload, State: store.OutboxPending, CreatedAt: h.now()})
	return err
}

// pushConversation sends a conversation's new state to its agent's consoles.
func (h *Hub) pushConversation(c store.Conversation) ConversationView {
	v, err := h.view(context.Background(), c)
	if err != nil {
		h.log.Error("load conversation view", "conversation", c.ID, "error", err)
		v = conversationView(c, CustomerView{})
	}
	if c.AgentID != "" {
		h.bus.publish(c.TenantID, c.AgentID, Push{Type: "conversation", ConversationID: c.ID, Conversation: &v})
	}
	return v
}

func agentParticipant(u store.User) *pb.Participant {
	return &pb.Participant{Kind: sdk.AsAgent, Id: u.ID, DisplayName: u.DisplayName}
}

// participantFor is the agent as the conversation's plugin knows them: bridges name agents by
// username.
func participantFor(c store.Conversation, u store.User) *pb.Participant {
	if c.Kind == store.KindExpert {
		return sdk.Agent(u.Username, u.DisplayName)
	}
	return agentParticipant(u)
}

// signedOut says whether the user is away from the console altogether.
func signedOut(u store.User) bool { return u.State == store.StateLoggedOut || u.State == "" }

// notFound maps the store's not-found to the hub's, keeping other errors.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
