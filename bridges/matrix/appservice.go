package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// The appservice API: the homeserver pushes room events in transactions and asks whether users
// in the bridge's namespace exist. Every request must carry the hs_token.

// maxTransactionBytes bounds one transaction body; the homeserver sends at most a few dozen
// events at a time.
const maxTransactionBytes = 8 << 20

// readyWait is how long a transaction that arrives during start-up waits before the homeserver
// is told to send it again.
const readyWait = 20 * time.Second

func (b *bridge) routes() http.Handler {
	mux := http.NewServeMux()
	// The spec's paths, and the legacy ones older homeservers use.
	for _, prefix := range []string{"/_matrix/app/v1", ""} {
		mux.HandleFunc("PUT "+prefix+"/transactions/{txn}", b.transaction)
		mux.HandleFunc("GET "+prefix+"/users/{user}", b.queryUser)
		mux.HandleFunc("GET "+prefix+"/rooms/{alias}", b.queryAlias)
	}
	mux.HandleFunc("POST /_matrix/app/v1/ping", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, struct{}{}) })
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		matrixError(w, http.StatusNotFound, "M_UNRECOGNIZED", "unknown appservice endpoint")
	})
	return b.authorized(mux)
}

// authorized admits only requests carrying the hs_token, as an Authorization bearer token or
// (older homeservers) the access_token query parameter.
func (b *bridge) authorized(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(b.cfg.HSToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A registration url ending in "/" makes homeservers ask for "//_matrix/…".
		if strings.HasPrefix(r.URL.Path, "//") {
			r.URL.Path = "/" + strings.TrimLeft(r.URL.Path, "/")
			r.URL.RawPath = ""
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			token = r.URL.Query().Get("access_token")
		}
		if token == "" {
			b.count("appservice_rejected", "no_token")
			matrixError(w, http.StatusUnauthorized, "M_UNAUTHORIZED", "missing hs_token")
			return
		}
		got := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			b.count("appservice_rejected", "forged_token")
			b.logger().Warn("appservice request with a wrong hs_token refused", "path", r.URL.Path, "remote", r.RemoteAddr)
			matrixError(w, http.StatusForbidden, "M_FORBIDDEN", "wrong hs_token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// transaction handles one pushed transaction. It answers 200 only once every event in it was
// handled (messages stored by the hub); any other answer makes the homeserver send it again, and
// a transaction id already answered is acknowledged without handling it twice.
func (b *bridge) transaction(w http.ResponseWriter, r *http.Request) {
	txn := r.PathValue("txn")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTransactionBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		b.count("appservice_rejected", "too_large")
		matrixError(w, http.StatusRequestEntityTooLarge, "M_TOO_LARGE", "transaction too large")
		return
	}
	if err != nil {
		matrixError(w, http.StatusBadRequest, "M_UNKNOWN", "could not read the transaction")
		return
	}
	var t struct {
		Events []matrixEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &t); err != nil {
		b.count("appservice_rejected", "malformed")
		matrixError(w, http.StatusBadRequest, "M_NOT_JSON", "transaction is not valid JSON: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyWait)
	err = b.waitReady(ctx)
	cancel()
	if err != nil {
		w.Header().Set("Retry-After", "1")
		matrixError(w, http.StatusServiceUnavailable, "M_UNKNOWN", "the bridge is starting; send it again")
		return
	}
	// A shutdown ends the hub's work on the transaction as well as the homeserver hanging up.
	ctx, cancel = context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(b.runCtx, cancel)
	defer stop()

	b.txnMu.Lock()
	defer b.txnMu.Unlock()
	if b.txnDone.Has(txn) {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	for _, ev := range t.Events {
		if err := b.handleEvent(ctx, ev); err != nil {
			b.log.Warn("could not handle a Matrix event; the homeserver will send the transaction again", "txn", txn, "event", ev.ID, "type", ev.Type, "room", ev.RoomID, "error", err)
			matrixError(w, http.StatusInternalServerError, "M_UNKNOWN", "could not handle the transaction now; send it again")
			return
		}
	}
	b.txnDone.Add(txn)
	writeJSON(w, http.StatusOK, struct{}{})
}

// queryUser answers whether a user in the namespace exists: a ghost exists for every agent the
// hub announced (and is created on the spot).
func (b *bridge) queryUser(w http.ResponseWriter, r *http.Request) {
	username, ok := b.cfg.agentOf(r.PathValue("user"))
	if ok && b.waitReady(r.Context()) == nil {
		b.mu.Lock()
		a := b.agents[username]
		known := a != nil && a.announced
		name := ""
		if known {
			name = a.name
		}
		b.mu.Unlock()
		if known {
			if err := b.ensureGhost(r.Context(), username, name); err != nil {
				matrixError(w, http.StatusInternalServerError, "M_UNKNOWN", "could not create the user now")
				return
			}
			writeJSON(w, http.StatusOK, struct{}{})
			return
		}
	}
	matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "no such agent")
}

// queryAlias: the bridge owns no alias namespace.
func (b *bridge) queryAlias(w http.ResponseWriter, _ *http.Request) {
	matrixError(w, http.StatusNotFound, "M_NOT_FOUND", "no such room")
}

func matrixError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]string{"errcode": code, "error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
