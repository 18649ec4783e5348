package sdk

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// The event types are those of the wire contract; the aliases spare authors the import.
type (
	Event                   = pb.Event
	Participant             = pb.Participant
	Customer                = pb.Customer
	PrechatAnswer           = pb.PrechatAnswer
	Content                 = pb.Content
	Attachment              = pb.Attachment
	ConversationStarted     = pb.ConversationStarted
	Message                 = pb.Message
	Typing                  = pb.Typing
	ConversationEnded       = pb.ConversationEnded
	DeliveryReceipt         = pb.DeliveryReceipt
	Presence                = pb.Presence
	ConversationAssigned    = pb.ConversationAssigned
	ConversationTransferred = pb.ConversationTransferred
	QueueStatus             = pb.QueueStatus
)

// Participant kinds.
const (
	AsCustomer = pb.ParticipantKind_PARTICIPANT_KIND_CUSTOMER
	AsAgent    = pb.ParticipantKind_PARTICIPANT_KIND_AGENT
	AsExpert   = pb.ParticipantKind_PARTICIPANT_KIND_EXPERT
	AsSystem   = pb.ParticipantKind_PARTICIPANT_KIND_SYSTEM
)

func newEvent(id, conversation string) *Event {
	return &Event{Id: id, Conversation: conversation, Time: timestamppb.New(time.Now())}
}

// NewConversationStarted is an inbound event: a customer (or expert) opened a conversation.
func NewConversationStarted(id, conversation string, started *ConversationStarted) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_ConversationStarted{ConversationStarted: started}
	return ev
}

// NewMessage is a message event in either direction.
func NewMessage(id, conversation string, from *Participant, content *Content) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_Message{Message: &Message{From: from, Content: content}}
	return ev
}

// NewTyping says that from started (active) or stopped typing.
func NewTyping(id, conversation string, from *Participant, active bool) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_Typing{Typing: &Typing{From: from, Active: active}}
	return ev
}

// NewConversationEnded says the conversation ended, by whom and why.
func NewConversationEnded(id, conversation string, by *Participant, reason string) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_ConversationEnded{ConversationEnded: &ConversationEnded{By: by, Reason: reason}}
	return ev
}

// NewDeliveryReceipt reports what the platform did with an outbound message event.
func NewDeliveryReceipt(id, conversation, messageEventID string, status pb.DeliveryStatus, reason string) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_DeliveryReceipt{DeliveryReceipt: &DeliveryReceipt{MessageEventId: messageEventID, Status: status, Reason: reason}}
	return ev
}

// NewPresence reports a participant's presence; presence events have no conversation.
func NewPresence(id string, subject *Participant, state pb.PresenceState, statusText string) *Event {
	ev := newEvent(id, "")
	ev.Payload = &pb.Event_Presence{Presence: &Presence{Subject: subject, State: state, StatusText: statusText}}
	return ev
}

// NewConversationAssigned says an agent took the conversation.
func NewConversationAssigned(id, conversation string, agent *Participant) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_ConversationAssigned{ConversationAssigned: &ConversationAssigned{Agent: agent}}
	return ev
}

// NewConversationTransferred says the conversation moved to another queue or agent.
func NewConversationTransferred(id, conversation, toQueue string, toAgent *Participant, reason string) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_ConversationTransferred{ConversationTransferred: &ConversationTransferred{ToQueue: toQueue, ToAgent: toAgent, Reason: reason}}
	return ev
}

// NewQueueStatus tells the customer where they stand.
func NewQueueStatus(id, conversation string, status *QueueStatus) *Event {
	ev := newEvent(id, conversation)
	ev.Payload = &pb.Event_QueueStatus{QueueStatus: status}
	return ev
}
