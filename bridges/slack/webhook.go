package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Events API: Slack posts events (JSON) and interactions (a form with a payload field) to the
// request URL, signed with the app's signing secret.
const (
	maxRequestBytes = 1 << 20
	maxClockSkew    = 5 * time.Minute
)

func (b *bridge) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", b.serveEvents)
	mux.HandleFunc("POST /interactive", b.serveEvents)
	return mux
}

// refusal is why a request is refused, with the status and the counter reason.
type refusal struct {
	status  int
	reason  string
	message string
}

func (r *refusal) Error() string { return r.message }

// verify checks Slack's request signature: "v0=" + hex HMAC-SHA256 of "v0:{timestamp}:{body}"
// with the signing secret, and a timestamp within five minutes of now.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	sig, ts := h.Get("X-Slack-Signature"), h.Get("X-Slack-Request-Timestamp")
	if sig == "" || ts == "" {
		return &refusal{http.StatusUnauthorized, "forged", "missing X-Slack-Signature or X-Slack-Request-Timestamp"}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &refusal{http.StatusBadRequest, "malformed", "X-Slack-Request-Timestamp is not a number of seconds"}
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxClockSkew || d < -maxClockSkew {
		return &refusal{http.StatusUnauthorized, "stale", "X-Slack-Request-Timestamp is more than 5 minutes from now"}
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &refusal{http.StatusUnauthorized, "forged", "X-Slack-Signature does not match the request"}
	}
	return nil
}

// serveEvents answers Slack: 200 once the event is handled (for a message: the hub stored it),
// 401 or 400 for requests that are not Slack's or not readable, 503 to have Slack send it again.
func (b *bridge) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-b.ready:
	default:
		http.Error(w, "starting; send it again", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		b.refuse(w, &refusal{http.StatusRequestEntityTooLarge, "malformed", "the request body is over 1 MiB"})
		return
	}
	if err := verify(b.cfg.SigningSecret, r.Header, body, time.Now()); err != nil {
		var ref *refusal
		if !errors.As(err, &ref) {
			ref = &refusal{http.StatusUnauthorized, "forged", err.Error()}
		}
		b.refuse(w, ref)
		return
	}
	mediatype, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediatype == "application/x-www-form-urlencoded" {
		b.serveInteraction(w, r, body)
		return
	}
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil || cb.Type == "" {
		b.refuse(w, &refusal{http.StatusBadRequest, "malformed", "the body is not an Events API request"})
		return
	}
	switch cb.Type {
	case "url_verification":
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"challenge": cb.Challenge})
		return
	case "event_callback":
		if cb.EventID == "" || len(cb.Event) == 0 {
			b.refuse(w, &refusal{http.StatusBadRequest, "malformed", "event_callback without event_id or event"})
			return
		}
	}
	t := b.lanes.take(laneOf(&cb))
	defer t.release()
	if err := t.wait(r.Context()); err != nil {
		http.Error(w, "cancelled", http.StatusServiceUnavailable)
		return
	}
	if err := b.handleCallback(r.Context(), &cb); err != nil {
		b.logger().Warn("slack event not handled; Slack will send it again", "event_id", cb.EventID, "error", err)
		http.Error(w, "the event could not be handled now; send it again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (b *bridge) serveInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	var ia interaction
	if err == nil {
		err = json.Unmarshal([]byte(form.Get("payload")), &ia)
	}
	if err != nil || ia.Type == "" {
		b.refuse(w, &refusal{http.StatusBadRequest, "malformed", "the payload field is not an interaction"})
		return
	}
	if err := b.onInteraction(r.Context(), &ia); err != nil {
		b.logger().Warn("slack interaction not handled", "error", err)
		http.Error(w, "the action could not be handled now; try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (b *bridge) refuse(w http.ResponseWriter, r *refusal) {
	b.count("events_refused", r.reason)
	b.logger().Warn("slack request refused", "reason", r.reason, "detail", r.message)
	http.Error(w, r.message, r.status)
}
