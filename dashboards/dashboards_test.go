package dashboards

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
)

// metric is one series family the hub exports.
type metric struct {
	histogram bool // exported as _bucket, _sum and _count
	optional  bool // no dashboard needs to show it
}

// exportedMetrics are the series the hub's /metrics exposes, plus Prometheus's own up. Dashboards
// and alerts may use nothing else, and every series not marked optional has a panel.
func exportedMetrics() map[string]metric {
	return map[string]metric{
		"switchboard_queue_waiting":                   {},
		"switchboard_queue_oldest_wait_seconds":       {},
		"switchboard_queue_open":                      {},
		"switchboard_queue_agents":                    {},
		"switchboard_queue_wait_seconds":              {histogram: true},
		"switchboard_offers_total":                    {},
		"switchboard_first_response_seconds":          {histogram: true},
		"switchboard_sla_breaches_total":              {},
		"switchboard_active_chats":                    {},
		"switchboard_wrap_up_chats":                   {},
		"switchboard_chats_past_sla":                  {},
		"switchboard_agents":                          {},
		"switchboard_agent_load_chats":                {},
		"switchboard_agent_capacity_chats":            {},
		"switchboard_transfers_total":                 {},
		"switchboard_transfers_returned_total":        {},
		"switchboard_post_processing_seconds":         {histogram: true},
		"switchboard_conversations_total":             {},
		"switchboard_team_chats_total":                {},
		"switchboard_messages_total":                  {},
		"switchboard_routing_decision_seconds":        {histogram: true},
		"switchboard_plugin_up":                       {},
		"switchboard_plugin_restarts_total":           {},
		"switchboard_plugin_start_failures_total":     {},
		"switchboard_plugin_outbox_depth":             {},
		"switchboard_plugin_messages_total":           {},
		"switchboard_plugin_events_total":             {optional: true},
		"switchboard_plugin_inbound_duplicates_total": {},
		"switchboard_plugin_rejections_total":         {},
		"switchboard_plugin_ping_seconds":             {histogram: true},
		"switchboard_message_delivery_seconds":        {histogram: true},
		"switchboard_bridge_presence_updates_total":   {},
		"switchboard_expert_offline_messages_total":   {},
		"switchboard_console_logins_total":            {optional: true},
		"switchboard_console_websockets":              {optional: true},
		"switchboard_console_requests_refused_total":  {optional: true},
		"switchboard_gateway_refused_total":           {optional: true},
		"switchboard_store_commits_total":             {optional: true},
		"switchboard_store_writes_total":              {optional: true},
		"up":                                          {optional: true},
	}
}

// family maps a series name to the exported family it belongs to: a histogram's _bucket, _sum and
// _count series belong to the histogram.
func family(name string, known map[string]metric) (string, bool) {
	if m, ok := known[name]; ok && !m.histogram {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, found := strings.CutSuffix(name, suffix)
		if m, ok := known[base]; found && ok && m.histogram {
			return base, true
		}
	}
	return "", false
}

// selectedMetrics parses a PromQL expression and lists the metric names it selects.
func selectedMetrics(expr string) ([]string, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names, nil
}

