package hub

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/core/pluginhost"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Apply implements pluginhost.Handler: it writes one inbound event inside tx.
func (h *Hub) Apply(tx store.Tx, src pluginhost.Source, ev *pb.Event) (func(), error) {
	if src.Kind == pb.PluginKind_PLUGIN_KIND_BRIDGE {
		switch p := ev.Payload.(type) {
		case *pb.Event_ConversationStarted:
			return h.applyExpertStarted(tx, src, ev, p.ConversationStarted)
		case *pb.Event_Message:
			return h.applyExpertMessage(tx, src, ev, p.Message)
		case *pb.Event_ConversationEnded:
			return h.applyExpertEnded(tx, src, ev, p.ConversationEnded)
		case *pb.Event_DeliveryReceipt:
			return h.applyReceipt(tx, src, ev, p.DeliveryReceipt)
		}
		return nil, sdk.Reject("a bridge cannot send %T events", ev.Payload)
	}
	switch p := ev.Payload.(type) {
	case *pb.Event_ConversationStarted:
		return h.applyStarted(tx, src, ev, p.ConversationStarted)
	case *pb.Event_Message:
		return h.applyMessage(tx, src, ev, p.Message)
	case *pb.Event_ConversationEnded:
		return h.applyEnded(tx, src, ev)
	case *pb.Event_DeliveryReceipt:
		return h.applyReceipt(tx, src, ev, p.DeliveryReceipt)
	default:
		return nil, sdk.Reject("a %s plugin cannot send %T events", src.Kind, ev.Payload)
	}
}

// channelName is what a plugin may name its channel: it becomes a metrics label value, so it is
// short and plain.
var channelName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

