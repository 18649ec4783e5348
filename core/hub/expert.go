package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/switchboardhq/switchboard/core/pluginhost"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// Expert Connect: experts elsewhere in the company answer agents from their own chat app through
// a bridge plugin (bridges/README.md has the contract). An expert chat is a conversation of kind
// expert between one agent and one expert, keyed on the bridge by sdk.ExpertChatKey. It is not
// routed and does not count against capacity. What an expert writes is stored whether or not the
// agent is signed in; a signed-out agent finds it, unread, at the next sign-in, and the expert is
// told once per absence that it will be delivered then.

// experts is what the hub knows of the bridges: which instances are connected, per tenant, and the
// experts each reports with their presence. None of it is stored: bridges report it again on
// every connection.
type experts struct {
	mu      sync.Mutex
	bridges map[string]map[string]string // tenant → instance → plugin
	known   map[string]map[expertKey]expertEntry
}

type expertKey struct{ instance, id string }

type expertEntry struct {
	name  string
	state pb.PresenceState
	since time.Time
}

func newExperts() *experts {
	return &experts{bridges: map[string]map[string]string{}, known: map[string]map[expertKey]expertEntry{}}
}

func (e *experts) bridgesOf(tenant string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]string, len(e.bridges[tenant]))
	for inst, plugin := range e.bridges[tenant] {
		out[inst] = plugin
	}
	return out
}

func (e *experts) lookup(tenant, instance, id string) (expertEntry, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.known[tenant][expertKey{instance, id}]
	return x, ok
}

// ExpertView is an expert as the console lists one.
type ExpertView struct {
	Instance    string `json:"instance"`
	Platform    string `json:"platform"`
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	// State is online, away, offline or unknown (the platform does not say).
	State string `json:"state"`
	// ConversationID is the user's open chat with the expert, if any.
	ConversationID string `json:"conversation_id,omitempty"`
}

func presenceName(s pb.PresenceState) string {
	switch s {
	case pb.PresenceState_PRESENCE_STATE_ONLINE:
		return "online"
	case pb.PresenceState_PRESENCE_STATE_AWAY:
		return "away"
	case pb.PresenceState_PRESENCE_STATE_OFFLINE:
		return "offline"
	}
	return "unknown"
}

// Connected implements pluginhost.Handler: a bridge gets the tenant's agents with their presence
// before anything else.
func (h *Hub) Connected(src pluginhost.Source) {
	if src.Kind != pb.PluginKind_PLUGIN_KIND_BRIDGE {
		h.channels.add(src.Tenant, src.Plugin)
		return
	}
	h.experts.mu.Lock()
	if h.experts.bridges[src.Tenant] == nil {
		h.experts.bridges[src.Tenant] = map[string]string{}
	}
	h.experts.bridges[src.Tenant][src.Instance] = src.Plugin
	h.experts.mu.Unlock()
	users, err := h.st.Users(context.Background(), src.Tenant)
	if err != nil {
		h.log.Error("list agents for a bridge", "instance", src.Instance, "error", err)
		return
	}
	for _, u := range users {
		if u.Role != store.RoleAdmin {
			h.plugins.Signal(src.Instance, agentPresence(u))
			h.metrics.presence.WithLabelValues("agent").Inc()
		}
	}
}

// agentPresence is an agent's presence for experts: online from sign-in until sign-out, whatever
// the routing state in between.
func agentPresence(u store.User) *pb.Event {
	state := sdk.Online
	if u.State == store.StateLoggedOut || u.State == "" {
		state = sdk.Offline
	}
	return sdk.NewPresence("presence:"+uuid.NewString(), sdk.Agent(u.Username, u.DisplayName), state, "")
}

// announce tells every bridge of the tenant about the agent's presence.
func (h *Hub) announce(u store.User) {
	if u.Role == store.RoleAdmin {
		return
	}
	for inst := range h.experts.bridgesOf(u.TenantID) {
		if h.plugins.Signal(inst, agentPresence(u)) {
			h.metrics.presence.WithLabelValues("agent").Inc()
		}
	}
}

