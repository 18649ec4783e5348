package hub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/pluginhost"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// The routing engine is pure; this file is its I/O: it feeds the engine events under h.mu and
// carries out the decisions it returns, in order, under h.carryMu.

// offer is a conversation offered to an agent until Expires.
type offer struct {
	Conversation routing.Key
	Agent        routing.Key
	Expires      time.Time
}

// queueConfig maps a configured queue to the engine's settings.
func queueConfig(tenant string, q config.Queue) routing.QueueConfig {
	qc := routing.QueueConfig{
		Queue:               routing.Key{Tenant: tenant, ID: q.ID},
		OfferTimeout:        q.OfferTimeout.Duration,
		AutoAccept:          q.AutoAccept,
		MissedOffersLimit:   q.MissedOffersLimit,
		WrapUpTimeout:       q.WrapUpTimeout.Duration,
		FirstResponseTarget: q.FirstResponseTarget.Duration,
		ResponseTarget:      q.ResponseTarget.Duration,
		MaxWait:             q.MaxWait.Duration,
		Overflow:            q.OverflowQueue,
		AllowTranslation:    q.AllowTranslation,
		LanguageWait:        q.LanguageWait.Duration,
	}
	if q.Strategy == "least_busy" {
		qc.Strategy = routing.LeastBusy
	}
	if h := q.BusinessHours; h.Set() {
		loc, err := time.LoadLocation(h.TimeZone)
		if err != nil {
			loc = time.UTC // validation refuses unknown zones before this runs
		}
		hours := &routing.Hours{Location: loc}
		for day, name := range config.Weekdays {
			if span, ok := h.Days[name]; ok {
				open, close, _ := config.Span(span)
				hours.Days[day] = routing.Span{Open: open, Close: close}
			}
		}
		qc.Hours = hours
	}
	return qc
}

// priority of the conversations of a queue: a higher one is served first across queues.
func (h *Hub) priority(tenant, queue string) int {
	if t := h.cfg.Tenant(tenant); t != nil {
		if q := t.Queue(queue); q != nil {
			return q.Priority
		}
	}
	return 0
}

func agentConfig(u store.User) routing.AgentConfig {
	return routing.AgentConfig{
		Agent: routing.Key{Tenant: u.TenantID, ID: u.ID}, Group: u.GroupID, Queues: u.Queues,
		Primary: u.PrimaryLanguage, Secondary: u.SecondaryLanguages, Capacity: u.MaxChats,
	}
}

func routingState(s store.AgentState) routing.State {
	switch s {
	case store.StateAvailable:
		return routing.StateAvailable
	case store.StateOnBreak:
		return routing.StateOnBreak
	case store.StateWorkOffline:
		return routing.StateWorkOffline
	default:
		return routing.StateLoggedOut
	}
}

func storeState(s routing.State) store.AgentState {
	switch s {
	case routing.StateAvailable:
		return store.StateAvailable
	case routing.StateOnBreak:
		return store.StateOnBreak
	case routing.StateWorkOffline:
		return store.StateWorkOffline
	default:
		return store.StateLoggedOut
	}
}

// decide runs one engine event (named for the decision-time metric) and carries out its
// decisions before returning. Decisions of concurrent events are carried out in the order the
// engine made them.
func (h *Hub) decide(ctx context.Context, name string, event func(r *routing.Router, now time.Time) ([]routing.Decision, error)) error {
	h.mu.Lock()
	start := time.Now()
	ds, err := event(h.router, h.now())
	h.metrics.decisions[name].Observe(time.Since(start).Seconds())
	ds = slices.Clone(ds) // the engine reuses its slice
	h.carryMu.Lock()
	h.mu.Unlock()
	defer h.carryMu.Unlock()
	for _, d := range ds {
		if cerr := h.carry(ctx, d); cerr != nil {
			h.log.Error("carry out routing decision", "decision", d.Kind.String(), "conversation", d.Conversation.ID, "agent", d.Agent.ID, "error", cerr)
		}
	}
	return err
}

