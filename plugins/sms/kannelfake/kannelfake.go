// Package kannelfake is a Kannel smsbox for unit tests: its sendsms interface with smsbox's
// answers, and the callbacks smsbox makes (an sms-service post-url, a dlr-url), shaped as Kannel
// 1.4.5 makes them. The plugin's end-to-end test runs the real Kannel (tools/testpeer/kannel);
// this fake covers what is impractical there: refusals, failures and bad input. It records every
// sendsms request.
package kannelfake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a fake smsbox with one sendsms-user.
type Server struct {
	Username, Password string
	// URL is the sendsms URL, the plugin's kannel.sendsms_url.
	URL string

	mu       sync.Mutex
	sent     []SMS
	requests []url.Values
	failures []Failure
}

// SMS is one message smsbox accepted from sendsms.
type SMS struct {
	From, To, Text string
	Charset        string
	Coding         int    // 0 GSM-7, 1 8-bit, 2 UCS-2
	UDH            []byte // user data header, nil without
	DLRMask        int
	DLRURL         string
	SMSC           string
}

// Failure is an answer the fake gives instead of accepting the next sendsms request.
type Failure struct {
	Status int
	Body   string
}

// New starts a fake smsbox; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{Username: "switchboard", Password: "s3cret-sendsms"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/sendsms", s.sendsms)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	s.URL = ts.URL + "/cgi-bin/sendsms"
	return s
}

// FailNext queues answers the fake gives to the next sendsms requests, one each.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Sent returns the messages accepted so far, in order.
func (s *Server) Sent() []SMS {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMS(nil), s.sent...)
}

// Requests returns the query of every sendsms request so far.
func (s *Server) Requests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.requests...)
}

// sendsms answers as smsbox does (status, text/html body).
func (s *Server) sendsms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	answer := func(status int, body string) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	s.mu.Lock()
	s.requests = append(s.requests, q)
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	s.mu.Unlock()
	coding, _ := strconv.Atoi(q.Get("coding"))
	mask, _ := strconv.Atoi(q.Get("dlr-mask"))
	udh := []byte(q.Get("udh"))
	switch {
	case fail != nil:
		answer(fail.Status, fail.Body)
	case q.Get("username") != s.Username || q.Get("password") != s.Password:
		answer(http.StatusForbidden, "Authorization failed for sendsms")
	case q.Get("to") == "":
		answer(http.StatusBadRequest, "Missing receiver number, rejected")
	case q.Get("from") == "":
		answer(http.StatusBadRequest, "Sender missing and no global set, rejected")
	case len(udh) > 0 && int(udh[0]) != len(udh)-1:
		answer(http.StatusBadRequest, "UDH field misformed, rejected")
	case coding < 0 || coding > 2:
		answer(http.StatusBadRequest, "Coding field misformed, rejected")
	default:
		m := SMS{From: q.Get("from"), To: q.Get("to"), Text: q.Get("text"), Charset: q.Get("charset"), Coding: coding,
			DLRMask: mask, DLRURL: q.Get("dlr-url"), SMSC: q.Get("smsc")}
		if len(udh) > 0 {
			m.UDH = udh
		}
		s.mu.Lock()
		s.sent = append(s.sent, m)
		s.mu.Unlock()
		answer(http.StatusAccepted, "0: Accepted for delivery")
	}
}

// MO is a text from a phone, as an sms-service hands it to its post-url.
type MO struct {
	ID       string // Kannel's message id (%I), put in the post-url by the configuration
	From, To string
	Text     string
	// Body and ContentType, when set, are sent as they are instead of Text as UTF-8.
	Body        []byte
	ContentType string
}

// PostMO posts m to postURL (the sms-service's post-url, its %I, %p and %P already filled in
// when the URL asks for them) with the headers smsbox sends when send-sender is true. It
// returns the status of the answer.
func PostMO(ctx context.Context, postURL string, m MO) (int, string, error) {
	body, ct, coding := []byte(m.Text), `text/plain; charset="UTF-8"`, "0"
	if m.Body != nil {
		body = m.Body
	}
	if m.ContentType != "" {
		ct = m.ContentType
		if strings.Contains(strings.ToUpper(ct), "UTF-16") {
			coding = "2"
		}
	}
	u := strings.NewReplacer("%I", url.QueryEscape(m.ID), "%p", url.QueryEscape(m.From), "%P", url.QueryEscape(m.To)).Replace(postURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(string(body)))
	if err != nil {
		return 0, "", err
	}
	now := time.Now().UTC().Format("2006-01-02 15:04:05")
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "Kannel/1.4.5")
	req.Header.Set("X-Kannel-From", m.From)
	req.Header.Set("X-Kannel-To", m.To)
	req.Header.Set("X-Kannel-Time", now)
	req.Header.Set("X-Kannel-SMSC", "fake")
	req.Header.Set("X-Kannel-Coding", coding)
	req.Header.Set("X-Kannel-Service", "default")
	return do(req)
}

// DLR calls a dlr-url as smsbox does for a delivery report: %d becomes the status, %A the
// SMSC's answer (URL-encoded). It returns the status of the answer.
func DLR(ctx context.Context, dlrURL string, status int, answer string) (int, error) {
	u := strings.NewReplacer("%d", strconv.Itoa(status), "%A", url.QueryEscape(answer)).Replace(dlrURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", "Kannel/1.4.5")
	code, _, err := do(req)
	return code, err
}

func do(req *http.Request) (int, string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("kannelfake: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}
