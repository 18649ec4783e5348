// Package telegramfake is a Telegram Bot API server for tests: one bot, its private chats, the
// update queue of getUpdates (offsets confirm updates, long polls wait, a newer poll ends an
// older one with 409) or a webhook it posts updates to with the secret token, sendMessage,
// getFile and file downloads. It answers in the Bot API's published shapes ({"ok": …,
// "result": …} or error_code and description) and records every request so tests can check
// them field by field. It is test code: nothing of it talks to Telegram.
package telegramfake

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Identities of the fake bot.
const (
	BotID       = 7000000001
	BotUsername = "switchboard_test_bot"
	// maxDownload is the Bot API's getFile limit.
	maxDownload = 20 << 20
	maxText     = 4096
)

// Server is the fake Bot API with one bot.
type Server struct {
	Token string

	ts *httptest.Server

	mu        sync.Mutex
	news      chan struct{} // closed and replaced on every change
	queue     []Update      // updates not confirmed yet, in order
	nextID    int64         // the next update_id
	confirmed int64         // updates below this id are confirmed (gone)
	pollGen   int64         // the newest getUpdates call
	webhook   WebhookInfo
	chats     map[int64]*chat
	files     map[string]*file // by file_id
	requests  []Request
	fail      map[string][]Failure
}

type chat struct {
	user    Customer
	nextMsg int64
	sent    []Message // what the bot sent, in order
	blocked bool
}

type file struct {
	obj  File
	data []byte
}

// Customer is a Telegram user writing to the bot in a private chat.
type Customer struct {
	ID           int64
	Username     string
	FirstName    string
	LastName     string
	LanguageCode string
}

// Request is one Bot API call as the server received it.
type Request struct {
	Method      string
	ContentType string
	// Params are the call's parameters; JSON numbers stay json.Number, so tests can tell an
	// integer chat_id from a string one.
	Params map[string]any
}

// Failure is an error answer a method gives instead of its result.
type Failure struct {
	Code        int
	Description string
	RetryAfter  int
}

// New starts a fake Bot API; it stops when the test ends.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{
		Token:  strconv.Itoa(BotID) + ":AAF-fake_token_for_tests_0123456789",
		news:   make(chan struct{}),
		nextID: 100000001,
		chats:  map[int64]*chat{},
		files:  map[string]*file{},
		fail:   map[string][]Failure{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// URL is the api_base to configure: https://api.telegram.org for the real Bot API.
func (s *Server) URL() string { return s.ts.URL }

// Close stops the server; waiting long polls end.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
}

// changedLocked wakes every waiter; s.mu is held.
func (s *Server) changedLocked() {
	close(s.news)
	s.news = make(chan struct{})
}

// Wait blocks until cond holds (checked after every change) or ctx ends.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		news := s.news
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-news:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// FailNext makes the next calls of method answer with the failures, in turn.
func (s *Server) FailNext(method string, failures ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], failures...)
}

// Block makes the customer block the bot: sendMessage answers 403.
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		c.blocked = true
	}
}

// Requests returns the calls of method (all calls for ""), in order.
func (s *Server) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if method == "" || r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// Sent returns the messages the bot sent to the chat, in order.
func (s *Server) Sent(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.chats[chatID]; c != nil {
		return append([]Message(nil), c.sent...)
	}
	return nil
}

// Texts returns the texts the bot sent to the chat, in order.
func (s *Server) Texts(chatID int64) []string {
	var out []string
	for _, m := range s.Sent(chatID) {
		out = append(out, m.Text)
	}
	return out
}

// Webhook is the webhook setWebhook stored (URL "" when none).
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

// Confirmed reports whether the update was confirmed: a getUpdates call had a higher offset.
func (s *Server) Confirmed(updateID int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return updateID < s.confirmed
}

