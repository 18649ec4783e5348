package hub

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
)

// Directory is what a console offers in its pickers: the tenant's queues and groups and the
// dispositions of post-processing.
type Directory struct {
	Queues       []QueueRef `json:"queues"`
	Groups       []GroupRef `json:"groups"`
	Dispositions []string   `json:"dispositions"`
}

// QueueRef names a queue.
type QueueRef struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Group string `json:"group"`
}

// GroupRef names a functional group.
type GroupRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Directory returns the tenant's queues, groups and dispositions.
func (h *Hub) Directory(tenant string) (Directory, error) {
	t := h.cfg.Tenant(tenant)
	if t == nil {
		return Directory{}, fmt.Errorf("%w: tenant %s", ErrNotFound, tenant)
	}
	d := Directory{Queues: []QueueRef{}, Groups: []GroupRef{}, Dispositions: t.Dispositions}
	for _, q := range t.Queues {
		d.Queues = append(d.Queues, QueueRef{ID: q.ID, Name: q.Name, Group: q.Group})
	}
	for _, g := range t.Groups {
		d.Groups = append(d.Groups, GroupRef{ID: g.ID, Name: g.Name})
	}
	return d, nil
}

// AgentView is a colleague as the agent list and the supervisor view show them.
type AgentView struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Role        string     `json:"role"`
	Group       string     `json:"group"`
	State       string     `json:"state"`
	StateReason string     `json:"state_reason,omitempty"`
	StateSince  *time.Time `json:"state_since,omitempty"`
	Load        int        `json:"load"`
	MaxChats    int        `json:"max_chats"`
}

// oversight is the part of a tenant a user may watch: every queue, or the listed ones.
type oversight struct {
	all    bool
	queues map[string]bool
	group  string // for group scope: the supervisor's group, whose agents they see
}

func (o oversight) name() string {
	switch {
	case o.all:
		return "tenant"
	case o.group != "":
		return "group " + o.group
	}
	return "queues " + strings.Join(slices.Sorted(maps.Keys(o.queues)), ", ")
}

func (o oversight) queue(id string) bool { return o.all || o.queues[id] }

func (o oversight) agent(u store.User) bool {
	if o.all || (o.group != "" && u.GroupID == o.group) {
		return true
	}
	return slices.ContainsFunc(u.Queues, o.queue)
}

// oversees resolves a supervisor's or admin's scope; agents oversee nothing.
func (h *Hub) oversees(u store.User) (oversight, bool) {
	switch {
	case u.Role == store.RoleAdmin || (u.Role == store.RoleSupervisor && u.Scope == store.ScopeTenant):
		return oversight{all: true}, true
	case u.Role != store.RoleSupervisor:
		return oversight{}, false
	}
	o := oversight{queues: map[string]bool{}}
	if u.Scope == store.ScopeQueues {
		for _, q := range u.Queues {
			o.queues[q] = true
		}
		return o, true
	}
	o.group = u.GroupID
	if t := h.cfg.Tenant(u.TenantID); t != nil {
		for _, q := range t.Queues {
			if q.Group == u.GroupID {
				o.queues[q.ID] = true
			}
		}
	}
	return o, true
}

// Agents lists the colleagues a user may see and chat with: agents see their own functional
// group, supervisors and admins every group. Admins without a group are not listed.
func (h *Hub) Agents(ctx context.Context, tenant, userID string) ([]AgentView, error) {
	me, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return nil, notFound(err)
	}
	users, err := h.st.Users(ctx, tenant)
	if err != nil {
		return nil, err
	}
	out := []AgentView{}
	for _, u := range users {
		if u.Role == store.RoleAdmin || (me.Role == store.RoleAgent && u.GroupID != me.GroupID) {
			continue
		}
		out = append(out, h.agentView(u))
	}
	return out, nil
}

func (h *Hub) agentView(u store.User) AgentView {
	v := AgentView{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Role: string(u.Role), Group: u.GroupID,
		State: string(u.State), StateReason: u.StateReason, StateSince: timePtr(u.StateSince), MaxChats: u.MaxChats}
	if v.State == "" {
		v.State = string(store.StateLoggedOut)
	}
	h.mu.Lock()
	st, ok := h.router.AgentStatus(routing.Key{Tenant: u.TenantID, ID: u.ID})
	h.mu.Unlock()
	if ok {
		v.Load = st.Active + st.WrapUp
	}
	return v
}

// QueueStatusView is one queue on the supervisor view.
type QueueStatusView struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	Group           string `json:"group"`
	Waiting         int    `json:"waiting"`
	LongestWaitSecs int64  `json:"longest_wait_seconds"`
	Active          int    `json:"active"`
	PastSLA         int    `json:"past_sla"`
	SLABreaches     int    `json:"sla_breaches"`
	AgentsAvailable int    `json:"agents_available"`
}

// Supervision is the supervisor view: the queues and agents of the supervisor's scope.
type Supervision struct {
	Scope  string            `json:"scope"`
	Queues []QueueStatusView `json:"queues"`
	Agents []AgentView       `json:"agents"`
}

