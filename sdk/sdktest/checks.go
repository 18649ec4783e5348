package sdktest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// byHandWait is how long a binary started without the hub may take to give up.
const byHandWait = 5 * time.Second

// shutdownWait bounds how long the process may take to be gone after the hub stops it;
// shutdownGrace is how long go-plugin waits before it kills a plugin that did not exit by itself.
const (
	shutdownWait  = 3 * time.Second
	shutdownGrace = 2 * time.Second
)

// unknownField is the field the kit adds to the valid configuration to see it refused.
const unknownField = "sdktest_unknown_field"

// checkStartedByHand: a person who runs the binary gets told what it is, and the shell gets its
// prompt back with a failure status.
func (k *kit) checkStartedByHand(t *testing.T) {
	res, err := runByHand(k.opts.Binary, byHandWait)
	switch {
	case err != nil:
		t.Fatalf("run %s: %v", k.opts.Binary, err)
	case res.hung:
		t.Fatalf("started without the hub (no magic cookie), the binary still ran after %s: it must exit with a message instead of waiting for a hub that never comes", byHandWait)
	case res.exitCode == 0:
		t.Errorf("started without the hub, the binary exited with status 0: it must fail so scripts and service managers notice")
	}
	if res.stderr == "" {
		t.Errorf("started without the hub, the binary exited with status %d and printed nothing on stderr: say that the hub starts it", res.exitCode)
	}
}

// checkDescribe: the plugin says what it is, independent of configuration.
func (k *kit) checkDescribe(t *testing.T) {
	k.alive(t)
	d, err := k.proc.rpc.Describe(k.ctx(t), &pb.DescribeRequest{})
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	k.desc = d
	if d.GetName() == "" {
		t.Error("Describe: name is empty")
	}
	if d.GetKind() != k.opts.Kind {
		t.Errorf("Describe: kind is %s, want %s", d.GetKind(), k.opts.Kind)
	}
	if d.GetVersion() == "" {
		t.Error("Describe: version is empty")
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(d.GetConfigSchema()), &schema); err != nil {
		t.Fatalf("Describe: config_schema is not a JSON object: %v", err)
	}
	if schema["type"] != "object" {
		t.Errorf(`Describe: config_schema has "type": %v, want "object" (an instance configuration is a JSON object)`, schema["type"])
	}
	if props, ok := schema["properties"].(map[string]any); ok {
		var cfg map[string]json.RawMessage
		_ = json.Unmarshal(k.opts.Config, &cfg)
		for field := range cfg {
			if _, ok := props[field]; !ok {
				t.Errorf("Describe: the valid configuration sets %q, which config_schema does not declare under properties", field)
			}
		}
	}
}

// checkValidate: validate_only accepts the valid configuration and starts nothing.
func (k *kit) checkValidate(t *testing.T) {
	k.alive(t)
	resp, err := k.proc.rpc.Configure(k.ctx(t), k.configureRequest(k.opts.Config, true))
	if err != nil {
		t.Fatalf("Configure (validate_only) with the valid configuration: %v", err)
	}
	if len(resp.GetErrors()) > 0 {
		t.Errorf("Configure (validate_only) refused the valid configuration: %s", fieldErrors(resp.GetErrors()))
	}
	if resp.GetHttpAddress() != "" {
		t.Errorf("Configure (validate_only) announced an HTTP listener at %s: validating must start nothing", resp.GetHttpAddress())
	}
}

// checkUnknownField: a configuration mistake comes back as a field error that names the field,
// so `switchboard check-config` can point at it.
func (k *kit) checkUnknownField(t *testing.T) {
	k.alive(t)
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(k.opts.Config, &cfg); err != nil || cfg == nil {
		cfg = map[string]json.RawMessage{}
	}
	cfg[unknownField] = json.RawMessage("true")
	bad, _ := json.Marshal(cfg)
	resp, err := k.proc.rpc.Configure(k.ctx(t), k.configureRequest(bad, true))
	if err != nil {
		t.Fatalf("Configure with the unknown field %q answered with an RPC error (%v): configuration problems must come back as field errors", unknownField, err)
	}
	for _, fe := range resp.GetErrors() {
		if fe.GetPath() == unknownField {
			return
		}
	}
	if len(resp.GetErrors()) == 0 {
		t.Fatalf("Configure accepted the unknown field %q: decode the configuration strictly (sdk.Config.Decode does)", unknownField)
	}
	t.Fatalf("Configure with the unknown field %q gave no field error with that path: %s", unknownField, fieldErrors(resp.GetErrors()))
}

