package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// stableAfter is how long an instance must run before its restart backoff starts over.
const stableAfter = 10 * time.Second

// startError is a failed start, with the stage it failed at for metrics.
type startError struct {
	stage string
	err   error
}

func (e *startError) Error() string { return e.stage + ": " + e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

type instance struct {
	host *Host
	spec Spec
	log  *slog.Logger
	wake chan struct{} // outbox has news

	mu       sync.Mutex
	st       Status
	draining bool
	sess     *session
}

func newInstance(h *Host, spec Spec) *instance {
	return &instance{
		host: h,
		spec: spec,
		log:  h.log.With("plugin", spec.Plugin, "instance", spec.Instance),
		wake: make(chan struct{}, 1),
		st:   Status{Instance: spec.Instance, Plugin: spec.Plugin, State: StateStarting, Since: time.Now()},
	}
}

func (in *instance) labels() []string { return []string{in.spec.Instance, in.spec.Plugin} }

func (in *instance) status() Status {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.st
}

func (in *instance) setState(state State, err error, mutate func(*Status)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.st.State = state
	in.st.Since = time.Now()
	if err != nil {
		in.st.LastError = err.Error()
	} else if state == StateUp {
		in.st.LastError = ""
	}
	if mutate != nil {
		mutate(&in.st)
	}
}

func (in *instance) notify() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// supervise runs the instance until ctx ends, restarting it with exponential backoff.
func (in *instance) supervise(ctx context.Context) {
	backoff := in.host.opts.MinBackoff
	for ctx.Err() == nil {
		started := time.Now()
		err := in.runOnce(ctx)
		in.host.metrics.up.WithLabelValues(in.labels()...).Set(0)
		if ctx.Err() != nil || in.isDraining() {
			in.setState(StateStopped, nil, func(s *Status) { s.PID = 0 })
			return
		}
		if time.Since(started) > stableAfter {
			backoff = in.host.opts.MinBackoff
		}
		var se *startError
		if errors.As(err, &se) {
			in.host.metrics.startFailures.WithLabelValues(in.spec.Instance, in.spec.Plugin, se.stage).Inc()
		}
		in.log.Error("plugin instance stopped; restarting", "error", err, "restart_in", backoff)
		in.host.metrics.restarts.WithLabelValues(in.labels()...).Inc()
		in.setState(StateBackoff, err, func(s *Status) { s.PID = 0; s.Restarts++; s.HTTPAddress = "" })
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			in.setState(StateStopped, nil, nil)
			return
		}
		backoff = min(backoff*2, in.host.opts.MaxBackoff)
	}
}

func (in *instance) isDraining() bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.draining
}

// runOnce starts the plugin process, configures it and serves its stream until something breaks.
func (in *instance) runOnce(ctx context.Context) error {
	in.setState(StateStarting, nil, nil)
	if _, err := os.Stat(in.spec.Binary); err != nil {
		return &startError{"binary", fmt.Errorf("plugin binary %s: %w (build it with 'make build')", in.spec.Binary, err)}
	}
	stderr := &lineLogger{log: in.log}
	client := in.newClient(stderr)
	defer client.Kill()

	rpc, err := client.Client()
	if err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		if out := stderr.tail(); out != "" {
			msg += "; the plugin's last output: " + out
		}
		return &startError{"handshake", errors.New(msg)}
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return &startError{"handshake", err}
	}
	pc, ok := raw.(pb.PluginClient)
	if !ok {
		return &startError{"handshake", fmt.Errorf("plugin served %T, not the Switchboard contract", raw)}
	}
	pid := 0
	if rc := client.ReattachConfig(); rc != nil {
		pid = rc.Pid
	}

	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	desc, err := pc.Describe(callCtx, &pb.DescribeRequest{})
	cancel()
	if err != nil {
		return &startError{"describe", err}
	}
	callCtx, cancel = context.WithTimeout(ctx, 30*time.Second)
	resp, err := pc.Configure(callCtx, &pb.ConfigureRequest{
		Instance:   in.spec.Instance,
		Tenant:     in.spec.Tenant,
		ConfigJson: in.spec.Config,
		PublicUrl:  in.spec.PublicURL,
	})
	cancel()
	if err != nil {
		return &startError{"configure", err}
	}
	if len(resp.Errors) > 0 {
		msgs := make([]string, len(resp.Errors))
		for i, fe := range resp.Errors {
			msgs[i] = fmt.Sprintf("plugins.%s.config.%s: %s", in.spec.Instance, fe.Path, fe.Message)
		}
		return &startError{"configure", errors.New(strings.Join(msgs, "; "))}
	}

	streamCtx, stop := context.WithCancel(ctx)
	defer stop()
	stream, err := pc.Connect(streamCtx)
	if err != nil {
		return &startError{"connect", err}
	}
	src := Source{Tenant: in.spec.Tenant, Instance: in.spec.Instance, Plugin: in.spec.Plugin, Kind: desc.Kind}
	sess := newSession(in, src, stream)
	in.mu.Lock()
	in.sess = sess
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		in.sess = nil
		in.mu.Unlock()
	}()
	in.setState(StateUp, nil, func(s *Status) {
		s.PID = pid
		s.Version = desc.Version
		s.HTTPAddress = resp.HttpAddress
	})
	in.host.metrics.up.WithLabelValues(in.labels()...).Set(1)
	in.log.Info("plugin instance up", "version", desc.Version, "pid", pid, "http", resp.HttpAddress)
	in.host.opts.Handler.Connected(src)
	return sess.serve(streamCtx)
}