func (h *Hub) applyStarted(tx store.Tx, src pluginhost.Source, ev *pb.Event, s *pb.ConversationStarted) (func(), error) {
	if ev.Conversation == "" {
		return nil, sdk.Reject("conversation_started needs a conversation key")
	}
	if _, err := tx.OpenConversationByKey(context.Background(), src.Tenant, src.Instance, ev.Conversation); err == nil {
		return nil, nil // already open: a resend under another id
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	tenant := h.cfg.Tenant(src.Tenant)
	if tenant == nil {
		return nil, sdk.Reject("unknown tenant %q", src.Tenant)
	}
	channel := src.Plugin
	if s.Channel != "" {
		if !channelName.MatchString(s.Channel) {
			return nil, sdk.Reject("channel %q: want a short lowercase name such as telegram", s.Channel)
		}
		channel = s.Channel
	}
	queue := tenant.DefaultQueue()
	if s.Queue != "" {
		if queue = tenant.Queue(s.Queue); queue == nil {
			return nil, sdk.Reject("unknown queue %q", s.Queue)
		}
	}
	now := h.now()
	c := s.GetCustomer()
	customerID, err := h.matchCustomer(tx, src.Tenant, c)
	if err != nil {
		return nil, err
	}
	var prechat []store.PrechatAnswer
	for _, a := range s.Prechat {
		prechat = append(prechat, store.PrechatAnswer{Question: a.Question, Answer: a.Answer})
	}
	conv, err := tx.CreateConversation(store.Conversation{
		TenantID: src.Tenant, Kind: store.KindCustomer, State: store.ConvQueued,
		Instance: src.Instance, Channel: channel, ExternalKey: ev.Conversation,
		QueueID: queue.ID, CustomerID: customerID, Identity: identity(c), Language: c.GetLanguage(), Origin: s.Origin,
		Prechat: prechat, CreatedAt: now, EnteredQueueAt: now,
	})
	if err != nil {
		return nil, err
	}
	name := displayName(c.GetNickname(), c.GetFirstName(), c.GetLastName(), c.GetEmail())
	if err := tx.AddParticipant(store.Participant{TenantID: src.Tenant, ConversationID: conv.ID,
		Kind: store.PartCustomer, RefID: customerID, DisplayName: name, JoinedAt: now}); err != nil {
		return nil, err
	}
	return func() {
		h.channels.seen(conv.TenantID, src.Plugin, conv.Channel)
		h.metrics.conversation(conv, "started")
		h.arrive(context.Background(), conv)
	}, nil
}

// matchCustomer finds the local CRM record matching the customer's account number, email or
// phone. A customer without one is created by the agent from the chat, not here: a typo in a
// pre-chat form must not spawn records.
func (h *Hub) matchCustomer(tx store.Tx, tenant string, c *pb.Customer) (string, error) {
	m := store.CustomerMatch{AccountNumber: strings.TrimSpace(c.GetAccountNumber()), Email: strings.TrimSpace(c.GetEmail()), Phone: strings.TrimSpace(c.GetPhone())}
	if m == (store.CustomerMatch{}) {
		return "", nil
	}
	found, err := tx.FindCustomer(context.Background(), tenant, m)
	switch {
	case err == nil:
		return found.ID, nil
	case errors.Is(err, store.ErrNotFound):
		return "", nil
	}
	return "", err
}

// identity is who the customer said they are.
func identity(c *pb.Customer) store.Identity {
	return store.Identity{Nickname: strings.TrimSpace(c.GetNickname()), FirstName: strings.TrimSpace(c.GetFirstName()),
		LastName: strings.TrimSpace(c.GetLastName()), Email: strings.TrimSpace(c.GetEmail()), Phone: strings.TrimSpace(c.GetPhone()),
		AccountNumber: strings.TrimSpace(c.GetAccountNumber()), Language: c.GetLanguage()}
}

func (h *Hub) openByKey(tx store.Tx, src pluginhost.Source, key string) (store.Conversation, error) {
	conv, err := tx.OpenConversationByKey(context.Background(), src.Tenant, src.Instance, key)
	if errors.Is(err, store.ErrNotFound) {
		return conv, sdk.Reject("no open conversation %q", key)
	}
	return conv, err
}

func (h *Hub) applyMessage(tx store.Tx, src pluginhost.Source, ev *pb.Event, msg *pb.Message) (func(), error) {
	conv, err := h.openByKey(tx, src, ev.Conversation)
	if err != nil {
		return nil, err
	}
	if conv.State == store.ConvWrapUp {
		return nil, sdk.Reject("the conversation has ended")
	}
	content := msg.GetContent()
	text, html, err := normalized(content)
	if err != nil {
		return nil, err
	}
	if err := checkAttachments(content); err != nil {
		return nil, err
	}
	atts, err := storeAttachments(tx, conv, content, h.now())
	if err != nil {
		return nil, err
	}
	kind := store.PartCustomer
	if src.Kind == pb.PluginKind_PLUGIN_KIND_BRIDGE {
		kind = store.PartExpert
	}
	stored, err := tx.AppendMessage(store.Message{
		TenantID: src.Tenant, ConversationID: conv.ID, EventID: src.Instance + ":" + ev.Id,
		SenderKind: kind, SenderID: msg.GetFrom().GetId(), SenderName: msg.GetFrom().GetDisplayName(),
		Text: text, HTML: html, Attachments: atts, CreatedAt: h.now(),
	})
	if err != nil {
		return nil, err
	}
	return func() {
		h.metrics.messages.WithLabelValues(conv.TenantID, string(kind)).Inc()
		if conv.AgentID != "" {
			mv := messageView(stored)
			h.bus.publish(conv.TenantID, conv.AgentID, Push{Type: "message", ConversationID: conv.ID, Message: &mv})
			h.decide(context.Background(), evCustomerMsg, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
				return r.CustomerMessage(routing.Key{Tenant: conv.TenantID, ID: conv.ID}, now)
			})
		}
	}, nil
}

// normalized is a plugin's message content in canonical form; a message with neither text nor
// files is refused.
func normalized(c *pb.Content) (text, html string, err error) {
	text, html = richtext.Normalize(c.GetText(), c.GetHtml())
	if richtext.IsEmpty(text, html) && len(c.GetAttachments()) == 0 {
		return "", "", sdk.Reject("empty message")
	}
	return text, html, nil
}

func (h *Hub) applyEnded(tx store.Tx, src pluginhost.Source, ev *pb.Event) (func(), error) {
	conv, err := tx.OpenConversationByKey(context.Background(), src.Tenant, src.Instance, ev.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // the agent ended it first
	}
	if err != nil {
		return nil, err
	}
	now := h.now()
	wasQueued := conv.State == store.ConvQueued
	if wasQueued {
		conv.State, conv.EndedAt, conv.ClosedAt = store.ConvClosed, now, now
	} else {
		conv.State, conv.EndedAt = store.ConvWrapUp, now
	}
	if err := tx.UpdateConversation(conv); err != nil {
		return nil, err
	}
	if err := tx.LeaveParticipant(conv.TenantID, conv.ID, store.PartCustomer, conv.CustomerID, now); err != nil {
		return nil, err
	}
	sys, err := tx.AppendMessage(store.Message{TenantID: conv.TenantID, ConversationID: conv.ID,
		SenderKind: store.PartSystem, SenderName: "Switchboard", Text: "The customer left the chat.",
		HTML: "<p>The customer left the chat.</p>", CreatedAt: now})
	if err != nil {
		return nil, err
	}
	return func() {
		key := routing.Key{Tenant: conv.TenantID, ID: conv.ID}
		if wasQueued {
			h.metrics.conversation(conv, "abandoned")
			h.carryMu.Lock()
			delete(h.parked, key)
			h.carryMu.Unlock()
			h.decide(context.Background(), evLeave, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
				return r.Leave(key, now)
			})
			return
		}
		h.metrics.conversation(conv, "ended")
		h.decide(context.Background(), evEnd, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
			return r.End(key, now)
		})
		h.pushConversation(conv)
		mv := messageView(sys)
		h.bus.publish(conv.TenantID, conv.AgentID, Push{Type: "message", ConversationID: conv.ID, Message: &mv})
	}, nil
}