// expertPresence records what a bridge says about an expert.
func (h *Hub) expertPresence(src pluginhost.Source, p *pb.Presence) {
	subject := p.GetSubject()
	if src.Kind != pb.PluginKind_PLUGIN_KIND_BRIDGE || subject.GetKind() != sdk.AsExpert || subject.GetId() == "" {
		return
	}
	name := strings.TrimSpace(subject.GetDisplayName())
	if name == "" {
		name = subject.GetId()
	}
	h.experts.mu.Lock()
	if h.experts.known[src.Tenant] == nil {
		h.experts.known[src.Tenant] = map[expertKey]expertEntry{}
	}
	h.experts.known[src.Tenant][expertKey{src.Instance, subject.GetId()}] = expertEntry{name: name, state: p.GetState(), since: h.now()}
	h.experts.mu.Unlock()
	h.metrics.presence.WithLabelValues("expert").Inc()
}

// Experts lists the experts the tenant's bridges report, with the user's open chat with each.
func (h *Hub) Experts(ctx context.Context, tenant, userID string) ([]ExpertView, error) {
	open, err := h.st.UserConversations(ctx, tenant, userID)
	if err != nil {
		return nil, err
	}
	chats := map[expertKey]string{}
	for _, c := range open {
		if c.Kind == store.KindExpert {
			if _, expert, ok := sdk.ParseExpertChatKey(c.ExternalKey); ok {
				chats[expertKey{c.Instance, expert}] = c.ID
			}
		}
	}
	bridges := h.experts.bridgesOf(tenant)
	h.experts.mu.Lock()
	out := make([]ExpertView, 0, len(h.experts.known[tenant]))
	for k, x := range h.experts.known[tenant] {
		out = append(out, ExpertView{Instance: k.instance, Platform: bridges[k.instance], ID: k.id, DisplayName: x.name,
			State: presenceName(x.state), ConversationID: chats[k]})
	}
	h.experts.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if a, b := strings.ToLower(out[i].DisplayName), strings.ToLower(out[j].DisplayName); a != b {
			return a < b
		}
		return out[i].Instance+out[i].ID < out[j].Instance+out[j].ID
	})
	return out, nil
}

// StartExpertChat opens the user's chat with an expert on a bridge, or returns the open one.
func (h *Hub) StartExpertChat(ctx context.Context, tenant, userID, instance, expertID string) (ConversationView, error) {
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	plugin, ok := h.experts.bridgesOf(tenant)[instance]
	if !ok {
		return ConversationView{}, fmt.Errorf("%w: no expert bridge %q is connected", ErrNotFound, instance)
	}
	x, ok := h.experts.lookup(tenant, instance, expertID)
	if !ok {
		return ConversationView{}, fmt.Errorf("%w: bridge %q knows no expert %q", ErrNotFound, instance, expertID)
	}
	key := sdk.ExpertChatKey(u.Username, expertID)
	var (
		conv  store.Conversation
		fresh bool
	)
	err = h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		conv, err = tx.OpenConversationByKey(ctx, tenant, instance, key)
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		conv, err = h.createExpertChat(tx, tenant, instance, plugin, key, u, sdk.Expert(expertID, x.name))
		if err != nil {
			return err
		}
		fresh = true
		return h.enqueue(tx, conv, sdk.NewConversationStarted("started:"+conv.ID, key,
			&pb.ConversationStarted{Initiator: sdk.Agent(u.Username, u.DisplayName)}))
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	if fresh {
		h.metrics.teamChats.WithLabelValues(tenant, "expert").Inc()
		h.plugins.Notify(instance)
	}
	return h.viewFor(ctx, conv, userID)
}

