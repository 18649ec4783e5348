package sdktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Options says what to check.
type Options struct {
	// Binary is the path of the built plugin (see Build).
	Binary string
	// Kind is what the plugin must say it is in Describe.
	Kind sdk.Kind
	// Config is a valid instance configuration: a JSON object, as the hub hands it over.
	Config []byte
	// Driver plays the platform's side. Without one the kit skips the traffic checks and says so.
	Driver Driver
	// Timeout bounds every wait of one check; zero means 15 s.
	Timeout time.Duration
}

// Driver plays the platform (customers, experts, the provider's API) against the plugin. The
// conversation names the kit passes are fresh per check, 32 lowercase hex digits, so a driver can
// use them as platform ids as they are. httpAddr is the loopback address the running plugin
// process announced in Configure ("" if none); it changes when the kit restarts the plugin, and a
// driver holding connections reconnects there, as a real client would.
//
// On a bridge a conversation is an expert chat: the kit first announces the agent AgentFor(conv)
// with an ONLINE presence event (and announces every such agent again on each new stream, as the
// hub does), then calls Inbound, where an expert of the driver's choosing, one per conversation,
// writes to that agent. The plugin must key the chat with sdk.ExpertChatKey.
type Driver interface {
	// Inbound makes the platform send one message with text into the conversation, opening the
	// conversation first when needed. It returns once the plugin confirmed the message to the
	// platform (an HTTP answer, a protocol ack): plugins confirm only after the hub stored the
	// event, so the kit calls Inbound concurrently with its own side of the stream.
	Inbound(ctx context.Context, httpAddr, conversation, text string) error
	// Delivered returns the texts of the messages the platform received for the conversation so
	// far, in order.
	Delivered(ctx context.Context, httpAddr, conversation string) ([]string, error)
}

