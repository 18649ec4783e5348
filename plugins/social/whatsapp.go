package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// WhatsApp Cloud API (https://developers.facebook.com/docs/whatsapp/cloud-api): Meta posts
// messages and statuses to the app's callback URL; replies go out with POST /{phone number id}/messages.
const (
	whatsappMaxText     = 4096
	whatsappWebhookPath = "whatsapp/webhook"
	// whatsappWindowError is Meta's "Re-engagement message" error: the 24-hour window is closed.
	whatsappWindowError = 131047
	// callbackPrefix marks our event id in biz_opaque_callback_data, which statuses carry back.
	callbackPrefix = "switchboard:"
)

// whatsappWindowClosed is what an agent is told about a reply the window does not allow.
const whatsappWindowClosed = "the customer last wrote more than 24 hours ago; WhatsApp allows only template messages now"

type whatsapp struct {
	p   *social
	cfg *whatsappSettings
	api *graph
}

func newWhatsApp(p *social, cfg *whatsappSettings) *whatsapp {
	return &whatsapp{p: p, cfg: cfg, api: newGraph(cfg.APIBase, cfg.AccessToken)}
}

func (w *whatsapp) kind() string { return "whatsapp" }
func (w *whatsapp) self() string { return w.cfg.PhoneNumberID }
func (w *whatsapp) maxText() int { return whatsappMaxText }

func (w *whatsapp) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /"+whatsappWebhookPath, w.p.webhook(w.p.serveVerify(w.cfg.VerifyToken)))
	mux.HandleFunc("POST /"+whatsappWebhookPath, w.p.webhook(w.serveWebhook))
}

func (w *whatsapp) run(context.Context) {
	w.p.log().Info("whatsapp ready: set the app's WhatsApp callback URL and subscribe to the messages field",
		"callback_url", w.p.cfg.PublicURL+whatsappWebhookPath, "phone_number_id", w.cfg.PhoneNumberID)
}

// Webhook payload, as far as the plugin reads it.
type (
	waPayload struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string `json:"id"`
			Changes []struct {
				Field string  `json:"field"`
				Value waValue `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	waValue struct {
		MessagingProduct string `json:"messaging_product"`
		Metadata         struct {
			DisplayPhoneNumber string `json:"display_phone_number"`
			PhoneNumberID      string `json:"phone_number_id"`
		} `json:"metadata"`
		Contacts []struct {
			Profile struct {
				Name string `json:"name"`
			} `json:"profile"`
			WaID string `json:"wa_id"`
		} `json:"contacts"`
		Messages []waMessage `json:"messages"`
		Statuses []waStatus  `json:"statuses"`
	}
	waMessage struct {
		From      string   `json:"from"`
		ID        string   `json:"id"`
		Timestamp string   `json:"timestamp"`
		Type      string   `json:"type"`
		Text      *waText  `json:"text"`
		Image     *waMedia `json:"image"`
		Document  *waMedia `json:"document"`
		Audio     *waMedia `json:"audio"`
		Video     *waMedia `json:"video"`
		Sticker   *waMedia `json:"sticker"`
		Location  *struct {
			Latitude  float64 `json:"latitude"`
			Longitude float64 `json:"longitude"`
			Name      string  `json:"name"`
			Address   string  `json:"address"`
		} `json:"location"`
		Button *struct {
			Text string `json:"text"`
		} `json:"button"`
		Interactive *struct {
			ButtonReply *struct {
				Title string `json:"title"`
			} `json:"button_reply"`
			ListReply *struct {
				Title string `json:"title"`
			} `json:"list_reply"`
		} `json:"interactive"`
	}
	waText struct {
		Body string `json:"body"`
	}
	waMedia struct {
		ID       string `json:"id"`
		MimeType string `json:"mime_type"`
		SHA256   string `json:"sha256"`
		Caption  string `json:"caption"`
		Filename string `json:"filename"`
	}
	waStatus struct {
		ID                    string `json:"id"`
		Status                string `json:"status"`
		Timestamp             string `json:"timestamp"`
		RecipientID           string `json:"recipient_id"`
		BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
		Errors                []struct {
			Code      int    `json:"code"`
			Title     string `json:"title"`
			Message   string `json:"message"`
			ErrorData struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"errors"`
	}
)

