package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/switchboardhq/switchboard/core/store"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("store: sqlite database is closed")

const (
	defaultWindow = 2 * time.Millisecond
	defaultMax    = 256
	busyTimeoutMS = 5000
)

// Options configures Open.
type Options struct {
	// Path is the database file. Its directory is created when missing.
	Path string
	// GroupCommitWindow bounds how long one batch keeps taking writes that are already queued
	// before it commits; a batch never waits idle for more. Zero means 2ms; negative means a
	// batch takes only the writes queued when it began.
	GroupCommitWindow time.Duration
	// GroupCommitMax caps the writes of one batch. Zero means 256.
	GroupCommitMax int
	// Synchronous is "full" (the default: a returned Write survives power loss) or "normal" (a
	// returned Write survives a crash of the process but may be lost on power loss).
	Synchronous string
	// Logger receives migration and commit-failure records. Nil discards them.
	Logger *slog.Logger
}

// Stats counts the writer's work since Open.
type Stats struct {
	Batches uint64 // transactions the writer committed or tried to commit
	Writes  uint64 // Write functions it ran
}

// DB is a store.Store on one SQLite database file.
type DB struct {
	reader

	w       *sql.DB    // pool of the one writer connection, held by wconn while open
	wconn   *sql.Conn  // the writer's connection; batches BEGIN and COMMIT on it
	wq      *stmtCache // statements on wconn
	r       *sql.DB    // read-only connections
	rq      *stmtCache // statements on r
	log     *slog.Logger
	window  time.Duration
	maxRun  int
	queue   chan *writeReq
	stopped chan struct{}

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool

	batches atomic.Uint64
	writes  atomic.Uint64
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database at opts.Path, applies pending migrations and starts
// the writer. The caller must Close the DB.
func Open(ctx context.Context, opts Options) (*DB, error) {
	syncMode, err := opts.check()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("store: sqlite: create directory of %s: %w", opts.Path, err)
	}
	busy := fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS)
	w, err := openPool(ctx, opts.Path, 1, url.Values{
		"_pragma": {busy, "journal_mode(WAL)", "foreign_keys(1)", "synchronous(" + syncMode + ")", "cache_size(-65536)", "temp_store(MEMORY)"},
		// Migrations take the write lock at BEGIN, as batches do with BEGIN IMMEDIATE: a
		// transaction never fails half-way because another process started writing first.
		"_txlock": {"immediate"},
	})
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, w, migrationFS, opts.Logger); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openPool(ctx, opts.Path, max(4, runtime.NumCPU()), url.Values{
		"_pragma": {busy, "foreign_keys(1)", "query_only(1)", "cache_size(-16384)"},
	})
	if err != nil {
		w.Close()
		return nil, err
	}
	// The writer keeps its connection: statements stay prepared on it from batch to batch.
	wconn, err := w.Conn(ctx)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", opts.Path, err)
	}

	rq := newStmtCache(r)
	db := &DB{
		reader:  reader{q: rq},
		w:       w,
		wconn:   wconn,
		wq:      newStmtCache(wconn),
		r:       r,
		rq:      rq,
		log:     opts.Logger,
		window:  opts.GroupCommitWindow,
		maxRun:  opts.GroupCommitMax,
		queue:   make(chan *writeReq, opts.GroupCommitMax),
		stopped: make(chan struct{}),
	}
	go db.writer()
	return db, nil
}

// check validates opts, fills in the defaults and returns the synchronous PRAGMA value.
func (opts *Options) check() (string, error) {
	if opts.Path == "" {
		return "", errors.New("store: sqlite: options.path is empty: set the database file path")
	}
	if strings.ContainsRune(opts.Path, '?') || strings.HasPrefix(opts.Path, "file:") || opts.Path == ":memory:" {
		return "", fmt.Errorf("store: sqlite: options.path %q: give a plain file path", opts.Path)
	}
	if opts.GroupCommitWindow == 0 {
		opts.GroupCommitWindow = defaultWindow
	}
	if opts.GroupCommitMax <= 0 {
		opts.GroupCommitMax = defaultMax
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	switch strings.ToLower(opts.Synchronous) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("store: sqlite: options.synchronous %q: use \"full\" or \"normal\"", opts.Synchronous)
}

// openPool opens a pool of at most n connections to path and checks that one opens.
func openPool(ctx context.Context, path string, n int, params url.Values) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path, params))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// Close waits for the queued writes to commit, stops the writer and closes the database. Calling
// it again does nothing.
func (db *DB) Close() error {
	db.mu.Lock()
	if db.closed {
		db.mu.Unlock()
		return nil
	}
	db.closed = true
	close(db.queue)
	db.mu.Unlock()

	<-db.stopped
	return errors.Join(db.rq.Close(), db.wq.Close(), db.wconn.Close(), db.r.Close(), db.w.Close())
}

// Stats reports how many batches the writer ran and how many writes they held.
func (db *DB) Stats() Stats {
	return Stats{Batches: db.batches.Load(), Writes: db.writes.Load()}
}

// dsn builds a modernc.org/sqlite name: a plain path followed by the driver's parameters.
func dsn(path string, params url.Values) string {
	return path + "?" + params.Encode()
}
