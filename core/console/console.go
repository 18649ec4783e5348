// Package console serves the agent console's API: sign-in with session cookies, CSRF-checked
// REST calls for agents' actions, and a WebSocket that pushes offers, messages and typing. It
// never answers with data of a tenant other than the session's, and never trusts a request that
// changes state without the session's CSRF token.
package console

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboardhq/switchboard/core/auth"
	"github.com/switchboardhq/switchboard/core/hub"
	"github.com/switchboardhq/switchboard/core/store"
)

//go:embed openapi.yaml
var openAPI []byte

const (
	cookieName   = "sb_session"
	csrfHeader   = "X-CSRF-Token"
	maxBodyBytes = 256 << 10
)

// Options configure the console API.
type Options struct {
	Hub            *hub.Hub
	Store          store.Store
	Logger         *slog.Logger
	Registry       prometheus.Registerer
	PublicURL      string
	SessionTTL     time.Duration
	SecureCookies  bool
	AllowedOrigins []string
}

// Server is the console API.
type Server struct {
	opts    Options
	origins map[string]bool
	metrics *metrics
}

type metrics struct {
	logins    *prometheus.CounterVec
	refused   *prometheus.CounterVec
	websocket prometheus.Gauge
}

// New builds the console API.
func New(opts Options) *Server {
	s := &Server{opts: opts, origins: map[string]bool{}}
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Host != "" {
		s.origins[u.Scheme+"://"+u.Host] = true
	}
	for _, o := range opts.AllowedOrigins {
		s.origins[strings.TrimRight(o, "/")] = true
	}
	s.metrics = &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_console_logins_total",
			Help: "Console sign-in attempts by outcome (ok, failed).",
		}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_console_requests_refused_total",
			Help: "Console requests refused before reaching a handler, by reason (unauthenticated, csrf, origin, body).",
		}, []string{"reason"}),
		websocket: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_console_websockets",
			Help: "Open console WebSocket connections.",
		}),
	}
	opts.Registry.MustRegister(s.metrics.logins, s.metrics.refused, s.metrics.websocket)
	return s
}

// Handler returns the API's routes, all under /api/v1/.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(openAPI)
	})
	mux.HandleFunc("POST /api/v1/login", s.login)
	mux.Handle("POST /api/v1/logout", s.authed(s.logout))
	mux.Handle("GET /api/v1/session", s.authed(s.session))
	mux.Handle("GET /api/v1/snapshot", s.authed(s.snapshot))
	mux.Handle("PUT /api/v1/state", s.authed(s.setState))
	mux.Handle("GET /api/v1/conversations/{id}", s.authed(s.conversation))
	mux.Handle("GET /api/v1/conversations/{id}/messages", s.authed(s.messages))
	mux.Handle("POST /api/v1/conversations/{id}/accept", s.authed(s.accept))
	mux.Handle("POST /api/v1/conversations/{id}/reject", s.authed(s.reject))
	mux.Handle("POST /api/v1/conversations/{id}/messages", s.authed(s.send))
	mux.Handle("POST /api/v1/conversations/{id}/typing", s.authed(s.typing))
	mux.Handle("POST /api/v1/conversations/{id}/end", s.authed(s.end))
	mux.Handle("POST /api/v1/conversations/{id}/wrapup", s.authed(s.wrapUp))
	mux.Handle("POST /api/v1/conversations/{id}/transfer", s.authed(s.transfer))
	mux.Handle("POST /api/v1/conversations/{id}/read", s.authed(s.markRead))
	mux.Handle("GET /api/v1/conversations/{id}/transcript", s.authed(s.transcript))
	mux.Handle("POST /api/v1/conversations/{id}/customer", s.authed(s.createCustomer))
	mux.Handle("GET /api/v1/customers/{id}", s.authed(s.customer))
	mux.Handle("POST /api/v1/customers/{id}/cases", s.authed(s.createCase))
	mux.Handle("GET /api/v1/directory", s.authed(s.directory))
	mux.Handle("GET /api/v1/agents", s.authed(s.agents))
	mux.Handle("POST /api/v1/chats", s.authed(s.startChat))
	mux.Handle("GET /api/v1/experts", s.authed(s.experts))
	mux.Handle("POST /api/v1/experts/{instance}/chats", s.authed(s.startExpertChat))
	mux.Handle("GET /api/v1/files/{id}", s.authed(s.file))
	mux.Handle("GET /api/v1/supervisor", s.authed(s.supervise))
	mux.Handle("GET /api/v1/transcripts", s.authed(s.transcripts))
	mux.Handle("PUT /api/v1/admin/queues/{id}", s.authed(s.queueSettings))
	mux.Handle("PUT /api/v1/admin/agents/{username}", s.authed(s.agentSettings))
	mux.Handle("GET /api/v1/ws", s.authed(s.websocket))
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// caller is the signed-in user of a request.
type caller struct {
	tenant    string
	userID    string
	tokenHash string
	csrf      string
}