// serveWebhook takes what Meta posts: the signature first, then a strict parse of the whole
// payload, then its messages and statuses in order. Nothing is handed to the hub unless the whole
// payload is readable and for this instance's number.
func (w *whatsapp) serveWebhook(rw http.ResponseWriter, r *http.Request) error {
	body, err := readSigned(rw, r, w.cfg.AppSecret)
	if err != nil {
		return err
	}
	var pl waPayload
	if err := decodeOne(body, &pl); err != nil {
		return refuse(http.StatusBadRequest, "malformed", "not a WhatsApp webhook: "+err.Error())
	}
	if pl.Object != "whatsapp_business_account" {
		return refuse(http.StatusBadRequest, "malformed", fmt.Sprintf("object is %q, not whatsapp_business_account", pl.Object))
	}
	var values []*waValue
	for i := range pl.Entry {
		for j := range pl.Entry[i].Changes {
			ch := &pl.Entry[i].Changes[j]
			if ch.Field != "messages" {
				continue
			}
			if err := w.check(&ch.Value); err != nil {
				return err
			}
			values = append(values, &ch.Value)
		}
	}
	for _, v := range values {
		for i := range v.Messages {
			if err := w.receive(r.Context(), v, &v.Messages[i]); err != nil {
				return err
			}
		}
		for i := range v.Statuses {
			if err := w.status(r.Context(), &v.Statuses[i]); err != nil {
				return err
			}
		}
	}
	rw.WriteHeader(http.StatusOK)
	return nil
}

// check refuses a change for another number, or one missing what the plugin needs.
func (w *whatsapp) check(v *waValue) error {
	switch id := v.Metadata.PhoneNumberID; {
	case id == "":
		return refuse(http.StatusBadRequest, "malformed", "a messages change without metadata.phone_number_id")
	case id != w.cfg.PhoneNumberID:
		return refuse(http.StatusNotFound, "unknown_recipient", fmt.Sprintf("phone number id %s is not this instance's (%s)", id, w.cfg.PhoneNumberID))
	}
	for _, m := range v.Messages {
		if m.ID == "" || m.From == "" || m.Type == "" {
			return refuse(http.StatusBadRequest, "malformed", "a message without id, from or type")
		}
		if _, err := unixTime(m.Timestamp); err != nil {
			return refuse(http.StatusBadRequest, "malformed", "message "+m.ID+": "+err.Error())
		}
	}
	for _, s := range v.Statuses {
		if s.ID == "" || s.Status == "" || s.RecipientID == "" {
			return refuse(http.StatusBadRequest, "malformed", "a status without id, status or recipient_id")
		}
	}
	return nil
}

