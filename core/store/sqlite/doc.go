// Package sqlite implements store.Store on an embedded SQLite database (modernc.org/sqlite, pure
// Go) in WAL mode: one writer goroutine group-commits concurrent Write calls in shared
// transactions, a pool of read-only connections serves queries. It must never return a row of
// another tenant: every statement filters on tenant_id, except the list of tenants itself and the
// session expiry sweep.
package sqlite
