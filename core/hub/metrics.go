package hub

import (
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
)

// Metrics are the conversation service's Prometheus series. Tenant, queue, group and channel
// label values come from the configuration (and the plugins it names), so their number is
// bounded by it; no series is labelled by conversation, customer or agent.
type Metrics struct {
	m   *metrics
	reg prometheus.Registerer
}

type metrics struct {
	offers          *prometheus.CounterVec
	conversations   *prometheus.CounterVec
	teamChats       *prometheus.CounterVec
	messages        *prometheus.CounterVec
	slaBreaches     *prometheus.CounterVec
	transfers       *prometheus.CounterVec
	transfersBack   *prometheus.CounterVec
	queueWait       *prometheus.HistogramVec
	firstResponse   *prometheus.HistogramVec
	postProcessing  *prometheus.HistogramVec
	decisionSeconds *prometheus.HistogramVec
	decisions       map[string]prometheus.Observer // decisionSeconds by event, resolved once
	presence        *prometheus.CounterVec
	expertOffline   *prometheus.CounterVec
}

// waitBuckets suit customers' waits, from seconds to half an hour.
var waitBuckets = []float64{5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800}

// NewMetrics registers the hub's series on reg. The series labelled by queue start at zero for
// every configured queue when the hub is built.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &metrics{
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_offers_total",
			Help: "Offers of customer chats to agents, by outcome (accepted, rejected, timed_out, withdrawn: the customer left or the agent became unavailable). Their sum is the offers made.",
		}, []string{"tenant", "queue", "outcome"}),
		conversations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_conversations_total",
			Help: "Customer conversations by lifecycle event (started, assigned, abandoned: the customer left while waiting, ended, closed: post-processing done).",
		}, []string{"tenant", "queue", "event"}),
		teamChats: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_team_chats_total",
			Help: "Chats started between agents (internal) and between agents and experts (expert).",
		}, []string{"tenant", "kind"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_messages_total",
			Help: "Messages stored, by sender (customer, agent, expert, internal: agent to agent, system).",
		}, []string{"tenant", "sender"}),
		slaBreaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sla_breaches_total",
			Help: "Customers left waiting for a reply past the queue's target, by kind (first_response, response).",
		}, []string{"tenant", "queue", "kind"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_transfers_total",
			Help: "Transfers agents asked for, by the queue the chat was in and the target (queue, agent).",
		}, []string{"tenant", "queue", "target"}),
		transfersBack: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_transfers_returned_total",
			Help: "Transfers to a named agent who did not take the chat in time; it stayed with the sender.",
		}, []string{"tenant", "queue"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_queue_wait_seconds",
			Help:    "How long customers waited from entering a queue until an agent took the chat (accepted or auto-accepted).",
			Buckets: waitBuckets,
		}, []string{"tenant", "queue"}),
		firstResponse: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_first_response_seconds",
			Help:    "Time from a customer's arrival until the agent's first reply, queue wait included.",
			Buckets: waitBuckets,
		}, []string{"tenant", "queue"}),
		postProcessing: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_post_processing_seconds",
			Help:    "Post-processing (wrap-up) time, from the end of a chat until the agent closed it or its timeout did.",
			Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900},
		}, []string{"tenant", "queue"}),
		decisionSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_routing_decision_seconds",
			Help:    "Time the routing engine took to decide on one event (arrival, accept, reject, agent state, timer tick...), locks excluded.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}, []string{"event"}),
		presence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_bridge_presence_updates_total",
			Help: "Presence updates exchanged with expert bridges, by subject (agent: sent to bridges; expert: reported by them).",
		}, []string{"subject"}),
		expertOffline: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_expert_offline_messages_total",
			Help: "Expert messages to signed-out agents, by event (stored; notified: the expert was told; delivered: found by the agent at sign-in).",
		}, []string{"tenant", "event"}),
	}
	for _, s := range []string{"agent", "expert"} {
		m.presence.WithLabelValues(s)
	}
	m.decisions = make(map[string]prometheus.Observer, len(decisionEvents))
	for _, e := range decisionEvents {
		m.decisions[e] = m.decisionSeconds.WithLabelValues(e)
	}
	reg.MustRegister(m.offers, m.conversations, m.teamChats, m.messages, m.slaBreaches, m.transfers, m.transfersBack,
		m.queueWait, m.firstResponse, m.postProcessing, m.decisionSeconds, m.presence, m.expertOffline)
	return &Metrics{m: m, reg: reg}
}