// Pending is the number of updates getUpdates would still return.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// serve routes /bot<token>/<method> and /file/bot<token>/<path>.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.download(w, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		answer(w, http.StatusNotFound, response{ErrorCode: 404, Description: "Not Found"})
		return
	}
	if token != s.Token {
		answer(w, http.StatusUnauthorized, response{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	params, contentType, err := readParams(r)
	if err != nil {
		answer(w, http.StatusBadRequest, response{ErrorCode: 400, Description: "Bad Request: " + err.Error()})
		return
	}
	handlers := map[string]func(context.Context, map[string]any) (any, *Failure){
		"getupdates": s.getUpdates, "setwebhook": s.setWebhook, "deletewebhook": s.deleteWebhook,
		"getwebhookinfo": s.getWebhookInfo, "sendmessage": s.sendMessage, "getfile": s.getFile, "getme": s.getMe,
	}
	name := strings.ToLower(method)
	h := handlers[name]
	if h == nil {
		answer(w, http.StatusNotFound, response{ErrorCode: 404, Description: "Not Found: method not found"})
		return
	}
	s.mu.Lock()
	canonical := canonicalNames[name]
	s.requests = append(s.requests, Request{Method: canonical, ContentType: contentType, Params: params})
	var fail *Failure
	if queued := s.fail[canonical]; len(queued) > 0 {
		fail, s.fail[canonical] = &queued[0], queued[1:]
	}
	s.changedLocked()
	s.mu.Unlock()
	var result any
	if fail == nil {
		result, fail = h(r.Context(), params)
	}
	if fail != nil {
		res := response{ErrorCode: fail.Code, Description: fail.Description}
		if fail.RetryAfter > 0 {
			res.Parameters = &responseParameters{RetryAfter: fail.RetryAfter}
		}
		answer(w, fail.Code, res)
		return
	}
	answer(w, http.StatusOK, response{OK: true, Result: result})
}

var canonicalNames = map[string]string{
	"getupdates": "getUpdates", "setwebhook": "setWebhook", "deletewebhook": "deleteWebhook",
	"getwebhookinfo": "getWebhookInfo", "sendmessage": "sendMessage", "getfile": "getFile", "getme": "getMe",
}

func answer(w http.ResponseWriter, status int, res response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}

// readParams reads a call's parameters the ways the Bot API takes them: a JSON body, a form, or
// the query string.
func readParams(r *http.Request) (map[string]any, string, error) {
	params := map[string]any{}
	contentType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch contentType {
	case "application/json":
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&params); err != nil {
			return nil, contentType, fmt.Errorf("can't parse JSON object: %v", err)
		}
	case "application/x-www-form-urlencoded", "":
		if err := r.ParseForm(); err != nil {
			return nil, contentType, err
		}
		for k := range r.Form {
			params[k] = r.Form.Get(k)
		}
	default:
		return nil, contentType, fmt.Errorf("unsupported content type %q", contentType)
	}
	return params, contentType, nil
}

func (s *Server) getMe(context.Context, map[string]any) (any, *Failure) {
	return User{ID: BotID, IsBot: true, FirstName: "Switchboard Test", Username: BotUsername}, nil
}

// getUpdates returns the unconfirmed updates from offset on, waiting up to timeout seconds for
// one. Calling it with an offset confirms every update below it, for good.
func (s *Server) getUpdates(ctx context.Context, p map[string]any) (any, *Failure) {
	offset, _ := intParam(p, "offset")
	limit, ok := intParam(p, "limit")
	if !ok || limit < 1 || limit > 100 {
		limit = 100
	}
	timeout, _ := intParam(p, "timeout")
	s.mu.Lock()
	if s.webhook.URL != "" {
		s.mu.Unlock()
		return nil, &Failure{Code: 409, Description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if offset > s.confirmed {
		s.confirmed = offset
		kept := s.queue[:0]
		for _, u := range s.queue {
			if u.UpdateID >= offset {
				kept = append(kept, u)
			}
		}
		s.queue = kept
	}
	s.pollGen++
	gen := s.pollGen
	s.changedLocked()
	s.mu.Unlock()
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if s.pollGen != gen {
			s.mu.Unlock()
			return nil, &Failure{Code: 409, Description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if len(s.queue) > 0 || timeout <= 0 {
			out := append([]Update{}, s.queue[:min(len(s.queue), int(limit))]...)
			s.mu.Unlock()
			return out, nil
		}
		news := s.news
		s.mu.Unlock()
		select {
		case <-news:
		case <-deadline.C:
			timeout = 0
		case <-ctx.Done():
			return []Update{}, nil
		}
	}
}

var secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(_ context.Context, p map[string]any) (any, *Failure) {
	raw, _ := p["url"].(string)
	secret, _ := p["secret_token"].(string)
	if secret != "" && !secretPattern.MatchString(secret) {
		return nil, &Failure{Code: 400, Description: "Bad Request: secret token contains unallowed characters"}
	}
	if raw != "" {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, &Failure{Code: 400, Description: "Bad Request: bad webhook: invalid webhook URL specified"}
		}
	}
	var allowed []string
	if list, ok := p["allowed_updates"].([]any); ok {
		for _, a := range list {
			if s, ok := a.(string); ok {
				allowed = append(allowed, s)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = WebhookInfo{URL: raw, SecretToken: secret, AllowedUpdates: allowed}
	s.changedLocked()
	return true, nil
}

func (s *Server) deleteWebhook(_ context.Context, p map[string]any) (any, *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = WebhookInfo{}
	if drop, _ := p["drop_pending_updates"].(bool); drop {
		s.queue = nil
	}
	s.changedLocked()
	return true, nil
}

func (s *Server) getWebhookInfo(context.Context, map[string]any) (any, *Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.webhook
	info.PendingUpdates = len(s.queue)
	return info, nil
}

func (s *Server) sendMessage(_ context.Context, p map[string]any) (any, *Failure) {
	chatID, ok := intParam(p, "chat_id")
	if !ok {
		return nil, &Failure{Code: 400, Description: "Bad Request: chat_id is empty"}
	}
	text, _ := p["text"].(string)
	switch n := len(utf16.Encode([]rune(strings.TrimSpace(text)))); {
	case n == 0:
		return nil, &Failure{Code: 400, Description: "Bad Request: message text is empty"}
	case n > maxText:
		return nil, &Failure{Code: 400, Description: "Bad Request: message is too long"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chats[chatID]
	switch {
	case ch == nil:
		return nil, &Failure{Code: 400, Description: "Bad Request: chat not found"}
	case ch.blocked:
		return nil, &Failure{Code: 403, Description: "Forbidden: bot was blocked by the user"}
	}
	ch.nextMsg++
	m := Message{MessageID: ch.nextMsg, From: &User{ID: BotID, IsBot: true, FirstName: "Switchboard Test", Username: BotUsername},
		Chat: Chat{ID: chatID, Type: "private", Username: ch.user.Username, FirstName: ch.user.FirstName, LastName: ch.user.LastName},
		Date: time.Now().Unix(), Text: text}
	ch.sent = append(ch.sent, m)
	s.changedLocked()
	return m, nil
}

func (s *Server) getFile(_ context.Context, p map[string]any) (any, *Failure) {
	id, _ := p["file_id"].(string)
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	switch {
	case f == nil:
		return nil, &Failure{Code: 400, Description: "Bad Request: invalid file_id"}
	case len(f.data) > maxDownload:
		return nil, &Failure{Code: 400, Description: "Bad Request: file is too big"}
	}
	return f.obj, nil
}

// Download is the Request.Method of a file download (file/bot<token>/<file_path>).
const Download = "download"

// download serves file/bot<token>/<file_path>.
func (s *Server) download(w http.ResponseWriter, rest string) {
	token, path, ok := strings.Cut(rest, "/")
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: Download, Params: map[string]any{"file_path": path}})
	s.changedLocked()
	s.mu.Unlock()
	if !ok || token != s.Token {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	var data []byte
	for _, f := range s.files {
		if f.obj.FilePath == path {
			data = f.data
		}
	}
	s.mu.Unlock()
	if data == nil {
		http.Error(w, `{"ok":false,"error_code":404,"description":"Not Found"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Write(data)
}

// intParam reads an integer parameter sent as a JSON number or a string.
func intParam(p map[string]any, name string) (int64, bool) {
	switch v := p[name].(type) {
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}
