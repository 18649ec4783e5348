package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// pluginsBoard is for whoever runs the hub: are the channel plugins and expert bridges up, is
// traffic flowing and how fast, and, folded away, the hub's own internals.
func pluginsBoard() *dashboard.DashboardBuilder {
	return newBoard("switchboard-plugins", "Plugins and bridges",
		"Health, traffic and delivery latency of channel plugins and expert bridges, and the hub's internals.").
		WithVariable(labelVariable("instance", "Plugin instance", "switchboard_plugin_up", "plugin_instance")).
		WithRow(row("Health")).
		WithPanel(current("Plugins up",
			"Plugin instances of the selection that are running and connected to the hub.",
			units.Short,
			`sum(switchboard_plugin_up{plugin_instance=~"$instance"})`)).
		WithPanel(current("Plugins down",
			"Plugin instances of the selection that are not running or not connected; the hub keeps restarting them.",
			units.Short,
			`sum(1 - switchboard_plugin_up{plugin_instance=~"$instance"})`).
			Thresholds(steps("green", step{1, "red"}))).
		WithPanel(total("Plugin restarts",
			"Times the hub restarted a plugin instance of the selection after it crashed, hung or failed to start, over the selected time range.",
			`sum(increase(switchboard_plugin_restarts_total{plugin_instance=~"$instance"}[$__range]))`).
			Thresholds(steps("green", step{1, "orange"}))).
		WithPanel(total("Start failures",
			"Plugin instance starts that failed (binary, handshake, describe, configure or connect stage) over the selected time range.",
			`sum(increase(switchboard_plugin_start_failures_total{plugin_instance=~"$instance"}[$__range]))`).
			Thresholds(steps("green", step{1, "orange"}))).
		WithPanel(current("Outbox depth",
			"Outbound events stored for the selected plugin instances and not yet acknowledged by them.",
			units.Short,
			`sum(switchboard_plugin_outbox_depth{plugin_instance=~"$instance"})`).
			Thresholds(steps("green", step{100, "orange"}))).
		WithPanel(total("Refused input",
			"Bad input the selected plugin instances refused (forged signatures, oversized or malformed requests) over the selected time range.",
			`sum(increase(switchboard_plugin_rejections_total{plugin_instance=~"$instance"}[$__range]))`)).
		WithPanel(pluginStatus()).
		WithRow(row("Traffic")).
		WithPanel(graph("Messages by instance and direction",
			"Messages per second stored from each plugin instance (in) and acknowledged by it (out).",
			units.MessagesPerSecond,
			series{`sum by (plugin_instance, direction) (rate(switchboard_plugin_messages_total{plugin_instance=~"$instance"}[$__rate_interval]))`, "{{plugin_instance}} {{direction}}"})).
		WithPanel(graph("Delivery latency p50 / p99",
			"Inbound: from the plugin receiving a message to the hub storing it; outbound: from the hub storing it to the plugin confirming its platform accepted it. Half of the messages are faster than p50, 99 in 100 faster than p99.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (direction, le) (rate(switchboard_message_delivery_seconds_bucket{plugin_instance=~"$instance"}[$__rate_interval])))`, "p50 {{direction}}"},
			series{`histogram_quantile(0.99, sum by (direction, le) (rate(switchboard_message_delivery_seconds_bucket{plugin_instance=~"$instance"}[$__rate_interval])))`, "p99 {{direction}}"})).
		WithPanel(withLimit(graph("Outbox depth by instance",
			"Outbound events waiting for each plugin instance to acknowledge them; the dashed line is the 100 of the SwitchboardOutboxGrowing alert.",
			units.Short,
			series{`max by (plugin_instance, plugin) (switchboard_plugin_outbox_depth{plugin_instance=~"$instance"})`, "{{plugin_instance}}"}), 100)).
		WithPanel(graph("Stream round trip p50 / p99",
			"Round trip of the liveness probe on each plugin instance's event stream; a rising p99 means the plugin or the machine is overloaded.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (plugin_instance, le) (rate(switchboard_plugin_ping_seconds_bucket{plugin_instance=~"$instance"}[$__rate_interval])))`, "p50 {{plugin_instance}}"},
			series{`histogram_quantile(0.99, sum by (plugin_instance, le) (rate(switchboard_plugin_ping_seconds_bucket{plugin_instance=~"$instance"}[$__rate_interval])))`, "p99 {{plugin_instance}}"})).
		WithPanel(graph("Restarts and start failures",
			"Plugin restarts and failed starts per minute, per instance; start failures are split by the stage that failed.",
			units.CountsPerMinute,
			series{`60 * sum by (plugin_instance) (rate(switchboard_plugin_restarts_total{plugin_instance=~"$instance"}[$__rate_interval]))`, "{{plugin_instance}} restarts"},
			series{`60 * sum by (plugin_instance, stage) (rate(switchboard_plugin_start_failures_total{plugin_instance=~"$instance"}[$__rate_interval]))`, "{{plugin_instance}} failed at {{stage}}"})).
		WithPanel(graph("Inbound duplicates dropped",
			"Inbound events per minute the hub dropped because it had already stored them; a burst after a plugin restart is the plugin resending what was not yet acknowledged.",
			units.CountsPerMinute,
			series{`60 * sum by (plugin_instance) (rate(switchboard_plugin_inbound_duplicates_total{plugin_instance=~"$instance"}[$__rate_interval]))`, "{{plugin_instance}}"})).
		WithPanel(graph("Refused input by reason",
			"Bad input per minute each plugin instance refused, by reason (forged signature, oversized, malformed...); a sudden rise can be an attack on a public endpoint.",
			units.CountsPerMinute,
			series{`60 * sum by (plugin_instance, reason) (rate(switchboard_plugin_rejections_total{plugin_instance=~"$instance"}[$__rate_interval]))`, "{{plugin_instance}} {{reason}}"})).
		WithRow(row("Bridges and experts")).
		WithPanel(graph("Presence updates",
			"Presence updates per minute exchanged with expert bridges: agent (sent to the bridges) and expert (reported by them).",
			units.CountsPerMinute,
			series{`60 * sum by (subject) (rate(switchboard_bridge_presence_updates_total[$__rate_interval]))`, "{{subject}}"})).
		WithPanel(graph("Expert messages to signed-out agents",
			"Expert messages per minute for agents who were signed out: stored, notified (the expert was told) and delivered (found by the agent at sign-in).",
			units.CountsPerMinute,
			series{`60 * sum by (event) (rate(switchboard_expert_offline_messages_total[$__rate_interval]))`, "{{event}}"})).
		WithRow(hubRow())
}

