package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned by every lookup that finds nothing in the caller's tenant.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a write would break a uniqueness rule (a second open conversation
// for the same channel key, a username taken twice).
var ErrConflict = errors.New("store: conflict")

// Store is the hub's durable state. Every method takes the tenant it acts for and never returns
// rows of another tenant, whatever ids the caller passes.
type Store interface {
	Reader
	// Write runs fn in a write transaction that it may share with other concurrent writers (group
	// commit) and returns once that transaction committed. If fn returns an error, only fn's own
	// changes are rolled back and the error is returned; other writers in the batch still commit.
	// fn must not keep tx after it returns and must not block on anything but tx.
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Close flushes pending writes and releases the database.
	Close() error
}

// Reader holds the queries. Reads see every write whose Write call has returned. A limit of zero
// or less means no limit.
type Reader interface {
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists every tenant: the one reader that spans tenants, by nature.
	Tenants(ctx context.Context) ([]Tenant, error)
	Groups(ctx context.Context, tenant string) ([]Group, error)
	Queues(ctx context.Context, tenant string) ([]Queue, error)

	User(ctx context.Context, tenant, id string) (User, error)
	UserByUsername(ctx context.Context, tenant, username string) (User, error)
	Users(ctx context.Context, tenant string) ([]User, error)

	Customer(ctx context.Context, tenant, id string) (Customer, error)
	// FindCustomer returns the customer matching, in this order, the account number, the email
	// (case-insensitive) or the phone number of m; empty fields of m are ignored.
	FindCustomer(ctx context.Context, tenant string, m CustomerMatch) (Customer, error)

	Conversation(ctx context.Context, tenant, id string) (Conversation, error)
	// OpenConversationByKey finds the conversation a plugin instance knows by key that is waiting
	// or active. One in post-processing has released its key: the customer's next message starts
	// a new conversation.
	OpenConversationByKey(ctx context.Context, tenant, instance, key string) (Conversation, error)
	// OpenConversations lists every conversation of the tenant that is not closed, oldest first.
	OpenConversations(ctx context.Context, tenant string) ([]Conversation, error)
	// CustomerConversations lists a customer's conversations, newest first.
	CustomerConversations(ctx context.Context, tenant, customerID string, limit int) ([]Conversation, error)
	// CustomerCases lists a customer's cases, newest first.
	CustomerCases(ctx context.Context, tenant, customerID string) ([]Case, error)
	// UserConversations lists the conversations that are not closed in which the user takes part
	// as an agent who has not left (customer chats assigned to them, agent-to-agent chats, expert
	// chats), oldest first.
	UserConversations(ctx context.Context, tenant, userID string) ([]Conversation, error)
	// ClosedConversations lists closed conversations matching f, most recently closed first.
	ClosedConversations(ctx context.Context, tenant string, f ClosedFilter) ([]Conversation, error)
	Participants(ctx context.Context, tenant, conversationID string) ([]Participant, error)
	// Messages returns the conversation's messages with Seq > afterSeq in order, at most limit.
	Messages(ctx context.Context, tenant, conversationID string, afterSeq int64, limit int) ([]Message, error)
	// MessageByEventID finds a message by the id of the event that carried it.
	MessageByEventID(ctx context.Context, tenant, eventID string) (Message, error)
	// File returns a stored file with its data.
	File(ctx context.Context, tenant, id string) (File, error)

	// PendingOutbox returns the instance's undelivered outbox events with ID > afterID, oldest first.
	PendingOutbox(ctx context.Context, tenant, instance string, afterID int64, limit int) ([]OutboxEvent, error)
	// OutboxDepth counts the instance's undelivered outbox events.
	OutboxDepth(ctx context.Context, tenant, instance string) (int, error)

	Session(ctx context.Context, tenant, tokenHash string) (Session, error)
}