// The routing events whose decision time is measured (the event label).
const (
	evArrive        = "arrive"
	evAccept        = "accept"
	evReject        = "reject"
	evEnd           = "end"
	evEndWrapUp     = "end_wrap_up"
	evLeave         = "leave"
	evTransfer      = "transfer"
	evCustomerMsg   = "customer_message"
	evAgentMsg      = "agent_message"
	evAgentState    = "agent_state"
	evAgentSettings = "agent_settings"
	evQueueSettings = "queue_settings"
	evTick          = "tick"
)

var decisionEvents = []string{evArrive, evAccept, evReject, evEnd, evEndWrapUp, evLeave, evTransfer, evCustomerMsg,
	evAgentMsg, evAgentState, evAgentSettings, evQueueSettings, evTick}

// prepare starts every tenant's and queue's series at zero, so that rates and increases see
// their first events and dashboards list every queue before it is busy.
func (m *metrics) prepare(cfg *config.Config) {
	for _, t := range cfg.Tenants {
		for _, q := range t.Queues {
			for _, o := range []string{"accepted", "rejected", "timed_out", "withdrawn"} {
				m.offers.WithLabelValues(t.ID, q.ID, o)
			}
			for _, e := range []string{"started", "assigned", "abandoned", "ended", "closed"} {
				m.conversations.WithLabelValues(t.ID, q.ID, e)
			}
			for _, k := range []string{routing.ReasonFirstResponse.String(), routing.ReasonResponse.String()} {
				m.slaBreaches.WithLabelValues(t.ID, q.ID, k)
			}
			for _, target := range []string{"queue", "agent"} {
				m.transfers.WithLabelValues(t.ID, q.ID, target)
			}
			m.transfersBack.WithLabelValues(t.ID, q.ID)
			m.queueWait.WithLabelValues(t.ID, q.ID)
			m.firstResponse.WithLabelValues(t.ID, q.ID)
			m.postProcessing.WithLabelValues(t.ID, q.ID)
		}
		for _, k := range []string{"internal", "expert"} {
			m.teamChats.WithLabelValues(t.ID, k)
		}
		for _, s := range []store.ParticipantKind{store.PartCustomer, store.PartAgent, store.PartExpert, "internal", store.PartSystem} {
			m.messages.WithLabelValues(t.ID, string(s))
		}
		for _, e := range []string{"stored", "notified", "delivered"} {
			m.expertOffline.WithLabelValues(t.ID, e)
		}
	}
}

// offerOutcome counts how an offer ended.
func (m *metrics) offerOutcome(conv routing.Key, queue routing.Key, outcome string) {
	m.offers.WithLabelValues(conv.Tenant, queue.ID, outcome).Inc()
}

func (m *metrics) conversation(c store.Conversation, event string) {
	if c.Kind == store.KindCustomer {
		m.conversations.WithLabelValues(c.TenantID, c.QueueID, event).Inc()
	}
}

// wrapUpClosed counts a chat whose post-processing ended.
func (h *Hub) wrapUpClosed(c store.Conversation) {
	h.metrics.conversation(c, "closed")
	if !c.EndedAt.IsZero() {
		h.metrics.postProcessing.WithLabelValues(c.TenantID, c.QueueID).Observe(seconds(c.EndedAt, c.ClosedAt))
	}
}

func seconds(from, to time.Time) float64 { return max(0, to.Sub(from).Seconds()) }

// liveCollector reports the routing engine's current figures at each scrape: queues, chats and
// agents as gauges. It reads them in one pass under the routing lock.
type liveCollector struct{ h *Hub }

