package sdktest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// hostStream is the hub's end of one Connect stream. It records every frame the plugin sends and
// acknowledges inbound events at once, except those hold picks: a check acks those itself.
type hostStream struct {
	proc   *proc
	cs     pb.Plugin_ConnectClient
	cancel context.CancelFunc
	hold   func(*pb.Event) bool
	sendMu sync.Mutex
	done   chan struct{}

	mu     sync.Mutex
	events []*pb.Event
	acks   []*pb.Ack
	pongs  map[uint64]*pb.Pong
	err    error         // why the stream ended
	news   chan struct{} // closed and replaced whenever a frame arrives or the stream ends
}

func openStream(p *proc, hold func(*pb.Event) bool) (*hostStream, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cs, err := p.rpc.Connect(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("open the Connect stream: %w", err)
	}
	s := &hostStream{proc: p, cs: cs, cancel: cancel, hold: hold, done: make(chan struct{}), pongs: map[uint64]*pb.Pong{}, news: make(chan struct{})}
	go s.receive()
	return s, nil
}

// close drops the stream the way a hub that lost its connection does, and waits for the receiver.
func (s *hostStream) close() {
	s.cancel()
	<-s.done
}

func (s *hostStream) receive() {
	defer close(s.done)
	for {
		f, err := s.cs.Recv()
		if err != nil {
			s.update(func() { s.err = err })
			return
		}
		switch f := f.Frame.(type) {
		case *pb.PluginFrame_Event:
			s.update(func() { s.events = append(s.events, f.Event) })
			if s.hold == nil || !s.hold(f.Event) {
				_ = s.ack(f.Event.GetId())
			}
		case *pb.PluginFrame_Ack:
			s.update(func() { s.acks = append(s.acks, f.Ack) })
		case *pb.PluginFrame_Pong:
			s.update(func() { s.pongs[f.Pong.GetNonce()] = f.Pong })
		}
	}
}

func (s *hostStream) update(fn func()) {
	s.mu.Lock()
	fn()
	close(s.news)
	s.news = make(chan struct{})
	s.mu.Unlock()
}

func (s *hostStream) send(f *pb.HostFrame) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.cs.Send(f)
}

// ack tells the plugin the hub stored its event.
func (s *hostStream) ack(id string) error {
	return s.send(&pb.HostFrame{Frame: &pb.HostFrame_Ack{Ack: &pb.Ack{EventId: id, Status: pb.AckStatus_ACK_STATUS_OK}}})
}

// deliver sends an outbound event, as the hub's outbox pump does.
func (s *hostStream) deliver(ev *pb.Event) error {
	return s.send(&pb.HostFrame{Frame: &pb.HostFrame_Event{Event: ev}})
}

// waitFor evaluates cond under the stream's lock after every frame until it holds, the stream
// ends or ctx ends.
func (s *hostStream) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, news, err := cond(), s.news, s.err
		s.mu.Unlock()
		if ok {
			return nil
		}
		if err != nil {
			return s.ended(err)
		}
		select {
		case <-news:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ended explains why the stream ended: most often the plugin process exited.
func (s *hostStream) ended(err error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if poll(ctx, func() (bool, error) { return s.proc.client.Exited(), nil }) == nil {
		return fmt.Errorf("plugin process %d has exited (its log follows the checks)", s.proc.pid)
	}
	return fmt.Errorf("the plugin ended the event stream: %w", err)
}

// ping sends a liveness probe and waits for its Pong. The SDK resends unacked events as soon as a
// stream attaches, before it reads any frame, so a Pong on a fresh stream also marks the end of
// the resends.
func (s *hostStream) ping(ctx context.Context, nonce uint64) (*pb.Pong, error) {
	if err := s.send(&pb.HostFrame{Frame: &pb.HostFrame_Ping{Ping: &pb.Ping{Nonce: nonce}}}); err != nil {
		return nil, fmt.Errorf("send Ping: %w", err)
	}
	var pong *pb.Pong
	err := s.waitFor(ctx, func() bool { pong = s.pongs[nonce]; return pong != nil })
	if err != nil {
		return nil, fmt.Errorf("no Pong with nonce %d: %w", nonce, err)
	}
	return pong, nil
}

// message is the first inbound message event with this text.
func (s *hostStream) message(text string) *pb.Event {
	for _, ev := range s.events {
		if ev.GetMessage().GetContent().GetText() == text {
			return ev
		}
	}
	return nil
}

func (s *hostStream) countEvents(id string) int {
	n := 0
	for _, ev := range s.events {
		if ev.GetId() == id {
			n++
		}
	}
	return n
}

// acksFor lists the plugin's acks for one outbound event, in order.
func (s *hostStream) acksFor(id string) []*pb.Ack {
	var out []*pb.Ack
	for _, a := range s.acks {
		if a.GetEventId() == id {
			out = append(out, a)
		}
	}
	return out
}

// waitAcks waits until the plugin acked event id n times; every ack must be OK.
func (s *hostStream) waitAcks(ctx context.Context, id string, n int) error {
	var acks []*pb.Ack
	err := s.waitFor(ctx, func() bool { acks = s.acksFor(id); return len(acks) >= n })
	for _, a := range acks {
		if a.GetStatus() != pb.AckStatus_ACK_STATUS_OK {
			return fmt.Errorf("the plugin acked event %s with %s (%q), want ACK_STATUS_OK", id, a.GetStatus(), a.GetReason())
		}
	}
	if err != nil {
		return fmt.Errorf("%d of %d acks for event %s: %w", len(acks), n, id, err)
	}
	return nil
}

// summary names the events received so far, for failure messages.
func (s *hostStream) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == 0 {
		return "no events"
	}
	parts := make([]string, len(s.events))
	for i, ev := range s.events {
		parts[i] = fmt.Sprintf("%s %s %q", ev.GetId(), kindOf(ev), ev.GetMessage().GetContent().GetText())
	}
	return strings.Join(parts, "; ")
}

func kindOf(ev *pb.Event) string {
	switch ev.GetPayload().(type) {
	case *pb.Event_ConversationStarted:
		return "conversation_started"
	case *pb.Event_Message:
		return "message"
	case nil:
		return "empty"
	default:
		return fmt.Sprintf("%T", ev.GetPayload())
	}
}

// poll calls fn until it reports done, fails, or ctx ends; between calls it waits a short,
// growing interval.
func poll(ctx context.Context, fn func() (bool, error)) error {
	wait := 10 * time.Millisecond
	var last error
	for {
		ok, err := fn()
		if ok {
			return nil
		}
		last = err
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}
