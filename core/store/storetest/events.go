package storetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/switchboardhq/switchboard/core/store"
)

func seen(e *env, tenant, source, eventID string) bool {
	e.t.Helper()
	var fresh bool
	e.write(func(tx store.Tx) (err error) {
		fresh, err = tx.Seen(tenant, source, eventID, at(0))
		return err
	})
	return fresh
}

func testSeen(t *testing.T, e *env) {
	if !seen(e, "acme", "sms-us", "ev-1") {
		t.Errorf("Seen: a new event was not fresh")
	}
	if seen(e, "acme", "sms-us", "ev-1") {
		t.Errorf("Seen: a repeated event was fresh")
	}
	if !seen(e, "acme", "console", "ev-1") {
		t.Errorf("Seen: the same event id from another source was not fresh")
	}
	if !seen(e, "globex", "sms-us", "ev-1") {
		t.Errorf("Seen: the same event in another tenant was not fresh")
	}
	e.write(func(tx store.Tx) error {
		first, err := tx.Seen("acme", "sms-us", "ev-2", at(1))
		if err != nil {
			return err
		}
		second, err := tx.Seen("acme", "sms-us", "ev-2", at(1))
		if !first || second {
			t.Errorf("Seen twice in one Write: got %v then %v, want true then false", first, second)
		}
		return err
	})

	// An event is only seen once the Write that recorded it committed: a failed handler leaves it
	// to be handled again.
	errHandler := errors.New("handler failed")
	err := e.writeErr(func(tx store.Tx) error {
		if _, err := tx.Seen("acme", "sms-us", "ev-3", at(2)); err != nil {
			return err
		}
		return errHandler
	})
	isErr(t, "failed handler", err, errHandler)
	if !seen(e, "acme", "sms-us", "ev-3") {
		t.Errorf("Seen: an event recorded by a failed Write was not fresh again")
	}
}

func enqueue(e *env, events ...store.OutboxEvent) []store.OutboxEvent {
	e.t.Helper()
	out := make([]store.OutboxEvent, len(events))
	e.write(func(tx store.Tx) error {
		for i, ev := range events {
			var err error
			if out[i], err = tx.EnqueueOutbox(ev); err != nil {
				return err
			}
		}
		return nil
	})
	return out
}

func ids(events []store.OutboxEvent) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.ID
	}
	return out
}

func testOutbox(t *testing.T, e *env) {
	const ten = "acme"
	payload := []byte{0x0a, 0x00, 0xff, 'h', 'i'}
	first := enqueue(e, store.OutboxEvent{TenantID: ten, Instance: "sms-us", EventID: "out-1",
		ConversationID: "conv-1", Payload: payload, CreatedAt: at(0)})[0]
	want := store.OutboxEvent{TenantID: ten, ID: first.ID, Instance: "sms-us", EventID: "out-1",
		ConversationID: "conv-1", Payload: payload, State: store.OutboxPending, CreatedAt: at(0)}
	equal(t, "EnqueueOutbox", first, want)
	more := enqueue(e,
		store.OutboxEvent{TenantID: ten, Instance: "slack", EventID: "out-2", Payload: []byte("b")},
		store.OutboxEvent{TenantID: "globex", Instance: "sms-us", EventID: "out-1", Payload: []byte("c")},
		store.OutboxEvent{TenantID: ten, Instance: "sms-us", EventID: "out-3", Payload: []byte("d")},
	)
	all := append([]store.OutboxEvent{first}, more...)
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Errorf("outbox ids do not grow in enqueue order: %v", ids(all))
			break
		}
	}

	pending, err := e.s.PendingOutbox(e.ctx, ten, "sms-us", 0, 100)
	noErr(t, "PendingOutbox", err)
	equal(t, "PendingOutbox ids", ids(pending), []int64{first.ID, more[2].ID})
	if len(pending) == 2 {
		equal(t, "first pending event", pending[0], want)
	}
	depth, err := e.s.OutboxDepth(e.ctx, ten, "sms-us")
	if err != nil || depth != 2 {
		t.Errorf("OutboxDepth: got %d, %v; want 2", depth, err)
	}

	err = e.writeErr(func(tx store.Tx) error {
		_, err := tx.EnqueueOutbox(store.OutboxEvent{TenantID: ten, Instance: "sms-us", EventID: "out-1", Payload: []byte("x")})
		return err
	})
	isErr(t, "enqueueing an event id twice for an instance", err, store.ErrConflict)

	// Settling is idempotent and only ever touches the named instance's event.
	e.write(func(tx store.Tx) error {
		return tx.SettleOutbox(ten, "sms-us", "out-1", store.OutboxDelivered, "", at(5))
	})
	e.write(func(tx store.Tx) error {
		if err := tx.SettleOutbox(ten, "sms-us", "out-1", store.OutboxRejected, "late ack", at(6)); err != nil {
			return err
		}
		if err := tx.SettleOutbox(ten, "sms-us", "no-such-event", store.OutboxDelivered, "", at(6)); err != nil {
			return err
		}
		return tx.SettleOutbox(ten, "slack", "out-3", store.OutboxDelivered, "", at(6))
	})
	pending, err = e.s.PendingOutbox(e.ctx, ten, "sms-us", 0, 100)
	noErr(t, "PendingOutbox", err)
	equal(t, "PendingOutbox after settling", ids(pending), []int64{more[2].ID})
	depth, err = e.s.OutboxDepth(e.ctx, ten, "sms-us")
	if err != nil || depth != 1 {
		t.Errorf("OutboxDepth after settling: got %d, %v; want 1", depth, err)
	}
	e.write(func(tx store.Tx) error {
		return tx.SettleOutbox(ten, "sms-us", "out-3", store.OutboxRejected, "number blocked", at(7))
	})
	pending, err = e.s.PendingOutbox(e.ctx, ten, "sms-us", 0, 100)
	empty(t, "PendingOutbox after rejecting", pending, err)
	depth, err = e.s.OutboxDepth(e.ctx, ten, "sms-us")
	if err != nil || depth != 0 {
		t.Errorf("OutboxDepth after rejecting: got %d, %v; want 0", depth, err)
	}

	// The other instance and the other tenant keep theirs.
	pending, err = e.s.PendingOutbox(e.ctx, ten, "slack", 0, 100)
	if err != nil || len(pending) != 1 || !bytes.Equal(pending[0].Payload, []byte("b")) {
		t.Errorf("PendingOutbox(slack): got %+v, %v", pending, err)
	}
	pending, err = e.s.PendingOutbox(e.ctx, "globex", "sms-us", 0, 100)
	if err != nil || len(pending) != 1 || !bytes.Equal(pending[0].Payload, []byte("c")) {
		t.Errorf("PendingOutbox(globex): got %+v, %v", pending, err)
	}
}

