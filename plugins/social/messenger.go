package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Messenger Platform (https://developers.facebook.com/docs/messenger-platform): Meta posts the
// page's messaging events to the app's callback URL; replies go out with the Send API.
const (
	messengerMaxText     = 2000
	messengerWebhookPath = "messenger/webhook"
	// Meta's "This message is sent outside of allowed window" error.
	messengerWindowCode    = 10
	messengerWindowSubcode = 2018278
	// Meta's "This person isn't available right now".
	messengerUnavailableCode = 551
	// maxProfiles bounds the cache of customers' names.
	maxProfiles = 10000
)

const messengerWindowClosed = "the customer last wrote more than 24 hours ago; Messenger allows replies only within 24 hours " +
	"of the customer's last message (message tags such as HUMAN_AGENT are not supported by this channel)"

type messenger struct {
	p   *social
	cfg *messengerSettings
	api *graph

	mu       sync.Mutex
	profiles map[string]*pb.Customer // by PSID
}

func newMessenger(p *social, cfg *messengerSettings) *messenger {
	return &messenger{p: p, cfg: cfg, api: newGraph(cfg.APIBase, cfg.PageAccessToken), profiles: map[string]*pb.Customer{}}
}

func (m *messenger) kind() string { return "messenger" }
func (m *messenger) self() string { return m.cfg.PageID }
func (m *messenger) maxText() int { return messengerMaxText }

func (m *messenger) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /"+messengerWebhookPath, m.p.webhook(m.p.serveVerify(m.cfg.VerifyToken)))
	mux.HandleFunc("POST /"+messengerWebhookPath, m.p.webhook(m.serveWebhook))
}

func (m *messenger) run(context.Context) {
	m.p.log().Info("messenger ready: set the app's Messenger callback URL and subscribe the page to messages and message_deliveries",
		"callback_url", m.p.cfg.PublicURL+messengerWebhookPath, "page_id", m.cfg.PageID)
}

// Webhook payload, as far as the plugin reads it.
type (
	fbPayload struct {
		Object string `json:"object"`
		Entry  []struct {
			ID        string    `json:"id"`
			Time      int64     `json:"time"`
			Messaging []fbEvent `json:"messaging"`
		} `json:"entry"`
	}
	fbEvent struct {
		Sender    fbID       `json:"sender"`
		Recipient fbID       `json:"recipient"`
		Timestamp int64      `json:"timestamp"` // milliseconds
		Message   *fbMessage `json:"message"`
		Delivery  *struct {
			Mids      []string `json:"mids"`
			Watermark int64    `json:"watermark"`
		} `json:"delivery"`
	}
	fbID struct {
		ID string `json:"id"`
	}
	fbMessage struct {
		Mid         string         `json:"mid"`
		Text        string         `json:"text"`
		IsEcho      bool           `json:"is_echo"`
		Attachments []fbAttachment `json:"attachments"`
	}
	fbAttachment struct {
		Type    string `json:"type"`
		Title   string `json:"title"` // fallback (a shared link)
		URL     string `json:"url"`   // fallback
		Payload *struct {
			URL   string `json:"url"`
			Title string `json:"title"`
		} `json:"payload"`
	}
)

