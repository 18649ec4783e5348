package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Meta's webhooks (WhatsApp Cloud API and Messenger) share two things: the verification request,
// a GET the app dashboard sends when the callback URL is saved, and the X-Hub-Signature-256
// header on every POST.

// notGraph is the code of an error answer that carried no Graph API error object.
const notGraph = -1

// maxChallenge bounds the hub.challenge echoed back (Meta sends a number).
const maxChallenge = 256

// serveVerify answers Meta's verification request: hub.mode=subscribe and the configured verify
// token get hub.challenge back as plain text; a wrong token gets 403.
func (p *social) serveVerify(verifyToken string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		q := r.URL.Query()
		challenge := q.Get("hub.challenge")
		if q.Get("hub.mode") != "subscribe" || challenge == "" || len(challenge) > maxChallenge {
			return refuse(http.StatusBadRequest, "malformed", "not a verification request: hub.mode=subscribe, hub.challenge and hub.verify_token expected")
		}
		if subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(verifyToken)) != 1 {
			return refuse(http.StatusForbidden, "forged_verify_token", "hub.verify_token does not match this instance's verify_token")
		}
		p.log().Info("meta webhook verified")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write([]byte(challenge))
		return nil
	}
}

// checkSignature verifies X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the raw body
// with the app secret, compared in constant time. It runs before the body is parsed.
func checkSignature(appSecret, header string, body []byte) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return refuse(http.StatusForbidden, "forged_signature", "X-Hub-Signature-256 is missing")
	}
	sig, err := hex.DecodeString(hexSig)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
		return refuse(http.StatusForbidden, "forged_signature", "X-Hub-Signature-256 does not match the body: not signed with this app's secret")
	}
	return nil
}

// readSigned reads a webhook POST and checks its signature.
func readSigned(w http.ResponseWriter, r *http.Request, appSecret string) ([]byte, error) {
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if err := checkSignature(appSecret, r.Header.Get("X-Hub-Signature-256"), body); err != nil {
		return nil, err
	}
	return body, nil
}

// graph is a Graph API client for one token.
type graph struct {
	base  string // with the version, e.g. https://graph.facebook.com/v21.0
	token string
	http  *http.Client
}

func newGraph(base, token string) *graph {
	return &graph{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// graphError is the Graph API's error object.
type graphError struct {
	Status    int    `json:"-"`
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
	TraceID string `json:"fbtrace_id"`
}

func (e *graphError) Error() string {
	s := fmt.Sprintf("graph API %d: %s (code %d", e.Status, e.Message, e.Code)
	if e.Subcode != 0 {
		s += fmt.Sprintf(", subcode %d", e.Subcode)
	}
	s += ")"
	if e.ErrorData.Details != "" {
		s += ": " + e.ErrorData.Details
	}
	return s
}

// detail is what to tell an agent.
func (e *graphError) detail() string {
	if e.ErrorData.Details != "" {
		return e.ErrorData.Details
	}
	return e.Message
}

// transient reports whether the same request may succeed later: rate limits, outages, and
// credentials an operator can fix without the message changing.
func (e *graphError) transient() bool {
	if e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == notGraph {
		return true
	}
	switch e.Code {
	case 1, 2, 4, 17, 32, 613, 80007, 130429, 131000, 131016, 131048, 131056, 133004, // rate limits, outages
		190, 200: // the token expired or lacks a permission
		return true
	}
	return false
}

// credentials reports whether the error says the token is wrong.
func (e *graphError) credentials() bool {
	return e.Code == 190 || e.Code == 200 || e.Status == http.StatusUnauthorized
}

// call sends a Graph API request (a JSON body for POST) and decodes the answer into out. The token
// travels in the Authorization header, never in the URL.
func (g *graph) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		reader = bytes.NewReader(data)
	}
	u := g.base + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reader)
	if err != nil {
		return fmt.Errorf("graph API %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := g.http.Do(req)
	if err != nil {
		return fmt.Errorf("graph API %s %s: %w", method, path, bareError(err))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("graph API %s %s: %w", method, path, err)
	}
	if res.StatusCode/100 != 2 {
		var answer struct {
			Error *graphError `json:"error"`
		}
		if json.Unmarshal(data, &answer) != nil || answer.Error == nil {
			return &graphError{Status: res.StatusCode, Message: res.Status + " without a Graph API error object: check api_base", Code: notGraph}
		}
		answer.Error.Status = res.StatusCode
		return answer.Error
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("graph API %s %s: unexpected answer: %v", method, path, err)
	}
	return nil
}

// tokenMayGo reports whether raw is an https URL, or on the Graph API's own host (a test server):
// only there may the token go with a download.
func (g *graph) tokenMayGo(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	base, _ := url.Parse(g.base)
	return u.Scheme == "https" || (base != nil && u.Host == base.Host)
}
