package hub

import (
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// ConversationView is a conversation as the console shows it.
type ConversationView struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"`
	State     string       `json:"state"`
	Channel   string       `json:"channel"`
	Instance  string       `json:"instance"`
	Queue     string       `json:"queue"`
	Language  string       `json:"language,omitempty"`
	Origin    string       `json:"origin,omitempty"`
	Customer  CustomerView `json:"customer"`
	AgentID   string       `json:"agent_id,omitempty"`
	AgentName string       `json:"agent_name,omitempty"`
	// Peer is the colleague in an agent-to-agent chat, seen from the user the view is for.
	Peer           *PeerView             `json:"peer,omitempty"`
	Prechat        []store.PrechatAnswer `json:"prechat,omitempty"`
	CreatedAt      time.Time             `json:"created_at"`
	EnteredQueueAt time.Time             `json:"entered_queue_at"`
	AssignedAt     *time.Time            `json:"assigned_at,omitempty"`
	EndedAt        *time.Time            `json:"ended_at,omitempty"`
	ClosedAt       *time.Time            `json:"closed_at,omitempty"`
	LastSeq        int64                 `json:"last_seq"`
	Disposition    string                `json:"disposition,omitempty"`
	Notes          string                `json:"notes,omitempty"`
	// WaitingSince is set while the customer waits for the agent's reply (the console's blue
	// icon); PastSLA once that wait passed the queue's target (red).
	WaitingSince *time.Time `json:"waiting_since,omitempty"`
	PastSLA      bool       `json:"past_sla,omitempty"`
	// Unread counts the messages of others the user has not read; set in snapshots only.
	Unread int `json:"unread,omitempty"`
}

// PeerView is the other side of a chat between colleagues: an agent in an agent-to-agent chat
// (State is their routing state), or the expert of an expert chat (Kind "expert"; State is
// their presence on the platform: online, away, offline or unknown).
type PeerView struct {
	Kind        string `json:"kind,omitempty"`
	ID          string `json:"id"`
	Username    string `json:"username,omitempty"`
	DisplayName string `json:"display_name"`
	State       string `json:"state"`
	Platform    string `json:"platform,omitempty"`
}

// CustomerView is who the customer is, as far as the hub knows.
type CustomerView struct {
	ID            string `json:"id,omitempty"`
	DisplayName   string `json:"display_name"`
	Nickname      string `json:"nickname,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	Email         string `json:"email,omitempty"`
	Phone         string `json:"phone,omitempty"`
	AccountNumber string `json:"account_number,omitempty"`
}

// customerView is a CRM record as a conversation's customer.
func customerView(c store.Customer) CustomerView {
	return CustomerView{ID: c.ID, DisplayName: displayName(c.Nickname, c.FirstName, c.LastName, c.Email), Nickname: c.Nickname,
		FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, Phone: c.Phone, AccountNumber: c.AccountNumber}
}

// MessageView is one message as the console shows it. HTML is sanitized.
type MessageView struct {
	Seq         int64              `json:"seq"`
	ID          string             `json:"id"`
	SenderKind  string             `json:"sender_kind"`
	SenderID    string             `json:"sender_id,omitempty"`
	SenderName  string             `json:"sender_name"`
	Text        string             `json:"text"`
	HTML        string             `json:"html"`
	Attachments []store.Attachment `json:"attachments,omitempty"`
	CreatedAt   time.Time          `json:"created_at"`
	ClientID    string             `json:"client_id,omitempty"`
	// Delivery is what the customer's platform reported (sent, delivered, read, failed), with
	// the reason of a failure.
	Delivery       string `json:"delivery,omitempty"`
	DeliveryReason string `json:"delivery_reason,omitempty"`
}

// OfferView is a conversation offered to an agent. The durations let a console count down
// with its own clock, whatever its offset from the hub's.
type OfferView struct {
	Conversation ConversationView `json:"conversation"`
	ExpiresAt    time.Time        `json:"expires_at"`
	ExpiresInMs  int64            `json:"expires_in_ms"`
	WaitedMs     int64            `json:"waited_ms"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func conversationView(c store.Conversation, cust CustomerView) ConversationView {
	return ConversationView{
		ID: c.ID, Kind: string(c.Kind), State: string(c.State), Channel: c.Channel, Instance: c.Instance,
		Queue: c.QueueID, Language: c.Language, Origin: c.Origin, Customer: cust, AgentID: c.AgentID,
		Prechat: c.Prechat, CreatedAt: c.CreatedAt, EnteredQueueAt: c.EnteredQueueAt,
		AssignedAt: timePtr(c.AssignedAt), EndedAt: timePtr(c.EndedAt), ClosedAt: timePtr(c.ClosedAt), LastSeq: c.LastSeq,
		Disposition: c.Disposition, Notes: c.Notes,
	}
}

func messageView(m store.Message) MessageView {
	return MessageView{
		Seq: m.Seq, ID: m.ID, SenderKind: string(m.SenderKind), SenderID: m.SenderID, SenderName: m.SenderName,
		Text: m.Text, HTML: m.HTML, Attachments: m.Attachments, CreatedAt: m.CreatedAt,
		Delivery: string(m.Delivery), DeliveryReason: m.DeliveryReason,
	}
}
