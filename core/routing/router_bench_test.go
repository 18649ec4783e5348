package routing

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

const (
	benchAgents  = 10_000
	benchQueues  = 1_000
	benchWaiting = 100_000
)

var benchLangs = []string{"en", "de", "fr", "es"}

type benchWorld struct {
	r               *Router
	agents, queues  []Key
	chats           [][]Key // per agent, its active chats
	rng             *rand.Rand
	now             time.Time
	next            int
	bytesPerWaiting float64
}

// newBenchWorld builds 10,000 agents (each in 3 of 1,000 queues, every agent full) and then
// 100,000 waiting conversations, measuring the heap the waiting conversations take.
func newBenchWorld(b *testing.B) *benchWorld {
	w := &benchWorld{r: NewRouter(), rng: rand.New(rand.NewPCG(1, 2)), now: monday, chats: make([][]Key, benchAgents)}
	for i := range benchQueues {
		q := QueueConfig{Queue: tk(fmt.Sprintf("q%d", i)), OfferTimeout: time.Minute, AllowTranslation: true,
			FirstResponseTarget: time.Minute, ResponseTarget: 2 * time.Minute, WrapUpTimeout: time.Minute}
		w.queues = append(w.queues, q.Queue)
		if i%10 == 0 {
			q.Strategy = LeastBusy
		}
		if _, err := w.r.SetQueue(q, w.now); err != nil {
			b.Fatal(err)
		}
	}
	for i := range benchAgents {
		cfg := AgentConfig{Agent: tk(fmt.Sprintf("a%d", i)), Group: "g", Capacity: 1 + i%6,
			Queues:  []string{fmt.Sprintf("q%d", i%benchQueues), fmt.Sprintf("q%d", (i*7+3)%benchQueues), fmt.Sprintf("q%d", (i*13+5)%benchQueues)},
			Primary: benchLangs[i%4], Secondary: []string{benchLangs[(i+1)%4]}}
		w.agents = append(w.agents, cfg.Agent)
		if err := w.r.RestoreAgent(cfg, StateAvailable, w.now.Add(-time.Duration(i)*time.Second), time.Time{}); err != nil {
			b.Fatal(err)
		}
		for j := range cfg.Capacity {
			k := tk(fmt.Sprintf("x%d-%d", i, j))
			if err := w.r.RestoreChat(StoredChat{Conversation: k, Queue: tk(cfg.Queues[0]), Agent: cfg.Agent, Entered: w.now}); err != nil {
				b.Fatal(err)
			}
			w.chats[i] = append(w.chats[i], k)
		}
	}
	w.r.Tick(w.now)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range benchWaiting {
		if err := w.r.RestoreWaiting(w.arrival(), w.now.Add(-time.Duration(w.rng.IntN(600))*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	if ds := w.r.Tick(w.now); len(ds) != 0 {
		b.Fatalf("full agents got %d decisions", len(ds))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	w.bytesPerWaiting = float64(after.HeapAlloc-before.HeapAlloc) / benchWaiting
	return w
}

func (w *benchWorld) arrival() Arrival {
	w.next++
	return Arrival{Conversation: tk("w" + strconv.Itoa(w.next)), Queue: w.queues[w.rng.IntN(benchQueues)],
		Priority: w.rng.IntN(3), Language: benchLangs[w.rng.IntN(4)]}
}

// BenchmarkDecision times single engine calls on a full contact center: an agent ends a chat
// and its post-processing (the freed capacity is offered the best waiting conversation), accepts
// the offer, and a new customer arrives, keeping 100,000 conversations waiting. The simulated
// clock moves 1ms per round and Tick runs once per simulated second (not counted as a decision).
func BenchmarkDecision(b *testing.B) {
	w := newBenchWorld(b)
	samples := make([]time.Duration, 0, 1<<22)
	var offers int
	var total time.Duration
	// took records one call's duration and counts its offers.
	took := func(start time.Time, ds []Decision, err error) []Decision {
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, d)
		total += d
		for _, x := range ds {
			if x.Kind == DecisionOffer {
				offers++
			}
		}
		return ds
	}
	i := 0
	for b.Loop() {
		ai := (i * 7919) % benchAgents
		i++
		agent, chat := w.agents[ai], w.chats[ai][0]
		in := w.arrival()
		w.now = w.now.Add(time.Millisecond)
		if i%1000 == 0 {
			w.r.Tick(w.now) // deadlines are handled once a (simulated) second, as the hub does
		}

		start := time.Now()
		ds, err := w.r.End(chat, w.now)
		took(start, ds, err)

		start = time.Now()
		ds, err = w.r.EndWrapUp(chat, w.now)
		took(start, ds, err)
		var offered Key
		for _, d := range ds {
			if d.Kind == DecisionOffer {
				offered = d.Conversation
			}
		}
		if offered == (Key{}) {
			b.Fatalf("freed agent %s got no offer: %v", agent.ID, ds)
		}

		start = time.Now()
		ds, err = w.r.Accept(offered, agent, w.now)
		took(start, ds, err)
		w.chats[ai] = append(w.chats[ai][1:], offered)

		start = time.Now()
		ds, err = w.r.Arrive(in, w.now)
		took(start, ds, err)
	}
	if len(samples) == 0 {
		return
	}
	for op, name := range []string{"end", "endwrapup", "accept", "arrive"} {
		var v []time.Duration
		for j := op; j < len(samples); j += 4 {
			v = append(v, samples[j])
		}
		slices.Sort(v)
		b.Logf("%s: p50 %v p90 %v p99 %v p99.9 %v", name, v[len(v)/2], v[len(v)*9/10], v[len(v)*99/100], v[len(v)*999/1000])
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns/decision")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds()), "p99-ns/decision")
	b.ReportMetric(float64(offers)/total.Seconds(), "offers/s")
	b.ReportMetric(w.bytesPerWaiting, "B/waiting")
}

// BenchmarkStats is one metrics scrape of the engine at 10,000 agents, 1,000 queues, about
// 35,000 chats and 100,000 waiting conversations: the time the routing lock is held for it.
func BenchmarkStats(b *testing.B) {
	w := newBenchWorld(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		queues, groups := w.r.Stats(w.now)
		if len(queues) != benchQueues || len(groups) != 1 {
			b.Fatalf("%d queues, %d groups", len(queues), len(groups))
		}
	}
}
