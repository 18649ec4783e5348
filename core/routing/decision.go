package routing

import "time"

// DecisionKind says what a Decision asks the caller to do or tell.
type DecisionKind uint8

// The kinds of decision a Router returns.
const (
	// DecisionOffer: offer Conversation to Agent until Deadline (Transfer: a transfer to a named agent).
	DecisionOffer DecisionKind = iota + 1
	// DecisionOfferWithdrawn: the offer of Conversation to Agent is gone (Reason says why).
	DecisionOfferWithdrawn
	// DecisionAssigned: Conversation now belongs to Agent (Reason: auto_accept or accepted).
	DecisionAssigned
	// DecisionAgentState: the engine moved Agent to State (Reason says why, for the console).
	DecisionAgentState
	// DecisionWrapUpEnded: the post-processing of Conversation by Agent ended; its capacity is free.
	DecisionWrapUpEnded
	// DecisionOverflowed: Conversation waited max_wait in From and moved to Queue.
	DecisionOverflowed
	// DecisionQueueClosed: Conversation could not enter Queue (Reason: no_agents or outside_hours).
	DecisionQueueClosed
	// DecisionSLABreached: the customer of Conversation has waited for a reply since Since beyond
	// the target named by Reason (first_response or response).
	DecisionSLABreached
	// DecisionTransferReturned: From did not take the transfer of Conversation; it stays with Agent.
	DecisionTransferReturned
)

var kindNames = [...]string{"", "offer", "offer_withdrawn", "assigned", "agent_state", "wrap_up_ended",
	"overflowed", "queue_closed", "sla_breached", "transfer_returned"}

func (k DecisionKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Reason qualifies a decision; its String form is what the console and metrics show.
type Reason uint8

// Reasons carried by decisions.
const (
	ReasonNone Reason = iota
	ReasonTimeout
	ReasonRejected
	ReasonConversationGone
	ReasonAgentUnavailable
	ReasonAutoAccept
	ReasonAccepted
	ReasonMissedOffers
	ReasonEndedByAgent
	ReasonWrapUpTimeout
	ReasonMaxWait
	ReasonNoAgents
	ReasonOutsideHours
	ReasonFirstResponse
	ReasonResponse
	ReasonReconfigured
)

var reasonNames = [...]string{"", "timeout", "rejected", "conversation_gone", "agent_unavailable",
	"auto_accept", "accepted", "missed_offers_limit", "ended_by_agent", "wrap_up_timeout", "max_wait",
	"no_agents", "outside_hours", "first_response", "response", "reconfigured"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Decision is one outcome of an event. Only the fields the Kind names are set.
type Decision struct {
	Kind         DecisionKind
	Conversation Key
	Agent        Key
	Queue        Key // the conversation's queue; for DecisionOverflowed the queue it moved to
	From         Key // DecisionOverflowed: the queue it left; DecisionTransferReturned: the agent who did not take it
	State        State
	Reason       Reason
	Deadline     time.Time // DecisionOffer: when the offer times out
	Since        time.Time // DecisionSLABreached: since when the customer waits
	Transfer     bool      // DecisionOffer, DecisionAssigned: a transfer to a named agent
}
