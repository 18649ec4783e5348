package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/switchboardhq/switchboard/dashboards"
	"github.com/switchboardhq/switchboard/tools/testpeer/prometheus"
)

// A real Prometheus scrapes a hub driven through a scripted day: customers arrive, agents accept,
// reject and miss offers, a first reply comes late, a chat is transferred, a customer gives up
// waiting, an expert writes to a signed-out agent, a customer sends garbage and the web chat
// plugin crashes. Every dashboard query then returns data, and the key panels show what the
// script did.
func TestPrometheusScrapesAScriptedDay(t *testing.T) {
	prometheus.Tool(t, "prometheus")
	began := time.Now()
	h := startHub(t, hubOptions{offerTimeout: "5s", queueExtra: ", first_response_target: 8s", extraPlugins: labPlugin})
	h.waitPlugin("lab", 0)
	prom := prometheus.Start(t, "switchboard", strings.TrimPrefix(h.url, "http://"), time.Second)
	// Every series starts at zero in the first scrape, before anything happens.
	waitScraped(t, prom, `switchboard_offers_total{outcome="rejected"}`, 0)
	lab := expertLab{t: t, base: h.url + "/c/lab"}
	day := scriptedDay{t: t, h: h}

	// 09:00 Alice signs in. The first customer is offered to her; she rejects it. Bob signs in
	// and takes it.
	alice := availableAgent(t, h, "acme", "alice")
	uma := day.customer("Uma")
	c1 := alice.waitOffer(ctxTimeout(t, 10*time.Second))
	alice.must("POST", "/api/v1/conversations/"+c1+"/reject", nil, nil)
	day.rejected++
	bob := availableAgent(t, h, "acme", "bob")
	if got := bob.waitOffer(ctxTimeout(t, 10*time.Second)); got != c1 {
		t.Fatalf("bob was offered %s, want %s", got, c1)
	}
	bob.must("POST", "/api/v1/conversations/"+c1+"/accept", nil, nil)
	day.accepted++

	// Bob takes a break. The second customer is offered to Alice, who misses it; when Bob is
	// back he takes it and answers at once.
	bob.setState("on_break")
	vic := day.customer("Vic")
	c2 := alice.waitOffer(ctxTimeout(t, 10*time.Second))
	if !waitPush(alice, "offer_revoked", 10*time.Second) {
		t.Fatal("alice's offer did not time out")
	}
	day.timedOut++
	bob.setState("available")
	if got := bob.waitOffer(ctxTimeout(t, 10*time.Second)); got != c2 {
		t.Fatalf("bob was offered %s, want %s", got, c2)
	}
	bob.must("POST", "/api/v1/conversations/"+c2+"/accept", nil, nil)
	day.accepted++
	if err := bob.send(ctxTimeout(t, 10*time.Second), c2, "v1", "Hello Vic, how can I help?"); err != nil {
		t.Fatal(err)
	}

	// Uma has waited for Bob's first reply past the 8 s target: one SLA breach. Then he answers.
	uma.say(ctxTimeout(t, 10*time.Second), "Is anyone there?")
	if !poll(15*time.Second, func() bool { return h.metric("switchboard_sla_breaches_total", `kind="first_response"`) == 1 }) {
		t.Fatal("no first-response breach counted for Uma")
	}
	day.breaches++
	if err := bob.send(ctxTimeout(t, 10*time.Second), c1, "u1", "Sorry for the wait, Uma!"); err != nil {
		t.Fatal(err)
	}

	// A busy hour: Uma and Bob exchange messages while the metrics are linted.
	day.chatter(uma, bob, c1, 100)

	// Bob hands Vic to Alice, who accepts the transfer.
	bob.must("POST", "/api/v1/conversations/"+c2+"/transfer", map[string]string{"agent": "alice"}, nil)
	if got := alice.waitOffer(ctxTimeout(t, 10*time.Second)); got != c2 {
		t.Fatalf("alice was offered the transfer of %s, got %s", c2, got)
	}
	alice.must("POST", "/api/v1/conversations/"+c2+"/accept", nil, nil)
	vic.say(ctxTimeout(t, 10*time.Second), "Thanks!")

	// Bob asks Alice something in an agent-to-agent chat.
	var team struct {
		ID string `json:"id"`
	}
	bob.must("POST", "/api/v1/chats", map[string]string{"username": "alice"}, &team)
	bob.must("POST", "/api/v1/conversations/"+team.ID+"/messages", map[string]string{"client_id": "t1", "text": "Lunch?"}, nil)

	// Bob takes another break. A third customer gives up while the offer to Alice is still
	// pending.
	bob.setState("on_break")
	wes := day.customer("Wes")
	alice.waitOffer(ctxTimeout(t, 10*time.Second))
	wes.end(ctxTimeout(t, 10*time.Second))
	if !waitPush(alice, "offer_revoked", 10*time.Second) {
		t.Fatal("alice's offer was not withdrawn when Wes left")
	}
	day.withdrawn++
	day.abandoned++

	// The chats end, with post-processing.
	bob.must("POST", "/api/v1/conversations/"+c1+"/end", nil, nil)
	bob.must("POST", "/api/v1/conversations/"+c1+"/wrapup", map[string]string{"disposition": "solved"}, nil)
	alice.must("POST", "/api/v1/conversations/"+c2+"/end", nil, nil)
	alice.must("POST", "/api/v1/conversations/"+c2+"/wrapup", map[string]string{"disposition": "solved"}, nil)

	// An expert writes to Sam, who is signed out; Sam finds it at sign-in.
	lab.mustPost("/presence", map[string]string{"expert": "@erin:lab", "name": "Erin Expert", "state": "online"})
	lab.mustPost("/messages", map[string]any{"id": "e1", "agent": "sam", "expert": "@erin:lab", "name": "Erin Expert", "text": "Call me when you're in"})
	sam := login(t, h.url, "acme", "sam")
	sam.listen()
	if !poll(10*time.Second, func() bool {
		return h.metric("switchboard_expert_offline_messages_total", `event="delivered"`) == 1
	}) {
		t.Fatal("the expert's message to Sam was not counted as delivered at sign-in")
	}

	// A customer's page sends garbage; the web chat plugin refuses it.
	day.garbage()
	// The web chat plugin crashes and is restarted.
	p, _ := h.plugin("webchat")
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.waitPlugin("webchat", p.PID)
	day.restarts++

	// Prometheus has seen the end of the day once it scraped the last counts.
	waitScraped(t, prom, `switchboard_plugin_restarts_total{plugin_instance="webchat"}`, 1)
	waitScraped(t, prom, `switchboard_conversations_total{event="closed"}`, 2)
	// A few more scrapes, so that rates over the last minute see the last events too.
	settled := time.Now().Add(3 * time.Second)
	if !poll(20*time.Second, func() bool { return lastScrape(t, prom).After(settled) }) {
		t.Fatal("prometheus stopped scraping the hub")
	}
	end := lastScrape(t, prom)
	window := fmt.Sprintf("%ds", int(end.Sub(began).Seconds())+5)
	vars := map[string]string{"tenant": "acme", "__range": window, "__rate_interval": "1m", "__interval": "2s"}

	boards, err := dashboards.Boards()
	if err != nil {
		t.Fatal(err)
	}
	exposition := fetchMetrics(t, h)
	names := exposedNames(exposition)

	// The key panels show what the script did.
	stats := map[string]float64{
		"Chats started":      3,
		"Offers accepted":    float64(day.accepted),
		"Offers rejected":    float64(day.rejected),
		"Offers timed out":   float64(day.timedOut),
		"SLA breaches":       float64(day.breaches),
		"Abandoned in queue": float64(day.abandoned),
		"Plugin restarts":    float64(day.restarts),
		"Customers waiting":  0,
		"Active chats":       0,
		"Agents available":   1, // Alice; Bob is on a break, Sam signed in without taking chats
	}
	found := map[string]bool{}
	for _, b := range boards {
		for _, q := range b.Queries() {
			want, key := stats[q.Panel]
			if !key {
				continue
			}
			found[q.Panel] = true
			got := instant(t, prom, dashboards.Expand(q.Expr, vars), end)
			if math.Round(got) != want || math.Abs(got-want) > 1e-6 {
				t.Errorf("%s › %s = %v, want %v (%s)", b.File, q.Panel, got, want, q.Expr)
			}
		}
	}
	for panel := range stats {
		if !found[panel] {
			t.Errorf("no dashboard has a panel titled %q", panel)
		}
	}

	// The series behind the other panels count what the script did, as Prometheus stored them.
	for expr, want := range map[string]float64{
		`sum(switchboard_offers_total{outcome="withdrawn"})`:                                               float64(day.withdrawn),
		`sum(switchboard_queue_wait_seconds_count{tenant="acme", queue="support"})`:                        2, // Uma and Vic
		`sum(switchboard_first_response_seconds_count{tenant="acme", queue="support"})`:                    2,
		`sum(switchboard_first_response_seconds_bucket{tenant="acme", queue="support", le="5"})`:           0, // both waited 5 s or more
		`sum(switchboard_post_processing_seconds_count{tenant="acme", queue="support"})`:                   2,
		`sum(switchboard_transfers_total{target="agent"})`:                                                 1,
		`sum(switchboard_transfers_total{target="queue"})`:                                                 0,
		`sum(switchboard_conversations_total{event="closed"})`:                                             2,
		`sum(switchboard_team_chats_total{kind="internal"})`:                                               1,
		`sum(switchboard_messages_total{sender="internal"})`:                                               1,
		`sum(switchboard_expert_offline_messages_total{event="stored"})`:                                   1,
		`sum(switchboard_expert_offline_messages_total{event="notified"})`:                                 1,
		`sum(switchboard_expert_offline_messages_total{event="delivered"})`:                                1,
		`max_over_time(sum(switchboard_active_chats{channel="webchat"})[` + window + `:1s])`:               2, // Uma's and Vic's chats at once
		`max_over_time(sum(switchboard_queue_waiting{tenant="acme", queue="support"})[` + window + `:1s])`: 1,
		`sum(switchboard_agents{tenant="acme", state="on_break"})`:                                         1, // Bob
		`sum(switchboard_routing_decision_seconds_count{event="reject"})`:                                  1,
	} {
		if got := instant(t, prom, expr, end); got != want {
			t.Errorf("%s = %v, want %v", expr, got, want)
		}
	}

	// Every panel query returns data over the day, and every metric it names is on /metrics.
	for _, b := range boards {
		for _, q := range b.Queries() {
			expr := dashboards.Expand(q.Expr, vars)
			for _, m := range metricNames(t, expr) {
				if !names[m] {
					t.Errorf("%s › %s names %s, which the hub does not export", b.File, q.Panel, m)
				}
			}
			series, err := prom.QueryRange(expr, began, end, 2*time.Second)
			if err != nil {
				t.Errorf("%s › %s: %v", b.File, q.Panel, err)
				continue
			}
			if !hasValue(series) {
				t.Errorf("%s › %s returned no data: %s", b.File, q.Panel, expr)
			}
		}
		// Template variables list the tenant and its queues.
		for _, v := range b.Variables() {
			values, err := prom.LabelValues(v.Label, dashboards.Expand(v.Metric, vars))
			if err != nil || len(values) == 0 {
				t.Errorf("%s: variable %s (label_values(%s, %s)) = %v %v", b.File, v.Name, v.Metric, v.Label, values, err)
			}
		}
	}
}

