package hub

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the conversation service's Prometheus series.
type Metrics struct{ m *metrics }

type metrics struct {
	offers        *prometheus.CounterVec
	conversations *prometheus.CounterVec
	messages      *prometheus.CounterVec
	slaBreaches   *prometheus.CounterVec
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
	}
	for _, o := range []string{"offered", "accepted", "rejected", "timed_out"} {
		m.offers.WithLabelValues(o)
	}
	reg.MustRegister(m.offers, m.conversations, m.messages, m.slaBreaches)
	return &Metrics{m: m}
}
