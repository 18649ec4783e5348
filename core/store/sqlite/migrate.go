package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrate applies, in name order, every migrations/*.sql file of fsys not yet recorded in
// schema_migrations, each in its own transaction together with its record.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, log *slog.Logger) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT    NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("store: sqlite: create schema_migrations: %w", err)
	}
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: sqlite: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("store: sqlite: read migration %s: %w", name, err)
		}
		version := strings.TrimSuffix(path.Base(name), ".sql")
		applied, err := applyMigration(ctx, db, version, string(body))
		if err != nil {
			return fmt.Errorf("store: sqlite: migration %s: %w", version, err)
		}
		if applied {
			log.Info("store: applied migration", "version", version)
		}
	}
	return nil
}

// applyMigration runs one migration unless it is recorded already. The check runs inside the
// transaction, so two processes opening the same new database apply it once.
func applyMigration(ctx context.Context, db *sql.DB, version, body string) (applied bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, tx.Rollback()
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
		version, time.Now().UnixNano()); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