// carry performs one decision: store writes, outbox events for channels, console pushes.
func (h *Hub) carry(ctx context.Context, d routing.Decision) error {
	switch d.Kind {
	case routing.DecisionOffer:
		o := offer{Conversation: d.Conversation, Agent: d.Agent, Expires: d.Deadline}
		h.offers[d.Agent] = o
		view, err := h.offerView(ctx, o)
		if err != nil {
			return err
		}
		h.bus.publish(d.Agent.Tenant, d.Agent.ID, Push{Type: "offer", ConversationID: d.Conversation.ID, Offer: view})
	case routing.DecisionOfferWithdrawn:
		if o, ok := h.offers[d.Agent]; ok && o.Conversation == d.Conversation {
			delete(h.offers, d.Agent)
		}
		if !d.Transfer {
			switch d.Reason {
			case routing.ReasonTimeout:
				h.metrics.offerOutcome(d.Conversation, d.Queue, "timed_out")
			case routing.ReasonRejected:
				h.metrics.offerOutcome(d.Conversation, d.Queue, "rejected")
			default:
				h.metrics.offerOutcome(d.Conversation, d.Queue, "withdrawn")
			}
		}
		h.bus.publish(d.Agent.Tenant, d.Agent.ID, Push{Type: "offer_revoked", ConversationID: d.Conversation.ID, Reason: d.Reason.String()})
	case routing.DecisionAssigned:
		if o, ok := h.offers[d.Agent]; ok && o.Conversation == d.Conversation {
			delete(h.offers, d.Agent)
		}
		return h.assign(ctx, d)
	case routing.DecisionAgentState:
		return h.storeState(ctx, d.Agent, storeState(d.State), d.Reason.String())
	case routing.DecisionWrapUpEnded:
		return h.closeWrapUp(ctx, d.Conversation, "", "")
	case routing.DecisionOverflowed:
		return h.moveQueue(ctx, d.Conversation, d.Queue.ID)
	case routing.DecisionQueueClosed:
		return h.queueClosed(ctx, d)
	case routing.DecisionSLABreached:
		c, err := h.st.Conversation(ctx, d.Conversation.Tenant, d.Conversation.ID)
		if err != nil {
			return err
		}
		h.metrics.slaBreaches.WithLabelValues(c.TenantID, c.QueueID, d.Reason.String()).Inc()
		h.breaches[routing.Key{Tenant: c.TenantID, ID: c.QueueID}]++
		if c.AgentID != "" {
			h.bus.publish(c.TenantID, c.AgentID, Push{Type: "sla", ConversationID: c.ID, Status: "breached", Reason: d.Reason.String()})
		}
	case routing.DecisionTransferReturned:
		h.metrics.transfersBack.WithLabelValues(d.Queue.Tenant, d.Queue.ID).Inc()
		h.bus.publish(d.Agent.Tenant, d.Agent.ID, Push{Type: "transfer_returned", ConversationID: d.Conversation.ID, Reason: d.Reason.String()})
	}
	return nil
}

// assign records that the agent has the conversation and tells the channel.
func (h *Hub) assign(ctx context.Context, d routing.Decision) error {
	u, err := h.st.User(ctx, d.Agent.Tenant, d.Agent.ID)
	if err != nil {
		return err
	}
	now := h.now()
	var c store.Conversation
	var previous string
	var first bool // the conversation's first assignment: its customer's wait in line ends
	err = h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.Conversation(ctx, d.Agent.Tenant, d.Conversation.ID); err != nil {
			return err
		}
		first = c.AssignedAt.IsZero()
		if previous = c.AgentID; previous != "" && previous != d.Agent.ID {
			// A transfer to a named agent: the sender leaves the chat, and the transcript says so.
			err := tx.LeaveParticipant(c.TenantID, c.ID, store.PartAgent, previous, now)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			from := "An agent"
			if p, err := tx.User(ctx, c.TenantID, previous); err == nil {
				from = p.DisplayName
			}
			note := from + " transferred the chat to " + u.DisplayName + "."
			if _, err := tx.AppendMessage(store.Message{TenantID: c.TenantID, ConversationID: c.ID, SenderKind: store.PartSystem,
				SenderName: "Switchboard", Text: note, HTML: richtext.FromText(note), CreatedAt: now}); err != nil {
				return err
			}
		}
		c.State, c.AgentID, c.AssignedAt = store.ConvActive, d.Agent.ID, now
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		err = tx.AddParticipant(store.Participant{TenantID: c.TenantID, ConversationID: c.ID, Kind: store.PartAgent,
			RefID: u.ID, DisplayName: u.DisplayName, JoinedAt: now})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
		ev := sdk.NewConversationAssigned("assigned:"+c.ID+":"+u.ID, c.ExternalKey, agentParticipant(u))
		return h.enqueue(tx, c, ev)
	})
	if err != nil {
		return err
	}
	if d.Reason == routing.ReasonAccepted && !d.Transfer {
		h.metrics.offerOutcome(d.Conversation, d.Queue, "accepted")
	}
	if first {
		h.metrics.queueWait.WithLabelValues(c.TenantID, c.QueueID).Observe(seconds(c.EnteredQueueAt, now))
		h.metrics.conversation(c, "assigned")
	}
	h.plugins.Notify(c.Instance)
	h.pushConversation(c)
	if previous != "" && previous != d.Agent.ID {
		h.bus.publish(c.TenantID, previous, Push{Type: "conversation_gone", ConversationID: c.ID, Reason: "transferred"})
	}
	return nil
}

