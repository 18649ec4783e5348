package hub

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// TransferToQueue puts the agent's active chat back in line in another queue of the tenant; it
// keeps its history and the time it first entered a queue.
func (h *Hub) TransferToQueue(ctx context.Context, tenant, userID, convID, queueID string) (ConversationView, error) {
	t := h.cfg.Tenant(tenant)
	if t == nil || t.Queue(queueID) == nil {
		return ConversationView{}, fmt.Errorf("%w: no queue %q in this tenant", ErrInvalid, queueID)
	}
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	now := h.now()
	var c store.Conversation
	var from string // the queue the chat leaves
	err = h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = h.ownConversation(ctx, tx, tenant, userID, convID); err != nil {
			return err
		}
		if c.State != store.ConvActive {
			return fmt.Errorf("%w: the conversation is %s", ErrConflict, c.State)
		}
		from = c.QueueID
		c.State, c.QueueID, c.AgentID = store.ConvQueued, queueID, ""
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		if err := tx.LeaveParticipant(tenant, convID, store.PartAgent, userID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		note := u.DisplayName + " transferred the chat to " + t.Queue(queueID).Name + "."
		if _, err := tx.AppendMessage(store.Message{TenantID: tenant, ConversationID: convID, SenderKind: store.PartSystem,
			SenderName: "Switchboard", Text: note, HTML: richtext.FromText(note), CreatedAt: now}); err != nil {
			return err
		}
		ev := sdk.NewConversationTransferred(fmt.Sprintf("transfer:%s:%d", convID, now.UnixNano()), c.ExternalKey, queueID, nil, "")
		return h.enqueue(tx, c, ev)
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	h.metrics.transfers.WithLabelValues(tenant, from, "queue").Inc()
	h.plugins.Notify(c.Instance)
	h.bus.publish(tenant, userID, Push{Type: "conversation_gone", ConversationID: convID, Reason: "transferred"})
	err = h.decide(ctx, evTransfer, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.TransferToQueue(routing.Key{Tenant: tenant, ID: convID}, routing.Key{Tenant: tenant, ID: queueID}, now)
	})
	if err != nil {
		h.log.Error("transfer to queue in routing", "conversation", convID, "error", err)
	}
	return h.view(ctx, c)
}

// TransferToAgent offers the agent's active chat to another agent of the tenant by username; the
// chat stays with the sender until the other accepts, and comes back with a notice on reject or
// timeout.
func (h *Hub) TransferToAgent(ctx context.Context, tenant, userID, convID, username string) error {
	target, err := h.st.UserByUsername(ctx, tenant, username)
	if err != nil {
		return fmt.Errorf("%w: no agent %q in this tenant", ErrInvalid, username)
	}
	if target.ID == userID {
		return fmt.Errorf("%w: the chat is already yours", ErrInvalid)
	}
	c, err := h.st.Conversation(ctx, tenant, convID)
	if err != nil || c.AgentID != userID {
		return fmt.Errorf("%w: conversation %s", ErrNotFound, convID)
	}
	if c.State != store.ConvActive {
		return fmt.Errorf("%w: the conversation is %s", ErrConflict, c.State)
	}
	// The customer hears of it only if the other agent accepts (as "… joined the chat").
	err = h.decide(ctx, evTransfer, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.TransferToAgent(routing.Key{Tenant: tenant, ID: convID}, routing.Key{Tenant: tenant, ID: target.ID}, now)
	})
	if err == nil {
		h.metrics.transfers.WithLabelValues(tenant, c.QueueID, "agent").Inc()
	}
	return routingError(err)
}
