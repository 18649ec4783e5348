package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Kannel's delivery report statuses (the dlr-mask bits; %d in dlr-url).
const (
	dlrDelivered = 1  // delivered to the phone
	dlrFailed    = 2  // not delivered to the phone
	dlrBuffered  = 4  // the SMSC keeps trying
	dlrAccepted  = 8  // the SMSC took it
	dlrRejected  = 16 // the SMSC refused it
	dlrMaskAll   = dlrDelivered | dlrFailed | dlrBuffered | dlrAccepted | dlrRejected
)

// kannel is the adapter for a Kannel gateway: texts arrive through an sms-service post-url,
// replies leave through smsbox's sendsms, delivery reports come back to the dlr-url of each part.
// Kannel signs nothing: every callback carries the shared secret.
type kannel struct {
	p        *sms
	cfg      *kannelSettings
	progress *recent[*dlrProgress] // outbound event → what the parts' reports said
}

func (k *kannel) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /kannel/mo", k.serveMO)
	mux.HandleFunc("GET /kannel/dlr", k.serveDLR)
}

// checked verifies the secret of a Kannel callback (in constant time) and that the line is in
// service.
func (k *kannel) checked(r *http.Request) *refusal {
	given := r.URL.Query().Get("secret")
	// Comparing digests keeps the time independent of where, or whether, the lengths differ.
	a, b := sha256.Sum256([]byte(given)), sha256.Sum256([]byte(k.cfg.CallbackSecret))
	if given == "" || subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return refuse(http.StatusForbidden, reasonForged, "the callback's ?secret= is missing or wrong (kannel.callback_secret)")
	}
	if k.p.cfg.Disabled {
		return refuse(http.StatusGone, reasonDisabled, "this SMS line is disabled")
	}
	return nil
}

// serveMO takes a customer's SMS as Kannel's post-url sends it: the text as the body, the
// numbers in X-Kannel-From and X-Kannel-To (send-sender = true), Kannel's message id as ?id=%I.
func (k *kannel) serveMO(w http.ResponseWriter, r *http.Request) {
	var (
		body []byte
		in   inboundSMS
	)
	ref := k.checked(r) // the secret is in the URL: nothing is read before it is checked
	if ref == nil {
		body, ref = readBody(w, r)
	}
	if ref == nil {
		in, ref = k.inbound(r, body)
	}
	if ref != nil {
		k.p.refuse(w, r, ref)
		return
	}
	if strings.TrimSpace(in.text) != "" {
		if err := k.p.receive(r.Context(), in); err != nil {
			k.p.failed(w, r, err)
			return
		}
	}
	// An empty answer: with max-messages = 0 Kannel sends no reply SMS.
	w.WriteHeader(http.StatusNoContent)
}

func (k *kannel) inbound(r *http.Request, body []byte) (inboundSMS, *refusal) {
	q := r.URL.Query()
	id := q.Get("id")
	from := firstOf(r.Header.Get("X-Kannel-From"), q.Get("from"))
	to := firstOf(r.Header.Get("X-Kannel-To"), q.Get("to"))
	switch {
	case id == "" || len(id) > 100:
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "the post-url must carry Kannel's message id as id=%%I")
	case !shortPattern.MatchString(from):
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "the sender %q is not a phone number (set send-sender = true in the sms-service)", from)
	case to == "":
		return inboundSMS{}, refuse(http.StatusBadRequest, reasonMalformed, "X-Kannel-To is missing")
	}
	ours := k.p.cfg.ourNumber(to)
	if ours == "" {
		return inboundSMS{}, refuse(http.StatusNotFound, reasonUnknownNum, "%s is not a number of this line", to)
	}
	text, ref := kannelText(r.Header.Get("Content-Type"), body)
	if ref != nil {
		return inboundSMS{}, ref
	}
	return inboundSMS{id: "kannel:" + id, from: from, to: ours, text: text, origin: "SMS to " + ours}, nil
}

