package storetest

import (
	"testing"

	"github.com/switchboardhq/switchboard/core/store"
)

func testSessions(t *testing.T, e *env) {
	s := store.Session{TenantID: "acme", TokenHash: "hash-1", UserID: "u1", CSRFToken: "csrf",
		CreatedAt: at(0), ExpiresAt: at(100)}
	e.write(func(tx store.Tx) error { return tx.CreateSession(s) })
	got, err := e.s.Session(e.ctx, "acme", "hash-1")
	noErr(t, "Session", err)
	equal(t, "Session", got, s)
	err = e.writeErr(func(tx store.Tx) error { return tx.CreateSession(s) })
	isErr(t, "CreateSession with a taken hash", err, store.ErrConflict)

	e.write(func(tx store.Tx) error { return tx.DeleteSession("acme", "hash-1") })
	_, err = e.s.Session(e.ctx, "acme", "hash-1")
	isErr(t, "Session after delete", err, store.ErrNotFound)
	// Signing out twice is fine.
	e.write(func(tx store.Tx) error { return tx.DeleteSession("acme", "hash-1") })

	// Expiry spans tenants and removes exactly the sessions that expired before now.
	sessions := []store.Session{
		{TenantID: "acme", TokenHash: "old", UserID: "u1", CreatedAt: at(0), ExpiresAt: at(10)},
		{TenantID: "globex", TokenHash: "old", UserID: "u9", CreatedAt: at(0), ExpiresAt: at(11)},
		{TenantID: "acme", TokenHash: "edge", UserID: "u2", CreatedAt: at(0), ExpiresAt: at(20)},
		{TenantID: "globex", TokenHash: "new", UserID: "u8", CreatedAt: at(0), ExpiresAt: at(30)},
	}
	e.write(func(tx store.Tx) error {
		for _, s := range sessions {
			if err := tx.CreateSession(s); err != nil {
				return err
			}
		}
		return nil
	})
	var n int
	e.write(func(tx store.Tx) (err error) {
		n, err = tx.DeleteExpiredSessions(at(20))
		return err
	})
	if n != 2 {
		t.Errorf("DeleteExpiredSessions: removed %d, want 2", n)
	}
	for _, s := range sessions {
		_, err := e.s.Session(e.ctx, s.TenantID, s.TokenHash)
		if s.ExpiresAt.Before(at(20)) {
			isErr(t, "expired session "+s.TenantID+"/"+s.TokenHash, err, store.ErrNotFound)
		} else if err != nil {
			t.Errorf("session %s/%s: %v", s.TenantID, s.TokenHash, err)
		}
	}
}