// applyReceipt records what the platform did with an agent's message. Reports may come after
// the chat ended (a late delivery report), so the message is found by its event id; it must
// belong to a conversation of the reporting instance.
func (h *Hub) applyReceipt(tx store.Tx, src pluginhost.Source, ev *pb.Event, r *pb.DeliveryReceipt) (func(), error) {
	ctx := context.Background()
	m, err := tx.MessageByEventID(ctx, src.Tenant, r.GetMessageEventId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, sdk.Reject("no message with event id %q", r.GetMessageEventId())
	}
	if err != nil {
		return nil, err
	}
	conv, err := tx.Conversation(ctx, src.Tenant, m.ConversationID)
	if err != nil {
		return nil, err
	}
	if conv.Instance != src.Instance || m.SenderKind == store.PartCustomer || m.SenderKind == store.PartExpert {
		return nil, sdk.Reject("no message with event id %q", r.GetMessageEventId())
	}
	m, changed, err := tx.SetDelivery(src.Tenant, m.EventID, deliveryOf(r.GetStatus()), strings.TrimSpace(r.GetReason()))
	if err != nil || !changed {
		return nil, err
	}
	return func() { h.pushDelivery(conv, m) }, nil
}

func deliveryOf(s pb.DeliveryStatus) store.Delivery {
	switch s {
	case pb.DeliveryStatus_DELIVERY_STATUS_SENT:
		return store.DeliverySent
	case pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED:
		return store.DeliveryDelivered
	case pb.DeliveryStatus_DELIVERY_STATUS_READ:
		return store.DeliveryRead
	case pb.DeliveryStatus_DELIVERY_STATUS_FAILED:
		return store.DeliveryFailed
	}
	return store.DeliveryUnknown
}

// pushDelivery shows the agent what became of their message.
func (h *Hub) pushDelivery(conv store.Conversation, m store.Message) {
	if conv.AgentID == "" {
		return
	}
	mv := messageView(m)
	h.bus.publish(conv.TenantID, conv.AgentID, Push{Type: "delivery", ConversationID: conv.ID, EventID: m.EventID,
		Status: string(m.Delivery), Reason: m.DeliveryReason, Message: &mv})
}

// Ephemeral implements pluginhost.Handler: typing goes straight to the agent; a bridge's presence
// events fill the expert directory.
func (h *Hub) Ephemeral(src pluginhost.Source, ev *pb.Event) bool {
	switch p := ev.Payload.(type) {
	case *pb.Event_Typing:
		conv, err := h.st.OpenConversationByKey(context.Background(), src.Tenant, src.Instance, ev.Conversation)
		if err == nil && conv.AgentID != "" {
			active, from := p.Typing.Active, "customer"
			if conv.Kind == store.KindExpert {
				if from = strings.TrimSpace(p.Typing.GetFrom().GetDisplayName()); from == "" {
					from = "expert"
				}
			}
			h.bus.publish(conv.TenantID, conv.AgentID, Push{Type: "typing", ConversationID: conv.ID, Active: &active, From: from})
		}
		return true
	case *pb.Event_Presence:
		h.expertPresence(src, p.Presence)
		return true
	}
	return false
}

// Settled implements pluginhost.Handler: a refused outbound message is shown to its agent.
func (h *Hub) Settled(src pluginhost.Source, eventID string, status pb.AckStatus, reason string) {
	if status != pb.AckStatus_ACK_STATUS_REJECTED {
		return
	}
	ctx := context.Background()
	var m store.Message
	var changed bool
	err := h.st.Write(ctx, func(tx store.Tx) (err error) {
		m, changed, err = tx.SetDelivery(src.Tenant, eventID, store.DeliveryFailed, reason)
		return err
	})
	if err != nil || !changed {
		return // not a message (typing, assignment...), or already known
	}
	conv, err := h.st.Conversation(ctx, src.Tenant, m.ConversationID)
	if err != nil {
		return
	}
	h.pushDelivery(conv, m)
}
