package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// benchAgents and benchChats size the load: every agent takes up to 6 chats.
const (
	benchAgents = 20
	benchChats  = 120
)

// loadRig is a hub with benchChats accepted conversations and a customer on each.
type loadRig struct {
	h         *hubProc
	customers []*customer
	// delivered receives, for every customer message an agent's console got, its latency.
	delivered chan time.Duration
}

func newLoadRig(b *testing.B) *loadRig {
	var users strings.Builder
	for i := 0; i < benchAgents; i++ {
		fmt.Fprintf(&users, "      - {username: load%02d, group: support, queues: [support], max_chats: 6, password: %s}\n", i, password)
	}
	h := startHub(b, hubOptions{extraUsers: users.String()})
	rig := &loadRig{h: h, delivered: make(chan time.Duration, 1<<20)}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	var accepted sync.WaitGroup
	accepted.Add(benchChats)
	for i := 0; i < benchAgents; i++ {
		a := login(b, h.url, "acme", fmt.Sprintf("load%02d", i))
		a.listen()
		a.setState("available")
		go rig.work(ctx, a, &accepted)
	}
	for i := 0; i < benchChats; i++ {
		c := newCustomer(b, h.url, fmt.Sprintf("Load %d", i), "")
		go c.run(ctx)
		c.waitStarted(b)
		rig.customers = append(rig.customers, c)
	}
	done := make(chan struct{})
	go func() { accepted.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		b.Fatal("agents did not accept every load conversation")
	}
	return rig
}

// work accepts offers and measures, for each customer message pushed to the console, the time
// since the customer sent it (the text carries the send time).
func (rig *loadRig) work(ctx context.Context, a *agent, accepted *sync.WaitGroup) {
	for {
		select {
		case p := <-a.pushes:
			switch p["type"] {
			case "offer":
				if a.call("POST", "/api/v1/conversations/"+p["conversation_id"].(string)+"/accept", nil, nil) == 200 {
					accepted.Done()
				}
			case "message":
				m := p["message"].(map[string]any)
				if m["sender_kind"] != "customer" {
					continue
				}
				sent, err := strconv.ParseInt(strings.Fields(m["text"].(string))[0], 10, 64)
				if err == nil {
					rig.delivered <- time.Since(time.Unix(0, sent))
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

func (rig *loadRig) acked() int {
	n := 0
	for _, c := range rig.customers {
		acked, _, _ := c.snapshot()
		n += len(acked)
	}
	return n
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[int(float64(len(d)-1)*p)]
}

// BenchmarkEndToEnd measures the path customer WebSocket → web chat plugin → core → store →
// agent WebSocket on a hub running as its own process, with every message durably stored
// before the customer gets its acknowledgement.
func BenchmarkEndToEnd(b *testing.B) {
	rig := newLoadRig(b)
	ctx := context.Background()

	b.Run("latency_at_1000_per_second", func(b *testing.B) {
		const rate, seconds = 1000, 5
		drain(rig.delivered)
		interval := time.Second / rate
		start := time.Now()
		for i := 0; i < rate*seconds; i++ {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			rig.customers[i%len(rig.customers)].say(ctx, fmt.Sprintf("%d latency", time.Now().UnixNano()))
		}
		lat := collect(rig.delivered, rate*seconds, 30*time.Second)
		b.ReportMetric(float64(percentile(lat, 0.50).Microseconds()), "p50-µs")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
		b.ReportMetric(float64(len(lat)), "delivered")
		fmt.Printf("end-to-end at %d msg/s for %ds: %d delivered, p50 %s, p99 %s, max %s\n", rate, seconds, len(lat),
			percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1))
	})

	b.Run("durable_throughput", func(b *testing.B) {
		const total = 30000
		drain(rig.delivered)
		before := rig.acked()
		commits, writes := rig.h.metric("switchboard_store_commits_total"), rig.h.metric("switchboard_store_writes_total")
		start := time.Now()
		per := total / len(rig.customers)
		var wg sync.WaitGroup
		for _, c := range rig.customers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < per; i++ {
					c.say(ctx, fmt.Sprintf("%d load", time.Now().UnixNano()))
				}
			}()
		}
		wg.Wait()
		poll(120*time.Second, func() bool { return rig.acked()-before >= per*len(rig.customers) })
		elapsed := time.Since(start)
		stored := rig.acked() - before
		lat := collect(rig.delivered, stored, 30*time.Second)
		commits = rig.h.metric("switchboard_store_commits_total") - commits
		writes = rig.h.metric("switchboard_store_writes_total") - writes
		b.ReportMetric(float64(stored)/elapsed.Seconds(), "durable-msg/s")
		b.ReportMetric(writes/commits, "writes/commit")
		fmt.Printf("store: %.0f commits of %.1f writes on average\n", commits, writes/commits)
		fmt.Printf("durable throughput: %d messages stored and acknowledged in %s = %.0f msg/s over %d conversations; %d reached agents (p50 %s, p99 %s under saturation)\n",
			stored, elapsed.Round(time.Millisecond), float64(stored)/elapsed.Seconds(), len(rig.customers), len(lat),
			percentile(lat, 0.5), percentile(lat, 0.99))
	})
}

func drain(c chan time.Duration) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

func collect(c chan time.Duration, n int, timeout time.Duration) []time.Duration {
	out := make([]time.Duration, 0, n)
	deadline := time.After(timeout)
	for len(out) < n {
		select {
		case d := <-c:
			out = append(out, d)
		case <-deadline:
			return out
		}
	}
	return out
}

// BenchmarkPluginStreamRoundTrip measures one round trip on a plugin's event stream alone (the
// liveness probe: host → plugin → host), with the web chat plugin started as the hub starts it.
func BenchmarkPluginStreamRoundTrip(b *testing.B) {
	cmd := exec.Command(filepath.Join(binDir, "webchat"))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake(), Plugins: sdk.HostPlugins(), Cmd: cmd, SkipHostEnv: true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, Logger: hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		b.Fatal(err)
	}
	pc := raw.(pb.PluginClient)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := pc.Configure(ctx, &pb.ConfigureRequest{Instance: "bench", Tenant: "bench", ConfigJson: []byte(`{}`)}); err != nil {
		b.Fatal(err)
	}
	stream, err := pc.Connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	rtt := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := stream.Send(&pb.HostFrame{Frame: &pb.HostFrame_Ping{Ping: &pb.Ping{Nonce: uint64(i)}}}); err != nil {
			b.Fatal(err)
		}
		for {
			f, err := stream.Recv()
			if err != nil {
				b.Fatal(err)
			}
			if p := f.GetPong(); p != nil && p.Nonce == uint64(i) {
				break
			}
		}
		rtt = append(rtt, time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(rtt, 0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(percentile(rtt, 0.99).Microseconds()), "p99-µs")
	fmt.Printf("plugin stream round trip over %d pings: p50 %s, p99 %s\n", len(rtt), percentile(rtt, 0.5), percentile(rtt, 0.99))
}