var (
	descWaiting = prometheus.NewDesc("switchboard_queue_waiting",
		"Customer conversations waiting in the queue now, offered or not.", []string{"tenant", "queue"}, nil)
	descOldest = prometheus.NewDesc("switchboard_queue_oldest_wait_seconds",
		"How long the longest-waiting customer of the queue has waited so far; 0 when nobody waits.", []string{"tenant", "queue"}, nil)
	descOpen = prometheus.NewDesc("switchboard_queue_open",
		"1 inside the queue's business hours (always, for a queue without hours), 0 outside.", []string{"tenant", "queue"}, nil)
	descQueueAgents = prometheus.NewDesc("switchboard_queue_agents",
		"Agents who serve the queue, by state (logged_out, available, on_break, work_offline).", []string{"tenant", "queue", "state"}, nil)
	descActive = prometheus.NewDesc("switchboard_active_chats",
		"Customer chats with an agent now, post-processing excluded, by channel (the plugin the customer writes through).", []string{"tenant", "queue", "channel"}, nil)
	descWrapUp = prometheus.NewDesc("switchboard_wrap_up_chats",
		"Chats in post-processing now.", []string{"tenant", "queue"}, nil)
	descPastSLA = prometheus.NewDesc("switchboard_chats_past_sla",
		"Active chats whose customer has waited for a reply past the queue's target (the console's red icon).", []string{"tenant", "queue"}, nil)
	descAgents = prometheus.NewDesc("switchboard_agents",
		"Agents by state (logged_out, available, on_break, work_offline) and group.", []string{"tenant", "group", "state"}, nil)
	descLoad = prometheus.NewDesc("switchboard_agent_load_chats",
		"Chats signed-in agents of the group hold now: active, in post-processing and offered.", []string{"tenant", "group"}, nil)
	descCapacity = prometheus.NewDesc("switchboard_agent_capacity_chats",
		"Sum of the capacities (concurrent chats) of the group's available agents.", []string{"tenant", "group"}, nil)
)

func (c liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWaiting, descOldest, descOpen, descQueueAgents, descActive, descWrapUp,
		descPastSLA, descAgents, descLoad, descCapacity} {
		ch <- d
	}
}

func (c liveCollector) Collect(ch chan<- prometheus.Metric) {
	h := c.h
	h.mu.Lock()
	now := h.now()
	queues, groups := h.router.Stats(now)
	h.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	channels := map[string][]string{} // by tenant, read once per scrape
	for _, q := range queues {
		t, id := q.Queue.Tenant, q.Queue.ID
		gauge(descWaiting, float64(q.Waiting), t, id)
		var oldest float64
		if !q.Oldest.IsZero() {
			oldest = seconds(q.Oldest, now)
		}
		gauge(descOldest, oldest, t, id)
		open := 0.0
		if q.InHours {
			open = 1
		}
		gauge(descOpen, open, t, id)
		for i, s := range routing.States {
			gauge(descQueueAgents, float64(q.Agents[i]), t, id, s.String())
		}
		known, ok := channels[t]
		if !ok {
			known = h.channels.of(t)
			channels[t] = known
		}
		for _, ch := range known {
			gauge(descActive, float64(q.Active[ch]), t, id, ch)
		}
		for ch, n := range q.Active {
			if !slices.Contains(known, ch) {
				gauge(descActive, float64(n), t, id, ch)
			}
		}
		gauge(descWrapUp, float64(q.WrapUp), t, id)
		gauge(descPastSLA, float64(q.PastSLA), t, id)
	}
	for _, g := range groups {
		for i, s := range routing.States {
			gauge(descAgents, float64(g.Agents[i]), g.Tenant, g.Group, s.String())
		}
		gauge(descLoad, float64(g.Load), g.Tenant, g.Group)
		gauge(descCapacity, float64(g.Capacity), g.Tenant, g.Group)
	}
}

// channels are the customer channels (plugin names) each tenant's connected plugins provide, so
// that a channel's active chats show as 0 before its first chat.
type channels struct {
	mu       sync.Mutex
	byTenant map[string][]string
}

func (c *channels) add(tenant, channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byTenant == nil {
		c.byTenant = map[string][]string{}
	}
	if !slices.Contains(c.byTenant[tenant], channel) {
		c.byTenant[tenant] = append(c.byTenant[tenant], channel)
	}
}

// seen records the channel of a conversation of the plugin. A plugin that names its channels
// (telegram, whatsapp) no longer counts under its own name.
func (c *channels) seen(tenant, plugin, channel string) {
	c.add(tenant, channel)
	if channel == plugin {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byTenant[tenant] = slices.DeleteFunc(c.byTenant[tenant], func(ch string) bool { return ch == plugin })
}

func (c *channels) of(tenant string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.byTenant[tenant])
}