func (h *Hub) storeState(ctx context.Context, agent routing.Key, state store.AgentState, reason string) error {
	var u store.User
	err := h.st.Write(ctx, func(tx store.Tx) error {
		if err := tx.SetAgentState(agent.Tenant, agent.ID, state, reason, h.now()); err != nil {
			return err
		}
		var err error
		u, err = tx.User(ctx, agent.Tenant, agent.ID)
		return err
	})
	if err != nil {
		return err
	}
	h.bus.publish(agent.Tenant, agent.ID, Push{Type: "state", State: string(u.State), Reason: u.StateReason})
	return nil
}

// closeWrapUp ends post-processing in the store.
func (h *Hub) closeWrapUp(ctx context.Context, conv routing.Key, disposition, notes string) error {
	var c store.Conversation
	closed := false
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = tx.Conversation(ctx, conv.Tenant, conv.ID); err != nil {
			return err
		}
		if c.State != store.ConvWrapUp {
			return nil // the agent closed it first
		}
		closed = true
		c.State, c.ClosedAt = store.ConvClosed, h.now()
		if disposition != "" || notes != "" {
			c.Disposition, c.Notes = disposition, notes
		}
		if err := tx.UpdateConversation(c); err != nil {
			return err
		}
		err = tx.LeaveParticipant(c.TenantID, c.ID, store.PartAgent, c.AgentID, c.ClosedAt)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || !closed {
		return err
	}
	h.wrapUpClosed(c)
	h.pushConversation(c)
	return nil
}

func (h *Hub) moveQueue(ctx context.Context, conv routing.Key, queue string) error {
	return h.st.Write(ctx, func(tx store.Tx) error {
		c, err := tx.Conversation(ctx, conv.Tenant, conv.ID)
		if err != nil {
			return err
		}
		c.QueueID = queue
		return tx.UpdateConversation(c)
	})
}

// queueClosed tells the channel that nobody can answer now, so it can offer to leave a message.
// The conversation stays open and enters routing again when an agent of its queue logs in.
func (h *Hub) queueClosed(ctx context.Context, d routing.Decision) error {
	h.parked[d.Conversation] = d.Queue
	c, err := h.st.Conversation(ctx, d.Conversation.Tenant, d.Conversation.ID)
	if err != nil {
		return err
	}
	reason := "Nobody is available to chat right now. Leave a message and we will answer it."
	if d.Reason == routing.ReasonOutsideHours {
		reason = "We are closed now. Leave a message and we will answer it when we open."
	}
	err = h.st.Write(ctx, func(tx store.Tx) error {
		return h.enqueue(tx, c, sdk.NewQueueStatus("closed:"+c.ID+":"+fmt.Sprint(h.now().UnixNano()), c.ExternalKey,
			&pb.QueueStatus{Closed: true, Reason: reason}))
	})
	if err == nil {
		h.plugins.Notify(c.Instance)
	}
	return err
}

