package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

// Grid sizes, in Grafana's 24-column grid.
const (
	statWidth   = 4
	statHeight  = 4
	graphWidth  = 12
	graphHeight = 8
)

// datasourceRef points panels and queries at the data source the operator picks in the
// dashboard's "datasource" variable.
func datasourceRef() common.DataSourceRef {
	kind, uid := "prometheus", "${datasource}"
	return common.DataSourceRef{Type: &kind, Uid: &uid}
}

// newBoard starts a dashboard with what all four share: the data source variable, the
// switchboard tag, a link to the other dashboards carrying the time range and selections, a 30s
// refresh and the last six hours.
func newBoard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"switchboard"}).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Switchboard").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"switchboard"}).
			IncludeVars(true).
			KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Description("Prometheus that scrapes the Switchboard hub.").
			Type("prometheus"))
}

// labelVariable is a multi-value variable listing the values of label on the series metric
// selects. "All" sends ".*" rather than every value, so that queries stay short with many queues.
func labelVariable(name, title, metric, label string) *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, %s)", metric, label)
	all, allValue := "All", "$__all"
	return dashboard.NewQueryVariableBuilder(name).
		Label(title).
		Datasource(datasourceRef()).
		Query(dashboard.StringOrMap{String: &query}).
		Definition(query).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{all}},
			Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{allValue}},
		}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalCaseInsensitiveAsc)
}

func tenantVariable() *dashboard.QueryVariableBuilder {
	return labelVariable("tenant", "Tenant", "switchboard_queue_waiting", "tenant")
}

func queueVariable() *dashboard.QueryVariableBuilder {
	return labelVariable("queue", "Queue", `switchboard_queue_waiting{tenant=~"$tenant"}`, "queue")
}

// row is a section heading. Left empty, it is an expanded section holding the panels added to
// the dashboard after it; given panels of its own (WithPanel), it starts folded.
func row(title string) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title)
}

// series is one query of a panel and the legend of the series it returns.
type series struct {
	expr, legend string
}

// targets turns series into Prometheus queries named A, B, C...
func targets(instant bool, ss []series) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(ss))
	for i, s := range ss {
		q := prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Expr(s.expr).
			Datasource(datasourceRef())
		if instant {
			q.Instant()
		} else {
			q.Range()
		}
		if s.legend != "" {
			q.LegendFormat(s.legend)
		}
		out = append(out, q)
	}
	return out
}

// graph is a time series panel. Every Switchboard series is a count, a duration or a ratio, so
// the axis starts at zero.
func graph(title, description, unit string, ss ...series) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(false, ss)).
		Unit(unit).
		Min(0).
		Span(graphWidth).
		Height(graphHeight).
		FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// stacked is a graph whose series add up to a meaningful total (agents by state, offers by
// outcome).
func stacked(title, description, unit string, ss ...series) *timeseries.PanelBuilder {
	return graph(title, description, unit, ss...).
		FillOpacity(60).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
}

// withLimit draws a dashed red line at the value an alert fires on.
func withLimit(p *timeseries.PanelBuilder, limit float64) *timeseries.PanelBuilder {
	return p.
		Thresholds(steps("green", step{limit, "red"})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// current is a stat of a value now, with a sparkline over the time range.
func current(title, description, unit, expr string) *stat.PanelBuilder {
	return bigValue(title, description, unit, false, series{expr: expr}).
		GraphMode(common.BigValueGraphModeArea)
}

// total is a stat counting events over the selected time range. It is an instant query: one
// increase over the whole range, rather than one per step for the stat to reduce.
func total(title, description, expr string) *stat.PanelBuilder {
	return bigValue(title, description, units.Short, true, series{expr: expr}).
		Decimals(0).
		NoValue("0").
		GraphMode(common.BigValueGraphModeNone)
}

// bigValue is a stat panel showing the last value of each series s returns.
func bigValue(title, description, unit string, instant bool, s series) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(instant, []series{s})).
		Unit(unit).
		Span(statWidth).
		Height(statHeight).
		ColorMode(common.BigValueColorModeValue).
		Orientation(common.VizOrientationAuto).
		Thresholds(steps("text")).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// ranking is a horizontal bar gauge comparing totals over the selected time range, largest first.
func ranking(title, description, unit string, s series) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(title).
		Description(description).
		Datasource(datasourceRef()).
		Targets(targets(true, []series{s})).
		Unit(unit).
		Decimals(0).
		Min(0).
		Span(graphWidth).
		Height(graphHeight).
		Orientation(common.VizOrientationHorizontal).
		DisplayMode(common.BarGaugeDisplayModeGradient).
		Thresholds(steps("blue")).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// upDown shows 1 as a green "Up" (or whatever up says) and 0 as a red "Down".
func upDown(up, down string) []dashboard.ValueMapping {
	upColor, downColor := "green", "red"
	first, second := int32(0), int32(1)
	return []dashboard.ValueMapping{{
		ValueMap: &dashboard.ValueMap{
			Type: dashboard.MappingTypeValueToText,
			Options: map[string]dashboard.ValueMappingResult{
				"0": {Text: &down, Color: &downColor, Index: &first},
				"1": {Text: &up, Color: &upColor, Index: &second},
			},
		},
	}}
}

// step is a threshold: from value on, the panel uses color.
type step struct {
	value float64
	color string
}

// steps is an absolute thresholds configuration: base color below the first step.
func steps(base string, more ...step) *dashboard.ThresholdsConfigBuilder {
	list := []dashboard.Threshold{{Color: base}}
	for _, s := range more {
		list = append(list, dashboard.Threshold{Value: &s.value, Color: s.color})
	}
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(list)
}
