package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// testReadsInsideWrite checks that a Write function reads its own uncommitted rows, and that they
// vanish with it when it fails.
func testReadsInsideWrite(t *testing.T, e *env) {
	const ten = "acme"
	errUndo := errors.New("undo")
	err := e.writeErr(func(tx store.Tx) error {
		if err := tx.UpsertTenant(store.Tenant{ID: ten, Name: "Acme"}); err != nil {
			return err
		}
		u, err := tx.UpsertUser(store.User{TenantID: ten, Username: "bob", Queues: []string{"q1"}})
		if err != nil {
			return err
		}
		c, err := tx.CreateCustomer(store.Customer{TenantID: ten, Email: "ann@x.test"})
		if err != nil {
			return err
		}
		conv, err := tx.CreateConversation(store.Conversation{TenantID: ten, Kind: store.KindCustomer,
			State: store.ConvQueued, Instance: "webchat-1", ExternalKey: "k", CustomerID: c.ID})
		if err != nil {
			return err
		}
		if _, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: conv.ID, EventID: "ev", Text: "hi"}); err != nil {
			return err
		}
		if _, err := tx.EnqueueOutbox(store.OutboxEvent{TenantID: ten, Instance: "webchat-1", EventID: "out", Payload: []byte("p")}); err != nil {
			return err
		}
		if err := tx.CreateSession(store.Session{TenantID: ten, TokenHash: "h", UserID: u.ID, ExpiresAt: at(1)}); err != nil {
			return err
		}

		ctx := e.ctx
		_, err = tx.Tenant(ctx, ten)
		okErr(t, "Tenant inside Write", err)
		got, err := tx.User(ctx, ten, u.ID)
		if err != nil || len(got.Queues) != 1 {
			t.Errorf("User inside Write: got %+v, %v", got, err)
		}
		_, err = tx.FindCustomer(ctx, ten, store.CustomerMatch{Email: "ANN@x.test"})
		okErr(t, "FindCustomer inside Write", err)
		_, err = tx.OpenConversationByKey(ctx, ten, "webchat-1", "k")
		okErr(t, "OpenConversationByKey inside Write", err)
		cv, err := tx.Conversation(ctx, ten, conv.ID)
		if err != nil || cv.LastSeq != 1 {
			t.Errorf("Conversation inside Write: got %+v, %v", cv, err)
		}
		msgs, err := tx.Messages(ctx, ten, conv.ID, 0, 10)
		if err != nil || len(msgs) != 1 {
			t.Errorf("Messages inside Write: got %+v, %v", msgs, err)
		}
		_, err = tx.MessageByEventID(ctx, ten, "ev")
		okErr(t, "MessageByEventID inside Write", err)
		depth, err := tx.OutboxDepth(ctx, ten, "webchat-1")
		if err != nil || depth != 1 {
			t.Errorf("OutboxDepth inside Write: got %d, %v", depth, err)
		}
		_, err = tx.Session(ctx, ten, "h")
		okErr(t, "Session inside Write", err)
		return errUndo
	})
	isErr(t, "Write", err, errUndo)

	_, err = e.s.Tenant(e.ctx, ten)
	isErr(t, "Tenant of a failed Write", err, store.ErrNotFound)
	users, err := e.s.Users(e.ctx, ten)
	empty(t, "Users of a failed Write", users, err)
	_, err = e.s.FindCustomer(e.ctx, ten, store.CustomerMatch{Email: "ann@x.test"})
	isErr(t, "FindCustomer of a failed Write", err, store.ErrNotFound)
	convs, err := e.s.OpenConversations(e.ctx, ten)
	empty(t, "OpenConversations of a failed Write", convs, err)
	depth, err := e.s.OutboxDepth(e.ctx, ten, "webchat-1")
	if err != nil || depth != 0 {
		t.Errorf("OutboxDepth of a failed Write: got %d, %v", depth, err)
	}
}