// retryParked offers parked conversations of the agent's queues to routing again (an agent of
// their queue logged in).
func (h *Hub) retryParked(ctx context.Context, tenant string) {
	h.carryMu.Lock()
	var retry []routing.Key
	for conv := range h.parked {
		if conv.Tenant == tenant {
			retry = append(retry, conv)
		}
	}
	h.carryMu.Unlock()
	slices.SortFunc(retry, routing.Key.Compare)
	for _, conv := range retry {
		c, err := h.st.Conversation(ctx, conv.Tenant, conv.ID)
		if err != nil || c.State != store.ConvQueued {
			h.carryMu.Lock()
			delete(h.parked, conv)
			h.carryMu.Unlock()
			continue
		}
		h.carryMu.Lock()
		delete(h.parked, conv)
		h.carryMu.Unlock()
		h.arrive(ctx, c)
	}
}

// arrive enters a stored conversation into routing.
func (h *Hub) arrive(ctx context.Context, c store.Conversation) {
	err := h.decide(ctx, evArrive, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.Arrive(routing.Arrival{Conversation: routing.Key{Tenant: c.TenantID, ID: c.ID},
			Queue: routing.Key{Tenant: c.TenantID, ID: c.QueueID}, Language: c.Language,
			Channel: c.Channel, Priority: h.priority(c.TenantID, c.QueueID)}, now)
	})
	if err != nil && !errors.Is(err, routing.ErrExists) {
		h.log.Error("route conversation", "conversation", c.ID, "error", err)
		return
	}
	h.announcePosition(c)
}

// positionEvery is how often waiting customers hear their place in line when it changed.
const positionEvery = 5 * time.Second

// announcePositions tells every waiting customer of the tenants their place in line and the
// estimated wait, when it changed since the last time. It is not stored: a customer who is not
// connected hears the next one.
func (h *Hub) announcePositions(ctx context.Context) {
	for _, t := range h.cfg.Tenants {
		convs, err := h.st.OpenConversations(ctx, t.ID)
		if err != nil {
			h.log.Error("list waiting conversations", "tenant", t.ID, "error", err)
			continue
		}
		for _, c := range convs {
			if c.State != store.ConvQueued {
				continue
			}
			h.announcePosition(c)
		}
	}
}

func (h *Hub) announcePosition(c store.Conversation) {
	key := routing.Key{Tenant: c.TenantID, ID: c.ID}
	h.mu.Lock()
	pos, estimate, ok := h.router.Position(key)
	h.mu.Unlock()
	if !ok {
		return
	}
	h.carryMu.Lock()
	last, told := h.positions[key]
	h.positions[key] = pos
	h.carryMu.Unlock()
	if told && last == pos {
		return
	}
	h.plugins.Signal(c.Instance, sdk.NewQueueStatus(fmt.Sprintf("position:%s:%d", c.ID, pos), c.ExternalKey,
		&pb.QueueStatus{Position: int32(pos), EstimatedWaitSeconds: int32(estimate.Round(time.Second) / time.Second)}))
}

// Run handles routing deadlines (offer timeouts, post-processing, SLA, overflow) and tells
// waiting customers their place in line, until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	positions := time.NewTicker(positionEvery)
	defer positions.Stop()
	for {
		select {
		case <-timer.C:
		case <-h.kick:
		case <-positions.C:
			h.announcePositions(ctx)
			h.carryMu.Lock()
			if len(h.positions) > 10000 {
				clear(h.positions) // forgotten entries only cost one repeated notice
			}
			h.carryMu.Unlock()
			continue
		case <-ctx.Done():
			return
		}
		h.decide(ctx, evTick, func(r *routing.Router, now time.Time) ([]routing.Decision, error) { return r.Tick(now), nil })
		h.mu.Lock()
		next, ok := h.router.NextDeadline()
		h.mu.Unlock()
		wait := time.Second
		if ok {
			wait = min(max(time.Until(next), time.Millisecond), time.Second)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

func (h *Hub) kickRouting() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// HasCapacity implements pluginhost.Handler: could an agent take a chat of the queue now?
func (h *Hub) HasCapacity(src pluginhost.Source, queue string) (bool, error) {
	t := h.cfg.Tenant(src.Tenant)
	if t == nil {
		return false, fmt.Errorf("unknown tenant %q", src.Tenant)
	}
	q := t.DefaultQueue()
	if queue != "" {
		if q = t.Queue(queue); q == nil {
			return false, fmt.Errorf("unknown queue %q", queue)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.router.HasCapacity(routing.Key{Tenant: src.Tenant, ID: q.ID}, h.now()), nil
}
