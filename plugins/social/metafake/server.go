// Package metafake is Meta's side of the WhatsApp Cloud API and the Messenger Platform for tests:
// the Graph API endpoints the social plugin calls (send a message, look up and download media,
// read a customer's profile), with Meta's published request checks, answers and error objects
// (the 24-hour window included), and the webhooks Meta sends (messages, statuses, deliveries),
// signed with the app secret, plus the verification handshake. It records every request so
// tests can check them field by field. It is test code: nothing of it talks to Meta.
package metafake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Identities of the fake app, WhatsApp Business Account and Page.
const (
	Version            = "v21.0"
	WABAID             = "102290129340398"
	PhoneNumberID      = "106540352242922"
	DisplayPhoneNumber = "15550783881"
	PageID             = "109876543210987"
)

// Window is the customer-service window of both platforms.
const Window = 24 * time.Hour

// Server is the fake Graph API with one app, one WhatsApp number and one Page.
type Server struct {
	AppSecret       string
	AccessToken     string // the WhatsApp system user's token
	PageAccessToken string
	// Now is the clock of the 24-hour window and of the timestamps in webhooks.
	Now func() time.Time

	ts *httptest.Server

	mu        sync.Mutex
	news      chan struct{}
	requests  []Request
	media     map[string]*mediaFile // by media id
	waUsers   map[string]*waUser    // by wa_id
	fbUsers   map[string]*fbUser    // by PSID
	templates map[string]bool       // approved templates: "name/language"
	fail      map[string][]GraphError
	seq       int
}

// Request is one Graph API call as the server received it.
type Request struct {
	Method string
	Path   string // without the version, e.g. "/106540352242922/messages"
	Query  url.Values
	// Token is the access token, and TokenIn where it came: "header" (Authorization: Bearer) or
	// "query" (access_token).
	Token   string
	TokenIn string
	Body    json.RawMessage
}

// GraphError is the Graph API's error object, answered with Status.
type GraphError struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode,omitempty"`
	ErrorData *struct {
		MessagingProduct string `json:"messaging_product,omitempty"`
		Details          string `json:"details"`
	} `json:"error_data,omitempty"`
	TraceID string `json:"fbtrace_id"`
}

type mediaFile struct {
	data     []byte
	mimeType string
	forWA    bool // WhatsApp media: looked up with GET /{id}, downloaded with the token
}

// New starts a fake Graph API; it stops when the test ends.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{
		AppSecret:       "fake-app-secret-" + randomHex(8),
		AccessToken:     "EAAfakeWhatsAppToken" + randomHex(8),
		PageAccessToken: "EAAfakePageToken" + randomHex(8),
		Now:             time.Now,
		news:            make(chan struct{}),
		media:           map[string]*mediaFile{},
		waUsers:         map[string]*waUser{},
		fbUsers:         map[string]*fbUser{},
		templates:       map[string]bool{},
		fail:            map[string][]GraphError{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.ts.Close)
	return s
}

// URL is the api_base to configure, with the version: https://graph.facebook.com/v21.0 for the
// real Graph API.
func (s *Server) URL() string { return s.ts.URL + "/" + Version }

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Server) changedLocked() {
	close(s.news)
	s.news = make(chan struct{})
}

// Requests returns the calls whose path ends with suffix ("" for all), in order.
func (s *Server) Requests(method, suffix string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if (method == "" || r.Method == method) && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

// FailNext makes the next calls to the path (e.g. "/106540352242922/messages") answer with the
// errors, in turn.
func (s *Server) FailNext(path string, errs ...GraphError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[path] = append(s.fail[path], errs...)
}

func (s *Server) nextID() int {
	s.seq++
	return s.seq
}

// serve checks the token and routes /{version}/… to the WhatsApp and Messenger endpoints; media
// downloads and Messenger's CDN live outside the version, as Meta's hosts do.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/whatsapp-media/"):
		s.downloadWA(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		s.downloadCDN(w, r)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, "/"+Version)
	if !ok {
		graphFail(w, GraphError{Status: 400, Message: "Unknown path components: " + r.URL.Path, Type: "OAuthException", Code: 2500})
		return
	}
	token, in := bearer(r)
	req := Request{Method: r.Method, Path: path, Query: r.URL.Query(), Token: token, TokenIn: in}
	if r.Method == http.MethodPost {
		var body json.RawMessage
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			s.record(req)
			graphFail(w, GraphError{Status: 400, Message: "(#100) The request body must be JSON", Type: "OAuthException", Code: 100})
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			s.record(req)
			graphFail(w, GraphError{Status: 400, Message: "(#100) Invalid JSON: " + err.Error(), Type: "OAuthException", Code: 100})
			return
		}
		req.Body = body
	}
	s.record(req)
	if ge, failed := s.takeFailure(path); failed {
		graphFail(w, ge)
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages" && parts[0] == PhoneNumberID:
		s.requireToken(w, token, s.AccessToken, func() { s.sendWhatsApp(w, req.Body) })
	case r.Method == http.MethodPost && len(parts) == 2 && parts[1] == "messages" && (parts[0] == PageID || parts[0] == "me"):
		s.requireToken(w, token, s.PageAccessToken, func() { s.sendMessenger(w, req.Body) })
	case r.Method == http.MethodGet && len(parts) == 1 && s.isMedia(parts[0]):
		s.requireToken(w, token, s.AccessToken, func() { s.mediaInfo(w, parts[0]) })
	case r.Method == http.MethodGet && len(parts) == 1 && s.isPSID(parts[0]):
		s.requireToken(w, token, s.PageAccessToken, func() { s.profile(w, parts[0], r.URL.Query().Get("fields")) })
	default:
		graphFail(w, GraphError{Status: 400, Type: "GraphMethodException", Code: 100, Subcode: 33,
			Message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
				strings.ToLower(r.Method), strings.Join(parts, "/"))})
	}
}

func (s *Server) record(req Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	s.changedLocked()
}

func (s *Server) takeFailure(path string) (GraphError, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	queued := s.fail[path]
	if len(queued) == 0 {
		return GraphError{}, false
	}
	s.fail[path] = queued[1:]
	return queued[0], true
}

// bearer is the request's access token and where it came from.
func bearer(r *http.Request) (string, string) {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t, "header"
	}
	if t := r.URL.Query().Get("access_token"); t != "" {
		return t, "query"
	}
	return "", ""
}

func (s *Server) requireToken(w http.ResponseWriter, got, want string, next func()) {
	switch got {
	case want:
		next()
	case "":
		graphFail(w, GraphError{Status: 400, Message: "An active access token must be used to query information about the current user.", Type: "OAuthException", Code: 2500})
	default:
		graphFail(w, GraphError{Status: 401, Message: "Invalid OAuth access token - Cannot parse access token", Type: "OAuthException", Code: 190})
	}
}

func graphFail(w http.ResponseWriter, ge GraphError) {
	if ge.TraceID == "" {
		ge.TraceID = "A" + randomHex(10)
	}
	if ge.Status == 0 {
		ge.Status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ge.Status)
	json.NewEncoder(w).Encode(map[string]any{"error": ge})
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
