package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/protobuf/proto"

	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/core/store/sqlite"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

var testPlugin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pluginhost-test-")
	if err != nil {
		panic(err)
	}
	out, err := exec.Command("go", "build", "-o", dir+"/", "./testdata/testplugin").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build testplugin: %v\n%s", err, out)
		os.Exit(1)
	}
	testPlugin = filepath.Join(dir, "testplugin")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// recorder is a Handler that records what the host applied.
type recorder struct {
	mu      sync.Mutex
	applied []string
}

func (r *recorder) Apply(tx store.Tx, src Source, ev *pb.Event) (func(), error) {
	r.mu.Lock()
	r.applied = append(r.applied, ev.Id)
	r.mu.Unlock()
	return nil, nil
}
func (r *recorder) HasCapacity(Source, string) (bool, error)     { return false, nil }
func (r *recorder) Ephemeral(Source, *pb.Event) bool             { return false }
func (r *recorder) Settled(Source, string, pb.AckStatus, string) {}
func (r *recorder) Connected(Source)                             {}
func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.applied...)
}

type rig struct {
	host *Host
	st   store.Store
	rec  *recorder
	reg  *prometheus.Registry
}

func newRig(t *testing.T, ping time.Duration) *rig {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &rig{st: st, rec: &recorder{}, reg: prometheus.NewRegistry()}
	r.host = New(Options{
		Store: st, Handler: r.rec, Registry: r.reg,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		PingInterval: ping, PingTimeout: 4 * ping,
	})
	return r
}

func (r *rig) start(t *testing.T, cfg map[string]any, binary string) {
	data, _ := json.Marshal(cfg)
	r.host.Start(context.Background(), []Spec{{Instance: "t1", Plugin: "testplugin", Binary: binary, Tenant: "acme", Config: data}})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.host.Stop(ctx)
	})
}

func (r *rig) status() Status { return r.host.Status()[0] }

func syscallKill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInboundDuplicatesAreDroppedAcrossRestarts(t *testing.T) {
	r := newRig(t, time.Second)
	cfg := map[string]any{"emit": []map[string]string{
		{"id": "e1", "conversation": "k1", "text": "one"},
		{"id": "e2", "conversation": "k1", "text": "two"},
	}}
	r.start(t, cfg, testPlugin)
	poll(t, 10*time.Second, "both events applied", func() bool { return len(r.rec.ids()) == 2 })
	pid := r.status().PID
	if err := syscallKill(pid); err != nil {
		t.Fatal(err)
	}
	// The new process emits the same ids again: the host acknowledges them without applying.
	poll(t, 10*time.Second, "restart", func() bool { s := r.status(); return s.State == StateUp && s.PID != pid })
	poll(t, 10*time.Second, "duplicates counted", func() bool {
		return testutil.ToFloat64(r.host.metrics.duplicates.WithLabelValues("t1", "testplugin")) == 2
	})
	if got := r.rec.ids(); strings.Join(got, ",") != "e1,e2" {
		t.Fatalf("applied %v, want each event once", got)
	}
}

func TestOutboxIsResentAfterACrash(t *testing.T) {
	r := newRig(t, time.Second)
	dir := t.TempDir()
	delivered := filepath.Join(dir, "delivered")
	r.start(t, map[string]any{"delivered_file": delivered, "crash_once_file": filepath.Join(dir, "crashed")}, testPlugin)
	poll(t, 10*time.Second, "plugin up", func() bool { return r.status().State == StateUp })

	err := r.st.Write(context.Background(), func(tx store.Tx) error {
		for i := 1; i <= 3; i++ {
			ev := sdk.NewMessage(fmt.Sprintf("out%d", i), "k1", &pb.Participant{Kind: sdk.AsAgent}, &pb.Content{Text: "hi"})
			payload, _ := proto.Marshal(ev)
			if _, err := tx.EnqueueOutbox(store.OutboxEvent{TenantID: "acme", Instance: "t1", EventID: ev.Id, Payload: payload, State: store.OutboxPending, CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r.host.Notify("t1")
	poll(t, 15*time.Second, "outbox delivered", func() bool {
		n, err := r.st.OutboxDepth(context.Background(), "acme", "t1")
		return err == nil && n == 0
	})
	data, _ := os.ReadFile(delivered)
	lines := strings.Fields(string(data))
	// out1 crashed the plugin after delivery and before its ack: it is delivered again.
	if strings.Join(lines, ",") != "out1,out1,out2,out3" {
		t.Fatalf("deliveries %v, want out1 twice (at least once) then out2, out3 in order", lines)
	}
	if s := r.status(); s.Restarts != 1 {
		t.Fatalf("restarts = %d, want 1", s.Restarts)
	}
}

func TestHungPluginIsRestarted(t *testing.T) {
	r := newRig(t, 100*time.Millisecond)
	r.start(t, map[string]any{"hang": true}, testPlugin)
	poll(t, 10*time.Second, "first start", func() bool { return r.status().PID != 0 })
	poll(t, 15*time.Second, "restart of the hung plugin", func() bool {
		s := r.status()
		return s.Restarts >= 1 && strings.Contains(s.LastError, "hung")
	})
}

func TestFailingPluginBacksOff(t *testing.T) {
	r := newRig(t, time.Second)
	began := time.Now()
	r.start(t, map[string]any{}, filepath.Join(t.TempDir(), "missing"))
	poll(t, 10*time.Second, "three restarts", func() bool { return r.status().Restarts >= 3 })
	// Waits of 200ms and 400ms separate the first three attempts: no busy loop.
	if took := time.Since(began); took < 600*time.Millisecond {
		t.Fatalf("three restarts within %s: the host does not back off", took)
	}
	s := r.status()
	if s.State != StateBackoff || !strings.Contains(s.LastError, "missing") {
		t.Fatalf("status %+v", s)
	}
	if got := testutil.ToFloat64(r.host.metrics.up.WithLabelValues("t1", "testplugin")); got != 0 {
		t.Fatalf("up = %v", got)
	}
}
