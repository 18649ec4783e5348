package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// recentDelivered is how many delivered event ids the SDK remembers to answer resends at once.
const recentDelivered = 8192

// server is the plugin side of the contract: the gRPC service, the emit queue and the delivery
// workers.
type server struct {
	pb.UnimplementedPluginServer
	impl Plugin
	kind Kind
	log  *slog.Logger

	runCtx     context.Context
	runCancel  context.CancelFunc
	runDone    chan struct{}
	httpServer *http.Server
	stopOnce   sync.Once

	mu         sync.Mutex
	configured bool
	conn       *hostConn
	emitSeq    uint64
	pending    map[string]*pendingEmit
	workers    map[string]*worker
	inflight   map[string]bool
	delivered  *idRing
	queries    map[uint64]chan *pb.CapacityAnswer
	queryID    uint64
}

func newServer(p Plugin, kind Kind, log *slog.Logger) *server {
	ctx, cancel := context.WithCancel(context.Background())
	return &server{
		impl:      p,
		kind:      kind,
		log:       log,
		runCtx:    ctx,
		runCancel: cancel,
		runDone:   make(chan struct{}),
		pending:   map[string]*pendingEmit{},
		workers:   map[string]*worker{},
		inflight:  map[string]bool{},
		delivered: newIDRing(recentDelivered),
		queries:   map[uint64]chan *pb.CapacityAnswer{},
	}
}

// hostConn is one Connect stream; Send is serialized because gRPC streams allow one sender.
type hostConn struct {
	mu     sync.Mutex
	stream pb.Plugin_ConnectServer
}

func (c *hostConn) send(f *pb.PluginFrame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream.Send(f)
}

type pendingEmit struct {
	seq  uint64
	ev   *Event
	done chan struct{} // closed once ack is set
	ack  *pb.Ack
}

// Connect implements the gRPC service: the host's one stream for this instance.
func (s *server) Connect(stream pb.Plugin_ConnectServer) error {
	conn := &hostConn{stream: stream}
	s.attach(conn)
	defer s.detach(conn)
	for {
		f, err := stream.Recv()
		if err != nil {
			return nil
		}
		switch f := f.Frame.(type) {
		case *pb.HostFrame_Ack:
			s.settleEmit(f.Ack)
		case *pb.HostFrame_Event:
			s.dispatch(conn, f.Event)
		case *pb.HostFrame_CapacityAnswer:
			s.answer(f.CapacityAnswer)
		case *pb.HostFrame_Ping:
			if _, checks := s.impl.(HealthChecker); checks {
				go s.pong(conn, f.Ping.Nonce)
			} else {
				s.pong(conn, f.Ping.Nonce)
			}
		}
	}
}

// attach makes conn the current stream and resends every event still waiting for the host's ack,
// in the order they were first emitted.
func (s *server) attach(conn *hostConn) {
	s.mu.Lock()
	s.conn = conn
	waiting := make([]*pendingEmit, 0, len(s.pending))
	for _, p := range s.pending {
		waiting = append(waiting, p)
	}
	s.mu.Unlock()
	sort.Slice(waiting, func(i, j int) bool { return waiting[i].seq < waiting[j].seq })
	for _, p := range waiting {
		if err := conn.send(&pb.PluginFrame{Frame: &pb.PluginFrame_Event{Event: p.ev}}); err != nil {
			return
		}
	}
}

func (s *server) detach(conn *hostConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == conn {
		s.conn = nil
	}
}

