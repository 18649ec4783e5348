package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/core/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		os.Exit(crashHelper())
	}
	os.Exit(m.Run())
}

func openTest(t *testing.T, opts Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Path, err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() store.Store {
		path := filepath.Join(t.TempDir(), "switchboard.db")
		return func() store.Store { return openTest(t, Options{Path: path}) }
	})
}

func TestOpenCreatesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "switchboard.db")
	db := openTest(t, Options{Path: path})
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
	var mode string
	if err := db.r.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode: got %q, %v; want wal", mode, err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{},
		{Path: ":memory:"},
		{Path: filepath.Join(t.TempDir(), "x.db?mode=ro")},
		{Path: filepath.Join(t.TempDir(), "x.db"), Synchronous: "off"},
	} {
		if db, err := Open(t.Context(), opts); err == nil {
			db.Close()
			t.Errorf("Open(%+v): want an error", opts)
		}
	}
}

func migrationCount(t *testing.T, db *DB) int {
	t.Helper()
	var n int
	if err := db.r.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	files, err := migrationFS.ReadDir("migrations")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded migrations: %v (%d files)", err, len(files))
	}
	db := openTest(t, Options{Path: path})
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.UpsertTenant(store.Tenant{ID: "acme", Name: "Acme"})
	}); err != nil {
		t.Fatal(err)
	}
	if got := migrationCount(t, db); got != len(files) {
		t.Errorf("schema_migrations after first open: %d rows, want %d", got, len(files))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies nothing and keeps the data.
	db = openTest(t, Options{Path: path})
	if got := migrationCount(t, db); got != len(files) {
		t.Errorf("schema_migrations after reopen: %d rows, want %d", got, len(files))
	}
	if _, err := db.Tenant(t.Context(), "acme"); err != nil {
		t.Errorf("tenant after reopen: %v", err)
	}
	db.Close()

	// A new migration is applied once, after the embedded ones.
	fsys := fstest.MapFS{
		"migrations/9999_test.sql": {Data: []byte("CREATE TABLE migration_probe (tenant_id TEXT NOT NULL PRIMARY KEY);")},
	}
	for _, f := range files {
		body, err := migrationFS.ReadFile("migrations/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		fsys["migrations/"+f.Name()] = &fstest.MapFile{Data: body}
	}
	raw, err := sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	count := func() int {
		t.Helper()
		var n int
		if err := raw.QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	log := slog.New(slog.DiscardHandler)
	for range 2 {
		if err := migrate(t.Context(), raw, fsys, log); err != nil {
			t.Fatalf("migrate with a new file: %v", err)
		}
	}
	if got := count(); got != len(files)+1 {
		t.Errorf("schema_migrations after a new migration: %d rows, want %d", got, len(files)+1)
	}

	// A failing migration leaves neither its changes nor its record.
	fsys["migrations/9999_zz_bad.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE half_done (x INTEGER); SELECT no_such_function();")}
	if err := migrate(t.Context(), raw, fsys, log); err == nil {
		t.Fatal("migrate with a broken file: want an error")
	}
	var n int
	if err := raw.QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").Scan(&n); err != nil || n != 0 {
		t.Errorf("broken migration left its table behind (%d, %v)", n, err)
	}
	if got := count(); got != len(files)+1 {
		t.Errorf("schema_migrations after a broken migration: %d rows, want %d", got, len(files)+1)
	}

	// Open still works on the migrated database.
	db = openTest(t, Options{Path: path})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestMigrationKeepsRows opens a database made before 0003_console with rows in it: the rows read
// back with the new fields empty, and the new writes work on them.
func TestMigrationKeepsRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_prune.sql"} {
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: body}
	}
	raw, err := sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(t.Context(), raw, old, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("migrate to 0002: %v", err)
	}
	for _, q := range []string{
		`INSERT INTO users (tenant_id, id, username, role) VALUES ('acme', 'u1', 'bob', 'supervisor')`,
		`INSERT INTO conversations (tenant_id, id, kind, state) VALUES ('acme', 'c1', 'internal', 'active')`,
		`INSERT INTO participants (tenant_id, conversation_id, kind, ref_id, joined_at) VALUES ('acme', 'c1', 'agent', 'u1', 1)`,
	} {
		if _, err := raw.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db := openTest(t, Options{Path: path})
	defer db.Close()
	ctx := t.Context()
	u, err := db.User(ctx, "acme", "u1")
	if err != nil || u.Scope != "" || u.Role != store.RoleSupervisor {
		t.Errorf("User after migration: got %+v, %v", u, err)
	}
	convs, err := db.UserConversations(ctx, "acme", "u1")
	if err != nil || len(convs) != 1 || convs[0].Identity != (store.Identity{}) {
		t.Errorf("UserConversations after migration: got %+v, %v", convs, err)
	}
	if err := db.Write(ctx, func(tx store.Tx) error {
		if err := tx.MarkRead("acme", "c1", store.PartAgent, "u1", 4); err != nil {
			return err
		}
		_, err := tx.CreateCase(store.Case{TenantID: "acme", CustomerID: "cust-1", ConversationID: "c1"})
		return err
	}); err != nil {
		t.Fatalf("Write after migration: %v", err)
	}
	parts, err := db.Participants(ctx, "acme", "c1")
	if err != nil || len(parts) != 1 || parts[0].ReadSeq != 4 {
		t.Errorf("Participants after MarkRead: got %+v, %v", parts, err)
	}
	cases, err := db.CustomerCases(ctx, "acme", "cust-1")
	if err != nil || len(cases) != 1 {
		t.Errorf("CustomerCases after migration: got %+v, %v", cases, err)
	}
}