func (in *instance) newClient(stderr *lineLogger) *plugin.Client {
	return newClient(in.spec.Binary, in.host.opts.LogLevel, stderr, in.log)
}

// newClient prepares a go-plugin client for a plugin binary as the hub runs every plugin.
func newClient(binary, logLevel string, stderr *lineLogger, log *slog.Logger) *plugin.Client {
	cmd := exec.Command(binary)
	// Plugins get no secrets through the environment: configuration arrives through Configure.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"TMPDIR=" + os.TempDir(),
		sdk.LogLevelEnv + "=" + logLevel,
	}
	return plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          sdk.HostPlugins(),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     10 * time.Second,
		Stderr:           stderr,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "plugin",
			Output:     &lineLogger{log: log.With("source", "go-plugin"), skipModule: "plugin.", renameKeys: map[string]string{"plugin": "binary"}},
			JSONFormat: true,
			Level:      hclog.Info,
		}),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(sdk.MaxMessageBytes), grpc.MaxCallSendMsgSize(sdk.MaxMessageBytes))},
	})
}

// Check starts a plugin binary, has it describe itself and validate spec's configuration without
// starting anything, and stops it. Problems with the configuration come back as field errors.
func Check(ctx context.Context, spec Spec, log *slog.Logger) (*pb.DescribeResponse, []*pb.FieldError, error) {
	if _, err := os.Stat(spec.Binary); err != nil {
		return nil, nil, fmt.Errorf("plugin binary %s: %w (build it with 'make build')", spec.Binary, err)
	}
	stderr := &lineLogger{log: log}
	client := newClient(spec.Binary, "warn", stderr, log)
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		return nil, nil, fmt.Errorf("start %s: %s", spec.Binary, strings.Join(strings.Fields(err.Error()), " "))
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return nil, nil, err
	}
	pc, ok := raw.(pb.PluginClient)
	if !ok {
		return nil, nil, fmt.Errorf("%s does not serve the Switchboard contract", spec.Binary)
	}
	desc, err := pc.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, nil, fmt.Errorf("describe: %w", err)
	}
	resp, err := pc.Configure(ctx, &pb.ConfigureRequest{Instance: spec.Instance, Tenant: spec.Tenant,
		ConfigJson: spec.Config, PublicUrl: spec.PublicURL, ValidateOnly: true})
	if err != nil {
		return desc, nil, fmt.Errorf("configure: %w", err)
	}
	return desc, resp.Errors, nil
}

// drain stops sending new events and waits (until ctx ends) for in-flight ones to be acked.
func (in *instance) drain(ctx context.Context) {
	in.mu.Lock()
	in.draining = true
	sess := in.sess
	in.mu.Unlock()
	if sess != nil {
		sess.drain(ctx)
	}
}
