package pluginhost

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

const (
	// maxInflight bounds outbound events sent and not yet acknowledged on one stream.
	maxInflight = 4096
	// pumpBatch is how many outbox rows one read fetches.
	pumpBatch = 256
	// maxStatSeries bounds the distinct (name, reason) rejection series one instance can create.
	maxStatSeries = 64
)

// session is one live Connect stream with a started plugin process.
type session struct {
	in     *instance
	src    Source
	stream pb.Plugin_ConnectClient
	sendMu sync.Mutex
	errc   chan error
	serial *serial
	acks   chan *pb.Ack

	mu        sync.Mutex
	inflight  map[string]sent
	cursor    int64
	draining  bool
	idle      chan struct{} // closed when draining and nothing is in flight
	pingSent  map[uint64]time.Time
	lastPong  time.Time
	nonce     uint64
	statNames map[[2]string]bool
}

type sent struct {
	outboxID int64
	kind     string
	stored   time.Time // when the outbox row was written
}

func newSession(in *instance, src Source, stream pb.Plugin_ConnectClient) *session {
	return &session{
		in:        in,
		src:       src,
		stream:    stream,
		errc:      make(chan error, 4),
		serial:    newSerial(),
		acks:      make(chan *pb.Ack, 1024),
		inflight:  map[string]sent{},
		pingSent:  map[uint64]time.Time{},
		lastPong:  time.Now(),
		statNames: map[[2]string]bool{},
	}
}

func (s *session) fail(err error) {
	select {
	case s.errc <- err:
	default:
	}
}

func (s *session) send(f *pb.HostFrame) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	return s.stream.Send(f)
}

// serve runs the stream until it breaks or ctx ends.
func (s *session) serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.receive(ctx)
	go s.pump(ctx)
	go s.probe(ctx)
	go s.settle(ctx)
	select {
	case err := <-s.errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) receive(ctx context.Context) {
	for {
		f, err := s.stream.Recv()
		if err != nil {
			s.fail(fmt.Errorf("event stream closed: %w", err))
			return
		}
		switch f := f.Frame.(type) {
		case *pb.PluginFrame_Event:
			s.inbound(ctx, f.Event)
		case *pb.PluginFrame_Ack:
			select {
			case s.acks <- f.Ack:
			case <-ctx.Done():
				return
			}
		case *pb.PluginFrame_Pong:
			s.pong(f.Pong)
		case *pb.PluginFrame_Stat:
			s.stat(f.Stat)
		case *pb.PluginFrame_CapacityQuery:
			q := f.CapacityQuery
			answer := &pb.CapacityAnswer{RequestId: q.RequestId}
			ok, err := s.in.host.opts.Handler.HasCapacity(s.src, q.Queue)
			if err != nil {
				answer.Error = err.Error()
			}
			answer.HasCapacity = ok
			_ = s.send(&pb.HostFrame{Frame: &pb.HostFrame_CapacityAnswer{CapacityAnswer: answer}})
		}
	}
}

// inbound stores one plugin event and acknowledges it after the commit. Events of one
// conversation are stored in the order they arrived; conversations proceed in parallel and
// share group commits.
func (s *session) inbound(ctx context.Context, ev *pb.Event) {
	m := s.in.host.metrics
	kind := eventKind(ev)
	m.events.WithLabelValues(s.src.Instance, s.src.Plugin, "in", kind).Inc()
	if ev.GetId() == "" {
		_ = s.send(hostAck("", pb.AckStatus_ACK_STATUS_REJECTED, "event has no id"))
		return
	}
	if s.in.host.opts.Handler.Ephemeral(s.src, ev) {
		_ = s.send(hostAck(ev.Id, pb.AckStatus_ACK_STATUS_OK, ""))
		return
	}
	s.serial.do(ev.Conversation, func() {
		status, reason := s.store(ctx, ev)
		if status == pb.AckStatus_ACK_STATUS_OK && kind == "message" {
			m.messages.WithLabelValues(s.src.Instance, s.src.Plugin, "in").Inc()
			if ev.Time != nil {
				m.delivery.WithLabelValues(s.src.Instance, s.src.Plugin, "inbound").Observe(since(ev.Time.AsTime()))
			}
		}
		_ = s.send(hostAck(ev.Id, status, reason))
	})
}