// createExpertChat stores a new expert chat between agent and expert.
func (h *Hub) createExpertChat(tx store.Tx, tenant, instance, plugin, key string, agent store.User, expert *pb.Participant) (store.Conversation, error) {
	now := h.now()
	conv, err := tx.CreateConversation(store.Conversation{TenantID: tenant, Kind: store.KindExpert, State: store.ConvActive,
		Instance: instance, Channel: plugin, ExternalKey: key, AgentID: agent.ID, CreatedAt: now, AssignedAt: now})
	if err != nil {
		return conv, err
	}
	name := strings.TrimSpace(expert.GetDisplayName())
	if name == "" {
		name = expert.GetId()
	}
	if err := tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: conv.ID, Kind: store.PartAgent,
		RefID: agent.ID, DisplayName: agent.DisplayName, JoinedAt: now}); err != nil {
		return conv, err
	}
	return conv, tx.AddParticipant(store.Participant{TenantID: tenant, ConversationID: conv.ID, Kind: store.PartExpert,
		RefID: expert.GetId(), DisplayName: name, JoinedAt: now})
}

// expertChat finds the open chat a bridge event is for, or opens it: an expert may write to an
// agent at any time, signed in or not.
func (h *Hub) expertChat(tx store.Tx, src pluginhost.Source, key string, expert *pb.Participant) (conv store.Conversation, agent store.User, fresh bool, err error) {
	ctx := context.Background()
	username, expertID, ok := sdk.ParseExpertChatKey(key)
	if !ok {
		return conv, agent, false, sdk.Reject("conversation %q is not an expert chat key (sdk.ExpertChatKey)", key)
	}
	if expert != nil && expert.GetId() != expertID {
		return conv, agent, false, sdk.Reject("the sender %q is not the expert of conversation %q", expert.GetId(), key)
	}
	conv, err = tx.OpenConversationByKey(ctx, src.Tenant, src.Instance, key)
	switch {
	case err == nil:
		agent, err = tx.User(ctx, src.Tenant, conv.AgentID)
		return conv, agent, false, err
	case !errors.Is(err, store.ErrNotFound):
		return conv, agent, false, err
	}
	agent, err = tx.UserByUsername(ctx, src.Tenant, username)
	if errors.Is(err, store.ErrNotFound) || (err == nil && agent.Role == store.RoleAdmin) {
		return conv, agent, false, sdk.Reject("there is no agent %q", username)
	}
	if err != nil {
		return conv, agent, false, err
	}
	if expert == nil {
		expert = sdk.Expert(expertID, "")
		if x, ok := h.experts.lookup(src.Tenant, src.Instance, expertID); ok {
			expert.DisplayName = x.name
		}
	}
	conv, err = h.createExpertChat(tx, src.Tenant, src.Instance, src.Plugin, key, agent, expert)
	return conv, agent, err == nil, err
}

func (h *Hub) applyExpertStarted(tx store.Tx, src pluginhost.Source, ev *pb.Event, s *pb.ConversationStarted) (func(), error) {
	if s.GetTargetAgent() != "" && sdk.ExpertChatKey(s.GetTargetAgent(), s.GetInitiator().GetId()) != ev.Conversation {
		return nil, sdk.Reject("conversation %q does not match target agent %q and initiator %q", ev.Conversation, s.GetTargetAgent(), s.GetInitiator().GetId())
	}
	conv, _, fresh, err := h.expertChat(tx, src, ev.Conversation, s.GetInitiator())
	if err != nil || !fresh {
		return nil, err
	}
	return func() {
		h.metrics.teamChats.WithLabelValues(src.Tenant, "expert").Inc()
		h.pushTo(context.Background(), conv, conv.AgentID)
	}, nil
}

