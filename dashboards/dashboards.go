// Package dashboards builds Switchboard's Grafana dashboards from Go and reads their queries back
// for tests. The JSON files next to this code are its output, written by `go generate`; they are
// never edited by hand. The package must not talk to Grafana or Prometheus: it only describes them.
package dashboards

//go:generate go run ./gen -out .

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// Board is one generated dashboard and the file it is committed as.
type Board struct {
	File      string
	Dashboard dashboard.Dashboard
}

// Boards builds the four dashboards, always in the same order: overview, queues, agents, plugins.
func Boards() ([]Board, error) {
	specs := []struct {
		file  string
		build func() *dashboard.DashboardBuilder
	}{
		{"overview.json", overviewBoard},
		{"queues.json", queuesBoard},
		{"agents.json", agentsBoard},
		{"plugins.json", pluginsBoard},
	}
	boards := make([]Board, 0, len(specs))
	for _, s := range specs {
		d, err := s.build().Build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: build %s: %w", s.file, err)
		}
		finish(&d)
		boards = append(boards, Board{File: s.file, Dashboard: d})
	}
	return boards, nil
}

// finish numbers the panels, so that links to a single panel (viewPanel=N) stay valid from one
// generation to the next, and shows the dashboard links above the panels rather than in the
// controls menu, where the SDK puts them by default.
func finish(d *dashboard.Dashboard) {
	id := uint32(0)
	next := func() *uint32 {
		id++
		n := id
		return &n
	}
	for _, p := range d.Panels {
		if p.Panel != nil {
			p.Panel.Id = next()
		}
		if p.RowPanel != nil {
			p.RowPanel.Id = *next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = next()
			}
		}
	}
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
}

// JSON is the dashboard as committed: indented, HTML characters left alone (PromQL uses > and <),
// with a trailing newline.
func (b Board) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(b.Dashboard); err != nil {
		return nil, fmt.Errorf("dashboards: encode %s: %w", b.File, err)
	}
	return buf.Bytes(), nil
}

// Query is one panel target. Board is the dashboard's title, Panel the panel's.
type Query struct {
	Board, Panel, RefID, Expr string
}

// Queries lists every panel target, panels inside rows included, in dashboard order. A target
// that is not a Prometheus query is listed with an empty Expr, so that checks on it fail.
func (b Board) Queries() []Query {
	var queries []Query
	add := func(p dashboard.Panel) {
		for _, t := range p.Targets {
			q := Query{Board: deref(b.Dashboard.Title), Panel: deref(p.Title)}
			switch t := t.(type) {
			case prometheus.Dataquery:
				q.RefID, q.Expr = deref(t.RefId), t.Expr
			case *prometheus.Dataquery:
				q.RefID, q.Expr = deref(t.RefId), t.Expr
			}
			queries = append(queries, q)
		}
	}
	for _, p := range b.Dashboard.Panels {
		if p.Panel != nil {
			add(*p.Panel)
		}
		if p.RowPanel != nil {
			for _, inner := range p.RowPanel.Panels {
				add(inner)
			}
		}
	}
	return queries
}

// Variable is a template variable backed by a label_values() query: its values are those of
// Label on the series Metric selects.
type Variable struct {
	Name, Metric, Label string
}

// Variables lists the dashboard's label_values() variables in the order they are shown.
func (b Board) Variables() []Variable {
	var vars []Variable
	for _, v := range b.Dashboard.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Query == nil || v.Query.String == nil {
			continue
		}
		metric, label, ok := parseLabelValues(*v.Query.String)
		if !ok {
			continue
		}
		vars = append(vars, Variable{Name: v.Name, Metric: metric, Label: label})
	}
	return vars
}

// parseLabelValues splits "label_values(metric{...}, label)". Label names hold no comma, so the
// last comma separates the two arguments whatever the selector contains.
func parseLabelValues(q string) (metric, label string, ok bool) {
	inner, found := strings.CutPrefix(strings.TrimSpace(q), "label_values(")
	if !found {
		return "", "", false
	}
	inner, found = strings.CutSuffix(inner, ")")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(inner, ",")
	if i < 0 {
		return "", "", false
	}
	return strings.TrimSpace(inner[:i]), strings.TrimSpace(inner[i+1:]), true
}

var templateRef = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// Expand substitutes template variables and Grafana macros so the expression is plain PromQL.
// vars maps names without "$" (tenant, queue, group, instance, __rate_interval, __range,
// __interval) to values; missing ones get defaults: tenant, queue, group and instance ".*",
// __rate_interval "1m", __range "1h", __interval "15s". Unknown names are left as they are.
func Expand(expr string, vars map[string]string) string {
	return templateRef.ReplaceAllStringFunc(expr, func(ref string) string {
		name := strings.Trim(ref, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		if v, ok := defaultValue(name); ok {
			return v
		}
		return ref
	})
}

func defaultValue(name string) (string, bool) {
	switch name {
	case "tenant", "queue", "group", "instance":
		return ".*", true
	case "__rate_interval":
		return "1m", true
	case "__range":
		return "1h", true
	case "__interval":
		return "15s", true
	}
	return "", false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