// Tx is one writer's view of a write transaction. Its methods apply the same tenant rules as Reader.
type Tx interface {
	Reader

	UpsertTenant(t Tenant) error
	UpsertGroup(g Group) error
	UpsertQueue(q Queue) error
	// UpsertUser inserts or updates the user with u.Username in u.TenantID. A new user gets u.ID, or
	// a fresh id when it is empty; an existing user keeps its id and, when u.PasswordHash is empty,
	// its password, and when u.State is empty, its state (a new user starts logged out). Queue
	// memberships are replaced by u.Queues. The stored user is returned.
	UpsertUser(u User) (User, error)
	SetUserPassword(tenant, userID, passwordHash string) error
	SetAgentState(tenant, userID string, state AgentState, reason string, since time.Time) error

	// CreateCustomer stores c with a fresh id when c.ID is empty and returns it.
	CreateCustomer(c Customer) (Customer, error)
	UpdateCustomer(c Customer) error
	// CreateCase stores c with a fresh id when c.ID is empty and returns it.
	CreateCase(c Case) (Case, error)

	// CreateConversation stores c with a fresh id when c.ID is empty. A second open conversation with
	// the same (instance, key) is ErrConflict.
	CreateConversation(c Conversation) (Conversation, error)
	// UpdateConversation writes every mutable field of c (state, queue, customer, agent, times,
	// wrap-up).
	UpdateConversation(c Conversation) error
	// AddParticipant adds p; adding someone who is present and has not left is ErrConflict.
	AddParticipant(p Participant) error
	// MarkRead raises the participant's ReadSeq to seq (never lowers it). A participant who is
	// not present is ErrNotFound.
	MarkRead(tenant, conversationID string, kind ParticipantKind, refID string, seq int64) error
	// LeaveParticipant sets LeftAt of the participant if it has not left yet; one who never
	// joined is ErrNotFound.
	LeaveParticipant(tenant, conversationID string, kind ParticipantKind, refID string, at time.Time) error

	// PutFile stores f with a fresh id when f.ID is empty and returns it (Size set from Data).
	PutFile(f File) (File, error)

	// SetDelivery records a delivery report of the message carried by eventID and returns the
	// message as stored; changed is false when the report is stale (see Delivery). No such
	// message is ErrNotFound.
	SetDelivery(tenant, eventID string, d Delivery, reason string) (m Message, changed bool, err error)

	// AppendMessage stores m as the next message of its conversation: it sets m.Seq to the
	// conversation's last sequence number plus one, a fresh m.ID when empty, and returns m.
	AppendMessage(m Message) (Message, error)

	// Seen records that the event id was handled for the source (a plugin instance, "console"...).
	// It returns false when it was already recorded: the caller must then skip the event.
	Seen(tenant, source, eventID string, at time.Time) (fresh bool, err error)

	// EnqueueOutbox stores e for delivery to its instance and returns it with its ID set. IDs grow
	// in enqueue order across the whole store.
	EnqueueOutbox(e OutboxEvent) (OutboxEvent, error)
	// SettleOutbox marks the instance's outbox event as delivered or rejected. Settling an unknown or
	// already settled event is not an error (acks may repeat).
	SettleOutbox(tenant, instance, eventID string, state OutboxState, reason string, at time.Time) error

	CreateSession(s Session) error
	// DeleteSession removes the session; deleting one that does not exist is not an error.
	DeleteSession(tenant, tokenHash string) error
	// DeleteExpiredSessions removes sessions of every tenant that expired before now.
	DeleteExpiredSessions(now time.Time) (int, error)
	// PruneSeen forgets, in every tenant, event ids recorded by Seen before the given time: a
	// platform retry older than that is no longer expected.
	PruneSeen(before time.Time) (int, error)
	// PruneOutbox removes, in every tenant, outbox events settled before the given time.
	PruneOutbox(settledBefore time.Time) (int, error)
}

// Tenant is one contact center on the hub.
type Tenant struct {
	ID   string
	Name string
}

// Group is a functional group (sales, support): agents chat with agents of their own group.
type Group struct {
	TenantID string
	ID       string
	Name     string
}

// Queue is where conversations wait for an agent. Routing settings live in the configuration.
type Queue struct {
	TenantID string
	ID       string
	Name     string
	GroupID  string
}

// Role is what a user may do in the console.
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// AgentState is an agent's routing state.
type AgentState string

const (
	StateLoggedOut   AgentState = "logged_out"
	StateAvailable   AgentState = "available"
	StateOnBreak     AgentState = "on_break"
	StateWorkOffline AgentState = "work_offline"
)

// User is a console user: agent, supervisor or admin.
type User struct {
	TenantID           string
	ID                 string
	Username           string
	DisplayName        string
	Email              string
	Role               Role
	GroupID            string
	Queues             []string
	MaxChats           int
	PrimaryLanguage    string
	SecondaryLanguages []string
	PasswordHash       string
	State              AgentState
	StateReason        string
	StateSince         time.Time
	// Scope is what a supervisor oversees; empty for agents.
	Scope Scope
}

// Scope is the part of a tenant a supervisor oversees: their group's queues, the queues they are
// a member of, or the whole tenant.
type Scope string

const (
	ScopeGroup  Scope = "group"
	ScopeQueues Scope = "queues"
	ScopeTenant Scope = "tenant"
)