type authedHandler func(w http.ResponseWriter, r *http.Request, c caller)

// authed resolves the session cookie and, for requests that change state, checks the CSRF token
// and the Origin.
func (s *Server) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := s.caller(r)
		if !ok {
			_, noCookie := r.Cookie(cookieName)
			s.opts.Logger.Debug("console request without a valid session", "method", r.Method, "path", r.URL.Path, "cookie", noCookie == nil)
			s.metrics.refused.WithLabelValues("unauthenticated").Inc()
			writeError(w, http.StatusUnauthorized, "sign in first")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !s.originAllowed(r) {
				s.metrics.refused.WithLabelValues("origin").Inc()
				writeError(w, http.StatusForbidden, "request from a foreign origin refused")
				return
			}
			if !auth.Equal(r.Header.Get(csrfHeader), c.csrf) {
				s.metrics.refused.WithLabelValues("csrf").Inc()
				writeError(w, http.StatusForbidden, "missing or wrong "+csrfHeader+" header")
				return
			}
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		h(w, r, c)
	})
}

func (s *Server) caller(r *http.Request) (caller, bool) {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return caller{}, false
	}
	tenant, token, ok := strings.Cut(ck.Value, ".")
	if !ok || tenant == "" || token == "" {
		return caller{}, false
	}
	hash := auth.HashToken(token)
	sess, err := s.opts.Store.Session(r.Context(), tenant, hash)
	if err != nil || time.Now().After(sess.ExpiresAt) {
		return caller{}, false
	}
	return caller{tenant: tenant, userID: sess.UserID, tokenHash: hash, csrf: sess.CSRFToken}, true
}

func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		// Browsers send Origin on every cross-site state-changing request; its absence means a
		// same-origin or non-browser client, which the CSRF token still guards.
		return true
	}
	if s.origins[origin] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

