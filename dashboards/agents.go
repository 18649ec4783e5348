package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// agentsBoard is for the team lead: who is signed in, how loaded the groups are, and how agents
// answer offers.
func agentsBoard() *dashboard.DashboardBuilder {
	return newBoard("switchboard-agents", "Agents",
		"Agents by state, load against capacity, offers, post-processing and team chats.").
		WithVariable(tenantVariable()).
		WithVariable(queueVariable()).
		WithVariable(labelVariable("group", "Group", `switchboard_agents{tenant=~"$tenant"}`, "group")).
		WithRow(row("Now")).
		WithPanel(current("Signed in",
			"Agents of the selected groups who are signed in, whatever their state.",
			units.Short,
			`sum(switchboard_agents{tenant=~"$tenant", group=~"$group", state!="logged_out"})`)).
		WithPanel(current("Available",
			"Agents of the selected groups who are available for new chats.",
			units.Short,
			`sum(switchboard_agents{tenant=~"$tenant", group=~"$group", state="available"})`).
			Thresholds(steps("red", step{1, "green"}))).
		WithPanel(current("On break",
			"Agents of the selected groups who are signed in but on a break.",
			units.Short,
			`sum(switchboard_agents{tenant=~"$tenant", group=~"$group", state="on_break"})`)).
		WithPanel(current("Working offline",
			"Agents of the selected groups who are signed in but working offline, so they get no offers.",
			units.Short,
			`sum(switchboard_agents{tenant=~"$tenant", group=~"$group", state="work_offline"})`)).
		WithPanel(current("Chats held",
			"Chats signed-in agents of the selected groups hold now: active, in post-processing and offered.",
			units.Short,
			`sum(switchboard_agent_load_chats{tenant=~"$tenant", group=~"$group"})`)).
		WithPanel(current("Utilisation",
			"Chats held against the capacity of the available agents of the selected groups; above 100% when agents on break or offline still hold chats.",
			units.PercentUnit,
			`sum(switchboard_agent_load_chats{tenant=~"$tenant", group=~"$group"}) / sum(switchboard_agent_capacity_chats{tenant=~"$tenant", group=~"$group"})`).
			Thresholds(steps("green", step{0.8, "orange"}, step{1, "red"}))).
		WithRow(row("Agents over time")).
		WithPanel(stacked("Signed-in agents by state",
			"Signed-in agents of the selected groups by state: available, on break, working offline.",
			units.Short,
			series{`sum by (state) (switchboard_agents{tenant=~"$tenant", group=~"$group", state!="logged_out"})`, "{{state}}"})).
		WithPanel(graph("Load and capacity",
			"Chats signed-in agents hold next to the number of chats the available agents can take; when the first line meets the second, new customers wait.",
			units.Short,
			series{`sum(switchboard_agent_load_chats{tenant=~"$tenant", group=~"$group"})`, "chats held"},
			series{`sum(switchboard_agent_capacity_chats{tenant=~"$tenant", group=~"$group"})`, "capacity of available agents"})).
		WithPanel(graph("Utilisation by group",
			"Chats held against the capacity of the group's available agents, per group.",
			units.PercentUnit,
			series{`sum by (tenant, group) (switchboard_agent_load_chats{tenant=~"$tenant", group=~"$group"}) / sum by (tenant, group) (switchboard_agent_capacity_chats{tenant=~"$tenant", group=~"$group"})`, "{{tenant}} / {{group}}"})).
		WithPanel(graph("Agents by queue and state",
			"Signed-in agents serving each of the selected queues, by state; an agent who serves several queues counts in each.",
			units.Short,
			series{`sum by (tenant, queue, state) (switchboard_queue_agents{tenant=~"$tenant", queue=~"$queue", state!="logged_out"})`, "{{tenant}} / {{queue}} {{state}}"})).
		WithRow(row("Work")).
		WithPanel(stacked("Offer outcomes",
			"Offers made to agents in the selected queues per minute, by how they ended: accepted, rejected, timed out, or withdrawn because the customer left or the agent became unavailable.",
			units.CountsPerMinute,
			series{`60 * sum by (outcome) (rate(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval]))`, "{{outcome}}"})).
		WithPanel(graph("Post-processing time p50 / p90",
			"Time from the end of a chat until the agent closed it (or the post-processing timeout did): half took less than p50, nine in ten less than p90.",
			units.Seconds,
			series{`histogram_quantile(0.5, sum by (le) (rate(switchboard_post_processing_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p50"},
			series{`histogram_quantile(0.9, sum by (le) (rate(switchboard_post_processing_seconds_bucket{tenant=~"$tenant", queue=~"$queue"}[$__rate_interval])))`, "p90"})).
		WithPanel(graph("Chats closed",
			"Chats per minute whose post-processing ended, in the selected queues.",
			units.CountsPerMinute,
			series{`60 * sum(rate(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="closed"}[$__rate_interval]))`, "closed"})).
		WithPanel(graph("Team chats started",
			"Chats agents started per minute with another agent (internal) or with an expert (expert).",
			units.CountsPerMinute,
			series{`60 * sum by (kind) (rate(switchboard_team_chats_total{tenant=~"$tenant"}[$__rate_interval]))`, "{{kind}}"}))
}
