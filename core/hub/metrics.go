package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the conversation service's Prometheus series.
type Metrics struct{ m *metrics }

type metrics struct {
	offers        *prometheus.CounterVec
	conversations *prometheus.CounterVec
	messages      *prometheus.CounterVec
	slaBreaches   *prometheus.CounterVec
	presence      *prometheus.CounterVec
	expertOffline *prometheus.CounterVec
}

// NewMetrics registers the hub's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &metrics{
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_offers_total",
			Help: "Offers of conversations to agents, by outcome (offered, accepted, rejected, timed_out).",
		}, []string{"outcome"}),
		conversations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_conversations_total",
			Help: "Conversations by lifecycle event (started, assigned, ended, closed).",
		}, []string{"event"}),
		slaBreaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sla_breaches_total",
			Help: "Customers left waiting past a queue's response target, by kind (first_response, response).",
		}, []string{"kind"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_messages_total",
			Help: "Messages stored, by sender kind (customer, agent, expert, system).",
		}, []string{"sender"}),
		presence: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_bridge_presence_updates_total",
			Help: "Presence updates exchanged with expert bridges, by subject (agent: sent to bridges; expert: reported by them).",
		}, []string{"subject"}),
		expertOffline: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_expert_offline_messages_total",
			Help: "Expert messages to signed-out agents, by event (stored; notified: the expert was told; delivered: found by the agent at sign-in).",
		}, []string{"event"}),
	}
	for _, s := range []string{"agent", "expert"} {
		m.presence.WithLabelValues(s)
	}
	for _, e := range []string{"stored", "notified", "delivered"} {
		m.expertOffline.WithLabelValues(e)
	}
	for _, o := range []string{"offered", "accepted", "rejected", "timed_out"} {
		m.offers.WithLabelValues(o)
	}
	reg.MustRegister(m.offers, m.conversations, m.messages, m.slaBreaches, m.presence, m.expertOffline)
	return &Metrics{m: m}
}