// kannelText decodes the body of a post-url request by its charset: UTF-8, or UTF-16BE for a
// UCS-2 SMS Kannel did not recode (mo-recode), or Latin-1. Binary SMS are not text.
func kannelText(contentType string, body []byte) (string, *refusal) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "text/plain" {
		return "", refuse(http.StatusUnsupportedMediaType, reasonUnsupported, "only text SMS are taken, not %q", contentType)
	}
	switch strings.ToUpper(params["charset"]) {
	case "", "UTF-8":
		if !utf8.Valid(body) {
			return "", refuse(http.StatusBadRequest, reasonMalformed, "the body is not valid UTF-8")
		}
		return string(body), nil
	case "UTF-16BE", "UCS-2", "UTF-16":
		if len(body)%2 != 0 {
			return "", refuse(http.StatusBadRequest, reasonMalformed, "the UTF-16 body has an odd length")
		}
		units := make([]uint16, len(body)/2)
		for i := range units {
			units[i] = uint16(body[2*i])<<8 | uint16(body[2*i+1])
		}
		return string(utf16.Decode(units)), nil
	case "ISO-8859-1", "LATIN1", "WINDOWS-1252":
		runes := make([]rune, len(body))
		for i, b := range body {
			runes[i] = rune(b)
		}
		return string(runes), nil
	}
	return "", refuse(http.StatusUnsupportedMediaType, reasonUnsupported, "charset %q is not supported: set mo-recode = true in the smsbox group", params["charset"])
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// dlrProgress is what the delivery reports of one reply's parts said so far.
type dlrProgress struct {
	delivered []bool
	sent      bool // reported to the hub
	done      bool // delivered or failed reported
}

// serveDLR maps Kannel's delivery reports to receipts: SENT once the SMSC took the first part,
// DELIVERED once every part reached the phone, FAILED as soon as one part failed.
func (k *kannel) serveDLR(w http.ResponseWriter, r *http.Request) {
	if ref := k.checked(r); ref != nil {
		k.p.refuse(w, r, ref)
		return
	}
	d, ref := parseDLR(r.URL.Query())
	if ref != nil {
		k.p.refuse(w, r, ref)
		return
	}
	status, reason, which := k.track(d)
	if which != "" {
		if err := k.p.receipt(r.Context(), "dlr:"+d.event+":"+which, d.key, d.event, status, reason); err != nil {
			k.p.failed(w, r, err)
			return
		}
		k.reported(d.event, which)
	}
	w.WriteHeader(http.StatusNoContent)
}

// dlr is one delivery report.
type dlr struct {
	event, key  string
	part, parts int
	status      int
	answer      string
}

func parseDLR(q url.Values) (dlr, *refusal) {
	bad := func(format string, args ...any) (dlr, *refusal) {
		return dlr{}, refuse(http.StatusBadRequest, reasonMalformed, format, args...)
	}
	event, err1 := base64.RawURLEncoding.DecodeString(q.Get("event"))
	key, err2 := base64.RawURLEncoding.DecodeString(q.Get("conv"))
	if err1 != nil || err2 != nil || len(event) == 0 {
		return bad("event and conv must be the ids this plugin put in the dlr-url")
	}
	if _, _, ok := parseKey(string(key)); !ok {
		return bad("conv is not an SMS conversation")
	}
	part, err1 := strconv.Atoi(q.Get("part"))
	parts, err2 := strconv.Atoi(q.Get("parts"))
	if err1 != nil || err2 != nil || parts < 1 || parts > maxSegmentsLimit || part < 1 || part > parts {
		return bad("part %q of %q is not a part number", q.Get("part"), q.Get("parts"))
	}
	status, err := strconv.Atoi(q.Get("status"))
	if err != nil {
		return bad("status %q is not a Kannel delivery status (%%d)", q.Get("status"))
	}
	return dlr{event: string(event), key: string(key), part: part, parts: parts, status: status, answer: q.Get("answer")}, nil
}

// track records a report and says which receipt, if any, it completes ("sent", "delivered",
// "failed"). The receipt counts as reported only once the hub has it (reported), so a report
// Kannel sends again after a failed answer is not lost. The parts' progress is kept in memory:
// after a restart a multipart reply whose earlier parts were reported before it stays "sent".
func (k *kannel) track(d dlr) (pb.DeliveryStatus, string, string) {
	var (
		status pb.DeliveryStatus
		reason string
		which  string
	)
	k.progress.update(d.event, func(pr *dlrProgress, found bool) *dlrProgress {
		if !found {
			pr = &dlrProgress{delivered: make([]bool, d.parts)}
		}
		if pr.done || len(pr.delivered) != d.parts {
			return pr
		}
		switch d.status {
		case dlrAccepted, dlrBuffered:
			if !pr.sent {
				status, which = pb.DeliveryStatus_DELIVERY_STATUS_SENT, "sent"
			}
		case dlrDelivered:
			pr.delivered[d.part-1] = true
			all := true
			for _, ok := range pr.delivered {
				all = all && ok
			}
			if all {
				status, which = pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, "delivered"
			}
		case dlrFailed, dlrRejected:
			reason = "the phone could not be reached"
			if d.status == dlrRejected {
				reason = "the SMS center refused the message"
			}
			if d.parts > 1 {
				reason += fmt.Sprintf(" (part %d of %d)", d.part, d.parts)
			}
			if d.answer != "" {
				reason += ": " + d.answer
			}
			status, which = pb.DeliveryStatus_DELIVERY_STATUS_FAILED, "failed"
		}
		return pr
	})
	return status, reason, which
}