// scriptedDay holds the hub the script drives and what it did.
type scriptedDay struct {
	t *testing.T
	h *hubProc

	accepted, rejected, timedOut, withdrawn, breaches, abandoned, restarts int
}

// customer starts a web chat customer and waits until the conversation exists.
func (d *scriptedDay) customer(name string) *customer {
	c := newCustomer(d.t, d.h.url, name, strings.ToLower(name)+"@example.com")
	go c.run(ctxTimeout(d.t, 3*time.Minute))
	c.waitStarted(d.t)
	d.t.Cleanup(c.stop)
	return c
}

// chatter exchanges n messages each way and lints /metrics with promtool while they flow.
func (d *scriptedDay) chatter(c *customer, a *agent, conv string, n int) {
	t := d.t
	ctx := ctxTimeout(t, 60*time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range n {
			c.say(ctx, fmt.Sprintf("question %d", i))
			if err := a.send(ctx, conv, fmt.Sprintf("answer-%d", i), fmt.Sprintf("answer %d", i)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	checks := 0
	for {
		select {
		case <-done:
			if checks == 0 {
				t.Error("promtool never ran while messages flowed")
			}
			if !poll(20*time.Second, func() bool { acked, _, _ := c.snapshot(); return len(acked) >= n }) {
				t.Fatal("the customer's messages were not all acknowledged")
			}
			return
		default:
		}
		if out, ok := prometheus.CheckMetrics(t, fetchMetrics(t, d.h)); !ok {
			t.Errorf("promtool check metrics refused the hub's /metrics under load:\n%s", out)
		}
		checks++
	}
}

// garbage sends a malformed frame to the web chat, as a broken or hostile page would.
func (d *scriptedDay) garbage() {
	ctx := ctxTimeout(d.t, 10*time.Second)
	conn, _, err := websocket.Dial(ctx, strings.Replace(d.h.url, "http", "ws", 1)+"/c/webchat/ws", nil)
	if err != nil {
		d.t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"message",`))
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			break
		}
	}
	if !poll(5*time.Second, func() bool {
		return d.h.metric("switchboard_plugin_rejections_total", `reason="malformed"`) >= 1
	}) {
		d.t.Fatal("the malformed frame was not counted")
	}
}

// end leaves the chat, as the widget's End button does.
func (c *customer) end(ctx context.Context) {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		c.t.Fatal("the customer is not connected")
	}
	c.write(ctx, conn, map[string]any{"type": "end"})
}

func fetchMetrics(t *testing.T, h *hubProc) []byte {
	t.Helper()
	res, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %v", res.StatusCode, err)
	}
	return body
}

// exposedNames are the sample names in a text exposition (histograms' _bucket, _sum and _count
// included).
func exposedNames(exposition []byte) map[string]bool {
	names := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

// metricNames lists the metric names an expression selects (Prometheus's own up excluded).
func metricNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("parse %s: %v", expr, err)
	}
	set := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" && vs.Name != "up" {
			set[vs.Name] = true
		}
		return nil
	})
	var out []string
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// waitScraped waits until Prometheus's latest sample of the selector (summed) equals want.
func waitScraped(t *testing.T, p *prometheus.Server, selector string, want float64) {
	t.Helper()
	var got []prometheus.Series
	if !poll(30*time.Second, func() bool {
		var err error
		got, err = p.Query("sum("+selector+")", time.Now())
		return err == nil && len(got) == 1 && got[0].Samples[0].Value == want
	}) {
		t.Fatalf("prometheus never scraped %s = %v; last answer %+v", selector, want, got)
	}
}

// lastScrape is the time of Prometheus's latest sample of the hub: queries evaluated then see
// every counter as scraped, with nothing extrapolated past it.
func lastScrape(t *testing.T, p *prometheus.Server) time.Time {
	t.Helper()
	got, err := p.Query(`timestamp(up{job="switchboard"})`, time.Now())
	if err != nil || len(got) != 1 {
		t.Fatalf("last scrape: %+v %v", got, err)
	}
	sec, frac := math.Modf(got[0].Samples[0].Value)
	return time.Unix(int64(sec), int64(math.Round(frac*1000))*int64(time.Millisecond))
}

// instant evaluates a single-valued expression at a time.
func instant(t *testing.T, p *prometheus.Server, expr string, at time.Time) float64 {
	t.Helper()
	got, err := p.Query(expr, at)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	if len(got) != 1 {
		t.Fatalf("%s returned %d series, want one: %+v", expr, len(got), got)
	}
	return got[0].Samples[0].Value
}

func hasValue(series []prometheus.Series) bool {
	for _, s := range series {
		for _, v := range s.Samples {
			if !math.IsNaN(v.Value) {
				return true
			}
		}
	}
	return false
}