// applyExpertMessage stores an expert's message (and its files), opening the chat if needed.
func (h *Hub) applyExpertMessage(tx store.Tx, src pluginhost.Source, ev *pb.Event, msg *pb.Message) (func(), error) {
	content := msg.GetContent()
	text, html, err := normalized(content)
	if err != nil {
		return nil, err
	}
	if err := checkAttachments(content); err != nil {
		return nil, err
	}
	conv, agent, fresh, err := h.expertChat(tx, src, ev.Conversation, msg.GetFrom())
	if err != nil {
		return nil, err
	}
	now := h.now()
	atts, err := storeAttachments(tx, conv, content, now)
	if err != nil {
		return nil, err
	}
	from := msg.GetFrom()
	name := strings.TrimSpace(from.GetDisplayName())
	if name == "" {
		name = from.GetId()
	}
	stored, err := tx.AppendMessage(store.Message{TenantID: conv.TenantID, ConversationID: conv.ID, EventID: src.Instance + ":" + ev.Id,
		SenderKind: store.PartExpert, SenderID: from.GetId(), SenderName: name, Text: text, HTML: html, Attachments: atts, CreatedAt: now})
	if err != nil {
		return nil, err
	}
	offline := agent.State == store.StateLoggedOut || agent.State == ""
	notified := false
	if offline {
		// Told once per absence: the agent's sign-out time names the absence.
		fresh, err := tx.Seen(conv.TenantID, "offline-notice", conv.ID+"@"+strconv.FormatInt(agent.StateSince.UnixNano(), 10), now)
		if err != nil {
			return nil, err
		}
		if fresh {
			note := fmt.Sprintf("%s is offline. Your message is stored and will be delivered when %s signs in.", agent.DisplayName, agent.DisplayName)
			if err := h.enqueue(tx, conv, sdk.NewMessage("offline:"+stored.ID, conv.ExternalKey,
				&pb.Participant{Kind: pb.ParticipantKind_PARTICIPANT_KIND_SYSTEM, Id: "switchboard", DisplayName: "Switchboard"},
				&pb.Content{Text: note, Html: richtext.FromText(note)})); err != nil {
				return nil, err
			}
			notified = true
		}
	}
	return func() {
		h.metrics.messages.WithLabelValues(conv.TenantID, string(store.PartExpert)).Inc()
		if offline {
			h.metrics.expertOffline.WithLabelValues(conv.TenantID, "stored").Inc()
		}
		if notified {
			h.metrics.expertOffline.WithLabelValues(conv.TenantID, "notified").Inc()
			h.plugins.Notify(conv.Instance)
		}
		if fresh {
			h.metrics.teamChats.WithLabelValues(conv.TenantID, "expert").Inc()
			h.pushTo(context.Background(), conv, conv.AgentID)
		}
		mv := messageView(stored)
		h.bus.publish(conv.TenantID, conv.AgentID, Push{Type: "message", ConversationID: conv.ID, Message: &mv})
	}, nil
}

// applyExpertEnded closes the chat when the expert left it on the platform.
func (h *Hub) applyExpertEnded(tx store.Tx, src pluginhost.Source, ev *pb.Event, e *pb.ConversationEnded) (func(), error) {
	conv, err := tx.OpenConversationByKey(context.Background(), src.Tenant, src.Instance, ev.Conversation)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // closed already
	}
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(e.GetBy().GetDisplayName())
	if name == "" {
		name = "The expert"
	}
	if err := h.closeExpertChat(tx, &conv, name+" left the chat."); err != nil {
		return nil, err
	}
	return func() { h.pushTo(context.Background(), conv, conv.AgentID) }, nil
}

// closeExpertChat ends an expert chat for both sides with a note; the next message opens a new one.
func (h *Hub) closeExpertChat(tx store.Tx, conv *store.Conversation, note string) error {
	now := h.now()
	if _, err := tx.AppendMessage(store.Message{TenantID: conv.TenantID, ConversationID: conv.ID, SenderKind: store.PartSystem,
		SenderName: "Switchboard", Text: note, HTML: richtext.FromText(note), CreatedAt: now}); err != nil {
		return err
	}
	conv.State, conv.EndedAt, conv.ClosedAt = store.ConvClosed, now, now
	return tx.UpdateConversation(*conv)
}

