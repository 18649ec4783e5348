// Package storetest is the conformance suite every store.Store implementation must pass: tenant
// isolation of every query, upsert and uniqueness rules, message sequence numbers, the outbox,
// sessions, group-commit failure isolation and durability across a reopen. It uses only the store
// package API and must never depend on one implementation.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

// Factory is called once per test, with that test's t, and must create an empty database of its
// own (the tests run in parallel) that it removes in t.Cleanup. It returns open, which opens a
// Store on that database and reports failures with t.Fatal. The suite calls open once for most
// tests; to check durability it closes that Store and calls open again, which must return a Store
// on the same data. The suite closes every Store it opens.
//
// For a database in a file:
//
//	storetest.Run(t, func(t *testing.T) func() store.Store {
//		path := filepath.Join(t.TempDir(), "switchboard.db")
//		return func() store.Store { return mustOpen(t, path) }
//	})
//
// For a server database, the Factory creates a fresh schema or database and drops it in t.Cleanup.
type Factory func(t *testing.T) (open func() store.Store)

// Run runs the conformance suite against the stores newDB makes.
func Run(t *testing.T, newDB Factory) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env)
	}{
		{"TenantIsolation", testTenantIsolation},
		{"TenantsGroupsQueues", testTenantsGroupsQueues},
		{"UpsertUser", testUpsertUser},
		{"Customers", testCustomers},
		{"FindCustomerOrder", testFindCustomerOrder},
		{"Cases", testCases},
		{"Conversations", testConversations},
		{"OpenConversationKey", testOpenConversationKey},
		{"UserConversations", testUserConversations},
		{"ClosedConversations", testClosedConversations},
		{"Participants", testParticipants},
		{"MarkRead", testMarkRead},
		{"AppendMessage", testAppendMessage},
		{"AppendMessageConcurrent", testAppendMessageConcurrent},
		{"MessagesPaging", testMessagesPaging},
		{"Files", testFiles},
		{"SetDelivery", testSetDelivery},
		{"Seen", testSeen},
		{"Outbox", testOutbox},
		{"OutboxPaging", testOutboxPaging},
		{"Prune", testPrune},
		{"Sessions", testSessions},
		{"ReadsInsideWrite", testReadsInsideWrite},
		{"FailingWriteIsolated", testFailingWriteIsolated},
		{"CancelledWrite", testCancelledWrite},
		{"Durability", testDurability},
		{"CloseFlushes", testCloseFlushes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newEnv(t, newDB))
		})
	}
}

// env is one test's database and the Store currently open on it.
type env struct {
	t    *testing.T
	ctx  context.Context
	open func() store.Store
	s    store.Store
}

func newEnv(t *testing.T, newDB Factory) *env {
	e := &env{t: t, ctx: t.Context(), open: newDB(t)}
	e.s = e.open()
	t.Cleanup(func() {
		if e.s != nil {
			if err := e.s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	return e
}

// in returns e for the subtest t, which must not reopen the Store.
func (e *env) in(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// close closes the open Store; reopen opens a new one on the same database.
func (e *env) close() {
	e.t.Helper()
	s := e.s
	e.s = nil
	if err := s.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
}

func (e *env) reopen() {
	e.t.Helper()
	if e.s != nil {
		e.close()
	}
	e.s = e.open()
}

// write runs fn in a Write and fails the test on any error. fn runs on the store's writer, not
// on the test goroutine: it must report with t.Errorf, never t.Fatal.
func (e *env) write(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.s.Write(e.ctx, fn); err != nil {
		e.t.Fatalf("Write: %v", err)
	}
}

// writeErr runs fn in a Write and returns its error.
func (e *env) writeErr(fn func(tx store.Tx) error) error {
	return e.s.Write(e.ctx, fn)
}

// at is a fixed instant with nanoseconds, so that a store that rounds times fails. It lies in
// the future, after every time.Now a store fills in.
func at(sec int) time.Time {
	return time.Date(2101, 3, 14, 15, 9, 26, 535897932, time.UTC).Add(time.Duration(sec) * time.Second)
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// okErr reports err with t.Errorf: safe inside a Write function, where t.Fatal is not.
func okErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

func isErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func empty[T any](t *testing.T, what string, list []T, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if len(list) != 0 {
		t.Errorf("%s: got %d rows %+v, want none", what, len(list), list)
	}
}

// sortedBy returns a copy of list sorted by key, for lists whose order the interface leaves open.
func sortedBy[T any](list []T, key func(T) string) []T {
	out := slices.Clone(list)
	slices.SortFunc(out, func(a, b T) int {
		switch ka, kb := key(a), key(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
	return out
}

// parallel runs fn(0..n-1) in n goroutines that start together and returns their errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func seqs(msgs []store.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.Seq
	}
	return out
}

func oneToN(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

func name(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
