// Package twiliofake is Twilio's Programmable Messaging for tests: the REST API's Messages.json
// create with Twilio's documented 201 answer and error shape, and the webhooks Twilio sends
// (incoming messages, status callbacks), signed with X-Twilio-Signature as Twilio signs them. It
// records every API request so tests can check them field by field. It is test code: nothing of
// it talks to the real Twilio.
package twiliofake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

// APIVersion is the version of Twilio's REST API the fake serves.
const APIVersion = "2010-04-01"

// Server is one fake Twilio account owning some phone numbers.
type Server struct {
	AccountSID, AuthToken string
	// URL is the REST API base, the plugin's twilio.api_base.
	URL string

	ts *httptest.Server

	mu       sync.Mutex
	numbers  map[string]bool
	messages []*Message
	requests []Request
	optedOut map[string]bool // customer|our number
	failures []Failure
	reach    func(publicURL string) string
}

// Message is a message as Twilio keeps it.
type Message struct {
	SID            string
	To, From, Body string
	StatusCallback string
	Status         string
	NumSegments    int
	DateCreated    time.Time
}

// Request is one REST API request as the fake received it.
type Request struct {
	Method, Path   string
	User, Password string // HTTP basic auth
	ContentType    string
	Form           url.Values
	Status         int // what the fake answered
}

// Failure is an error the fake answers instead of creating the next message.
type Failure struct {
	Status  int // HTTP status
	Code    int // Twilio error code
	Message string
}

// New starts a fake account owning numbers (E.164); it stops when the test ends.
func New(t testing.TB, numbers ...string) *Server {
	s := &Server{
		AccountSID: "AC" + randomHex(16),
		AuthToken:  randomHex(16),
		numbers:    map[string]bool{},
		optedOut:   map[string]bool{},
		reach:      func(u string) string { return u },
	}
	for _, n := range numbers {
		s.numbers[n] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /"+APIVersion+"/Accounts/{account}/Messages.json", s.createMessage)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.record(r, nil, http.StatusNotFound)
		s.apiError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL
	t.Cleanup(s.ts.Close)
	return s
}

// Reach sets where the fake actually posts webhooks meant for a public URL (tests cannot reach
// the public URL a plugin is configured with). The signature still covers the public URL, as
// Twilio's does.
func (s *Server) Reach(rewrite func(publicURL string) string) {
	s.mu.Lock()
	s.reach = rewrite
	s.mu.Unlock()
}

// OptOut makes the fake refuse messages from ours to customer with error 21610, as Twilio does
// after the customer texted STOP.
func (s *Server) OptOut(customer, ours string) {
	s.mu.Lock()
	s.optedOut[customer+"|"+ours] = true
	s.mu.Unlock()
}

// FailNext queues errors the fake answers to the next message creations, one each.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Requests returns every REST API request so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Messages returns the messages created so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// MessagesTo returns the messages created for one recipient, in order.
func (s *Server) MessagesTo(to string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) record(r *http.Request, form url.Values, status int) {
	user, pass, _ := r.BasicAuth()
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, User: user, Password: pass,
		ContentType: r.Header.Get("Content-Type"), Form: form, Status: status})
	s.mu.Unlock()
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// createMessage is POST /2010-04-01/Accounts/{AccountSid}/Messages.json.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	answer := func(status, code int, format string, args ...any) {
		s.record(r, r.PostForm, status)
		s.apiError(w, status, code, fmt.Sprintf(format, args...))
	}
	if err := r.ParseForm(); err != nil {
		answer(http.StatusBadRequest, 20001, "Unable to parse request: %v", err)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		answer(http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if r.PathValue("account") != s.AccountSID {
		answer(http.StatusNotFound, 20404, "The requested resource %s was not found", r.URL.Path)
		return
	}
	f := r.PostForm
	to, from, body, callback := f.Get("To"), f.Get("From"), f.Get("Body"), f.Get("StatusCallback")
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	owned, optedOut := s.numbers[from], s.optedOut[to+"|"+from]
	s.mu.Unlock()
	switch {
	case fail != nil:
		answer(fail.Status, fail.Code, "%s", fail.Message)
	case to == "":
		answer(http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164.MatchString(to):
		answer(http.StatusBadRequest, 21211, "Invalid 'To' Phone Number: %s", to)
	case from == "":
		answer(http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case !owned:
		answer(http.StatusBadRequest, 21606, "The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from)
	case body == "" && f.Get("MediaUrl") == "":
		answer(http.StatusBadRequest, 21602, "Message body is required.")
	case len(utf16.Encode([]rune(body))) > 1600:
		answer(http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	case callback != "" && !validURL(callback):
		answer(http.StatusBadRequest, 21609, "Invalid StatusCallback url")
	case optedOut:
		answer(http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	default:
		m := &Message{SID: "SM" + randomHex(16), To: to, From: from, Body: body, StatusCallback: callback,
			Status: "queued", NumSegments: segments(body), DateCreated: time.Now().UTC()}
		created := s.resource(m) // before the message is shared: SendStatus may change it at once
		s.mu.Lock()
		s.messages = append(s.messages, m)
		s.mu.Unlock()
		s.record(r, f, http.StatusCreated)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(created)
	}
}

// resource is a Message in the shape of Twilio's API.
func (s *Server) resource(m *Message) map[string]any {
	uri := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/Messages/" + m.SID
	date := m.DateCreated.Format(time.RFC1123Z)
	return map[string]any{
		"account_sid": s.AccountSID, "api_version": APIVersion, "body": m.Body,
		"date_created": date, "date_sent": nil, "date_updated": date,
		"direction": "outbound-api", "error_code": nil, "error_message": nil,
		"from": m.From, "messaging_service_sid": nil, "num_media": "0",
		"num_segments": strconv.Itoa(m.NumSegments), "price": nil, "price_unit": "USD",
		"sid": m.SID, "status": m.Status, "to": m.To,
		"subresource_uris": map[string]string{"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
		"uri":              uri + ".json",
	}
}

// apiError answers in Twilio's error shape.
func (s *Server) apiError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status,
	})
}

// segments counts the SMS segments of body roughly as Twilio bills them: GSM-7 text (here: ASCII)
// 160 in one SMS or 153 a part, anything else 70 or 67 UTF-16 units.
func segments(body string) int {
	n, single, part := len(utf16.Encode([]rune(body))), 160, 153
	for _, r := range body {
		if r > 127 {
			single, part = 70, 67
			break
		}
	}
	if n <= single {
		return 1
	}
	return (n + part - 1) / part
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