type sessionResponse struct {
	User      hub.UserView `json:"user"`
	CSRFToken string       `json:"csrf_token"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	var req loginRequest
	if !decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	u, err := s.opts.Store.UserByUsername(ctx, req.Tenant, req.Username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		writeServerError(w, s.opts.Logger, err)
		return
	}
	// CheckPassword spends the same time for unknown tenants and users as for a wrong password.
	if !auth.CheckPassword(u.PasswordHash, req.Password) {
		s.metrics.logins.WithLabelValues("failed").Inc()
		s.opts.Logger.Info("console sign-in failed", "tenant", req.Tenant, "remote", r.RemoteAddr)
		writeError(w, http.StatusUnauthorized, "sign-in failed: the tenant, username or password is wrong")
		return
	}
	token, csrf := auth.NewToken(), auth.NewToken()
	now := time.Now()
	sess := store.Session{TenantID: u.TenantID, TokenHash: auth.HashToken(token), UserID: u.ID, CSRFToken: csrf,
		CreatedAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)}
	if err := s.opts.Store.Write(ctx, func(tx store.Tx) error { return tx.CreateSession(sess) }); err != nil {
		writeServerError(w, s.opts.Logger, err)
		return
	}
	view := hub.NewUserView(u)
	if u.State == store.StateLoggedOut || u.State == "" {
		if view, err = s.opts.Hub.SetState(ctx, u.TenantID, u.ID, store.StateWorkOffline, ""); err != nil {
			writeServerError(w, s.opts.Logger, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: u.TenantID + "." + token, Path: "/", HttpOnly: true, Secure: s.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode, Expires: sess.ExpiresAt,
	})
	s.metrics.logins.WithLabelValues("ok").Inc()
	writeJSON(w, http.StatusOK, sessionResponse{User: view, CSRFToken: csrf})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, c caller) {
	ctx := r.Context()
	if err := s.opts.Store.Write(ctx, func(tx store.Tx) error { return tx.DeleteSession(c.tenant, c.tokenHash) }); err != nil {
		writeServerError(w, s.opts.Logger, err)
		return
	}
	if _, err := s.opts.Hub.SetState(ctx, c.tenant, c.userID, store.StateLoggedOut, ""); err != nil {
		writeServerError(w, s.opts.Logger, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) session(w http.ResponseWriter, r *http.Request, c caller) {
	u, err := s.opts.Store.User(r.Context(), c.tenant, c.userID)
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, sessionResponse{User: hub.NewUserView(u), CSRFToken: c.csrf})
}

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request, c caller) {
	snap, err := s.opts.Hub.Snapshot(r.Context(), c.tenant, c.userID)
	s.answer(w, snap, err)
}

func (s *Server) setState(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		State string `json:"state"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.State == string(store.StateLoggedOut) {
		writeError(w, http.StatusBadRequest, "sign out to become logged out")
		return
	}
	u, err := s.opts.Hub.SetState(r.Context(), c.tenant, c.userID, store.AgentState(req.State), "")
	s.answer(w, u, err)
}