// Customer is a record of the local CRM.
type Customer struct {
	TenantID      string
	ID            string
	Nickname      string
	FirstName     string
	LastName      string
	Email         string
	Phone         string
	AccountNumber string
	Language      string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// CaseStatus is where a case stands.
type CaseStatus string

const (
	CaseOpen   CaseStatus = "open"
	CaseClosed CaseStatus = "closed"
)

// Case is a customer's issue recorded in the local CRM, usually opened from a conversation.
type Case struct {
	TenantID       string
	ID             string
	CustomerID     string
	ConversationID string
	Subject        string
	Notes          string
	Status         CaseStatus
	CreatedBy      string // user id
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Identity is who a customer said they are when the conversation started (pre-chat form, phone
// number, platform profile), kept on the conversation whether or not a CRM record matched.
type Identity struct {
	Nickname      string `json:"nickname,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	Email         string `json:"email,omitempty"`
	Phone         string `json:"phone,omitempty"`
	AccountNumber string `json:"account_number,omitempty"`
	Language      string `json:"language,omitempty"`
}

// ClosedFilter selects closed conversations. Empty QueueIDs means every queue; a zero Before
// means now.
type ClosedFilter struct {
	Kind     ConversationKind // empty: every kind
	QueueIDs []string
	AgentID  string // only conversations this user handled, when set
	Before   time.Time
	Limit    int
}

// CustomerMatch holds the identifying fields a channel supplied.
type CustomerMatch struct {
	AccountNumber string
	Email         string
	Phone         string
}

// ConversationKind tells who talks in a conversation.
type ConversationKind string

const (
	KindCustomer ConversationKind = "customer" // a customer and an agent, through a channel
	KindInternal ConversationKind = "internal" // agent to agent
	KindExpert   ConversationKind = "expert"   // an agent and an expert, through a bridge
)

// ConversationState is where a conversation stands.
type ConversationState string

const (
	ConvQueued ConversationState = "queued"  // waiting for an agent
	ConvActive ConversationState = "active"  // an agent has it
	ConvWrapUp ConversationState = "wrap_up" // ended; the agent is in post-processing
	ConvClosed ConversationState = "closed"  // done
)

// PrechatAnswer is one answer the customer gave before the chat started.
type PrechatAnswer struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Conversation is one chat.
type Conversation struct {
	TenantID       string
	ID             string
	Kind           ConversationKind
	State          ConversationState
	Instance       string // plugin instance that carries it; empty for internal chats
	Channel        string // plugin name, e.g. "webchat"
	ExternalKey    string // the plugin's key for it
	QueueID        string
	CustomerID     string
	Identity       Identity
	AgentID        string
	Language       string
	Origin         string
	Prechat        []PrechatAnswer
	CreatedAt      time.Time
	EnteredQueueAt time.Time // first time it entered a queue; kept across transfers
	AssignedAt     time.Time
	EndedAt        time.Time
	ClosedAt       time.Time
	LastSeq        int64
	Disposition    string
	Notes          string
}

// ParticipantKind says who a participant is.
type ParticipantKind string

const (
	PartCustomer ParticipantKind = "customer"
	PartAgent    ParticipantKind = "agent"
	PartExpert   ParticipantKind = "expert"
	PartSystem   ParticipantKind = "system"
)

// Participant is someone who took part in a conversation.
type Participant struct {
	TenantID       string
	ConversationID string
	Kind           ParticipantKind
	RefID          string // user id, customer id or expert platform id
	DisplayName    string
	JoinedAt       time.Time
	LeftAt         time.Time
	// ReadSeq is the last message sequence number the participant has read.
	ReadSeq int64
}

// Attachment is a file that came with a message.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	URL         string `json:"url,omitempty"`
}

// File is a file the hub keeps for a conversation (an attachment that arrived inline).
type File struct {
	TenantID       string
	ID             string
	ConversationID string
	Name           string
	ContentType    string
	Size           int64
	Data           []byte
	CreatedAt      time.Time
}

// Message is one message of a conversation, in canonical content form.
type Message struct {
	TenantID       string
	ConversationID string
	Seq            int64
	ID             string
	EventID        string // id of the event that carried it; unique per tenant when not empty
	SenderKind     ParticipantKind
	SenderID       string
	SenderName     string
	Text           string
	HTML           string
	Attachments    []Attachment
	CreatedAt      time.Time
	// Delivery is what the channel last reported about an outbound message, with the reason
	// of a failure (a platform's refusal, a customer who opted out...).
	Delivery       Delivery
	DeliveryReason string
}

// Delivery is where an outbound message stands with the customer's platform.
type Delivery string

// Delivery states, in the order they normally come. A report never moves a message back: a late
// "sent" after "delivered" is ignored, and a failure after delivery cannot happen.
const (
	DeliveryUnknown   Delivery = ""
	DeliverySent      Delivery = "sent"
	DeliveryFailed    Delivery = "failed"
	DeliveryDelivered Delivery = "delivered"
	DeliveryRead      Delivery = "read"
)

// Rank orders delivery states: a report with a lower rank than the stored one is stale.
func (d Delivery) Rank() int {
	switch d {
	case DeliverySent:
		return 1
	case DeliveryFailed:
		return 2
	case DeliveryDelivered:
		return 3
	case DeliveryRead:
		return 4
	}
	return 0
}

// OutboxState is where an outbound event stands.
type OutboxState string

const (
	OutboxPending   OutboxState = "pending"
	OutboxDelivered OutboxState = "delivered"
	OutboxRejected  OutboxState = "rejected"
)

// OutboxEvent is an event waiting for a plugin to acknowledge it.
type OutboxEvent struct {
	TenantID       string
	ID             int64
	Instance       string
	EventID        string
	ConversationID string
	Payload        []byte // the encoded switchboard.v1.Event
	State          OutboxState
	Reason         string
	CreatedAt      time.Time
	SettledAt      time.Time
}

// Session is a signed-in console session. The token itself is never stored, only its hash.
type Session struct {
	TenantID  string
	TokenHash string
	UserID    string
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}