func testOutboxPaging(t *testing.T, e *env) {
	const ten, n = "acme", 23
	events := make([]store.OutboxEvent, 0, 2*n)
	for i := range n {
		events = append(events,
			store.OutboxEvent{TenantID: ten, Instance: "matrix", EventID: name("m", i), Payload: []byte{byte(i)}},
			store.OutboxEvent{TenantID: ten, Instance: "slack", EventID: name("s", i), Payload: []byte{byte(i)}})
	}
	stored := enqueue(e, events...)
	var want []int64
	for _, ev := range stored {
		if ev.Instance == "matrix" {
			want = append(want, ev.ID)
		}
	}
	// Deliver a few in the middle: paging skips them.
	e.write(func(tx store.Tx) error {
		for _, i := range []int{3, 4, 10} {
			if err := tx.SettleOutbox(ten, "matrix", name("m", i), store.OutboxDelivered, "", at(1)); err != nil {
				return err
			}
		}
		return nil
	})
	want = append(append(want[:3:3], want[5:10]...), want[11:]...)

	var got []int64
	after := int64(0)
	for {
		page, err := e.s.PendingOutbox(e.ctx, ten, "matrix", after, 7)
		noErr(t, "PendingOutbox", err)
		if len(page) > 7 {
			t.Fatalf("PendingOutbox with limit 7 returned %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		got = append(got, ids(page)...)
		after = page[len(page)-1].ID
	}
	equal(t, "paged outbox ids", got, want)
	depth, err := e.s.OutboxDepth(e.ctx, ten, "matrix")
	if err != nil || depth != len(want) {
		t.Errorf("OutboxDepth: got %d, %v; want %d", depth, err, len(want))
	}
}

func testPrune(t *testing.T, e *env) {
	for i, id := range []string{"old-1", "old-2", "new-1"} {
		e.write(func(tx store.Tx) error {
			_, err := tx.Seen([]string{"acme", "globex", "acme"}[i], "sms-us", id, at(i*10))
			return err
		})
	}
	enqueue(e,
		store.OutboxEvent{TenantID: "acme", Instance: "sms-us", EventID: "o1", Payload: []byte("a")},
		store.OutboxEvent{TenantID: "globex", Instance: "sms-us", EventID: "o2", Payload: []byte("b")},
		store.OutboxEvent{TenantID: "acme", Instance: "sms-us", EventID: "o3", Payload: []byte("c")},
		store.OutboxEvent{TenantID: "acme", Instance: "sms-us", EventID: "o4", Payload: []byte("d")},
	)
	e.write(func(tx store.Tx) error {
		if err := tx.SettleOutbox("acme", "sms-us", "o1", store.OutboxDelivered, "", at(1)); err != nil {
			return err
		}
		if err := tx.SettleOutbox("globex", "sms-us", "o2", store.OutboxRejected, "no", at(2)); err != nil {
			return err
		}
		return tx.SettleOutbox("acme", "sms-us", "o3", store.OutboxDelivered, "", at(30))
	})
	var seenN, outN int
	e.write(func(tx store.Tx) (err error) {
		if seenN, err = tx.PruneSeen(at(15)); err != nil {
			return err
		}
		outN, err = tx.PruneOutbox(at(15))
		return err
	})
	equal(t, "PruneSeen removed", seenN, 2)
	equal(t, "PruneOutbox removed", outN, 2)
	// Pruned ids are fresh again; kept ones are not.
	if !seen(e, "acme", "sms-us", "old-1") || seen(e, "acme", "sms-us", "new-1") {
		t.Errorf("PruneSeen removed the wrong records")
	}
	// A pending event is never pruned, however old.
	depth, err := e.s.OutboxDepth(e.ctx, "acme", "sms-us")
	if err != nil || depth != 1 {
		t.Errorf("OutboxDepth after pruning: %d, %v; want the pending o4 only", depth, err)
	}
}