// testFailingWriteIsolated runs many concurrent Writes, so that they share group-commit batches,
// a third of them failing: each failure must undo exactly its own changes.
func testFailingWriteIsolated(t *testing.T, e *env) {
	const ten, n = "acme", 150
	createConversation(e, store.Conversation{TenantID: ten, ID: "shared", Kind: store.KindCustomer,
		State: store.ConvActive, Instance: "webchat-1", ExternalKey: "taken"})
	errBoom := errors.New("boom")
	errs := parallel(n, func(i int) error {
		return e.s.Write(e.ctx, func(tx store.Tx) error {
			if _, err := tx.CreateCustomer(store.Customer{TenantID: ten, ID: name("cust", i)}); err != nil {
				return err
			}
			if _, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "shared", Text: name("msg", i)}); err != nil {
				return err
			}
			switch i % 3 {
			case 1:
				return fmt.Errorf("writer %d: %w", i, errBoom)
			case 2:
				_, err := tx.CreateConversation(store.Conversation{TenantID: ten, Kind: store.KindCustomer,
					State: store.ConvQueued, Instance: "webchat-1", ExternalKey: "taken"})
				return err
			}
			return nil
		})
	})
	var ok int
	for i, err := range errs {
		switch i % 3 {
		case 0:
			noErr(t, name("writer", i), err)
			ok++
		case 1:
			isErr(t, name("writer", i), err, errBoom)
		case 2:
			isErr(t, name("writer", i), err, store.ErrConflict)
		}
		_, err := e.s.Customer(e.ctx, ten, name("cust", i))
		if i%3 == 0 {
			okErr(t, "customer of a successful Write", err)
		} else {
			isErr(t, "customer of a failed Write", err, store.ErrNotFound)
		}
	}
	msgs, err := e.s.Messages(e.ctx, ten, "shared", 0, 1000)
	noErr(t, "Messages", err)
	equal(t, "seqs of the successful Writes", seqs(msgs), oneToN(ok))
	for _, m := range msgs {
		var i int
		if _, err := fmt.Sscanf(m.Text, "msg-%d", &i); err != nil || i%3 != 0 {
			t.Errorf("message %q of a failed Write was kept", m.Text)
		}
	}
	open, err := e.s.OpenConversations(e.ctx, ten)
	if err != nil || len(open) != 1 {
		t.Errorf("OpenConversations: got %d, %v; want the shared one only", len(open), err)
	}
}