func (s *session) store(ctx context.Context, ev *pb.Event) (pb.AckStatus, string) {
	var (
		after func()
		dup   bool
	)
	h := s.in.host
	err := h.opts.Store.Write(ctx, func(tx store.Tx) error {
		fresh, err := tx.Seen(s.src.Tenant, s.src.Instance, ev.Id, time.Now())
		if err != nil {
			return err
		}
		if !fresh {
			dup = true
			return nil
		}
		after, err = h.opts.Handler.Apply(tx, s.src, ev)
		return err
	})
	if reason, ok := sdk.IsRejected(err); ok {
		s.in.log.Info("inbound event refused", "event", ev.Id, "conversation", ev.Conversation, "reason", reason)
		return pb.AckStatus_ACK_STATUS_REJECTED, reason
	}
	if err != nil {
		s.in.log.Error("inbound event not stored; the plugin will resend it", "event", ev.Id, "error", err)
		return pb.AckStatus_ACK_STATUS_RETRY, "the hub could not store the event; send it again"
	}
	if dup {
		h.metrics.duplicates.WithLabelValues(s.src.Instance, s.src.Plugin).Inc()
		return pb.AckStatus_ACK_STATUS_OK, ""
	}
	if after != nil {
		after()
	}
	return pb.AckStatus_ACK_STATUS_OK, ""
}