// endExpert closes an expert chat at the agent's request and tells the bridge.
func (h *Hub) endExpert(ctx context.Context, u store.User, convID string) (ConversationView, error) {
	var c store.Conversation
	err := h.st.Write(ctx, func(tx store.Tx) error {
		var err error
		if c, err = h.ownConversation(ctx, tx, u.TenantID, u.ID, convID); err != nil {
			return err
		}
		if c.State != store.ConvActive {
			return fmt.Errorf("%w: the chat is %s", ErrConflict, c.State)
		}
		if err := h.closeExpertChat(tx, &c, u.DisplayName+" ended the chat."); err != nil {
			return err
		}
		return h.enqueue(tx, c, sdk.NewConversationEnded("ended:"+convID, c.ExternalKey, sdk.Agent(u.Username, u.DisplayName), "the agent ended the chat"))
	})
	if err != nil {
		return ConversationView{}, notFound(err)
	}
	h.plugins.Notify(c.Instance)
	return h.viewFor(ctx, c, u.ID)
}

// deliveredAtLogin counts the expert messages stored while the agent was signed out (since the
// sign-out at since), now delivered at sign-in.
func (h *Hub) deliveredAtLogin(ctx context.Context, tenant, userID string, since time.Time) {
	open, err := h.st.UserConversations(ctx, tenant, userID)
	if err != nil {
		return
	}
	for _, c := range open {
		if c.Kind != store.KindExpert {
			continue
		}
		// What arrived while the agent was away is unread: start after the read mark.
		parts, err := h.st.Participants(ctx, tenant, c.ID)
		if err != nil {
			continue
		}
		var read int64
		for _, p := range parts {
			if p.Kind == store.PartAgent && p.RefID == userID && p.LeftAt.IsZero() {
				read = p.ReadSeq
			}
		}
		msgs, err := h.st.Messages(ctx, tenant, c.ID, read, 0)
		if err != nil {
			continue
		}
		n := 0
		for _, m := range msgs {
			if m.SenderKind == store.PartExpert && !m.CreatedAt.Before(since) {
				n++
			}
		}
		h.metrics.expertOffline.WithLabelValues(tenant, "delivered").Add(float64(n))
	}
}

// expertPeer is the expert of an expert chat, with their presence as the bridge last reported it.
func (h *Hub) expertPeer(c store.Conversation, parts []store.Participant) *PeerView {
	for _, p := range parts {
		if p.Kind != store.PartExpert {
			continue
		}
		peer := &PeerView{Kind: "expert", ID: p.RefID, DisplayName: p.DisplayName, State: "unknown", Platform: c.Channel}
		if x, ok := h.experts.lookup(c.TenantID, c.Instance, p.RefID); ok {
			peer.State = presenceName(x.state)
		}
		return peer
	}
	return nil
}

// File returns a stored attachment of a conversation the user may read.
func (h *Hub) File(ctx context.Context, tenant, userID, fileID string) (store.File, error) {
	f, err := h.st.File(ctx, tenant, fileID)
	if err != nil {
		return store.File{}, notFound(err)
	}
	if _, err := h.visible(ctx, tenant, userID, f.ConversationID); err != nil {
		return store.File{}, err
	}
	return f, nil
}

// LastMessages returns the last n messages of a visible conversation, in order: the history an
// agent sees on opening a chat.
func (h *Hub) LastMessages(ctx context.Context, tenant, userID, convID string, n int) ([]MessageView, error) {
	c, err := h.visible(ctx, tenant, userID, convID)
	if err != nil {
		return nil, err
	}
	if n > 500 {
		n = 500
	}
	return h.Messages(ctx, tenant, userID, convID, max(0, c.LastSeq-int64(n)), n)
}