func boards(t *testing.T) []Board {
	t.Helper()
	bs, err := Boards()
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// panels lists every panel of a dashboard, the ones inside rows included, rows themselves not.
func panels(d dashboard.Dashboard) []dashboard.Panel {
	var out []dashboard.Panel
	for _, p := range d.Panels {
		if p.Panel != nil {
			out = append(out, *p.Panel)
		}
		if p.RowPanel != nil {
			out = append(out, p.RowPanel.Panels...)
		}
	}
	return out
}

func TestCommittedFilesAreGenerated(t *testing.T) {
	for _, b := range boards(t) {
		want, err := b.JSON()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(b.File)
		if err != nil {
			t.Errorf("%s: %v; run `go generate ./dashboards`", b.File, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the Go code generates; run `go generate ./dashboards` and commit the result", b.File)
		}
	}
}

func TestCommittedFilesPassStrictValidation(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	for _, b := range boards(t) {
		raw, err := os.ReadFile(b.File)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard.Dashboard{}
		if err := d.UnmarshalJSONStrict(raw); err != nil {
			t.Errorf("%s: strict decoding: %v", b.File, err)
			continue
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: validation: %v", b.File, err)
		}
	}
}

func TestBoardsShareTheirSettings(t *testing.T) {
	want := []struct{ file, title, uid string }{
		{"overview.json", "Contact center overview", "switchboard-overview"},
		{"queues.json", "Queues and SLA", "switchboard-queues"},
		{"agents.json", "Agents", "switchboard-agents"},
		{"plugins.json", "Plugins and bridges", "switchboard-plugins"},
	}
	bs := boards(t)
	if len(bs) != len(want) {
		t.Fatalf("%d dashboards, want %d", len(bs), len(want))
	}
	uids := map[string]bool{}
	for i, b := range bs {
		d := b.Dashboard
		if b.File != want[i].file || deref(d.Title) != want[i].title || deref(d.Uid) != want[i].uid {
			t.Errorf("dashboard %d = %s %q %s, want %s %q %s", i, b.File, deref(d.Title), deref(d.Uid),
				want[i].file, want[i].title, want[i].uid)
		}
		if uids[deref(d.Uid)] {
			t.Errorf("%s: uid %s is used twice", b.File, deref(d.Uid))
		}
		uids[deref(d.Uid)] = true
		if deref(d.Description) == "" {
			t.Errorf("%s has no description", b.File)
		}
		if !slices.Equal(d.Tags, []string{"switchboard"}) {
			t.Errorf("%s: tags %v, want [switchboard]", b.File, d.Tags)
		}
		if deref(d.Refresh) != "30s" {
			t.Errorf("%s: refresh %q, want 30s", b.File, deref(d.Refresh))
		}
		if d.Time == nil || d.Time.From != "now-6h" || d.Time.To != "now" {
			t.Errorf("%s: time %+v, want now-6h to now", b.File, d.Time)
		}
		linked := false
		for _, l := range d.Links {
			if l.Type == dashboard.DashboardLinkTypeDashboards && slices.Equal(l.Tags, []string{"switchboard"}) {
				linked = true
			}
		}
		if !linked {
			t.Errorf("%s has no link to the dashboards tagged switchboard", b.File)
		}
		hasDatasource := false
		for _, v := range d.Templating.List {
			if v.Type == dashboard.VariableTypeDatasource && v.Name == "datasource" &&
				v.Query != nil && v.Query.String != nil && *v.Query.String == "prometheus" {
				hasDatasource = true
			}
		}
		if !hasDatasource {
			t.Errorf("%s has no Prometheus datasource variable", b.File)
		}
	}
}

func TestVariables(t *testing.T) {
	tenant := Variable{"tenant", "switchboard_queue_waiting", "tenant"}
	queue := Variable{"queue", `switchboard_queue_waiting{tenant=~"$tenant"}`, "queue"}
	want := map[string][]Variable{
		"overview.json": {tenant, queue},
		"queues.json":   {tenant, queue},
		"agents.json":   {tenant, queue, {"group", `switchboard_agents{tenant=~"$tenant"}`, "group"}},
		"plugins.json":  {{"instance", "switchboard_plugin_up", "plugin_instance"}},
	}
	for _, b := range boards(t) {
		if got := b.Variables(); !slices.Equal(got, want[b.File]) {
			t.Errorf("%s: variables %+v, want %+v", b.File, got, want[b.File])
		}
		for _, v := range b.Dashboard.Templating.List {
			if v.Type != dashboard.VariableTypeQuery {
				continue
			}
			if v.Multi == nil || !*v.Multi || v.IncludeAll == nil || !*v.IncludeAll || deref(v.AllValue) != ".*" {
				t.Errorf("%s: variable %s must be multi-value with All sending .*", b.File, v.Name)
			}
			if v.Datasource == nil || deref(v.Datasource.Uid) != "${datasource}" {
				t.Errorf("%s: variable %s does not query ${datasource}", b.File, v.Name)
			}
		}
	}
}

func TestPanelsAreComplete(t *testing.T) {
	for _, b := range boards(t) {
		titles := map[string]bool{}
		for _, p := range panels(b.Dashboard) {
			title := deref(p.Title)
			if title == "" {
				t.Errorf("%s: a %s panel has no title", b.File, p.Type)
			}
			if titles[title] {
				t.Errorf("%s: two panels are titled %q", b.File, title)
			}
			titles[title] = true
			if deref(p.Description) == "" {
				t.Errorf("%s › %s has no description", b.File, title)
			}
			if p.Datasource == nil || deref(p.Datasource.Uid) != "${datasource}" || deref(p.Datasource.Type) != "prometheus" {
				t.Errorf("%s › %s does not use the ${datasource} variable", b.File, title)
			}
			if p.FieldConfig == nil || deref(p.FieldConfig.Defaults.Unit) == "" {
				t.Errorf("%s › %s has no unit", b.File, title)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s › %s has no query", b.File, title)
			}
			refIDs := map[string]bool{}
			for _, target := range p.Targets {
				q, ok := target.(prometheus.Dataquery)
				if !ok {
					t.Errorf("%s › %s has a %T query, want Prometheus", b.File, title, target)
					continue
				}
				if q.Datasource == nil || deref(q.Datasource.Uid) != "${datasource}" {
					t.Errorf("%s › %s › %s does not use the ${datasource} variable", b.File, title, deref(q.RefId))
				}
				if deref(q.RefId) == "" || refIDs[deref(q.RefId)] {
					t.Errorf("%s › %s: query refId %q is empty or used twice", b.File, title, deref(q.RefId))
				}
				refIDs[deref(q.RefId)] = true
			}
		}
	}
}

// TestPanelsFitTheGrid keeps panels inside Grafana's 24 columns and off each other: the expanded
// sections, then the panels of each folded row.
func TestPanelsFitTheGrid(t *testing.T) {
	type box struct {
		title string
		pos   *dashboard.GridPos
	}
	check := func(file string, boxes []box) {
		for i, a := range boxes {
			if a.pos == nil {
				t.Errorf("%s › %s has no position", file, a.title)
				continue
			}
			if a.pos.X+a.pos.W > 24 || a.pos.W == 0 || a.pos.H == 0 {
				t.Errorf("%s › %s at %+v does not fit the 24-column grid", file, a.title, *a.pos)
			}
			for _, b := range boxes[:i] {
				if b.pos != nil && a.pos.X < b.pos.X+b.pos.W && b.pos.X < a.pos.X+a.pos.W &&
					a.pos.Y < b.pos.Y+b.pos.H && b.pos.Y < a.pos.Y+a.pos.H {
					t.Errorf("%s › %s overlaps %s", file, a.title, b.title)
				}
			}
		}
	}
	for _, b := range boards(t) {
		var top []box
		for _, p := range b.Dashboard.Panels {
			switch {
			case p.Panel != nil:
				top = append(top, box{deref(p.Panel.Title), p.Panel.GridPos})
			case p.RowPanel != nil:
				top = append(top, box{deref(p.RowPanel.Title), p.RowPanel.GridPos})
				var inner []box
				for _, q := range p.RowPanel.Panels {
					inner = append(inner, box{deref(q.Title), q.GridPos})
				}
				check(b.File, inner)
			}
		}
		check(b.File, top)
	}
}

// variableRef finds template variables and macros as Grafana spells them: $name or ${name}.
var variableRef = regexp.MustCompile(`\$\{?(\w+)\}?`)

func TestQueriesArePromQL(t *testing.T) {
	known := exportedMetrics()
	for _, b := range boards(t) {
		defined := map[string]bool{}
		for _, v := range b.Variables() {
			defined[v.Name] = true
		}
		queries := b.Queries()
		if len(queries) == 0 {
			t.Errorf("%s has no queries", b.File)
		}
		for _, q := range queries {
			where := b.File + " › " + q.Panel + " › " + q.RefID
			if q.Expr == "" {
				t.Errorf("%s: empty expression", where)
				continue
			}
			for _, m := range variableRef.FindAllStringSubmatchIndex(q.Expr, -1) {
				name := q.Expr[m[2]:m[3]]
				if strings.HasPrefix(name, "__") {
					continue
				}
				if !defined[name] {
					t.Errorf("%s uses $%s, which the dashboard does not define", where, name)
				}
				if !strings.HasSuffix(q.Expr[:m[0]], `=~"`) || !strings.HasPrefix(q.Expr[m[1]:], `"`) {
					t.Errorf("%s uses $%s outside a =~\"$%s\" matcher: %s", where, name, name, q.Expr)
				}
			}
			expr := Expand(q.Expr, nil)
			if strings.Contains(expr, "$") {
				t.Errorf("%s is not plain PromQL once expanded: %s", where, expr)
				continue
			}
			names, err := selectedMetrics(expr)
			if err != nil {
				t.Errorf("%s is not valid PromQL once expanded: %v", where, err)
				continue
			}
			for _, name := range names {
				if name == "" {
					t.Errorf("%s selects series without naming a metric: %s", where, expr)
				} else if _, ok := family(name, known); !ok {
					t.Errorf("%s uses %s, which the hub does not export", where, name)
				}
			}
		}
	}
}

func TestEveryExportedMetricIsWatched(t *testing.T) {
	known := exportedMetrics()
	shown := map[string]bool{}
	for _, b := range boards(t) {
		for _, q := range b.Queries() {
			names, err := selectedMetrics(Expand(q.Expr, nil))
			if err != nil {
				t.Fatalf("%s › %s: %v", b.File, q.Panel, err)
			}
			for _, name := range names {
				if f, ok := family(name, known); ok {
					shown[f] = true
				}
			}
		}
	}
	for name, m := range known {
		if !m.optional && !shown[name] {
			t.Errorf("no dashboard shows %s", name)
		}
	}
}

// TestKeyPanels pins the panels people and end-to-end tests look up by title.
func TestKeyPanels(t *testing.T) {
	rangeTotals := map[string]string{
		"Chats started":      `sum(increase(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="started"}[$__range]))`,
		"Offers accepted":    `sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="accepted"}[$__range]))`,
		"Offers rejected":    `sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="rejected"}[$__range]))`,
		"Offers timed out":   `sum(increase(switchboard_offers_total{tenant=~"$tenant", queue=~"$queue", outcome="timed_out"}[$__range]))`,
		"SLA breaches":       `sum(increase(switchboard_sla_breaches_total{tenant=~"$tenant", queue=~"$queue"}[$__range]))`,
		"Abandoned in queue": `sum(increase(switchboard_conversations_total{tenant=~"$tenant", queue=~"$queue", event="abandoned"}[$__range]))`,
		"Plugin restarts":    `sum(increase(switchboard_plugin_restarts_total{plugin_instance=~"$instance"}[$__range]))`,
	}
	now := map[string]string{
		"Customers waiting": "switchboard_queue_waiting",
		"Longest wait":      "switchboard_queue_oldest_wait_seconds",
		"Agents available":  "switchboard_agents",
		"Active chats":      "switchboard_active_chats",
	}
	home := map[string]string{"Plugin restarts": "plugins.json"}
	found := map[string]int{}
	for _, b := range boards(t) {
		for _, p := range panels(b.Dashboard) {
			title := deref(p.Title)
			wantExpr, isTotal := rangeTotals[title]
			metricName, isNow := now[title]
			if !isTotal && !isNow {
				continue
			}
			found[title]++
			want := "overview.json"
			if f, ok := home[title]; ok {
				want = f
			}
			if b.File != want {
				t.Errorf("%s is on %s, want %s", title, b.File, want)
			}
			if p.Type != "stat" || len(p.Targets) != 1 {
				t.Errorf("%s › %s: a %s panel with %d queries, want a stat with one", b.File, title, p.Type, len(p.Targets))
				continue
			}
			q, ok := p.Targets[0].(prometheus.Dataquery)
			if !ok {
				t.Errorf("%s › %s has a %T query, want Prometheus", b.File, title, p.Targets[0])
				continue
			}
			if isTotal && (q.Expr != wantExpr || q.Instant == nil || !*q.Instant) {
				t.Errorf("%s › %s = %s (instant %v), want the instant query %s", b.File, title, q.Expr, q.Instant, wantExpr)
			}
			if names, err := selectedMetrics(Expand(q.Expr, nil)); isNow && (err != nil || !slices.Contains(names, metricName)) {
				t.Errorf("%s › %s = %s, want a query of %s", b.File, title, q.Expr, metricName)
			}
		}
	}
	for title := range rangeTotals {
		if found[title] != 1 {
			t.Errorf("%d panels titled %q, want one", found[title], title)
		}
	}
	for title := range now {
		if found[title] != 1 {
			t.Errorf("%d panels titled %q, want one", found[title], title)
		}
	}
}

func TestExpand(t *testing.T) {
	tests := []struct {
		expr string
		vars map[string]string
		want string
	}{
		{`up{queue=~"$queue"}`, nil, `up{queue=~".*"}`},
		{`up{queue=~"${queue}"}`, map[string]string{"queue": "support|sales"}, `up{queue=~"support|sales"}`},
		{`rate(x{tenant=~"$tenant", group=~"$group"}[$__rate_interval])`, map[string]string{"tenant": "acme"},
			`rate(x{tenant=~"acme", group=~".*"}[1m])`},
		{`increase(x{instance=~"$instance"}[$__range])`, map[string]string{"__range": "3h"}, `increase(x{instance=~".*"}[3h])`},
		{`increase(x[$__interval])`, nil, `increase(x[15s])`},
		{`x{a=~"$unknown"}`, nil, `x{a=~"$unknown"}`},
		{`sum(x)`, nil, `sum(x)`},
	}
	for _, tt := range tests {
		if got := Expand(tt.expr, tt.vars); got != tt.want {
			t.Errorf("Expand(%q, %v) = %q, want %q", tt.expr, tt.vars, got, tt.want)
		}
	}
}