func (w *whatsapp) receive(ctx context.Context, v *waValue, m *waMessage) error {
	id := "wa:" + m.ID
	if w.p.seen.Has(id) {
		return nil
	}
	var text string
	var files []media
	addMedia := func(md *waMedia) {
		if md == nil || md.ID == "" {
			text = "[the customer sent a " + m.Type + " WhatsApp did not include]"
			return
		}
		text = md.Caption
		files = append(files, w.media(md))
	}
	switch m.Type {
	case "text":
		if m.Text != nil {
			text = m.Text.Body
		}
	case "image":
		addMedia(m.Image)
	case "document":
		addMedia(m.Document)
	case "audio":
		addMedia(m.Audio)
	case "video":
		addMedia(m.Video)
	case "sticker":
		addMedia(m.Sticker)
	case "location":
		if l := m.Location; l != nil {
			text = strings.TrimSpace(fmt.Sprintf("Location: %s %s (%.6f, %.6f)", l.Name, l.Address, l.Latitude, l.Longitude))
		}
	case "button":
		if m.Button != nil {
			text = m.Button.Text
		}
	case "interactive":
		if in := m.Interactive; in != nil && in.ButtonReply != nil {
			text = in.ButtonReply.Title
		} else if in != nil && in.ListReply != nil {
			text = in.ListReply.Title
		}
	case "reaction", "system":
		w.p.log().Debug("whatsapp message ignored", "type", m.Type, "id", m.ID)
		return nil
	default:
		text = "[the customer sent a " + m.Type + " message, which this channel cannot show]"
	}
	atts, note, err := w.p.fetchMedia(ctx, id, files)
	if err != nil {
		return err
	}
	text = joinLines(text, note)
	cust := &pb.Customer{Address: m.From, Phone: "+" + m.From}
	for _, c := range v.Contacts {
		if c.WaID == m.From {
			cust.Nickname = c.Profile.Name
		}
	}
	at, _ := unixTime(m.Timestamp)
	return w.p.receive(ctx, inbound{
		key: w.p.keyOf(m.From), id: id, at: at, text: text, files: atts,
		customer: func(context.Context) *pb.Customer { return cust },
	})
}

// media is a WhatsApp file: GET /{media id} gives a short-lived URL, downloaded with the token.
func (w *whatsapp) media(md *waMedia) media {
	return media{id: md.ID, name: md.Filename, contentType: md.MimeType,
		fetch: func(ctx context.Context, limit int64) ([]byte, string, error) {
			var info struct {
				URL      string  `json:"url"`
				MimeType string  `json:"mime_type"`
				SHA256   string  `json:"sha256"`
				FileSize flexInt `json:"file_size"`
			}
			err := w.api.call(ctx, http.MethodGet, md.ID, nil, nil, &info)
			var ge *graphError
			if errors.As(err, &ge) && !ge.transient() {
				return nil, "", fmt.Errorf("%w: %v", errGone, err)
			}
			if err != nil {
				return nil, "", err
			}
			if int64(info.FileSize) > limit {
				return nil, "", errTooBig
			}
			if !w.api.tokenMayGo(info.URL) {
				return nil, "", fmt.Errorf("%w: the media URL %q is not https", errGone, info.URL)
			}
			data, contentType, err := w.p.download(ctx, info.URL, w.cfg.AccessToken, limit)
			if err != nil {
				return nil, "", err
			}
			for _, want := range []string{info.SHA256, md.SHA256} {
				if sum, ok := decodeHash(want); ok && !bytes.Equal(sum, sha256Sum(data)) {
					return nil, "", errors.New("the downloaded media does not match its sha256; trying again")
				}
			}
			if info.MimeType != "" {
				contentType = info.MimeType
			}
			return data, contentType, nil
		}}
}

func (w *whatsapp) status(ctx context.Context, s *waStatus) error {
	var status pb.DeliveryStatus
	switch s.Status {
	case "sent":
		status = pb.DeliveryStatus_DELIVERY_STATUS_SENT
	case "delivered":
		status = pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED
	case "read":
		status = pb.DeliveryStatus_DELIVERY_STATUS_READ
	case "failed":
		status = pb.DeliveryStatus_DELIVERY_STATUS_FAILED
	default:
		return nil
	}
	eventID, ours := strings.CutPrefix(s.BizOpaqueCallbackData, callbackPrefix)
	if !ours {
		if eventID, ours = w.p.sent.event(s.ID); !ours {
			w.p.log().Debug("whatsapp status for a message this instance does not know", "id", s.ID, "status", s.Status)
			return nil
		}
	}
	var reason string
	if len(s.Errors) > 0 {
		e := s.Errors[0]
		reason = firstNonEmpty(e.ErrorData.Details, e.Message, e.Title)
		if e.Title != "" && e.Title != reason {
			reason = e.Title + ": " + reason
		}
		reason += fmt.Sprintf(" (WhatsApp error %d)", e.Code)
	}
	return w.p.receipt(ctx, w.p.keyOf(s.RecipientID), "wa-status:"+s.ID+":"+s.Status, eventID, status, reason)
}

