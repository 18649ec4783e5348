package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Twilio's limits: a message body of at most 1600 characters (Twilio splits it into segments
// itself) and at most 10 media files on an inbound MMS.
const (
	twilioMaxBody  = 1600
	twilioMaxMedia = 10
	twimlEmpty     = `<?xml version="1.0" encoding="UTF-8"?><Response/>`
)

// twilioOptedOut is Twilio's error for a recipient who texted STOP to the sender.
const twilioOptedOut = 21610

var messageSIDPattern = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

// twilio is the Twilio Programmable Messaging adapter.
type twilio struct {
	p   *sms
	cfg *twilioSettings
}

func (t *twilio) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /twilio/sms", t.serveInbound)
	mux.HandleFunc("POST /twilio/status", t.serveStatus)
}

// twilioSignature is Twilio's X-Twilio-Signature of a request to fullURL (query included) with
// form parameters params: Base64 of the HMAC-SHA1, keyed with the auth token, of the URL followed
// by every parameter's name and value, sorted by name.
func twilioSignature(authToken, fullURL string, params url.Values) string {
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names)
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, fullURL)
	for _, name := range names {
		values := append([]string(nil), params[name]...)
		sort.Strings(values)
		for _, v := range values {
			io.WriteString(mac, name)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verifyTwilio checks a signature in constant time. Twilio signs the URL as written in its
// console, which may or may not spell out the scheme's default port: both forms are accepted.
func verifyTwilio(authToken, fullURL string, params url.Values, signature string) bool {
	ok := false
	for _, u := range urlForms(fullURL) {
		if hmac.Equal([]byte(twilioSignature(authToken, u, params)), []byte(signature)) {
			ok = true
		}
	}
	return ok
}

// urlForms is rawURL, and rawURL with its scheme's default port added or removed.
func urlForms(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return []string{rawURL}
	}
	port := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if port == "" {
		return []string{rawURL}
	}
	other := *u
	switch u.Port() {
	case "":
		other.Host = net.JoinHostPort(u.Hostname(), port)
	case port:
		other.Host = u.Hostname()
		if strings.Contains(other.Host, ":") {
			other.Host = "[" + other.Host + "]"
		}
	default:
		return []string{rawURL}
	}
	return []string{rawURL, other.String()}
}

// verified reads and checks a Twilio webhook: size, form encoding, signature, account, and that
// the line is in service. It returns the form parameters.
func (t *twilio) verified(w http.ResponseWriter, r *http.Request) (url.Values, *refusal) {
	body, ref := readBody(w, r)
	if ref != nil {
		return nil, ref
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, refuse(http.StatusBadRequest, reasonMalformed, "Twilio posts application/x-www-form-urlencoded, not %q", r.Header.Get("Content-Type"))
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, refuse(http.StatusBadRequest, reasonMalformed, "the form body is malformed: %v", err)
	}
	signature := r.Header.Get("X-Twilio-Signature")
	if signature == "" {
		return nil, refuse(http.StatusForbidden, reasonForged, "X-Twilio-Signature is missing")
	}
	fullURL := t.cfg.PublicURL + strings.TrimPrefix(r.URL.Path, "/")
	if r.URL.RawQuery != "" {
		fullURL += "?" + r.URL.RawQuery
	}
	if !verifyTwilio(t.cfg.AuthToken, fullURL, params, signature) {
		return nil, refuse(http.StatusForbidden, reasonForged, "X-Twilio-Signature does not match this request to %s (check twilio.auth_token and twilio.public_url)", fullURL)
	}
	if sid := params.Get("AccountSid"); sid != t.cfg.AccountSID {
		return nil, refuse(http.StatusForbidden, reasonForged, "AccountSid %q is not the account of this line", sid)
	}
	if t.p.cfg.Disabled {
		return nil, refuse(http.StatusGone, reasonDisabled, "this SMS line is disabled")
	}
	return params, nil
}

// serveInbound takes a customer's SMS or MMS and answers empty TwiML once the hub stored it.
func (t *twilio) serveInbound(w http.ResponseWriter, r *http.Request) {
	var in inboundSMS
	params, ref := t.verified(w, r)
	if ref == nil {
		in, ref = t.inbound(params)
	}
	if ref != nil {
		t.p.refuse(w, r, ref)
		return
	}
	if in.text != "" || len(in.media) > 0 {
		if err := t.p.receive(r.Context(), in); err != nil {
			t.p.failed(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	io.WriteString(w, twimlEmpty)
}

// inbound reads Twilio's incoming message parameters strictly.
func (t *twilio) inbound(params url.Values) (inboundSMS, *refusal) {
	sid, from, to := params.Get("MessageSid"), params.Get("From"), params.Get("To")
	switch {
	case !messageSIDPattern.MatchString(sid):
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "MessageSid %q is not a message SID", sid)
	case !shortPattern.MatchString(from):
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "From %q is not a phone number", from)
	case to == "":
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "To is missing")
	}
	ours := t.p.cfg.ourNumber(to)
	if ours == "" {
		return inboundSMS{}, refuse(http.StatusNotFound, reasonUnknownNum, "%s is not a number of this line", to)
	}
	body := params.Get("Body")
	if n := len(utf16.Encode([]rune(body))); n > twilioMaxBody {
		return inboundSMS{}, refuse(http.StatusRequestEntityTooLarge, reasonOversized, "Body has %d characters; Twilio sends at most %d", n, twilioMaxBody)
	}
	n := 0
	if v := params.Get("NumMedia"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "NumMedia %q is not a count", v)
		}
	}
	if n > twilioMaxMedia {
		return inboundSMS{}, refuse(http.StatusRequestEntityTooLarge, reasonOversized, "NumMedia is %d; Twilio sends at most %d files", n, twilioMaxMedia)
	}
	var media []*pb.Attachment
	for i := range n {
		u, ct := params.Get(fmt.Sprintf("MediaUrl%d", i)), params.Get(fmt.Sprintf("MediaContentType%d", i))
		if !isHTTPURL(u) || ct == "" {
			return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "MediaUrl%d and MediaContentType%d must be a URL and a content type", i, i)
		}
		// Twilio keeps the file; fetching it may need the account's credentials, so the hub is
		// handed the URL rather than the bytes.
		media = append(media, &pb.Attachment{Name: mediaName(i, ct), ContentType: ct, Url: u})
	}
	return inboundSMS{id: sid, from: from, to: ours, text: body, media: media, origin: "SMS to " + ours}, nil
}

