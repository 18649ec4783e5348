package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// binDir holds the hub and plugin binaries built once for the package.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchboard-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	args := []string{"build", "-o", dir + "/"}
	if os.Getenv("SWITCHBOARD_RACE") != "" {
		args = append(args, "-race") // hub and plugins under the race detector
	}
	build := exec.Command("go", append(args,
		"github.com/switchboardhq/switchboard/core/cmd/switchboard",
		"github.com/switchboardhq/switchboard/plugins/webchat",
		"github.com/switchboardhq/switchboard/plugins/social",
		"github.com/switchboardhq/switchboard/plugins/sms",
		"github.com/switchboardhq/switchboard/bridges/matrix",
		"github.com/switchboardhq/switchboard/bridges/mattermost",
		"github.com/switchboardhq/switchboard/bridges/slack",
		"github.com/switchboardhq/switchboard/core/e2e/testdata/crashplugin",
		"github.com/switchboardhq/switchboard/core/e2e/testdata/expertlab",
	)...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Test users: every tenant gets the same passwords so tests can sign in.
const password = "test-password-1"

// hubConfig is the YAML of a test hub. %s placeholders: listen address, data dir, bin dir, extra plugins.
const hubConfig = `listen: %[1]s
log: {level: debug, format: json}
store: {dsn: %[2]s/switchboard.db}
plugins_dir: %[3]s
limits: {rate_per_second: 1000, burst: 2000%[8]s}
plugins:
  - {instance: webchat, plugin: webchat, tenant: acme, config: {title: Acme help, default_queue: support, messages_per_second: 100000, message_burst: 100000}}
%[4]s
tenants:
  - id: acme
    name: Acme
    groups: [{id: support}, {id: sales}]
    queues:
      - {id: support, group: support, default: true, offer_timeout: %[5]s%[7]s}
      - {id: sales, group: sales}
    users:
      - {username: alice, display_name: Alice Archer, group: support, queues: [support], max_chats: 6, password: ` + password + `}
      - {username: bob, display_name: Bob Baker, group: support, queues: [support], max_chats: 2, password: ` + password + `}
      - {username: sam, display_name: Sam Super, role: supervisor, group: support, queues: [support, sales], password: ` + password + `}
      - {username: ada, display_name: Ada Admin, role: admin, password: ` + password + `}
%[6]s
  - id: globex
    name: Globex
    groups: [{id: support}]
    queues: [{id: support, group: support}]
    users:
      - {username: alice, display_name: Other Alice, group: support, queues: [support], password: ` + password + `}
`

type hubOptions struct {
	dataDir      string
	extraPlugins string
	offerTimeout string
	addr         string
	extraUsers   string // more YAML user entries for tenant acme
	queueExtra   string // more settings of the support queue, e.g. ", missed_offers_limit: 1"
	limitsExtra  string // more limits, e.g. ", max_body_bytes: 33554432"
}

// hubProc is a hub running as its own process, as operators run it.
type hubProc struct {
	t    testing.TB
	opts hubOptions
	url  string
	cmd  *exec.Cmd
	log  *testproc.Log
	done chan struct{}
}

// startHub writes a config and starts the hub binary; it waits until the hub listens and the
// web chat plugin is up.
func startHub(t testing.TB, opts hubOptions) *hubProc {
	t.Helper()
	if opts.dataDir == "" {
		opts.dataDir = t.TempDir()
	}
	if opts.offerTimeout == "" {
		opts.offerTimeout = "30s"
	}
	if opts.addr == "" {
		opts.addr = testproc.FreeAddr(t)
	}
	h := &hubProc{t: t, opts: opts, url: "http://" + opts.addr}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *hubProc) start() {
	t := h.t
	t.Helper()
	cfg := fmt.Sprintf(hubConfig, h.opts.addr, h.opts.dataDir, binDir, h.opts.extraPlugins, h.opts.offerTimeout, h.opts.extraUsers, h.opts.queueExtra, h.opts.limitsExtra)
	path := filepath.Join(h.opts.dataDir, "switchboard.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.log = &testproc.Log{}
	h.cmd = exec.Command(filepath.Join(binDir, "switchboard"), "-config", path)
	h.cmd.Stdout, h.cmd.Stderr = h.log, h.log
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.done = make(chan struct{})
	go func() {
		h.cmd.Wait()
		close(h.done)
	}()
	h.waitPlugin("webchat", 0)
}

// stop ends the hub with SIGTERM (graceful) if it still runs and prints its log on failure.
func (h *hubProc) stop() {
	select {
	case <-h.done:
	default:
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.done:
		case <-time.After(15 * time.Second):
			h.cmd.Process.Kill()
			<-h.done
		}
	}
	if strings.Contains(h.log.String(), "WARNING: DATA RACE") {
		h.t.Errorf("the race detector reported a data race in the hub or a plugin")
	}
	if h.t.Failed() {
		h.t.Logf("hub log:\n%s", h.log.Tail(12000))
	}
}

// kill ends the hub with SIGKILL, as a crash would.
func (h *hubProc) kill() {
	h.cmd.Process.Kill()
	<-h.done
}

type pluginStatus struct {
	Instance  string `json:"instance"`
	State     string `json:"state"`
	PID       int    `json:"pid"`
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error"`
}

type readiness struct {
	Status  string         `json:"status"`
	Plugins []pluginStatus `json:"plugins"`
}

func (h *hubProc) readiness() (readiness, int, error) {
	var r readiness
	res, err := http.Get(h.url + "/readyz")
	if err != nil {
		return r, 0, err
	}
	defer res.Body.Close()
	err = json.NewDecoder(res.Body).Decode(&r)
	return r, res.StatusCode, err
}

func (h *hubProc) plugin(instance string) (pluginStatus, bool) {
	r, _, err := h.readiness()
	if err != nil {
		return pluginStatus{}, false
	}
	for _, p := range r.Plugins {
		if p.Instance == instance {
			return p, true
		}
	}
	return pluginStatus{}, false
}

// waitPlugin waits until the instance is up with a pid other than notPID.
func (h *hubProc) waitPlugin(instance string, notPID int) pluginStatus {
	h.t.Helper()
	var last pluginStatus
	ok := poll(20*time.Second, func() bool {
		select {
		case <-h.done:
			h.t.Fatalf("hub exited while starting:\n%s", h.log.Tail(8000))
		default:
		}
		p, found := h.plugin(instance)
		last = p
		return found && p.State == "up" && p.PID != 0 && p.PID != notPID
	})
	if !ok {
		h.t.Fatalf("plugin %s not up: %+v\n%s", instance, last, h.log.Tail(8000))
	}
	return last
}

// poll calls cond until it is true or the deadline passes.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// metric reads one sample from the hub's /metrics, summing every series whose labels contain all
// of the given label pairs.
func (h *hubProc) metric(name string, labels ...string) float64 {
	res, err := http.Get(h.url + "/metrics")
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				match = false
			}
		}
		if !match {
			continue
		}
		var v float64
		fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
		sum += v
	}
	return sum
}

func readAll(r io.Reader) string {
	b, _ := io.ReadAll(r)
	return string(b)
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