// pluginStatus shows one tile per plugin instance, green when up and red when down.
func pluginStatus() *stat.PanelBuilder {
	return bigValue("Plugin status",
		"Each plugin instance of the selection: up when running and connected to the hub, down otherwise.",
		units.Short, false,
		series{`max by (plugin_instance, plugin) (switchboard_plugin_up{plugin_instance=~"$instance"})`, "{{plugin_instance}} ({{plugin}})"}).
		Mappings(upDown("Up", "Down")).
		ColorMode(common.BigValueColorModeBackground).
		Span(24).
		Height(statHeight)
}

// hubRow holds the hub's own figures. It starts folded: they matter when something is already
// wrong, not at a glance.
func hubRow() *dashboard.RowBuilder {
	return row("Hub").
		WithPanel(bigValue("Hub up",
			"Whether Prometheus can scrape each Switchboard hub; down means the hub process is stopped or unreachable.",
			units.Short, false,
			series{`up{job="switchboard"}`, "{{instance}}"}).
			Mappings(upDown("Up", "Down")).
			ColorMode(common.BigValueColorModeBackground).
			Span(graphWidth / 2).
			Height(graphHeight)).
		WithPanel(current("Console WebSockets",
			"Agent and supervisor consoles connected to the hub right now.",
			units.Short,
			`sum(switchboard_console_websockets)`).
			Span(graphWidth / 2).
			Height(graphHeight)).
		WithPanel(graph("Routing decision time p50 / p99",
			"Time the routing engine takes to decide on one event (arrival, accept, reject, agent state, timer tick...), by event.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (event, le) (rate(switchboard_routing_decision_seconds_bucket[$__rate_interval])))`, "p50 {{event}}"},
			series{`histogram_quantile(0.99, sum by (event, le) (rate(switchboard_routing_decision_seconds_bucket[$__rate_interval])))`, "p99 {{event}}"})).
		WithPanel(graph("Store writes per commit",
			"Writes the store groups into one commit on average; it grows with load, which is how the store keeps up.",
			units.Short,
			series{`sum(rate(switchboard_store_writes_total[$__rate_interval])) / sum(rate(switchboard_store_commits_total[$__rate_interval]))`, "writes per commit"})).
		WithPanel(graph("Console sign-ins",
			"Console sign-in attempts per minute by outcome; many failures can be someone guessing passwords.",
			units.CountsPerMinute,
			series{`60 * sum by (outcome) (rate(switchboard_console_logins_total[$__rate_interval]))`, "{{outcome}}"}))
}
