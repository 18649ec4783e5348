package twiliofake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Sign computes X-Twilio-Signature as Twilio documents it: the full URL of the request (with its
// query), then each POST parameter's name immediately followed by its value, parameters sorted
// by name; HMAC-SHA1 keyed with the auth token; Base64.
func Sign(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vals := append([]string(nil), params[n]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(n + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Media is one file of an incoming MMS.
type Media struct {
	URL, ContentType string
}

// IncomingParams are the parameters of Twilio's incoming-message webhook for a message from a
// customer to one of the account's numbers, with a fresh MessageSid (MM… when it has media).
func (s *Server) IncomingParams(from, to, body string, media ...Media) url.Values {
	prefix := "SM"
	if len(media) > 0 {
		prefix = "MM"
	}
	sid := prefix + randomHex(16)
	p := url.Values{
		"ToCountry": {"US"}, "ToState": {"CA"}, "ToCity": {"SAN FRANCISCO"}, "ToZip": {"94105"},
		"FromCountry": {"US"}, "FromState": {"NY"}, "FromCity": {"NEW YORK"}, "FromZip": {"10001"},
		"SmsMessageSid": {sid}, "SmsSid": {sid}, "MessageSid": {sid}, "SmsStatus": {"received"},
		"NumMedia": {strconv.Itoa(len(media))}, "NumSegments": {strconv.Itoa(segments(body))},
		"Body": {body}, "From": {from}, "To": {to}, "AccountSid": {s.AccountSID}, "ApiVersion": {APIVersion},
	}
	for i, m := range media {
		p.Set(fmt.Sprintf("MediaUrl%d", i), m.URL)
		p.Set(fmt.Sprintf("MediaContentType%d", i), m.ContentType)
	}
	return p
}

// Post sends a webhook as Twilio does: the form to publicURL (posted where Reach says), signed
// with the account's auth token for publicURL. It returns the status and body of the answer.
func (s *Server) Post(ctx context.Context, publicURL string, params url.Values) (int, string, error) {
	return s.PostSigned(ctx, publicURL, params, Sign(s.AuthToken, publicURL, params))
}

// PostSigned is Post with a given X-Twilio-Signature ("" sends none), for forgeries.
func (s *Server) PostSigned(ctx context.Context, publicURL string, params url.Values, signature string) (int, string, error) {
	s.mu.Lock()
	target := s.reach(publicURL)
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// SendStatus moves a created message to status (sent, delivered, undelivered, failed...) and
// posts the status callback the message asked for, with errorCode for failures. It returns the
// status of the answer.
func (s *Server) SendStatus(ctx context.Context, sid, status, errorCode string) (int, error) {
	s.mu.Lock()
	var m *Message
	for _, x := range s.messages {
		if x.SID == sid {
			m = x
		}
	}
	if m != nil {
		m.Status = status
	}
	s.mu.Unlock()
	if m == nil {
		return 0, fmt.Errorf("twiliofake: no message %s", sid)
	}
	if m.StatusCallback == "" {
		return 0, fmt.Errorf("twiliofake: message %s has no StatusCallback", sid)
	}
	code, _, err := s.Post(ctx, m.StatusCallback, s.StatusParams(*m, status, errorCode))
	return code, err
}

// StatusParams are the parameters of a status callback for m.
func (s *Server) StatusParams(m Message, status, errorCode string) url.Values {
	p := url.Values{
		"SmsSid": {m.SID}, "SmsStatus": {status}, "MessageStatus": {status}, "MessageSid": {m.SID},
		"To": {m.To}, "From": {m.From}, "AccountSid": {s.AccountSID}, "ApiVersion": {APIVersion},
	}
	if errorCode != "" {
		p.Set("ErrorCode", errorCode)
	}
	return p
}