// checkConfigure: the valid configuration starts the instance and the event stream opens.
func (k *kit) checkConfigure(t *testing.T) {
	k.alive(t)
	if err := k.configure(k.ctx(t)); err != nil {
		t.Fatal(err)
	}
	if k.addr != "" && k.desc != nil && !slices.Contains(k.desc.GetCapabilities(), "http") {
		t.Errorf(`Configure announced an HTTP listener at %s but Describe lists no "http" capability`, k.addr)
	}
}

// configure hands the current process the valid configuration and opens its event stream.
func (k *kit) configure(ctx context.Context) error {
	resp, err := k.proc.rpc.Configure(ctx, k.configureRequest(k.opts.Config, false))
	if err != nil {
		return fmt.Errorf("Configure with the valid configuration: %w", err)
	}
	if len(resp.GetErrors()) > 0 {
		return fmt.Errorf("Configure refused the valid configuration: %s", fieldErrors(resp.GetErrors()))
	}
	k.addr = resp.GetHttpAddress()
	if k.addr != "" {
		host, _, err := net.SplitHostPort(k.addr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("Configure announced the HTTP address %q; it must be a loopback host:port (the hub proxies to it, nothing else may reach it)", k.addr)
		}
	}
	return k.reconnect(nil)
}

// checkPing: the plugin answers the hub's liveness probe, healthy.
func (k *kit) checkPing(t *testing.T) {
	k.alive(t)
	nonce := rand.Uint64()
	pong, err := k.stream.ping(k.ctx(t), nonce)
	if err != nil {
		t.Fatal(err)
	}
	if pong.GetProblem() != "" {
		t.Errorf("Pong reports a problem with the valid configuration: %s", pong.GetProblem())
	}
}