// Supervise returns the live queues and agents a supervisor oversees.
func (h *Hub) Supervise(ctx context.Context, tenant, userID string) (Supervision, error) {
	me, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return Supervision{}, notFound(err)
	}
	o, ok := h.oversees(me)
	if !ok {
		return Supervision{}, fmt.Errorf("%w: the supervisor view is for supervisors and admins", ErrForbidden)
	}
	t := h.cfg.Tenant(tenant)
	if t == nil {
		return Supervision{}, fmt.Errorf("%w: tenant %s", ErrNotFound, tenant)
	}
	sup := Supervision{Scope: o.name(), Queues: []QueueStatusView{}, Agents: []AgentView{}}
	now := h.now()
	var queues []config.Queue
	for _, q := range t.Queues {
		if o.queue(q.ID) {
			queues = append(queues, q)
		}
	}
	views := make([]routing.QueueView, len(queues))
	h.mu.Lock()
	for i, q := range queues {
		views[i], _ = h.router.QueueStatus(routing.Key{Tenant: tenant, ID: q.ID})
	}
	h.mu.Unlock()
	h.carryMu.Lock()
	for i, q := range queues {
		v := views[i]
		qv := QueueStatusView{ID: q.ID, Name: q.Name, Group: q.Group, Waiting: v.Waiting, Active: v.Active, PastSLA: v.PastSLA,
			SLABreaches: h.breaches[routing.Key{Tenant: tenant, ID: q.ID}], AgentsAvailable: v.Eligible}
		if !v.Oldest.IsZero() {
			qv.LongestWaitSecs = int64(now.Sub(v.Oldest) / time.Second)
		}
		sup.Queues = append(sup.Queues, qv)
	}
	h.carryMu.Unlock()
	users, err := h.st.Users(ctx, tenant)
	if err != nil {
		return Supervision{}, err
	}
	for _, u := range users {
		if u.Role != store.RoleAdmin && o.agent(u) {
			sup.Agents = append(sup.Agents, h.agentView(u))
		}
	}
	return sup, nil
}

// Transcripts lists finished customer chats the user may read, most recently closed first:
// their own for agents, those of the scope's queues for supervisors and admins.
func (h *Hub) Transcripts(ctx context.Context, tenant, userID string, before time.Time, limit int) ([]ConversationView, error) {
	me, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return nil, notFound(err)
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	f := store.ClosedFilter{Kind: store.KindCustomer, Before: before, Limit: limit}
	if o, ok := h.oversees(me); !ok {
		f.AgentID = me.ID
	} else if !o.all {
		if len(o.queues) == 0 {
			return []ConversationView{}, nil
		}
		f.QueueIDs = slices.Sorted(maps.Keys(o.queues))
	}
	convs, err := h.st.ClosedConversations(ctx, tenant, f)
	if err != nil {
		return nil, err
	}
	out := make([]ConversationView, 0, len(convs))
	for _, c := range convs {
		v, err := h.view(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Transcript returns a conversation the user may read with all its messages.
func (h *Hub) Transcript(ctx context.Context, tenant, userID, convID string) (ConversationView, []MessageView, error) {
	c, err := h.visible(ctx, tenant, userID, convID)
	if err != nil {
		return ConversationView{}, nil, err
	}
	v, err := h.viewFor(ctx, c, userID)
	if err != nil {
		return ConversationView{}, nil, err
	}
	var out []MessageView
	for after := int64(0); ; {
		msgs, err := h.st.Messages(ctx, tenant, convID, after, 1000)
		if err != nil {
			return ConversationView{}, nil, err
		}
		for _, m := range msgs {
			out = append(out, messageView(m))
		}
		if len(msgs) < 1000 {
			return v, out, nil
		}
		after = msgs[len(msgs)-1].Seq
	}
}

// MarkRead records that the user read the conversation up to seq; the unread count in later
// snapshots starts after it.
func (h *Hub) MarkRead(ctx context.Context, tenant, userID, convID string, seq int64) error {
	if seq < 0 {
		return fmt.Errorf("%w: seq must not be negative", ErrInvalid)
	}
	return notFound(h.st.Write(ctx, func(tx store.Tx) error {
		c, err := tx.Conversation(ctx, tenant, convID)
		if err != nil {
			return err
		}
		if seq > c.LastSeq {
			seq = c.LastSeq
		}
		return tx.MarkRead(tenant, convID, store.PartAgent, userID, seq)
	}))
}

// unread counts the messages after the user's read mark that others sent.
func (h *Hub) unread(ctx context.Context, c store.Conversation, userID string, parts []store.Participant) (int, error) {
	var read int64 = -1
	for _, p := range parts {
		if p.Kind == store.PartAgent && p.RefID == userID && p.LeftAt.IsZero() {
			read = p.ReadSeq
		}
	}
	if read < 0 || read >= c.LastSeq {
		return 0, nil
	}
	msgs, err := h.st.Messages(ctx, c.TenantID, c.ID, read, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range msgs {
		if !(m.SenderKind == store.PartAgent && m.SenderID == userID) && m.SenderKind != store.PartSystem {
			n++
		}
	}
	return n, nil
}