func (s *Server) conversation(w http.ResponseWriter, r *http.Request, c caller) {
	v, err := s.opts.Hub.Conversation(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	s.answer(w, v, err)
}

func (s *Server) messages(w http.ResponseWriter, r *http.Request, c caller) {
	q := r.URL.Query()
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	var msgs []hub.MessageView
	var err error
	if last, _ := strconv.Atoi(q.Get("last")); last > 0 {
		msgs, err = s.opts.Hub.LastMessages(r.Context(), c.tenant, c.userID, r.PathValue("id"), last)
	} else {
		msgs, err = s.opts.Hub.Messages(r.Context(), c.tenant, c.userID, r.PathValue("id"), after, limit)
	}
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (s *Server) accept(w http.ResponseWriter, r *http.Request, c caller) {
	v, err := s.opts.Hub.Accept(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	s.answer(w, v, err)
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, c caller) {
	s.answer(w, nil, s.opts.Hub.Reject(r.Context(), c.tenant, c.userID, r.PathValue("id")))
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		ClientID string `json:"client_id"`
		Text     string `json:"text"`
		HTML     string `json:"html"`
	}
	if !decode(w, r, &req) {
		return
	}
	m, err := s.opts.Hub.Send(r.Context(), c.tenant, c.userID, r.PathValue("id"), req.ClientID, req.Text, req.HTML)
	s.answer(w, m, err)
}

func (s *Server) typing(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Active bool `json:"active"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.answer(w, nil, s.opts.Hub.Typing(r.Context(), c.tenant, c.userID, r.PathValue("id"), req.Active))
}

func (s *Server) end(w http.ResponseWriter, r *http.Request, c caller) {
	v, err := s.opts.Hub.End(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	s.answer(w, v, err)
}

func (s *Server) wrapUp(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Disposition string `json:"disposition"`
		Notes       string `json:"notes"`
	}
	if !decode(w, r, &req) {
		return
	}
	v, err := s.opts.Hub.EndWrapUp(r.Context(), c.tenant, c.userID, r.PathValue("id"), req.Disposition, req.Notes)
	s.answer(w, v, err)
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Queue string `json:"queue"`
		Agent string `json:"agent"`
	}
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	switch {
	case (req.Queue == "") == (req.Agent == ""):
		writeError(w, http.StatusBadRequest, "name exactly one of queue (a queue id) or agent (a username)")
	case req.Queue != "":
		v, err := s.opts.Hub.TransferToQueue(r.Context(), c.tenant, c.userID, id, req.Queue)
		s.answer(w, v, err)
	default:
		s.answer(w, nil, s.opts.Hub.TransferToAgent(r.Context(), c.tenant, c.userID, id, req.Agent))
	}
}

func (s *Server) queueSettings(w http.ResponseWriter, r *http.Request, c caller) {
	var req hub.QueueSettings
	if !decode(w, r, &req) {
		return
	}
	s.answer(w, nil, s.opts.Hub.SetQueueSettings(r.Context(), c.tenant, c.userID, r.PathValue("id"), req))
}

func (s *Server) agentSettings(w http.ResponseWriter, r *http.Request, c caller) {
	var req hub.AgentSettings
	if !decode(w, r, &req) {
		return
	}
	u, err := s.opts.Hub.SetAgentSettings(r.Context(), c.tenant, c.userID, r.PathValue("username"), req)
	s.answer(w, u, err)
}

// websocket streams the user's pushes: first a "hello" with the snapshot, then every push. A
// client that reconnects gets a new snapshot and fetches messages after the last seq it has.
func (s *Server) websocket(w http.ResponseWriter, r *http.Request, c caller) {
	patterns := make([]string, 0, len(s.origins))
	for o := range s.origins {
		if u, err := url.Parse(o); err == nil {
			patterns = append(patterns, u.Host)
		}
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: patterns})
	if err != nil {
		s.metrics.refused.WithLabelValues("origin").Inc()
		return
	}
	s.metrics.websocket.Inc()
	defer s.metrics.websocket.Dec()
	ctx := conn.CloseRead(r.Context())
	sub := s.opts.Hub.Subscribe(c.tenant, c.userID)
	defer sub.Close()
	snap, err := s.opts.Hub.Snapshot(ctx, c.tenant, c.userID)
	if err != nil {
		conn.Close(websocket.StatusInternalError, "snapshot failed")
		return
	}
	if err := writeWS(ctx, conn, map[string]any{"type": "hello", "snapshot": snap}); err != nil {
		return
	}
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case p, ok := <-sub.C:
			if !ok {
				conn.Close(websocket.StatusTryAgainLater, "too slow: reconnect and catch up")
				return
			}
			if err := writeWS(ctx, conn, p); err != nil {
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-ctx.Done():
			conn.Close(websocket.StatusGoingAway, "")
			return
		}
	}
}

func writeWS(ctx context.Context, conn *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(wctx, websocket.MessageText, data)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", tooBig.Limit))
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeServerError(w http.ResponseWriter, log *slog.Logger, err error) {
	log.Error("console request failed", "error", err)
	writeError(w, http.StatusInternalServerError, "internal error; see the hub's log")
}

// answer writes v as JSON (204 when v is nil), or err with the status it maps to.
func (s *Server) answer(w http.ResponseWriter, v any, err error) {
	switch {
	case err != nil:
		writeHubError(w, s.opts.Logger, err)
	case v == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

func writeHubError(w http.ResponseWriter, log *slog.Logger, err error) {
	switch {
	case errors.Is(err, hub.ErrNotFound), errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found")
	case errors.Is(err, hub.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, hub.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, hub.ErrForbidden):
		writeError(w, http.StatusForbidden, err.Error())
	default:
		writeServerError(w, log, err)
	}
}
