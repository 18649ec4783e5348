package pluginhost

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboardhq/switchboard/core/store"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// drainGrace bounds how long Stop waits for plugins to acknowledge in-flight events.
const drainGrace = 2 * time.Second

// Spec is one plugin instance to run.
type Spec struct {
	Instance string
	Plugin   string // plugin name from the configuration, for logs and metrics
	Binary   string // path of the executable
	Tenant   string
	Config   []byte // instance configuration as JSON
	// PublicURL is where the hub exposes the instance's HTTP handler, ending in "/".
	PublicURL string
}

// Source identifies where an inbound event came from.
type Source struct {
	Tenant   string
	Instance string
	Plugin   string
	Kind     pb.PluginKind
}

// Handler is the hub's side of the plugin traffic.
type Handler interface {
	// Apply writes an inbound event inside tx (the host has already dropped duplicates) and
	// returns what to do once the transaction committed (push to agents, routing), or nil.
	// A *sdk.RejectedError refuses the event for good; any other error makes the plugin retry.
	Apply(tx store.Tx, src Source, ev *pb.Event) (after func(), err error)
	// Ephemeral handles events that are not stored (typing, presence) and says whether ev was one.
	Ephemeral(src Source, ev *pb.Event) bool
	// Settled reports what a plugin did with an outbound event that was not simply delivered.
	Settled(src Source, eventID string, status pb.AckStatus, reason string)
	// Connected says an instance's event stream is up (after every start and restart), so that the
	// hub can send what the plugin must know before anything else (a bridge's agent directory).
	Connected(src Source)
	// HasCapacity answers a plugin asking whether an agent could take a chat of the queue now
	// (empty: the tenant's default queue).
	HasCapacity(src Source, queue string) (bool, error)
}

// Options configure a Host.
type Options struct {
	Store    store.Store
	Handler  Handler
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// LogLevel is passed to plugins ("debug", "info"...).
	LogLevel string
	// Backoff bounds between restarts; defaults 200ms and 30s.
	MinBackoff, MaxBackoff time.Duration
	// PingInterval and PingTimeout detect hung plugins; defaults 2s and 5s.
	PingInterval, PingTimeout time.Duration
}

// Host supervises every plugin instance.
type Host struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics

	mu        sync.Mutex
	instances map[string]*instance
	wg        sync.WaitGroup
	cancel    context.CancelFunc
}

// New prepares a host; Start runs the instances.
func New(opts Options) *Host {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 200 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 2 * time.Second
	}
	if opts.PingTimeout <= 0 {
		opts.PingTimeout = 5 * time.Second
	}
	if opts.LogLevel == "" {
		opts.LogLevel = "info"
	}
	return &Host{
		opts:      opts,
		log:       opts.Logger,
		metrics:   newMetrics(opts.Registry),
		instances: map[string]*instance{},
	}
}

// Start launches a supervisor per spec. It never fails: an instance that cannot start is
// retried with backoff and reported by Status.
func (h *Host) Start(ctx context.Context, specs []Spec) {
	ctx, h.cancel = context.WithCancel(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, spec := range specs {
		h.metrics.prepare(spec.Instance, spec.Plugin)
		inst := newInstance(h, spec)
		h.instances[spec.Instance] = inst
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			inst.supervise(ctx)
		}()
	}
}

// Stop stops every instance gracefully: no new outbound events, in-flight ones get until ctx ends
// to be acknowledged, then the processes are stopped.
func (h *Host) Stop(ctx context.Context) {
	h.mu.Lock()
	insts := make([]*instance, 0, len(h.instances))
	for _, inst := range h.instances {
		insts = append(insts, inst)
	}
	h.mu.Unlock()
	// Unacknowledged events are resent at the next start, so draining is worth a short wait only.
	dctx, cancel := context.WithTimeout(ctx, drainGrace)
	defer cancel()
	var wg sync.WaitGroup
	for _, inst := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst.drain(dctx)
		}()
	}
	wg.Wait()
	if h.cancel != nil {
		h.cancel()
	}
	h.wg.Wait()
}

// Notify tells the instance that new outbound events wait in the outbox.
func (h *Host) Notify(instance string) {
	h.mu.Lock()
	inst := h.instances[instance]
	h.mu.Unlock()
	if inst != nil {
		inst.notify()
	}
}

// HTTPAddress is the loopback address of the instance's HTTP handler, or "" while it has none.
func (h *Host) HTTPAddress(instance string) string {
	h.mu.Lock()
	inst := h.instances[instance]
	h.mu.Unlock()
	if inst == nil {
		return ""
	}
	return inst.status().HTTPAddress
}

// State is where an instance stands.
type State string

const (
	StateStarting State = "starting"
	StateUp       State = "up"
	StateBackoff  State = "backoff"
	StateStopped  State = "stopped"
)

// Status describes one instance for readiness and operators.
type Status struct {
	Instance    string    `json:"instance"`
	Plugin      string    `json:"plugin"`
	Version     string    `json:"version,omitempty"`
	State       State     `json:"state"`
	Since       time.Time `json:"since"`
	PID         int       `json:"pid,omitempty"`
	Restarts    int       `json:"restarts"`
	LastError   string    `json:"last_error,omitempty"`
	HTTPAddress string    `json:"-"`
	OutboxDepth int       `json:"outbox_depth"`
	Problem     string    `json:"problem,omitempty"`
}

// Status lists every instance, sorted by name.
func (h *Host) Status() []Status {
	h.mu.Lock()
	out := make([]Status, 0, len(h.instances))
	for _, inst := range h.instances {
		out = append(out, inst.status())
	}
	h.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// Signal sends an event that is not stored (typing) to a connected instance. It reports false
// when the instance is not connected; the event is then dropped.
func (h *Host) Signal(instance string, ev *pb.Event) bool {
	h.mu.Lock()
	inst := h.instances[instance]
	h.mu.Unlock()
	if inst == nil {
		return false
	}
	inst.mu.Lock()
	sess := inst.sess
	inst.mu.Unlock()
	if sess == nil {
		return false
	}
	return sess.send(&pb.HostFrame{Frame: &pb.HostFrame_Event{Event: ev}}) == nil
}