// checkInbound: an inbound message reaches the hub at least once. Unacked, it is resent on the
// next stream; once acked, it is not, and only then does the platform hear "received".
func (k *kit) checkInbound(t *testing.T) {
	k.alive(t)
	ctx := k.ctx(t)
	conv, text := newKey(), "sdktest inbound "+newKey()[:8]
	held := func(ev *pb.Event) bool { return ev.GetMessage().GetContent().GetText() == text }
	if err := k.reconnect(held); err != nil {
		t.Fatal(err)
	}
	if err := k.announce(conv); err != nil {
		t.Fatal(err)
	}
	inbound := make(chan error, 1)
	go func() { inbound <- k.opts.Driver.Inbound(ctx, k.addr, conv, text) }()

	first, err := k.awaitMessage(ctx, text, inbound)
	if err != nil {
		t.Fatal(err)
	}
	k.checkInboundEvent(t, first)
	if k.opts.Kind == sdk.KindBridge {
		agent, _, ok := sdk.ParseExpertChatKey(first.GetConversation())
		if !ok || agent != AgentFor(conv) {
			t.Errorf("the expert's message to agent %s came with conversation key %q, want sdk.ExpertChatKey(%q, <expert id>)", AgentFor(conv), first.GetConversation(), AgentFor(conv))
		}
	}
	confirmedEarly := func(when string) {
		select {
		case err := <-inbound:
			t.Fatalf("Driver.Inbound returned (%v) %s: the plugin confirmed a message to the platform the hub never stored; confirm only once Emit returned", err, when)
		default:
		}
	}
	confirmedEarly("before the hub acked the message")

	if err := k.reconnect(held); err != nil {
		t.Fatal(err)
	}
	s := k.stream
	if err := s.waitFor(ctx, func() bool { return s.countEvents(first.GetId()) > 0 }); err != nil {
		t.Fatalf("after the hub dropped the stream and reconnected, the plugin did not resend the unacked event %s: %v (events on the new stream: %s)", first.GetId(), err, s.summary())
	}
	s.mu.Lock()
	again := s.events[slices.IndexFunc(s.events, func(ev *pb.Event) bool { return ev.GetId() == first.GetId() })]
	s.mu.Unlock()
	if again.GetConversation() != first.GetConversation() || again.GetMessage().GetContent().GetText() != text {
		t.Errorf("the resent event %s differs: conversation %q text %q, first sent as conversation %q text %q",
			first.GetId(), again.GetConversation(), again.GetMessage().GetContent().GetText(), first.GetConversation(), text)
	}
	confirmedEarly("while the hub had not acked the message")

	if err := s.ack(first.GetId()); err != nil {
		t.Fatalf("ack event %s: %v", first.GetId(), err)
	}
	select {
	case err := <-inbound:
		if err != nil {
			t.Fatalf("Driver.Inbound: %v", err)
		}
	case <-ctx.Done():
		t.Fatalf("the hub acked event %s but the platform never heard back (Driver.Inbound still waits after %s)", first.GetId(), k.opts.Timeout)
	}

	if err := k.reconnect(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := k.stream.ping(ctx, rand.Uint64()); err != nil {
		t.Fatal(err)
	}
	s = k.stream
	s.mu.Lock()
	resent := s.countEvents(first.GetId())
	s.mu.Unlock()
	if resent > 0 {
		t.Errorf("the plugin resent event %s on a new stream after the hub acked it", first.GetId())
	}
}

// awaitMessage waits for the inbound message with text, or for the driver to fail.
func (k *kit) awaitMessage(ctx context.Context, text string, inbound <-chan error) (*pb.Event, error) {
	s := k.stream
	var ev *pb.Event
	got := make(chan error, 1)
	go func() { got <- s.waitFor(ctx, func() bool { ev = s.message(text); return ev != nil }) }()
	select {
	case err := <-got:
		if err != nil {
			return nil, fmt.Errorf("no message event with text %q reached the hub: %v (events: %s)", text, err, s.summary())
		}
		return ev, nil
	case err := <-inbound:
		if err != nil {
			return nil, fmt.Errorf("Driver.Inbound: %w", err)
		}
		if err := <-got; err != nil {
			return nil, fmt.Errorf("Driver.Inbound returned but no message event with text %q reached the hub: %v (events: %s)", text, err, s.summary())
		}
		return nil, fmt.Errorf("Driver.Inbound returned before the hub acked the message with text %q: confirm to the platform only once Emit returned", text)
	}
}

// checkInboundEvent checks the shape of the inbound message and of the conversation_started
// that may precede it.
func (k *kit) checkInboundEvent(t *testing.T, ev *pb.Event) {
	t.Helper()
	if ev.GetId() == "" {
		t.Error("the inbound message event has no id")
	}
	if ev.GetConversation() == "" {
		t.Error("the inbound message event has no conversation")
	}
	want := sdk.AsCustomer
	if k.opts.Kind == sdk.KindBridge {
		want = sdk.AsExpert
	}
	if got := ev.GetMessage().GetFrom().GetKind(); got != want {
		t.Errorf("the inbound message is from a %s, want %s", got, want)
	}
	s := k.stream
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, prior := range s.events {
		if prior == ev {
			break
		}
		if st := prior.GetConversationStarted(); st != nil && prior.GetConversation() != ev.GetConversation() {
			t.Errorf("conversation_started %s is for conversation %q, the message for %q", prior.GetId(), prior.GetConversation(), ev.GetConversation())
		}
	}
}

// open has the driver start a conversation and returns the driver's name for it and the
// plugin's key, which outbound events carry.
func (k *kit) open(t *testing.T, ctx context.Context) (conv, key string) {
	t.Helper()
	conv, text := newKey(), "sdktest hello "+newKey()[:8]
	if err := k.announce(conv); err != nil {
		t.Fatal(err)
	}
	if err := k.opts.Driver.Inbound(ctx, k.addr, conv, text); err != nil {
		t.Fatalf("open a conversation: Driver.Inbound: %v", err)
	}
	s := k.stream
	s.mu.Lock()
	ev := s.message(text)
	s.mu.Unlock()
	if ev == nil {
		t.Fatalf("open a conversation: Driver.Inbound returned but no message with text %q reached the hub (events: %s)", text, s.summary())
	}
	return conv, ev.GetConversation()
}

// outbound is a message from an agent, as the hub's outbox holds it. On a bridge it comes from
// the agent of the expert chat the key names.
func outbound(key, text string) *pb.Event {
	from := &pb.Participant{Kind: sdk.AsAgent, Id: "sdktest-agent", DisplayName: "Sam from sdktest"}
	if agent, _, ok := sdk.ParseExpertChatKey(key); ok {
		from = sdk.Agent(agent, "Agent "+strings.TrimPrefix(agent, "agent"))
	}
	return sdk.NewMessage("sdktest-out-"+newKey(), key, from, &pb.Content{Text: text})
}

// delivered polls the driver until the platform's texts satisfy ok; it returns the last texts.
func (k *kit) delivered(ctx context.Context, conv string, ok func([]string) bool) ([]string, error) {
	var texts []string
	err := poll(ctx, func() (bool, error) {
		got, err := k.opts.Driver.Delivered(ctx, k.addr, conv)
		if err != nil {
			return false, err
		}
		texts = got
		return ok(got), nil
	})
	return texts, err
}

// checkOutbound: an outbound message is acked OK once the platform has it.
func (k *kit) checkOutbound(t *testing.T) {
	k.alive(t)
	ctx := k.ctx(t)
	conv, key := k.open(t, ctx)
	text := "sdktest outbound " + newKey()[:8]
	ev := outbound(key, text)
	if err := k.stream.deliver(ev); err != nil {
		t.Fatalf("send outbound event: %v", err)
	}
	if err := k.stream.waitAcks(ctx, ev.GetId(), 1); err != nil {
		t.Fatal(err)
	}
	if got, err := k.delivered(ctx, conv, func(got []string) bool { return slices.Contains(got, text) }); err != nil {
		t.Fatalf("the plugin acked event %s but the platform never showed %q: %v (Driver.Delivered: %q)", ev.GetId(), text, err, got)
	}
}

// checkOutboundOnce: the hub resends an event it has no ack for; the event id makes the second
// delivery a no-op on the platform.
func (k *kit) checkOutboundOnce(t *testing.T) {
	k.alive(t)
	ctx := k.ctx(t)
	conv, key := k.open(t, ctx)
	text := "sdktest once " + newKey()[:8]
	ev := outbound(key, text)
	for n := 1; n <= 2; n++ {
		if err := k.stream.deliver(ev); err != nil {
			t.Fatalf("send outbound event (time %d): %v", n, err)
		}
		if err := k.stream.waitAcks(ctx, ev.GetId(), n); err != nil {
			t.Fatalf("event sent %d times: %v", n, err)
		}
	}
	got, err := k.delivered(ctx, conv, func(got []string) bool { return slices.Contains(got, text) })
	if err != nil {
		t.Fatalf("the platform never showed %q: %v (Driver.Delivered: %q)", text, err, got)
	}
	if n := count(got, text); n != 1 {
		t.Errorf("the hub sent event %s twice and the platform shows %q %d times: use the event id as the idempotency key", ev.GetId(), text, n)
	}
}

// checkOrder: the messages of one conversation reach the platform in the order the hub sent them.
func (k *kit) checkOrder(t *testing.T) {
	k.alive(t)
	const n = 20
	ctx := k.ctx(t)
	conv, key := k.open(t, ctx)
	tag := newKey()[:8]
	want := make([]string, n)
	events := make([]*pb.Event, n)
	for i := range n {
		want[i] = fmt.Sprintf("sdktest order %s %02d/%d", tag, i+1, n)
		events[i] = outbound(key, want[i])
		if err := k.stream.deliver(events[i]); err != nil {
			t.Fatalf("send outbound event %d: %v", i+1, err)
		}
	}
	for i, ev := range events {
		if err := k.stream.waitAcks(ctx, ev.GetId(), 1); err != nil {
			t.Fatalf("message %d of %d: %v", i+1, n, err)
		}
	}
	mine := func(got []string) []string {
		return slices.DeleteFunc(slices.Clone(got), func(s string) bool { return !strings.HasPrefix(s, "sdktest order "+tag) })
	}
	got, err := k.delivered(ctx, conv, func(got []string) bool { return len(mine(got)) >= n })
	if err != nil {
		t.Fatalf("the platform shows %d of %d messages: %v", len(mine(got)), n, err)
	}
	if got := mine(got); !slices.Equal(got, want) {
		t.Errorf("the platform received the conversation's messages out of order or repeated:\n got  %q\n want %q", got, want)
	}
}

// checkRestart: an outbound event the plugin never acked (it crashed) is delivered by the next
// process when the hub resends it.
func (k *kit) checkRestart(t *testing.T) {
	k.alive(t)
	ctx := k.ctx(t)
	conv, key := k.open(t, ctx)
	text := "sdktest after restart " + newKey()[:8]
	ev := outbound(key, text)
	if err := k.stream.deliver(ev); err != nil {
		t.Fatalf("send outbound event: %v", err)
	}
	old := k.proc
	k.proc = nil
	if err := old.kill(ctx); err != nil {
		t.Fatal(err)
	}
	k.stream.close()
	k.stream = nil
	if err := k.start(); err != nil {
		t.Fatalf("start a fresh plugin process after the crash: %v", err)
	}
	if err := k.configure(ctx); err != nil {
		t.Fatalf("fresh process: %v", err)
	}
	if err := k.stream.deliver(ev); err != nil {
		t.Fatalf("resend outbound event: %v", err)
	}
	// The driver is polled while the ack is awaited: a platform client may first have to reconnect
	// to the new process before the plugin can deliver.
	s := k.stream
	var texts []string
	err := poll(ctx, func() (bool, error) {
		got, err := k.opts.Driver.Delivered(ctx, k.addr, conv)
		if err != nil {
			return false, err
		}
		texts = got
		s.mu.Lock()
		acks := s.acksFor(ev.GetId())
		s.mu.Unlock()
		return len(acks) > 0 && slices.Contains(got, text), nil
	})
	s.mu.Lock()
	acks := s.acksFor(ev.GetId())
	s.mu.Unlock()
	for _, a := range acks {
		if a.GetStatus() != pb.AckStatus_ACK_STATUS_OK {
			t.Fatalf("after the restart the plugin acked the resent event %s with %s (%q), want ACK_STATUS_OK", ev.GetId(), a.GetStatus(), a.GetReason())
		}
	}
	if err != nil {
		t.Fatalf("after SIGKILL and a fresh start, the resent event %s: acked %d times, platform shows %q (want %q): %v", ev.GetId(), len(acks), texts, text, err)
	}
}

// checkShutdown: when the hub stops the plugin, the process exits by itself, promptly.
func (k *kit) checkShutdown(t *testing.T) {
	k.alive(t)
	p := k.proc
	if k.stream != nil {
		k.stream.close()
		k.stream = nil
	}
	start := time.Now()
	killed := make(chan time.Duration, 1)
	go func() {
		p.client.Kill()
		killed <- time.Since(start)
	}()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(shutdownWait))
	defer cancel()
	if err := poll(ctx, func() (bool, error) { return p.client.Exited(), nil }); err != nil {
		t.Fatalf("plugin process %d still runs %s after the hub stopped it", p.pid, shutdownWait)
	}
	select {
	case took := <-killed:
		if took >= shutdownGrace {
			t.Errorf("plugin process %d did not exit within go-plugin's %s grace and was killed after %s: Run must return when its context ends", p.pid, shutdownGrace, took.Round(time.Millisecond))
		}
	case <-time.After(k.opts.Timeout):
		t.Errorf("go-plugin's Kill still waits %s after plugin process %d exited: something the plugin started holds its output open", k.opts.Timeout, p.pid)
	}
}

func fieldErrors(errs []*pb.FieldError) string {
	parts := make([]string, len(errs))
	for i, fe := range errs {
		parts[i] = fmt.Sprintf("%s: %s", fe.GetPath(), fe.GetMessage())
	}
	return strings.Join(parts, "; ")
}

func count(texts []string, text string) int {
	n := 0
	for _, s := range texts {
		if s == text {
			n++
		}
	}
	return n
}
