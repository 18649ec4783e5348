package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// queuesBoard compares queues: who waits where, how long, which SLA targets are missed, and
// what happens to offers and transfers.
func queuesBoard() *dashboard.DashboardBuilder {
	return newBoard("switchboard-queues", "Queues and SLA",
		"Waiting customers, wait and first-response times, SLA breaches, offers and transfers per queue.").
		WithVariable(tenantVariable()).
		WithVariable(queueVariable()).
		WithRow(row("Queues now")).
		WithPanel(graph("Waiting by queue",
			"Customers waiting for an agent in each queue, offered or not.",
			units.Short,
			series{`sum by (tenant, queue) (switchboard_queue_waiting{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"})).
		WithPanel(withLimit(graph("Longest wait by queue",
			"How long the longest-waiting customer of each queue has waited; the dashed line is the 5 minutes of the SwitchboardQueueWaitingTooLong alert.",
			units.Seconds,
			series{`max by (tenant, queue) (switchboard_queue_oldest_wait_seconds{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"}), 300)).
		WithPanel(queueOpen()).
		WithPanel(graph("Signed-in agents by queue",
			"Agents serving each queue who are signed in (available, on break or working offline); an agent who serves several queues counts in each.",
			units.Short,
			series{`sum by (tenant, queue) (switchboard_queue_agents{tenant=~"$tenant", queue=~"$queue", state!="logged_out"})`, "{{tenant}} / {{queue}}"})).
		WithRow(row("Wait and SLA")).
		WithPanel(graph("Wait time p50 / p90 by queue",
			"Time from entering the queue until an agent took the chat, per queue: half of the customers waited less than p50, nine in ten less than p90.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (tenant, queue, le) (rate(switchboard_queue_wait_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p50 {{tenant}} / {{queue}}"},
			series{`histogram_quantile(0.9, sum by (tenant, queue, le) (rate(switchboard_queue_wait_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p90 {{tenant}} / {{queue}}"})).
		WithPanel(graph("First response p50 / p90 by queue",
			"Time from the customer's arrival to the agent's first reply, queue wait included, per queue: half got it sooner than p50, nine in ten sooner than p90.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (tenant, queue, le) (rate(switchboard_first_response_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p50 {{tenant}} / {{queue}}"},
			series{`histogram_quantile(0.9, sum by (tenant, queue, le) (rate(switchboard_first_response_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p90 {{tenant}} / {{queue}}"})).
		WithPanel(ranking("SLA breaches by queue and kind",
			"SLA targets missed over the selected time range, per queue and kind: first_response (the first reply came late) or response (a later reply came late).",
			units.Short,
			series{`sum by (tenant, queue, kind) (increase(switchboard_sla_breaches_total{tenant=~"$tenant", queue=~"$queue"}[$__range]))`, "{{tenant}} / {{queue}} {{kind}}"})).
		WithPanel(withLimit(graph("SLA breach ratio by queue",
			"SLA breaches per chat assigned to an agent in each queue; the dashed line is the 10% of the SwitchboardSLABreachRate alert, which looks at 15 minutes.",
			units.PercentUnit,
			series{`sum by (tenant, queue) (rate(switchboard_sla_breaches_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])) / sum by (tenant, queue) (rate(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="assigned"}[$__rate_interval]))`, "{{tenant}} / {{queue}}"}), 0.1)).
		WithPanel(graph("Chats past SLA by queue",
			"Active chats whose customer has waited for a reply longer than the target right now (the red icon in the console), per queue.",
			units.Short,
			series{`sum by (tenant, queue) (switchboard_chats_past_sla{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"})).
		WithPanel(graph("Abandoned by queue",
			"Customers per minute who left while still waiting in each queue.",
			units.CountsPerMinute,
			series{`60 * sum by (tenant, queue) (rate(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="abandoned"}[$__rate_interval]))`, "{{tenant}} / {{queue}}"})).
		WithRow(row("Offers and transfers")).
		WithPanel(graph("Offer acceptance by queue",
			"Share of the offers made in each queue that an agent accepted; the rest were rejected, timed out or withdrawn.",
			units.PercentUnit,
			series{`sum by (tenant, queue) (rate(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="accepted"}[$__rate_interval])) / sum by (tenant, queue) (rate(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{tenant}} / {{queue}}"}).
			Max(1)).
		WithPanel(graph("Missed offers by queue",
			"Offers per minute in each queue that the agent rejected or let time out, so the customer waited for another agent.",
			units.CountsPerMinute,
			series{`60 * sum by (tenant, queue, outcome) (rate(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome=~"rejected|timed_out"}[$__rate_interval]))`, "{{tenant}} / {{queue}} {{outcome}}"})).
		WithPanel(graph("Transfers by target",
			"Transfers agents asked for per minute, by the queue the chat was in and whether it went to another queue or to a named agent.",
			units.CountsPerMinute,
			series{`60 * sum by (tenant, queue, target) (rate(switchboard_transfers_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{tenant}} / {{queue}} to {{target}}"})).
		WithPanel(graph("Transfers returned",
			"Transfers per minute to a named agent who did not take the chat in time, so it stayed with the agent who asked.",
			units.CountsPerMinute,
			series{`60 * sum by (tenant, queue) (rate(switchboard_transfers_returned_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{tenant}} / {{queue}}"})).
		WithRow(row("Chats")).
		WithPanel(stacked("Active chats by channel",
			"Chats with an agent now, post-processing excluded, by the channel the customer writes through (web chat, SMS, social...).",
			units.Short,
			series{`sum by (channel) (switchboard_active_chats{tenant=~"$tenant", queue=~"$queue"})`, "{{channel}}"})).
		WithPanel(graph("Post-processing by queue",
			"Chats that have ended and whose agent is still doing the post-processing (wrap-up), per queue.",
			units.Short,
			series{`sum by (tenant, queue) (switchboard_wrap_up_chats{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"}))
}

// queueOpen shows one tile per queue: open inside its business hours, closed outside.
func queueOpen() *stat.PanelBuilder {
	return bigValue("Queue open",
		"Whether each queue is inside its business hours right now; a queue without business hours is always open.",
		units.Short, false,
		series{`max by (tenant, queue) (switchboard_queue_open{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"}).
		Mappings(upDown("Open", "Closed")).
		ColorMode(common.BigValueColorModeBackground).
		Span(graphWidth).
		Height(graphHeight)
}