func TestGroupCommitBatches(t *testing.T) {
	db := openTest(t, Options{Path: filepath.Join(t.TempDir(), "switchboard.db")})
	defer db.Close()
	const n = 200
	ctx := t.Context()
	if err := db.Write(ctx, func(tx store.Tx) error {
		_, err := tx.CreateConversation(store.Conversation{TenantID: "acme", ID: "conv", State: store.ConvActive})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := db.Stats()
	start := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		go func() {
			<-start
			errs <- db.Write(ctx, func(tx store.Tx) error {
				_, err := tx.AppendMessage(store.Message{TenantID: "acme", ConversationID: "conv", Text: "x"})
				return err
			})
		}()
	}
	close(start)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	after := db.Stats()
	batches, writes := after.Batches-before.Batches, after.Writes-before.Writes
	t.Logf("%d writes in %d batches", writes, batches)
	if writes != n {
		t.Errorf("Stats: %d writes, want %d", writes, n)
	}
	if batches >= writes {
		t.Errorf("group commit did not batch: %d batches for %d writes", batches, writes)
	}
}

// blockWriter occupies the writer with a Write whose function waits for release, so that later
// Writes queue behind it. It returns once the function runs.
func blockWriter(t *testing.T, db *DB) (release func(), done <-chan error) {
	t.Helper()
	running, unblock := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- db.Write(context.Background(), func(tx store.Tx) error {
			close(running)
			<-unblock
			return nil
		})
	}()
	<-running
	return func() { close(unblock) }, errc
}

func TestCancelWhileQueued(t *testing.T) {
	// One write per batch: the blocked write's batch ends as soon as it is released.
	db := openTest(t, Options{Path: filepath.Join(t.TempDir(), "switchboard.db"), GroupCommitMax: 1})
	defer db.Close()
	release, blocked := blockWriter(t, db)

	ctx, cancel := context.WithCancel(t.Context())
	var ran atomic.Bool
	errc := make(chan error, 1)
	go func() {
		errc <- db.Write(ctx, func(tx store.Tx) error {
			ran.Store(true)
			return nil
		})
	}()
	time.Sleep(20 * time.Millisecond) // let it queue
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled queued Write: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled queued Write did not return while the writer was busy")
	}
	release()
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	// A later Write runs after the abandoned one was skipped.
	if err := db.Write(t.Context(), func(tx store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Error("the function of a cancelled queued Write ran")
	}
}

func TestPanicInWrite(t *testing.T) {
	db := openTest(t, Options{Path: filepath.Join(t.TempDir(), "switchboard.db")})
	defer db.Close()
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("recovered %v, want the function's panic", v)
			}
		}()
		db.Write(t.Context(), func(tx store.Tx) error {
			if err := tx.UpsertTenant(store.Tenant{ID: "half"}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if _, err := db.Tenant(t.Context(), "half"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a panicking Write kept its changes: %v", err)
	}
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.UpsertTenant(store.Tenant{ID: "after"})
	}); err != nil {
		t.Fatalf("Write after a panic: %v", err)
	}
}

func TestGoexitInWrite(t *testing.T) {
	db := openTest(t, Options{Path: filepath.Join(t.TempDir(), "switchboard.db")})
	defer db.Close()
	err := db.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.UpsertTenant(store.Tenant{ID: "half"}); err != nil {
			return err
		}
		runtime.Goexit()
		return nil
	})
	if err == nil {
		t.Error("a Write whose function ended its goroutine returned nil")
	}
	if _, err := db.Tenant(t.Context(), "half"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the exited Write kept its changes: %v", err)
	}
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.UpsertTenant(store.Tenant{ID: "after"})
	}); err != nil {
		t.Fatalf("Write after Goexit: %v", err)
	}
}

func TestSynchronousNormal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db := openTest(t, Options{Path: path, Synchronous: "normal", GroupCommitWindow: -1})
	defer db.Close()
	var mode int
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		// The setting is per connection: ask the writer's.
		return tx.(*txView).q.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&mode)
	}); err != nil || mode != 1 {
		t.Errorf("synchronous: got %d, %v; want 1 (NORMAL)", mode, err)
	}
}