// serveWebhook takes what Meta posts: the signature first, then a strict parse of the whole
// payload, then its events in order.
func (m *messenger) serveWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := readSigned(w, r, m.cfg.AppSecret)
	if err != nil {
		return err
	}
	var pl fbPayload
	if err := decodeOne(body, &pl); err != nil {
		return refuse(http.StatusBadRequest, "malformed", "not a Messenger webhook: "+err.Error())
	}
	if pl.Object != "page" {
		return refuse(http.StatusBadRequest, "malformed", fmt.Sprintf("object is %q, not page", pl.Object))
	}
	var events []*fbEvent
	for i := range pl.Entry {
		e := &pl.Entry[i]
		if e.ID != m.cfg.PageID {
			return refuse(http.StatusNotFound, "unknown_recipient", fmt.Sprintf("page %s is not this instance's (%s)", e.ID, m.cfg.PageID))
		}
		for j := range e.Messaging {
			ev := &e.Messaging[j]
			if ev.Sender.ID == "" || ev.Recipient.ID == "" {
				return refuse(http.StatusBadRequest, "malformed", "a messaging event without sender or recipient")
			}
			if msg := ev.Message; msg != nil && !msg.IsEcho {
				if ev.Recipient.ID != m.cfg.PageID {
					return refuse(http.StatusNotFound, "unknown_recipient", fmt.Sprintf("a message for page %s, not this instance's (%s)", ev.Recipient.ID, m.cfg.PageID))
				}
				if msg.Mid == "" || ev.Timestamp <= 0 {
					return refuse(http.StatusBadRequest, "malformed", "a message without mid or timestamp")
				}
			}
			events = append(events, ev)
		}
	}
	for _, ev := range events {
		var err error
		switch {
		case ev.Message != nil && !ev.Message.IsEcho:
			err = m.receive(r.Context(), ev)
		case ev.Delivery != nil:
			err = m.delivered(r.Context(), ev)
		}
		if err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (m *messenger) receive(ctx context.Context, ev *fbEvent) error {
	msg := ev.Message
	id := "fb:" + msg.Mid
	if m.p.seen.Has(id) {
		return nil
	}
	text := msg.Text
	var files []media
	for i, a := range msg.Attachments {
		raw := a.URL
		if a.Payload != nil && a.Payload.URL != "" {
			raw = a.Payload.URL
		}
		switch a.Type {
		case "image", "file", "video", "audio":
			if raw == "" {
				continue
			}
			files = append(files, m.media(msg.Mid+"-"+strconv.Itoa(i), raw))
		case "fallback":
			title := a.Title
			if a.Payload != nil && title == "" {
				title = a.Payload.Title
			}
			text = joinLines(text, strings.TrimSpace(title+" "+raw))
		default:
			text = joinLines(text, "[the customer sent a "+a.Type+", which this channel cannot show]")
		}
	}
	atts, note, err := m.p.fetchMedia(ctx, id, files)
	if err != nil {
		return err
	}
	text = joinLines(text, note)
	psid := ev.Sender.ID
	return m.p.receive(ctx, inbound{
		key: m.p.keyOf(psid), id: id, at: time.UnixMilli(ev.Timestamp), text: text, files: atts,
		customer: func(ctx context.Context) *pb.Customer { return m.profile(ctx, psid) },
	})
}

// media is a Messenger attachment: its payload URL is a signed CDN address, fetched as it is.
func (m *messenger) media(id, raw string) media {
	name := ""
	if u, err := url.Parse(raw); err == nil {
		name = path.Base(u.Path)
	}
	return media{id: id, name: name,
		fetch: func(ctx context.Context, limit int64) ([]byte, string, error) {
			if !m.api.tokenMayGo(raw) {
				return nil, "", fmt.Errorf("%w: the attachment URL is not https", errGone)
			}
			return m.p.download(ctx, raw, "", limit)
		}}
}

// profile is who the customer is: the name from the User Profile API, asked once per customer
// and process. Without it (no permission, an outage) the customer is their PSID.
func (m *messenger) profile(ctx context.Context, psid string) *pb.Customer {
	m.mu.Lock()
	c := m.profiles[psid]
	m.mu.Unlock()
	if c != nil {
		return c
	}
	var answer struct {
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := m.api.call(ctx, http.MethodGet, url.PathEscape(psid), url.Values{"fields": {"first_name,last_name"}}, nil, &answer); err != nil {
		m.p.log().Info("the customer's Messenger name is unknown", "psid", psid, "error", err)
	}
	c = &pb.Customer{Address: psid, FirstName: answer.FirstName, LastName: answer.LastName}
	m.mu.Lock()
	if len(m.profiles) >= maxProfiles {
		m.profiles = map[string]*pb.Customer{}
	}
	m.profiles[psid] = c
	m.mu.Unlock()
	return c
}

// delivered reports Messenger's delivery confirmations of the messages this process sent.
func (m *messenger) delivered(ctx context.Context, ev *fbEvent) error {
	for _, mid := range ev.Delivery.Mids {
		eventID, ok := m.p.sent.event(mid)
		if !ok {
			continue
		}
		if err := m.p.receipt(ctx, m.p.keyOf(ev.Sender.ID), "fb-delivered:"+mid, eventID, pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED, ""); err != nil {
			return err
		}
	}
	return nil
}

// send sends a text with the Send API, as a response to the customer (messaging_type RESPONSE).
func (m *messenger) send(ctx context.Context, to, text, _ string) (string, error) {
	var answer struct {
		RecipientID string `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	err := m.api.call(ctx, http.MethodPost, m.cfg.PageID+"/messages", nil, map[string]any{
		"recipient": map[string]any{"id": to}, "messaging_type": "RESPONSE", "message": map[string]any{"text": text},
	}, &answer)
	var ge *graphError
	if errors.As(err, &ge) {
		switch {
		case ge.Code == messengerWindowCode && ge.Subcode == messengerWindowSubcode:
			return "", errWindowClosed
		case ge.Code == messengerUnavailableCode:
			return "", sdk.Reject("Messenger cannot reach the customer now (%s)", ge.detail())
		case ge.credentials():
			m.p.problem("messenger", err)
		case !ge.transient():
			return "", sdk.Reject("Messenger refused the message: %s (error %d)", ge.detail(), ge.Code)
		}
	}
	if err != nil {
		return "", err
	}
	m.p.problem("messenger", nil)
	if answer.MessageID == "" {
		return "", errors.New("messenger: the Send API answer carries no message_id")
	}
	return answer.MessageID, nil
}

// windowClosed refuses a reply the 24-hour window no longer allows.
func (m *messenger) windowClosed(context.Context, *sdk.Event, string) error {
	return sdk.Reject(messengerWindowClosed)
}

func joinLines(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "\n" + b
}