// reported notes that the hub has the receipt which of event.
func (k *kannel) reported(event, which string) {
	k.progress.update(event, func(pr *dlrProgress, found bool) *dlrProgress {
		if !found {
			return &dlrProgress{sent: true, done: which != "sent"}
		}
		if which == "sent" {
			pr.sent = true
		} else {
			pr.done = true
		}
		return pr
	})
}

// send hands a reply to smsbox, one sendsms request per segment. Segments of a longer reply
// carry a concatenation header (UDH) so phones show them as one message. Kannel has no
// idempotency key: the plugin remembers which parts were accepted and resumes after the last
// one, but a crash between Kannel's answer and the hub's ack sends those parts again.
func (k *kannel) send(ctx context.Context, m outbound) error {
	c, parts := segment(m.text)
	done, _ := k.p.sent.get(m.eventID)
	ref := concatRef(m.eventID)
	for i := max(done, 0); i < len(parts); i++ {
		q := url.Values{
			"username": {k.cfg.Username},
			"password": {k.cfg.Password},
			"from":     {m.ours},
			"to":       {m.customer},
			"text":     {parts[i]},
			"charset":  {"UTF-8"},
			"coding":   {"0"},
			"dlr-mask": {strconv.Itoa(dlrMaskAll)},
			"dlr-url":  {k.dlrURL(m, i+1, len(parts))},
		}
		if c == ucs2 {
			q.Set("coding", "2")
		}
		if len(parts) > 1 {
			q.Set("udh", string([]byte{5, 0, 3, ref, byte(len(parts)), byte(i + 1)}))
		}
		if k.cfg.SMSC != "" {
			q.Set("smsc", k.cfg.SMSC)
		}
		if err := k.sendsms(ctx, q); err != nil {
			if i > 0 {
				err = fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			}
			return err
		}
		k.p.sent.put(m.eventID, i+1)
	}
	return nil
}

// dlrURL is where Kannel reports on one part: it fills in %d (status) and %A (the SMSC's answer).
// The ids travel base64url-encoded, as Kannel would read a "%" in them as an escape.
func (k *kannel) dlrURL(m outbound, part, parts int) string {
	enc := base64.RawURLEncoding.EncodeToString
	return fmt.Sprintf("%skannel/dlr?secret=%s&event=%s&conv=%s&part=%d&parts=%d&status=%%d&answer=%%A",
		k.cfg.PublicURL, k.cfg.CallbackSecret, enc([]byte(m.eventID)), enc([]byte(m.key)), part, parts)
}

// concatRef is the concatenation reference of a reply's parts, the same on every attempt.
func concatRef(eventID string) byte {
	sum := sha256.Sum256([]byte(eventID))
	return sum[0]
}

// sendsms makes one sendsms request. smsbox answers 202 "0: Accepted for delivery" (or "3:
// Queued for later delivery"), 403 for bad credentials or a number its lists deny, 400 for a
// request it cannot send, 503 when bearerbox is away.
func (k *kannel) sendsms(ctx context.Context, q url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.cfg.SendsmsURL+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := k.p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL holds the password
		}
		return fmt.Errorf("kannel: sendsms at %s: %w", k.cfg.SendsmsURL, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	answer := strings.TrimSpace(string(data))
	switch {
	case resp.StatusCode/100 == 2:
		k.p.setProblem("")
		return nil
	case resp.StatusCode == http.StatusForbidden && strings.Contains(answer, "Authorization failed"):
		problem := "Kannel refused the sendsms credentials: check kannel.username and kannel.password against the sendsms-user group"
		k.p.setProblem(problem)
		return errors.New(problem)
	case resp.StatusCode >= 500:
		return fmt.Errorf("kannel: sendsms: HTTP %d: %s", resp.StatusCode, answer)
	}
	return sdk.Reject("Kannel refused the message: %s (HTTP %d)", answer, resp.StatusCode)
}
