package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// overviewBoard is the wall screen of the contact center: what is happening now, what happened
// over the selected range, and the trends behind it.
func overviewBoard() *dashboard.DashboardBuilder {
	return newBoard("switchboard-overview", "Contact center overview",
		"Customers waiting, agents available, chats and SLA for the selected tenants and queues.").
		WithVariable(tenantVariable()).
		WithVariable(queueVariable()).
		WithRow(row("Now")).
		WithPanel(current("Customers waiting",
			"Customers waiting for an agent in the selected queues right now.",
			units.Short,
			`sum(switchboard_queue_waiting{tenant=~"$tenant", queue=~"$queue"})`)).
		WithPanel(current("Longest wait",
			"How long the customer who has waited longest in the selected queues has been waiting; red from 5 minutes, the SwitchboardQueueWaitingTooLong threshold.",
			units.Seconds,
			`max(switchboard_queue_oldest_wait_seconds{tenant=~"$tenant", queue=~"$queue"})`).
			Thresholds(steps("green", step{120, "orange"}, step{300, "red"}))).
		WithPanel(current("Agents available",
			"Agents signed in and free to take chats in the selected tenants; the queue selection does not apply, since an agent can serve several queues.",
			units.Short,
			`sum(switchboard_agents{tenant=~"$tenant", state="available"})`).
			Thresholds(steps("red", step{1, "green"}))).
		WithPanel(current("Active chats",
			"Chats an agent is handling right now in the selected queues, not counting post-processing.",
			units.Short,
			`sum(switchboard_active_chats{tenant=~"$tenant", queue=~"$queue"})`)).
		WithPanel(current("In post-processing",
			"Chats that have ended and whose agent is still doing the post-processing (wrap-up).",
			units.Short,
			`sum(switchboard_wrap_up_chats{tenant=~"$tenant", queue=~"$queue"})`)).
		WithPanel(current("Chats past SLA",
			"Active chats whose customer has waited for a reply longer than the SLA target right now (the red icon in the console).",
			units.Short,
			`sum(switchboard_chats_past_sla{tenant=~"$tenant", queue=~"$queue"})`).
			Thresholds(steps("green", step{1, "red"}))).
		WithRow(row("Selected time range")).
		WithPanel(total("Chats started",
			"Customer conversations started in the selected queues over the selected time range.",
			`sum(increase(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="started"}[$__range]))`)).
		WithPanel(total("Offers accepted",
			"Chat offers agents accepted over the selected time range.",
			`sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="accepted"}[$__range]))`)).
		WithPanel(total("Offers rejected",
			"Chat offers agents turned down over the selected time range.",
			`sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="rejected"}[$__range]))`)).
		WithPanel(total("Offers timed out",
			"Chat offers that expired because the agent did not answer in time, over the selected time range.",
			`sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="timed_out"}[$__range]))`)).
		WithPanel(total("SLA breaches",
			"First-response and response SLA targets missed over the selected time range.",
			`sum(increase(switchboard_sla_breaches_total{tenant=~"$tenant", queue=~"$queue"}[$__range]))`)).
		WithPanel(total("Abandoned in queue",
			"Customers who left while still waiting in a queue, over the selected time range.",
			`sum(increase(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="abandoned"}[$__range]))`)).
		WithRow(row("Trends")).
		WithPanel(graph("Customers waiting by queue",
			"Customers waiting for an agent in each queue.",
			units.Short,
			series{`sum by (tenant, queue) (switchboard_queue_waiting{tenant=~"$tenant", queue=~"$queue"})`, "{{tenant}} / {{queue}}"})).
		WithPanel(graph("Wait time p50 / p90",
			"Time from entering the queue until an agent took the chat: half of the customers waited less than p50, nine in ten less than p90.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (le) (rate(switchboard_queue_wait_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p50"},
			series{`histogram_quantile(0.9, sum by (le) (rate(switchboard_queue_wait_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p90"})).
		WithPanel(graph("First response p50 / p90",
			"Time from the customer's arrival to the agent's first reply: half of the customers got it sooner than p50, nine in ten sooner than p90.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (le) (rate(switchboard_first_response_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p50"},
			series{`histogram_quantile(0.9, sum by (le) (rate(switchboard_first_response_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p90"})).
		WithPanel(graph("Conversations by event",
			"Customer conversations per minute that started, were assigned to an agent, were abandoned in the queue, ended and were closed after post-processing.",
			units.CountsPerMinute,
			series{`60 * sum by (event) (rate(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{event}}"})).
		WithPanel(stacked("Offer outcomes",
			"Offers made to agents per minute, by how they ended: accepted, rejected, timed out, or withdrawn because the customer left or the agent became unavailable.",
			units.CountsPerMinute,
			series{`60 * sum by (outcome) (rate(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{outcome}}"})).
		WithPanel(stacked("Messages by sender",
			"Messages stored per minute by who wrote them: customer, agent, expert, internal (between agents) or system; the queue selection does not apply.",
			units.CountsPerMinute,
			series{`60 * sum by (sender) (rate(switchboard_messages_total{tenant=~"$tenant"}[$__rate_interval]))`, "{{sender}}"}))
}
