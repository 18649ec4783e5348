package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// logLevel is what the kit passes in sdk.LogLevelEnv: everything, shown only when a check fails.
const logLevel = "debug"

// Build compiles the plugin in package directory pkg (e.g. "." from the plugin's own test) into
// t.TempDir and returns the binary's path. It fails the test when the build fails.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	name := "plugin"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(t.TempDir(), name)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("sdktest: build %s: the go command is not on PATH: %v", pkg, err)
	}
	out, err := exec.Command(goTool, "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("sdktest: go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// proc is one plugin process, started and dialled the way the hub does it.
type proc struct {
	client *plugin.Client
	rpc    pb.PluginClient
	pid    int
	log    *logTail
}

// hostEnv is the whole environment the hub gives a plugin: no secrets, no magic cookie (go-plugin
// adds that itself).
func hostEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
		sdk.LogLevelEnv + "=" + logLevel,
	}
}

// launch starts the binary with the hub's go-plugin client configuration and dispenses the
// contract's client.
func launch(binary string, log *logTail) (*proc, error) {
	cmd := exec.Command(binary)
	cmd.Env = hostEnv()
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          sdk.HostPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     10 * time.Second,
		Stderr:           log,
		Logger:           hclog.New(&hclog.LoggerOptions{Name: "go-plugin", Output: clientLog{log}, Level: hclog.Info, JSONFormat: true}),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(sdk.MaxMessageBytes), grpc.MaxCallSendMsgSize(sdk.MaxMessageBytes))},
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("go-plugin handshake: %w", err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("dispense %q: %w", sdk.PluginName, err)
	}
	pc, ok := raw.(pb.PluginClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("the plugin served %T, not the Switchboard contract", raw)
	}
	rc := client.ReattachConfig()
	if rc == nil || rc.Pid == 0 {
		client.Kill()
		return nil, errors.New("go-plugin knows no process id for the plugin")
	}
	return &proc{client: client, rpc: pc, pid: rc.Pid, log: log}, nil
}

// kill ends the process with SIGKILL (a crash, as far as the plugin can tell) and waits until
// go-plugin has seen it exit.
func (p *proc) kill(ctx context.Context) error {
	osp, err := os.FindProcess(p.pid)
	if err != nil {
		return fmt.Errorf("find process %d: %w", p.pid, err)
	}
	if err := osp.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill process %d: %w", p.pid, err)
	}
	if err := poll(ctx, func() (bool, error) { return p.client.Exited(), nil }); err != nil {
		return fmt.Errorf("process %d still runs after SIGKILL: %w", p.pid, err)
	}
	p.client.Kill() // releases go-plugin's side; the process is already gone
	return nil
}

// byHand runs the binary the way a person would, without the hub's magic cookie.
type byHand struct {
	exitCode int
	stderr   string
	hung     bool
}

func runByHand(binary string, wait time.Duration) (byHand, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, binary)
	cmd.Env = hostEnv()
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	res := byHand{stderr: strings.TrimSpace(stderr.String()), hung: ctx.Err() != nil}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.exitCode = exit.ExitCode()
	case res.hung:
	default:
		return res, err
	}
	return res, nil
}

// logTail keeps the last lines of a plugin's stderr and of go-plugin's warnings, to show when a
// check fails.
type logTail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

func newLogTail(max int) *logTail { return &logTail{max: max} }

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimSpace(string(l.part[:i])); line != "" {
			l.lines = append(l.lines, line)
		}
		l.part = l.part[i+1:]
	}
	if over := len(l.lines) - l.max; over > 0 {
		l.lines = append(l.lines[:0], l.lines[over:]...)
	}
	return len(p), nil
}

// clientLog keeps go-plugin's own log lines (process exits, handshake trouble) and drops its
// copies of the plugin's stderr, which the tail already holds.
type clientLog struct{ tail *logTail }

func (c clientLog) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		var entry map[string]any
		if json.Unmarshal(line, &entry) != nil || entry["@module"] != "go-plugin" {
			continue
		}
		parts := []string{fmt.Sprintf("[go-plugin %v] %v", entry["@level"], entry["@message"])}
		for _, k := range slices.Sorted(maps.Keys(entry)) {
			if !strings.HasPrefix(k, "@") {
				parts = append(parts, fmt.Sprintf("%s=%v", k, entry[k]))
			}
		}
		c.tail.Write([]byte(strings.Join(parts, " ") + "\n"))
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