func testCancelledWrite(t *testing.T, e *env) {
	var ran atomic.Bool
	fn := func(tx store.Tx) error {
		ran.Store(true)
		return tx.UpsertTenant(store.Tenant{ID: "acme"})
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	err := e.s.Write(ctx, fn)
	isErr(t, "Write with a cancelled context", err, context.Canceled)
	ctx, cancel = context.WithDeadline(e.ctx, time.Now().Add(-time.Second))
	defer cancel()
	err = e.s.Write(ctx, fn)
	isErr(t, "Write past its deadline", err, context.DeadlineExceeded)
	if ran.Load() {
		t.Errorf("a Write with a done context ran its function")
	}
	_, err = e.s.Tenant(e.ctx, "acme")
	isErr(t, "Tenant", err, store.ErrNotFound)

	// The store goes on working.
	e.write(fn)
	_, err = e.s.Tenant(e.ctx, "acme")
	noErr(t, "Tenant", err)
}

func testDurability(t *testing.T, e *env) {
	const ten = "acme"
	var user store.User
	var out store.OutboxEvent
	e.write(func(tx store.Tx) (err error) {
		if err = tx.UpsertTenant(store.Tenant{ID: ten, Name: "Acme"}); err != nil {
			return err
		}
		if user, err = tx.UpsertUser(store.User{TenantID: ten, Username: "bob", PasswordHash: "h", Queues: []string{"q1"}}); err != nil {
			return err
		}
		if _, err = tx.CreateConversation(store.Conversation{TenantID: ten, ID: "conv", Kind: store.KindCustomer,
			State: store.ConvActive, Instance: "sms-us", ExternalKey: "+1", CreatedAt: at(0)}); err != nil {
			return err
		}
		if _, err = tx.Seen(ten, "sms-us", "in-1", at(0)); err != nil {
			return err
		}
		if out, err = tx.EnqueueOutbox(store.OutboxEvent{TenantID: ten, Instance: "sms-us", EventID: "out-1", Payload: []byte("p")}); err != nil {
			return err
		}
		return tx.CreateSession(store.Session{TenantID: ten, TokenHash: "h", UserID: user.ID, ExpiresAt: at(100)})
	})
	for i := range 5 {
		e.write(func(tx store.Tx) error {
			_, err := tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", EventID: name("ev", i), Text: name("m", i)})
			return err
		})
	}

	e.reopen()

	got, err := e.s.User(e.ctx, ten, user.ID)
	if err != nil || got.PasswordHash != "h" || len(got.Queues) != 1 {
		t.Errorf("User after reopen: got %+v, %v", got, err)
	}
	conv, err := e.s.OpenConversationByKey(e.ctx, ten, "sms-us", "+1")
	if err != nil || conv.LastSeq != 5 {
		t.Errorf("conversation after reopen: got %+v, %v", conv, err)
	}
	msgs, err := e.s.Messages(e.ctx, ten, "conv", 0, 100)
	noErr(t, "Messages", err)
	equal(t, "seqs after reopen", seqs(msgs), oneToN(5))
	_, err = e.s.Session(e.ctx, ten, "h")
	okErr(t, "Session after reopen", err)
	pending, err := e.s.PendingOutbox(e.ctx, ten, "sms-us", 0, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != out.ID {
		t.Errorf("PendingOutbox after reopen: got %+v, %v", pending, err)
	}

	if seen(e, ten, "sms-us", "in-1") {
		t.Errorf("Seen after reopen: an event seen before was fresh")
	}
	var m store.Message
	var next store.OutboxEvent
	e.write(func(tx store.Tx) (err error) {
		if m, err = tx.AppendMessage(store.Message{TenantID: ten, ConversationID: "conv", Text: "after"}); err != nil {
			return err
		}
		next, err = tx.EnqueueOutbox(store.OutboxEvent{TenantID: ten, Instance: "sms-us", EventID: "out-2", Payload: []byte("q")})
		return err
	})
	if m.Seq != 6 {
		t.Errorf("AppendMessage after reopen: seq %d, want 6", m.Seq)
	}
	if next.ID <= out.ID {
		t.Errorf("EnqueueOutbox after reopen: id %d does not follow %d", next.ID, out.ID)
	}

	e.reopen()
	msgs, err = e.s.Messages(e.ctx, ten, "conv", 0, 100)
	noErr(t, "Messages", err)
	equal(t, "seqs after the second reopen", seqs(msgs), oneToN(6))
}

// testCloseFlushes closes the store while Writes are in flight: every Write that returned nil is
// durable, every other one left nothing behind, and Writes after Close fail.
func testCloseFlushes(t *testing.T, e *env) {
	const ten, n = "acme", 100
	e.write(func(tx store.Tx) error { return tx.UpsertTenant(store.Tenant{ID: ten}) })
	s := e.s
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Write(e.ctx, func(tx store.Tx) error {
				_, err := tx.CreateCustomer(store.Customer{TenantID: ten, ID: name("cust", i)})
				return err
			})
		}()
	}
	close(start)
	e.close()
	wg.Wait()

	var ran atomic.Bool
	err := s.Write(e.ctx, func(tx store.Tx) error {
		ran.Store(true)
		return nil
	})
	if err == nil || ran.Load() {
		t.Errorf("Write after Close: got %v (ran %v), want an error and no run", err, ran.Load())
	}

	e.reopen()
	for i, werr := range errs {
		_, err := e.s.Customer(e.ctx, ten, name("cust", i))
		if werr == nil {
			okErr(t, "customer of a Write that returned before Close", err)
		} else {
			isErr(t, fmt.Sprintf("customer of a Write that failed with %v", werr), err, store.ErrNotFound)
		}
	}
}