// pump sends outbox events in order and keeps at most maxInflight unacknowledged.
func (s *session) pump(ctx context.Context) {
	h := s.in.host
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if !s.isDraining() {
			if err := s.sendPending(ctx); err != nil {
				if ctx.Err() == nil {
					s.fail(err)
				}
				return
			}
		}
		if depth, err := h.opts.Store.OutboxDepth(ctx, s.src.Tenant, s.src.Instance); err == nil {
			h.metrics.outboxDepth.WithLabelValues(s.in.labels()...).Set(float64(depth))
			s.in.mu.Lock()
			s.in.st.OutboxDepth = depth
			s.in.mu.Unlock()
		}
		select {
		case <-s.in.wake:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

func (s *session) sendPending(ctx context.Context) error {
	h := s.in.host
	for {
		s.mu.Lock()
		room := maxInflight - len(s.inflight)
		cursor := s.cursor
		s.mu.Unlock()
		if room <= 0 {
			return nil
		}
		rows, err := h.opts.Store.PendingOutbox(ctx, s.src.Tenant, s.src.Instance, cursor, min(room, pumpBatch))
		if err != nil {
			s.in.log.Error("read outbox", "error", err)
			return nil // try again on the next tick
		}
		for _, row := range rows {
			var ev pb.Event
			if err := proto.Unmarshal(row.Payload, &ev); err != nil {
				s.in.log.Error("outbox event is unreadable; dropping it", "event", row.EventID, "error", err)
				s.acks <- &pb.Ack{EventId: row.EventID, Status: pb.AckStatus_ACK_STATUS_REJECTED, Reason: "unreadable outbox event"}
				continue
			}
			s.mu.Lock()
			s.cursor = row.ID
			_, again := s.inflight[row.EventID]
			if !again {
				s.inflight[row.EventID] = sent{outboxID: row.ID, kind: eventKind(&ev), stored: row.CreatedAt}
			}
			s.mu.Unlock()
			if again {
				continue
			}
			if err := s.send(&pb.HostFrame{Frame: &pb.HostFrame_Event{Event: &ev}}); err != nil {
				return fmt.Errorf("send outbound event: %w", err)
			}
		}
		if len(rows) < min(room, pumpBatch) {
			return nil
		}
	}
}

// settle records plugin acks in the outbox, many per transaction.
func (s *session) settle(ctx context.Context) {
	h := s.in.host
	for {
		var batch []*pb.Ack
		select {
		case a := <-s.acks:
			batch = append(batch, a)
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < pumpBatch {
			select {
			case a := <-s.acks:
				batch = append(batch, a)
			default:
				break more
			}
		}
		var retry []*pb.Ack
		now := time.Now()
		err := h.opts.Store.Write(ctx, func(tx store.Tx) error {
			retry = retry[:0]
			for _, a := range batch {
				var state store.OutboxState
				switch a.Status {
				case pb.AckStatus_ACK_STATUS_OK:
					state = store.OutboxDelivered
				case pb.AckStatus_ACK_STATUS_REJECTED:
					state = store.OutboxRejected
				default:
					retry = append(retry, a)
					continue
				}
				if err := tx.SettleOutbox(s.src.Tenant, s.src.Instance, a.EventId, state, a.Reason, now); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if ctx.Err() == nil {
				s.in.log.Error("record plugin acks", "error", err)
				s.fail(fmt.Errorf("record plugin acks: %w", err))
			}
			return
		}
		s.acked(batch, retry)
	}
}

func (s *session) acked(batch, retry []*pb.Ack) {
	h := s.in.host
	s.mu.Lock()
	for _, a := range retry {
		if snt, ok := s.inflight[a.EventId]; ok && snt.outboxID <= s.cursor {
			s.cursor = snt.outboxID - 1 // the pump reads it again
		}
	}
	sents := make([]sent, len(batch))
	for i, a := range batch {
		sents[i] = s.inflight[a.EventId]
		delete(s.inflight, a.EventId)
	}
	if s.draining && len(s.inflight) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
	for i, a := range batch {
		switch a.Status {
		case pb.AckStatus_ACK_STATUS_OK:
			if sents[i].kind == "message" {
				h.metrics.messages.WithLabelValues(s.src.Instance, s.src.Plugin, "out").Inc()
				h.metrics.delivery.WithLabelValues(s.src.Instance, s.src.Plugin, "outbound").Observe(since(sents[i].stored))
			}
		case pb.AckStatus_ACK_STATUS_REJECTED:
			s.in.log.Warn("plugin refused an outbound event", "event", a.EventId, "reason", a.Reason)
			h.opts.Handler.Settled(s.src, a.EventId, a.Status, a.Reason)
		}
	}
	s.in.notify()
}

// probe pings the plugin and fails the session when it stops answering: a hung plugin is
// restarted like a crashed one.
func (s *session) probe(ctx context.Context) {
	opts := s.in.host.opts
	tick := time.NewTicker(opts.PingInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		silent := time.Since(s.lastPong)
		s.nonce++
		nonce := s.nonce
		s.pingSent[nonce] = time.Now()
		s.mu.Unlock()
		if silent > opts.PingTimeout {
			s.fail(fmt.Errorf("plugin did not answer the liveness probe for %s: hung", silent.Round(time.Millisecond)))
			return
		}
		if err := s.send(&pb.HostFrame{Frame: &pb.HostFrame_Ping{Ping: &pb.Ping{Nonce: nonce}}}); err != nil {
			s.fail(fmt.Errorf("send liveness probe: %w", err))
			return
		}
	}
}

func (s *session) pong(p *pb.Pong) {
	s.mu.Lock()
	sentAt, ok := s.pingSent[p.Nonce]
	delete(s.pingSent, p.Nonce)
	s.lastPong = time.Now()
	s.mu.Unlock()
	if ok {
		s.in.host.metrics.roundTrip.WithLabelValues(s.in.labels()...).Observe(time.Since(sentAt).Seconds())
	}
	s.in.mu.Lock()
	s.in.st.Problem = p.Problem
	s.in.mu.Unlock()
}

func (s *session) stat(st *pb.Stat) {
	key := [2]string{st.Name, st.Reason}
	s.mu.Lock()
	if !s.statNames[key] && len(s.statNames) >= maxStatSeries {
		key = [2]string{"other", "other"}
	}
	s.statNames[key] = true
	s.mu.Unlock()
	s.in.host.metrics.rejections.WithLabelValues(s.src.Instance, s.src.Plugin, key[0], key[1]).Add(float64(st.Delta))
}

func (s *session) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

func (s *session) drain(ctx context.Context) {
	s.mu.Lock()
	s.draining = true
	if len(s.inflight) == 0 {
		s.mu.Unlock()
		return
	}
	idle := make(chan struct{})
	s.idle = idle
	s.mu.Unlock()
	select {
	case <-idle:
	case <-ctx.Done():
		s.in.log.Warn("stopping with outbound events unacknowledged; they are resent at the next start")
	}
}

func hostAck(id string, status pb.AckStatus, reason string) *pb.HostFrame {
	return &pb.HostFrame{Frame: &pb.HostFrame_Ack{Ack: &pb.Ack{EventId: id, Status: status, Reason: reason}}}
}

// eventKind is a bounded name for an event's payload, for metrics and logs.
func eventKind(ev *pb.Event) string {
	switch ev.GetPayload().(type) {
	case *pb.Event_ConversationStarted:
		return "conversation_started"
	case *pb.Event_Message:
		return "message"
	case *pb.Event_Typing:
		return "typing"
	case *pb.Event_ConversationEnded:
		return "conversation_ended"
	case *pb.Event_DeliveryReceipt:
		return "delivery_receipt"
	case *pb.Event_Presence:
		return "presence"
	case *pb.Event_ConversationAssigned:
		return "conversation_assigned"
	case *pb.Event_ConversationTransferred:
		return "conversation_transferred"
	case *pb.Event_QueueStatus:
		return "queue_status"
	default:
		return "unknown"
	}
}

// serial runs functions one after another per key, and different keys in parallel.
type serial struct {
	mu     sync.Mutex
	queues map[string][]func()
}

func newSerial() *serial { return &serial{queues: map[string][]func(){}} }

func (q *serial) do(key string, fn func()) {
	q.mu.Lock()
	waiting, running := q.queues[key]
	q.queues[key] = append(waiting, fn)
	q.mu.Unlock()
	if running {
		return
	}
	go func() {
		for {
			q.mu.Lock()
			fns := q.queues[key]
			if len(fns) == 0 {
				delete(q.queues, key)
				q.mu.Unlock()
				return
			}
			next := fns[0]
			q.queues[key] = fns[1:]
			q.mu.Unlock()
			next()
		}
	}()
}