// Run starts the plugin as the hub does and checks the contract, one subtest per property:
//
//   - started by hand: without the hub's magic cookie the binary exits non-zero with a message;
//   - describe: name, kind, version, and a config_schema for a JSON object;
//   - validate config, unknown config field: validate_only accepts Config and starts nothing;
//     an unknown field comes back as a field error naming it, not as an RPC error;
//   - configure and connect, ping: Config starts the instance (a loopback HTTP address, if any),
//     the event stream opens, and a Ping gets its Pong, healthy;
//   - inbound redelivery: an unacked inbound event is resent on the next stream, an acked one is
//     not, and the platform hears "received" only after the hub's ack;
//   - outbound, outbound once per event id, outbound order: events are acked OK once the platform
//     has them, an event sent twice shows once, 20 messages of a conversation arrive in order;
//   - restart: after SIGKILL a fresh process delivers the event the hub resends;
//   - clean shutdown: the process exits by itself when the hub stops it.
//
// The inbound, outbound and restart checks need Options.Driver. A check that finds the plugin
// process gone fails at once, saying so; the plugin's log is shown when anything failed.
func Run(t *testing.T, opts Options) {
	t.Helper()
	if opts.Binary == "" {
		t.Fatal("sdktest: Options.Binary is empty: build the plugin first, e.g. with sdktest.Build(t, \".\")")
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(opts.Config, &cfg); err != nil {
		t.Fatalf("sdktest: Options.Config must be a JSON object, the instance configuration: %v", err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	k := &kit{t: t, opts: opts}
	t.Cleanup(k.stop)

	t.Run("started by hand", k.checkStartedByHand)
	if err := k.start(); err != nil {
		t.Fatalf("start the plugin as the hub does: %v", err)
	}
	t.Run("describe", k.checkDescribe)
	t.Run("validate config", k.checkValidate)
	t.Run("unknown config field", k.checkUnknownField)
	if !t.Run("configure and connect", k.checkConfigure) {
		t.Fatal("sdktest: the plugin cannot be configured and connected; the remaining checks need that")
	}
	t.Run("ping", k.checkPing)
	if opts.Driver == nil {
		t.Log("sdktest: no Driver in Options: skipping the inbound, outbound, ordering and restart checks")
	} else {
		t.Run("inbound redelivery", k.checkInbound)
		t.Run("outbound", k.checkOutbound)
		t.Run("outbound once per event id", k.checkOutboundOnce)
		t.Run("outbound order", k.checkOrder)
		t.Run("restart", k.checkRestart)
	}
	t.Run("clean shutdown", k.checkShutdown)
}

// kit is the hub as the checks see it: the running plugin process, its configuration result and
// the current event stream.
type kit struct {
	t      *testing.T
	opts   Options
	proc   *proc
	desc   *pb.DescribeResponse
	addr   string
	stream *hostStream
	agents []string // announced to a bridge
}

// start launches a fresh plugin process; its log is shown if any check fails.
func (k *kit) start() error {
	log := newLogTail(300)
	p, err := launch(k.opts.Binary, log)
	if err != nil {
		if out := log.String(); out != "" {
			k.t.Logf("plugin output:\n%s", out)
		}
		return err
	}
	k.proc = p
	k.t.Cleanup(func() {
		if out := log.String(); out != "" && k.t.Failed() {
			state := "running"
			if p.client.Exited() {
				state = "exited"
			}
			k.t.Logf("log of plugin process %d (%s), last lines:\n%s", p.pid, state, out)
		}
	})
	return nil
}

// stop ends whatever is still running when the checks are over.
func (k *kit) stop() {
	if k.stream != nil {
		k.stream.close()
	}
	if k.proc != nil {
		k.proc.client.Kill()
	}
}

// reconnect drops the current stream and opens another, as the hub does after a broken connection.
func (k *kit) reconnect(hold func(*pb.Event) bool) error {
	if k.stream != nil {
		k.stream.close()
		k.stream = nil
	}
	s, err := openStream(k.proc, hold)
	if err != nil {
		return err
	}
	k.stream = s
	// A bridge learns the agents from their presence, which the hub sends on every new stream.
	for _, agent := range k.agents {
		if err := s.deliver(agentOnline(agent)); err != nil {
			return fmt.Errorf("announce agent %s: %w", agent, err)
		}
	}
	return nil
}

// announce tells a bridge about the agent of a conversation before the platform uses it.
func (k *kit) announce(conv string) error {
	if k.opts.Kind != sdk.KindBridge {
		return nil
	}
	agent := AgentFor(conv)
	if !slices.Contains(k.agents, agent) {
		k.agents = append(k.agents, agent)
	}
	return k.stream.deliver(agentOnline(agent))
}

// AgentFor is the agent (username) an expert writes to in the kit's conversation conv on a
// bridge. Before it calls Driver.Inbound, the kit announces that agent to the bridge as the hub
// does, with an ONLINE presence event; the driver has an expert of its own write to the agent.
func AgentFor(conv string) string { return "agent" + conv[:12] }

func agentOnline(agent string) *pb.Event {
	return sdk.NewPresence("sdktest-presence-"+newKey(), sdk.Agent(agent, "Agent "+agent[5:]), sdk.Online, "")
}

// alive fails the check at once when the plugin process is gone: every check after a crash would
// only repeat that.
func (k *kit) alive(t *testing.T) {
	t.Helper()
	if k.proc == nil {
		t.Fatal("no plugin process is running: an earlier check failed")
	}
	if k.proc.client.Exited() {
		t.Fatalf("plugin process %d has exited (its log follows the checks)", k.proc.pid)
	}
}

func (k *kit) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), k.opts.Timeout)
	t.Cleanup(cancel)
	return ctx
}

func (k *kit) configureRequest(config []byte, validateOnly bool) *pb.ConfigureRequest {
	return &pb.ConfigureRequest{Instance: "sdktest", Tenant: "sdktest", ConfigJson: config, ValidateOnly: validateOnly}
}

// newKey is a fresh conversation name for the driver.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