func (s *server) current() *hostConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// Emit implements Host.
func (s *server) Emit(ctx context.Context, ev *Event) error {
	if ev.GetId() == "" {
		return errors.New("sdk: Emit needs an event id")
	}
	backoff := 50 * time.Millisecond
	for {
		p, created := s.register(ev)
		if created {
			s.sendPending(p)
		}
		select {
		case <-p.done:
		case <-ctx.Done():
			s.forget(p)
			return ctx.Err()
		}
		switch p.ack.Status {
		case pb.AckStatus_ACK_STATUS_OK:
			return nil
		case pb.AckStatus_ACK_STATUS_REJECTED:
			return &RejectedError{Reason: p.ack.Reason}
		}
		// The host could not store it now: send it again after a pause.
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// register returns the pending emit for ev's id, creating it when there is none; concurrent
// emitters of one id share it.
func (s *server) register(ev *Event) (*pendingEmit, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pending[ev.Id]; ok {
		return p, false
	}
	s.emitSeq++
	p := &pendingEmit{seq: s.emitSeq, ev: ev, done: make(chan struct{})}
	s.pending[ev.Id] = p
	return p, true
}

func (s *server) sendPending(p *pendingEmit) {
	conn := s.current()
	if conn == nil {
		return // attach resends it
	}
	// A failed send means the stream is gone; attach resends on the next one.
	_ = conn.send(&pb.PluginFrame{Frame: &pb.PluginFrame_Event{Event: p.ev}})
}

func (s *server) forget(p *pendingEmit) {
	s.mu.Lock()
	if s.pending[p.ev.Id] == p {
		delete(s.pending, p.ev.Id)
	}
	s.mu.Unlock()
}

func (s *server) settleEmit(ack *pb.Ack) {
	s.mu.Lock()
	p := s.pending[ack.EventId]
	delete(s.pending, ack.EventId)
	s.mu.Unlock()
	if p != nil {
		p.ack = ack
		close(p.done)
	}
}

// HasCapacity implements Host.
func (s *server) HasCapacity(ctx context.Context, queue string) (bool, error) {
	conn := s.current()
	if conn == nil {
		return false, errors.New("sdk: the hub is not connected")
	}
	s.mu.Lock()
	s.queryID++
	id := s.queryID
	ch := make(chan *pb.CapacityAnswer, 1)
	s.queries[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.queries, id)
		s.mu.Unlock()
	}()
	err := conn.send(&pb.PluginFrame{Frame: &pb.PluginFrame_CapacityQuery{CapacityQuery: &pb.CapacityQuery{RequestId: id, Queue: queue}}})
	if err != nil {
		return false, fmt.Errorf("sdk: ask the hub: %w", err)
	}
	select {
	case a := <-ch:
		if a.Error != "" {
			return false, errors.New(a.Error)
		}
		return a.HasCapacity, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (s *server) answer(a *pb.CapacityAnswer) {
	s.mu.Lock()
	ch := s.queries[a.RequestId]
	s.mu.Unlock()
	if ch != nil {
		ch <- a
	}
}

// Count implements Host.
func (s *server) Count(name, reason string) {
	conn := s.current()
	if conn == nil {
		return
	}
	_ = conn.send(&pb.PluginFrame{Frame: &pb.PluginFrame_Stat{Stat: &pb.Stat{Name: name, Reason: reason, Delta: 1}}})
}

// Logger implements Host.
func (s *server) Logger() *slog.Logger { return s.log }

func (s *server) pong(conn *hostConn, nonce uint64) {
	pong := &pb.Pong{Nonce: nonce}
	if hc, ok := s.impl.(HealthChecker); ok {
		ctx, cancel := context.WithTimeout(s.runCtx, 2*time.Second)
		if err := hc.Health(ctx); err != nil {
			pong.Problem = err.Error()
		}
		cancel()
	}
	_ = conn.send(&pb.PluginFrame{Frame: &pb.PluginFrame_Pong{Pong: pong}})
}

// worker delivers the events of one conversation in order.
type worker struct {
	queue []*Event
}

// dispatch queues an outbound event on its conversation's worker. A resend of an event the plugin
// already delivered is acknowledged at once; one still queued is dropped (its ack will follow).
func (s *server) dispatch(conn *hostConn, ev *Event) {
	s.mu.Lock()
	if !s.configured {
		s.mu.Unlock()
		_ = conn.send(ackFrame(ev.Id, pb.AckStatus_ACK_STATUS_RETRY, "plugin is not configured yet"))
		return
	}
	if s.delivered.has(ev.Id) {
		s.mu.Unlock()
		_ = conn.send(ackFrame(ev.Id, pb.AckStatus_ACK_STATUS_OK, ""))
		return
	}
	if s.inflight[ev.Id] {
		s.mu.Unlock()
		return
	}
	s.inflight[ev.Id] = true
	w := s.workers[ev.Conversation]
	if w != nil {
		w.queue = append(w.queue, ev)
		s.mu.Unlock()
		return
	}
	w = &worker{queue: []*Event{ev}}
	s.workers[ev.Conversation] = w
	s.mu.Unlock()
	go s.work(ev.Conversation, w)
}

func (s *server) work(key string, w *worker) {
	for {
		s.mu.Lock()
		if len(w.queue) == 0 {
			delete(s.workers, key)
			s.mu.Unlock()
			return
		}
		ev := w.queue[0]
		w.queue = w.queue[1:]
		s.mu.Unlock()

		status, reason, ok := s.deliver(ev)
		if !ok {
			return // shutting down; the host resends what was not acked
		}
		s.mu.Lock()
		delete(s.inflight, ev.Id)
		s.delivered.add(ev.Id)
		s.mu.Unlock()
		if conn := s.current(); conn != nil {
			_ = conn.send(ackFrame(ev.Id, status, reason))
		}
	}
}

// deliver calls the plugin's Deliver until it succeeds or refuses, backing off between failures.
func (s *server) deliver(ev *Event) (pb.AckStatus, string, bool) {
	backoff := 100 * time.Millisecond
	for {
		err := s.impl.Deliver(s.runCtx, ev)
		if err == nil {
			return pb.AckStatus_ACK_STATUS_OK, "", true
		}
		if reason, ok := IsRejected(err); ok {
			return pb.AckStatus_ACK_STATUS_REJECTED, reason, true
		}
		if s.runCtx.Err() != nil {
			return 0, "", false
		}
		s.log.Warn("delivery failed; retrying", "event", ev.Id, "conversation", ev.Conversation, "error", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.runCtx.Done():
			return 0, "", false
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func ackFrame(id string, status pb.AckStatus, reason string) *pb.PluginFrame {
	return &pb.PluginFrame{Frame: &pb.PluginFrame_Ack{Ack: &pb.Ack{EventId: id, Status: status, Reason: reason}}}
}

// idRing remembers the last n ids.
type idRing struct {
	ids  []string
	set  map[string]struct{}
	next int
}

func newIDRing(n int) *idRing {
	return &idRing{ids: make([]string, n), set: make(map[string]struct{}, n)}
}

func (r *idRing) has(id string) bool { _, ok := r.set[id]; return ok }

func (r *idRing) add(id string) {
	if _, ok := r.set[id]; ok {
		return
	}
	if old := r.ids[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ids[r.next] = id
	r.set[id] = struct{}{}
	r.next = (r.next + 1) % len(r.ids)
}