// mediaName names the i-th file of an MMS after its type, e.g. "mms-1.jpg".
func mediaName(i int, contentType string) string {
	name := "mms-" + strconv.Itoa(i+1)
	if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
		name += exts[0]
	}
	return name
}

// serveStatus maps a status callback to a delivery receipt for the event named in its URL.
func (t *twilio) serveStatus(w http.ResponseWriter, r *http.Request) {
	params, ref := t.verified(w, r)
	if ref != nil {
		t.p.refuse(w, r, ref)
		return
	}
	event, sid, status := r.URL.Query().Get("event"), params.Get("MessageSid"), params.Get("MessageStatus")
	switch {
	case event == "":
		ref = refuse(http.StatusBadRequest, reasonMalformed, "the status callback URL carries no ?event=")
	case !messageSIDPattern.MatchString(sid):
		ref = refuse(http.StatusBadRequest, reasonMalformed, "MessageSid %q is not a message SID", sid)
	case status == "":
		ref = refuse(http.StatusBadRequest, reasonMalformed, "MessageStatus is missing")
	}
	ours := t.p.cfg.ourNumber(params.Get("From"))
	if ref == nil && ours == "" {
		ref = refuse(http.StatusNotFound, reasonUnknownNum, "From %q is not a number of this line", params.Get("From"))
	}
	if ref != nil {
		t.p.refuse(w, r, ref)
		return
	}
	if st, reason, known := twilioStatus(status, params.Get("ErrorCode")); known {
		key := conversationKey(params.Get("To"), ours)
		if err := t.p.receipt(r.Context(), "status:"+sid+":"+status, key, event, st, reason); err != nil {
			t.p.failed(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// twilioStatus maps a MessageStatus to a delivery status; the in-between states (queued,
// accepted, sending...) are not reported.
func twilioStatus(status, errorCode string) (pb.DeliveryStatus, string, bool) {
	switch status {
	case "sent":
		return pb.DeliveryStatus_DELIVERY_STATUS_SENT, "", true
	case "delivered":
		return pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, "", true
	case "read":
		return pb.DeliveryStatus_DELIVERY_STATUS_READ, "", true
	case "undelivered", "failed", "canceled":
		reason := "Twilio reports the message " + status
		if errorCode != "" {
			reason += ": error " + errorCode
			if text := twilioErrors[errorCode]; text != "" {
				reason += ", " + text
			}
		}
		return pb.DeliveryStatus_DELIVERY_STATUS_FAILED, reason, true
	}
	return 0, "", false
}

// twilioErrors explains the delivery errors Twilio reports most.
var twilioErrors = map[string]string{
	"21610": "the recipient opted out with STOP",
	"30001": "queue overflow",
	"30002": "account suspended",
	"30003": "unreachable destination handset",
	"30004": "message blocked",
	"30005": "unknown destination handset",
	"30006": "landline or unreachable carrier",
	"30007": "filtered by the carrier",
	"30008": "unknown error",
	"30010": "message price exceeds max price",
}

// twilioError is the body of Twilio's REST API errors.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// send creates one Message. Twilio has no idempotency key for it: the plugin remembers the event
// ids Twilio accepted, but a crash between Twilio's answer and the hub's ack sends it twice.
func (t *twilio) send(ctx context.Context, m outbound) error {
	if n := len(utf16.Encode([]rune(m.text))); n > twilioMaxBody {
		return sdk.Reject("the reply has %d characters; Twilio sends at most %d in one message: shorten it", n, twilioMaxBody)
	}
	form := url.Values{
		"To":             {m.customer},
		"From":           {m.ours},
		"Body":           {m.text},
		"StatusCallback": {t.cfg.PublicURL + "twilio/status?event=" + url.QueryEscape(m.eventID)},
	}
	endpoint := t.cfg.APIBase + "/2010-04-01/Accounts/" + t.cfg.AccountSID + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken)
	resp, err := t.p.client.Do(req)
	if err != nil {
		return fmt.Errorf("twilio: create message: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
		var created struct {
			SID    string `json:"sid"`
			Status string `json:"status"`
		}
		if err := json.Unmarshal(data, &created); err != nil || created.SID == "" {
			return fmt.Errorf("twilio: create message: HTTP %d without a message sid: %.200s", resp.StatusCode, data)
		}
		t.p.setProblem("")
		t.p.log().Debug("SMS accepted by Twilio", "event", m.eventID, "sid", created.SID, "status", created.Status)
		return nil
	}
	var te twilioError
	_ = json.Unmarshal(data, &te)
	if te.Message == "" {
		te.Message = strings.TrimSpace(string(data))
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		problem := fmt.Sprintf("Twilio refused the credentials (HTTP %d, error %d %s): check twilio.account_sid and twilio.auth_token", resp.StatusCode, te.Code, te.Message)
		t.p.setProblem(problem)
		return errors.New(problem)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("twilio: create message: HTTP %d: %s", resp.StatusCode, te.Message)
	case te.Code == twilioOptedOut:
		if err := t.p.optOuts.set(m.key, true, time.Now()); err != nil {
			t.p.log().Error("could not record the opt-out Twilio reported", "conversation", m.key, "error", err)
		}
		return sdk.Reject("the customer opted out with STOP: nothing can be sent until they text START")
	}
	return sdk.Reject("Twilio refused the message: %s (error %d)", te.Message, te.Code)
}