// send sends a text message; the event id rides along in biz_opaque_callback_data so statuses
// find it even after a restart.
func (w *whatsapp) send(ctx context.Context, to, text, eventID string) (string, error) {
	return w.post(ctx, map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
		"type": "text", "text": map[string]any{"body": text},
		"biz_opaque_callback_data": callbackPrefix + eventID,
	})
}

// windowClosed sends the configured template instead of a reply the window no longer allows, once
// per closed window; without a template, or once it went out, the reply is refused.
func (w *whatsapp) windowClosed(ctx context.Context, ev *sdk.Event, to string) error {
	t := w.cfg.Template
	if t == nil {
		return sdk.Reject(whatsappWindowClosed)
	}
	if w.p.sent.templateSent(ev.GetId()) {
		return nil // a resend of the event the template answered
	}
	key := ev.GetConversation()
	if at, ok := w.p.windows.templateSent(key); ok {
		return sdk.Reject("%s; the template %q went out at %s and the customer has not answered yet",
			whatsappWindowClosed, t.Name, at.Format(time.RFC3339))
	}
	id, err := w.post(ctx, map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
		"type": "template", "template": map[string]any{"name": t.Name, "language": map[string]any{"code": t.Language}},
		"biz_opaque_callback_data": callbackPrefix + ev.GetId(),
	})
	if errors.Is(err, errWindowClosed) {
		return sdk.Reject("%s; WhatsApp refused the template %q too", whatsappWindowClosed, t.Name)
	}
	if err != nil {
		return err
	}
	w.p.sent.addTemplate(ev.GetId(), id)
	if err := w.p.windows.markTemplate(key, w.p.now()); err != nil {
		w.p.log().Error("that the template went out was not saved", "error", err)
	}
	w.p.log().Info("reply outside the 24-hour window: the template went out instead", "event", ev.GetId(), "template", t.Name)
	note := fmt.Sprintf("the customer last wrote more than 24 hours ago: WhatsApp got the template %q instead of this reply; send it again once the customer answers", t.Name)
	if err := w.p.receipt(ctx, key, "wa-template:"+ev.GetId(), ev.GetId(), pb.DeliveryStatus_DELIVERY_STATUS_SENT, note); err != nil {
		w.p.log().Warn("the agent was not told that a template went out", "event", ev.GetId(), "error", err)
	}
	return nil
}

// post sends a message object and returns its WhatsApp message id (wamid).
func (w *whatsapp) post(ctx context.Context, body map[string]any) (string, error) {
	var answer struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	err := w.api.call(ctx, http.MethodPost, w.cfg.PhoneNumberID+"/messages", nil, body, &answer)
	var ge *graphError
	if errors.As(err, &ge) {
		switch {
		case ge.Code == whatsappWindowError:
			return "", errWindowClosed
		case ge.credentials():
			w.p.problem("whatsapp", err)
		case !ge.transient():
			return "", sdk.Reject("WhatsApp refused the message: %s (error %d)", ge.detail(), ge.Code)
		}
	}
	if err != nil {
		return "", err
	}
	w.p.problem("whatsapp", nil)
	if len(answer.Messages) == 0 || answer.Messages[0].ID == "" {
		return "", errors.New("whatsapp: the messages answer carries no message id")
	}
	return answer.Messages[0].ID, nil
}

// flexInt reads a number Meta sends as a JSON number or a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	*f = flexInt(n)
	return err
}

// unixTime reads Meta's timestamps: seconds since 1970, as a string.
func unixTime(s string) (time.Time, error) {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, fmt.Errorf("timestamp %q is not seconds since 1970", s)
	}
	return time.Unix(sec, 0), nil
}

// decodeHash reads a SHA-256 Meta sends as hex or base64.
func decodeHash(s string) ([]byte, bool) {
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b, true
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b, true
	}
	return nil, false
}

func sha256Sum(data []byte) []byte {
	sum := sha256.Sum256(data)
	return sum[:]
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
