package pluginhost

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the plugin host's Prometheus series. Label values are instance names from the
// configuration, so their number is bounded by it.
type metrics struct {
	up            *prometheus.GaugeVec
	restarts      *prometheus.CounterVec
	startFailures *prometheus.CounterVec
	messages      *prometheus.CounterVec
	events        *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	outboxDepth   *prometheus.GaugeVec
	rejections    *prometheus.CounterVec
	roundTrip     *prometheus.HistogramVec
	delivery      *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_plugin_up",
			Help: "1 when the plugin instance is running and connected, 0 otherwise.",
		}, []string{"plugin_instance", "plugin"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_restarts_total",
			Help: "Times a plugin instance was restarted after it crashed, hung or failed to start.",
		}, []string{"plugin_instance", "plugin"}),
		startFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_start_failures_total",
			Help: "Plugin instance starts that failed, by stage (binary, handshake, describe, configure, connect).",
		}, []string{"plugin_instance", "plugin", "stage"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_messages_total",
			Help: "Messages exchanged with a plugin instance: in = stored from the plugin, out = acknowledged by it.",
		}, []string{"plugin_instance", "plugin", "direction"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_events_total",
			Help: "Events exchanged with a plugin instance, by direction and event type.",
		}, []string{"plugin_instance", "plugin", "direction", "type"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_inbound_duplicates_total",
			Help: "Inbound events dropped because an event with the same id was already stored.",
		}, []string{"plugin_instance", "plugin"}),
		outboxDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_plugin_outbox_depth",
			Help: "Outbound events stored for a plugin instance and not yet acknowledged by it.",
		}, []string{"plugin_instance", "plugin"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_plugin_rejections_total",
			Help: "Bad input a plugin refused (oversized or malformed frames, forged signatures...), by reason.",
		}, []string{"plugin_instance", "plugin", "name", "reason"}),
		roundTrip: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_plugin_ping_seconds",
			Help:    "Round trip of the liveness probe on a plugin instance's event stream.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 9),
		}, []string{"plugin_instance", "plugin"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_message_delivery_seconds",
			Help: "Time a message takes through the hub, by direction: inbound from the plugin receiving it to the hub storing it; " +
				"outbound from the hub storing it to the plugin acknowledging that its platform accepted it.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"plugin_instance", "plugin", "direction"}),
	}
	reg.MustRegister(m.up, m.restarts, m.startFailures, m.messages, m.events, m.duplicates, m.outboxDepth, m.rejections,
		m.roundTrip, m.delivery)
	return m
}

// prepare starts a configured instance's series at zero.
func (m *metrics) prepare(instance, plugin string) {
	m.up.WithLabelValues(instance, plugin)
	m.restarts.WithLabelValues(instance, plugin)
	for _, stage := range []string{"binary", "handshake", "describe", "configure", "connect"} {
		m.startFailures.WithLabelValues(instance, plugin, stage)
	}
	for _, d := range []string{"in", "out"} {
		m.messages.WithLabelValues(instance, plugin, d)
	}
	for _, d := range []string{"inbound", "outbound"} {
		m.delivery.WithLabelValues(instance, plugin, d)
	}
	m.duplicates.WithLabelValues(instance, plugin)
	m.outboxDepth.WithLabelValues(instance, plugin)
	m.roundTrip.WithLabelValues(instance, plugin)
}

// since is the time from t until now, in seconds; a clock step backwards counts as zero.
func since(t time.Time) float64 { return max(0, time.Since(t).Seconds()) }
