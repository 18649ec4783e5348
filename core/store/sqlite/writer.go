package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// A queued write moves from pending to either taken (the writer runs it) or abandoned (its caller
// gave up first); whoever wins the swap decides whether fn runs.
const (
	reqPending int32 = iota
	reqTaken
	reqAbandoned
)

type writeReq struct {
	ctx   context.Context
	fn    func(store.Tx) error
	state atomic.Int32
	done  chan writeResult // buffered: the writer never blocks on a caller
}

type writeResult struct {
	err      error
	panicked bool
	panicVal any
}

// Write queues fn for the writer and waits until the batch that ran it committed.
func (db *DB) Write(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	req := &writeReq{ctx: ctx, fn: fn, done: make(chan writeResult, 1)}

	db.mu.RLock()
	if db.closed {
		db.mu.RUnlock()
		return ErrClosed
	}
	select {
	case db.queue <- req:
	case <-ctx.Done():
		db.mu.RUnlock()
		return ctx.Err()
	}
	db.mu.RUnlock()

	var res writeResult
	select {
	case res = <-req.done:
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqPending, reqAbandoned) {
			return ctx.Err()
		}
		// fn runs or ran already: its outcome is the commit's, not the context's.
		res = <-req.done
	}
	if res.panicked {
		panic(res.panicVal)
	}
	return res.err
}

func (db *DB) writer() {
	for req := range db.queue {
		db.batch(req)
	}
	close(db.stopped)
}

// batch runs first and the writes queued behind it in one transaction, each in its own savepoint,
// until the queue is empty, the window since the batch began elapsed or maxRun writes ran, then
// commits and answers the writes that succeeded.
func (db *DB) batch(first *writeReq) {
	if !claim(first) {
		return
	}
	var timeout <-chan time.Time
	if db.window > 0 {
		timer := time.NewTimer(db.window)
		defer timer.Stop()
		timeout = timer.C
	}
	if _, err := db.wq.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		first.done <- writeResult{err: fmt.Errorf("store: sqlite: begin: %w", err)}
		return
	}
	b := &batchState{db: db, view: newTxView(db.wq)}
	defer b.recoverGoexit()

	if !b.run(first) {
		return
	}
collect:
	for b.ran < db.maxRun {
		var req *writeReq
		var ok bool
		// Take what is queued now; never wait idle for more. Writes that arrive while this batch
		// commits form the next one, so batches grow with load and a lone write pays no delay.
		select {
		case req, ok = <-db.queue:
		case <-timeout:
			break collect
		default:
			break collect
		}
		if !ok {
			break // closed and drained: commit what we have; writer() then stops
		}
		if claim(req) && !b.run(req) {
			return
		}
	}
	b.commit()
}

// batchState is one batch in flight.
type batchState struct {
	db      *DB
	view    *txView
	ran     int
	current *writeReq   // the write whose fn is running
	waiting []*writeReq // writes whose fn succeeded, answered after the commit
	settled bool        // the batch ended normally, committed or aborted
}

// run runs req in the batch. False means the transaction broke and the batch was aborted.
func (b *batchState) run(req *writeReq) bool {
	b.ran++
	b.current = req
	res, err := b.db.runOne(b.view, req)
	b.current = nil
	switch {
	case err != nil:
		req.done <- writeResult{err: err}
		b.abort(err)
		return false
	case res.err != nil || res.panicked:
		req.done <- res // its own failure is final whatever the commit does
	default:
		b.waiting = append(b.waiting, req)
	}
	return true
}

func (b *batchState) count() {
	b.settled = true
	b.db.batches.Add(1)
	b.db.writes.Add(uint64(b.ran))
}

func (b *batchState) abort(err error) {
	b.count()
	b.db.wq.ExecContext(context.Background(), "ROLLBACK")
	b.db.log.Error("store: write batch aborted", "err", err, "writes", b.ran)
	b.answer(err)
}

func (b *batchState) commit() {
	b.count()
	if _, err := b.db.wq.ExecContext(context.Background(), "COMMIT"); err != nil {
		err = fmt.Errorf("store: sqlite: commit: %w", err)
		b.db.log.Error("store: write batch commit failed", "err", err, "writes", b.ran)
		// A failed COMMIT can leave the connection inside the transaction; end it so the next
		// batch can begin.
		b.db.wq.ExecContext(context.Background(), "ROLLBACK")
		b.answer(err)
		return
	}
	b.answer(nil)
}

func (b *batchState) answer(err error) {
	for _, req := range b.waiting {
		req.done <- writeResult{err: err}
	}
}

// recoverGoexit handles a Write function that ended the writer goroutine with runtime.Goexit (as
// t.FailNow does in a test): the batch fails, and a new goroutine takes over the queue so the
// store keeps serving instead of hanging every later Write.
func (b *batchState) recoverGoexit() {
	if b.settled {
		return
	}
	err := errors.New("store: sqlite: a Write function exited its goroutine (runtime.Goexit); the batch was rolled back")
	if b.current != nil {
		b.current.done <- writeResult{err: err}
	}
	b.abort(err)
	go b.db.writer()
}

// claim takes req for running unless its caller abandoned it; a req whose context ended before it
// ran is answered here and not run.
func claim(req *writeReq) bool {
	if !req.state.CompareAndSwap(reqPending, reqTaken) {
		return false
	}
	if err := req.ctx.Err(); err != nil {
		req.done <- writeResult{err: err}
		return false
	}
	return true
}

// runOne runs req.fn inside a savepoint. The returned result is req's own outcome; a non-nil error
// means the transaction itself broke and the batch must be abandoned.
func (db *DB) runOne(view *txView, req *writeReq) (res writeResult, err error) {
	ctx, tx := context.Background(), db.wq
	if _, err := tx.ExecContext(ctx, "SAVEPOINT write_fn"); err != nil {
		return writeResult{}, fmt.Errorf("store: sqlite: savepoint: %w", err)
	}
	res = call(req.fn, view)
	if res.err == nil && !res.panicked {
		if _, err := tx.ExecContext(ctx, "RELEASE write_fn"); err != nil {
			return writeResult{}, fmt.Errorf("store: sqlite: release savepoint: %w", err)
		}
		return res, nil
	}
	if _, err := tx.ExecContext(ctx, "ROLLBACK TO write_fn"); err != nil {
		return writeResult{}, fmt.Errorf("store: sqlite: roll back savepoint after %v: %w", res.err, err)
	}
	if _, err := tx.ExecContext(ctx, "RELEASE write_fn"); err != nil {
		return writeResult{}, fmt.Errorf("store: sqlite: release savepoint: %w", err)
	}
	return res, nil
}

// call runs fn, turning a panic into a result so that it is raised again in the caller's goroutine
// instead of killing the writer.
func call(fn func(store.Tx) error, tx store.Tx) (res writeResult) {
	defer func() {
		if v := recover(); v != nil {
			res = writeResult{panicked: true, panicVal: v}
		}
	}()
	return writeResult{err: fn(tx)}
}
