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
	// GroupCommitWindow is how long a batch keeps collecting writes after its first one started
	// before it commits. Zero means 2ms; a negative window commits whatever was already queued
	// without waiting.
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
	if opts.Path == "" {
		return nil, errors.New("store: sqlite: options.path is empty: set the database file path")
	}
	if strings.ContainsRune(opts.Path, '?') || strings.HasPrefix(opts.Path, "file:") || opts.Path == ":memory:" {
		return nil, fmt.Errorf("store: sqlite: options.path %q: give a plain file path", opts.Path)
	}
	syncMode, err := synchronous(opts.Synchronous)
	if err != nil {
		return nil, err
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
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o750); err != nil {
		return nil, fmt.Errorf("store: sqlite: create directory of %s: %w", opts.Path, err)
	}

	w, err := sql.Open("sqlite", dsn(opts.Path, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
			"journal_mode(WAL)",
			"foreign_keys(1)",
			"synchronous(" + syncMode + ")",
		},
		// Migrations take the write lock at BEGIN, as batches do with BEGIN IMMEDIATE: a
		// transaction never fails half-way because another process started writing first.
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: open %s: %w", opts.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", opts.Path, err)
	}
	if err := migrate(ctx, w, migrationFS, opts.Logger); err != nil {
		w.Close()
		return nil, err
	}

	r, err := sql.Open("sqlite", dsn(opts.Path, url.Values{
		"_pragma": {
			fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS),
			"foreign_keys(1)",
			"query_only(1)",
		},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", opts.Path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", opts.Path, err)
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

func synchronous(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "full":
		return "FULL", nil
	case "normal":
		return "NORMAL", nil
	}
	return "", fmt.Errorf("store: sqlite: options.synchronous %q: use \"full\" or \"normal\"", s)
}

// dsn builds a modernc.org/sqlite name: a plain path followed by the driver's parameters.
func dsn(path string, params url.Values) string {
	return path + "?" + params.Encode()
}
