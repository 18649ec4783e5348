package metafake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// WhatsApp Cloud API: POST /{phone number id}/messages, GET /{media id}, the media download, and
// the webhooks (entry[].changes[].value with messages, contacts and statuses).

// WAUser is a WhatsApp user writing to the business number.
type WAUser struct {
	WaID string // the phone number, digits only
	Name string // the profile name
}

type waUser struct {
	user      WAUser
	lastWrote time.Time // the start of the 24-hour window
	closed    bool      // the window is closed whatever lastWrote says
	sent      []WAMessage
}

// WAMessage is a message the business sent, as the fake accepted it.
type WAMessage struct {
	ID               string
	To               string
	Type             string // text or template
	Text             string
	TemplateName     string
	TemplateLanguage string
	BizOpaque        string // biz_opaque_callback_data, echoed in statuses
}

// ApproveTemplate makes a message template (name, language code) sendable.
func (s *Server) ApproveTemplate(name, language string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.templates[name+"/"+language] = true
}

// CloseWindow makes the user's 24-hour window closed, as if they last wrote long ago.
func (s *Server) CloseWindow(waID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.waUsers[waID]; u != nil {
		u.closed = true
	}
}

// WhatsAppSent returns what the business sent to the user, in order.
func (s *Server) WhatsAppSent(waID string) []WAMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.waUsers[waID]; u != nil {
		return append([]WAMessage(nil), u.sent...)
	}
	return nil
}

// WhatsAppTexts returns the texts the business sent to the user, in order.
func (s *Server) WhatsAppTexts(waID string) []string {
	var out []string
	for _, m := range s.WhatsAppSent(waID) {
		if m.Type == "text" {
			out = append(out, m.Text)
		}
	}
	return out
}

func (s *Server) waUserLocked(u WAUser) *waUser {
	wu := s.waUsers[u.WaID]
	if wu == nil {
		wu = &waUser{user: u}
		s.waUsers[u.WaID] = wu
	}
	if u.Name != "" {
		wu.user.Name = u.Name
	}
	return wu
}

func (s *Server) sendWhatsApp(w http.ResponseWriter, body json.RawMessage) {
	var req struct {
		MessagingProduct string `json:"messaging_product"`
		RecipientType    string `json:"recipient_type"`
		To               string `json:"to"`
		Type             string `json:"type"`
		Text             *struct {
			Body       string `json:"body"`
			PreviewURL bool   `json:"preview_url"`
		} `json:"text"`
		Template *struct {
			Name     string `json:"name"`
			Language *struct {
				Code string `json:"code"`
			} `json:"language"`
		} `json:"template"`
		BizOpaque string `json:"biz_opaque_callback_data"`
	}
	invalid := func(msg string) {
		graphFail(w, GraphError{Status: 400, Message: "(#100) " + msg, Type: "OAuthException", Code: 100})
	}
	if err := json.Unmarshal(body, &req); err != nil {
		invalid("Invalid parameter: " + err.Error())
		return
	}
	switch {
	case req.MessagingProduct != "whatsapp":
		invalid("The parameter messaging_product is required.")
		return
	case req.To == "":
		invalid("The parameter to is required.")
		return
	case req.RecipientType != "" && req.RecipientType != "individual":
		invalid("Param recipient_type must be one of {individual, group}.")
		return
	case len(req.BizOpaque) > 512:
		invalid("Param biz_opaque_callback_data must be at most 512 characters long.")
		return
	}
	msg := WAMessage{To: req.To, Type: req.Type, BizOpaque: req.BizOpaque}
	switch req.Type {
	case "text":
		if req.Text == nil || strings.TrimSpace(req.Text.Body) == "" {
			invalid("The parameter text['body'] is required.")
			return
		}
		if utf8.RuneCountInString(req.Text.Body) > 4096 {
			invalid("Param text['body'] must be at most 4096 characters long.")
			return
		}
		msg.Text = req.Text.Body
	case "template":
		if req.Template == nil || req.Template.Name == "" || req.Template.Language == nil || req.Template.Language.Code == "" {
			invalid("The parameters template['name'] and template['language']['code'] are required.")
			return
		}
		msg.TemplateName, msg.TemplateLanguage = req.Template.Name, req.Template.Language.Code
	default:
		invalid(fmt.Sprintf("Param type must be one of {audio, contacts, document, image, interactive, location, reaction, sticker, template, text, video}; the fake takes text and template, not %q.", req.Type))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg.Type == "template" && !s.templates[msg.TemplateName+"/"+msg.TemplateLanguage] {
		graphFail(w, GraphError{Status: 404, Message: "(#132001) Template name does not exist in the translation", Type: "OAuthException", Code: 132001,
			ErrorData: &struct {
				MessagingProduct string `json:"messaging_product,omitempty"`
				Details          string `json:"details"`
			}{"whatsapp", fmt.Sprintf("template name (%s) does not exist in %s", msg.TemplateName, msg.TemplateLanguage)}})
		return
	}
	u := s.waUsers[req.To]
	if msg.Type == "text" && (u == nil || u.closed || s.now().Sub(u.lastWrote) >= Window) {
		graphFail(w, GraphError{Status: 400, Message: "(#131047) Re-engagement message", Type: "OAuthException", Code: 131047,
			ErrorData: &struct {
				MessagingProduct string `json:"messaging_product,omitempty"`
				Details          string `json:"details"`
			}{"whatsapp", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}})
		return
	}
	if u == nil {
		u = s.waUserLocked(WAUser{WaID: req.To})
	}
	msg.ID = s.wamidLocked()
	u.sent = append(u.sent, msg)
	s.changedLocked()
	answer := map[string]any{"id": msg.ID}
	if msg.Type == "template" {
		answer["message_status"] = "accepted"
	}
	reply(w, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]string{{"input": req.To, "wa_id": req.To}},
		"messages":          []map[string]any{answer},
	})
}

func (s *Server) wamidLocked() string {
	return "wamid.HBgL" + base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s-%08d", PhoneNumberID, s.nextID())))
}

// AddWhatsAppMedia stores a file a user sent; its id is looked up with GET /{media id}.
func (s *Server) AddWhatsAppMedia(data []byte, mimeType string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.Itoa(1000000000000000 + s.nextID())
	s.media[id] = &mediaFile{data: data, mimeType: mimeType, forWA: true}
	return id
}

func (s *Server) isMedia(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.media[id]
	return m != nil && m.forWA
}

// mediaInfo answers GET /{media id} with a download URL.
func (s *Server) mediaInfo(w http.ResponseWriter, id string) {
	s.mu.Lock()
	m := s.media[id]
	s.mu.Unlock()
	sum := sha256.Sum256(m.data)
	reply(w, map[string]any{
		"messaging_product": "whatsapp",
		"url":               s.ts.URL + "/whatsapp-media/" + id + "?ext=" + randomHex(4),
		"mime_type":         m.mimeType,
		"sha256":            hex.EncodeToString(sum[:]),
		"file_size":         len(m.data),
		"id":                id,
	})
}

// downloadWA serves a media URL; like Meta's, it wants the access token.
func (s *Server) downloadWA(w http.ResponseWriter, r *http.Request) {
	token, in := bearer(r)
	s.record(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Token: token, TokenIn: in})
	if token != s.AccessToken {
		graphFail(w, GraphError{Status: 401, Message: "Invalid OAuth access token", Type: "OAuthException", Code: 190})
		return
	}
	s.mu.Lock()
	m := s.media[strings.TrimPrefix(r.URL.Path, "/whatsapp-media/")]
	s.mu.Unlock()
	if m == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	w.Write(m.data)
}

// Webhook payloads.

type waEnvelope struct {
	Object string    `json:"object"`
	Entry  []waEntry `json:"entry"`
}

type waEntry struct {
	ID      string     `json:"id"`
	Changes []waChange `json:"changes"`
}

type waChange struct {
	Value map[string]any `json:"value"`
	Field string         `json:"field"`
}

// whatsappPayload wraps value items in the webhook envelope of the number phoneNumberID.
func whatsappPayload(phoneNumberID string, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": DisplayPhoneNumber, "phone_number_id": phoneNumberID}
	body, _ := json.Marshal(waEnvelope{Object: "whatsapp_business_account",
		Entry: []waEntry{{ID: WABAID, Changes: []waChange{{Value: value, Field: "messages"}}}}})
	return body
}

// inboundWA builds a messages webhook of the user's message; the user's window opens now.
func (s *Server) inboundWA(u WAUser, msgType string, content map[string]any) ([]byte, string) {
	s.mu.Lock()
	wu := s.waUserLocked(u)
	now := s.now()
	wu.lastWrote, wu.closed = now, false
	id := s.wamidLocked()
	s.changedLocked()
	s.mu.Unlock()
	msg := map[string]any{"from": u.WaID, "id": id, "timestamp": strconv.FormatInt(now.Unix(), 10), "type": msgType}
	for k, v := range content {
		msg[k] = v
	}
	return whatsappPayload(PhoneNumberID, map[string]any{
		"contacts": []map[string]any{{"profile": map[string]string{"name": u.Name}, "wa_id": u.WaID}},
		"messages": []map[string]any{msg},
	}), id
}

// WhatsAppText is the webhook of a user's text message, and the message's wamid.
func (s *Server) WhatsAppText(u WAUser, text string) ([]byte, string) {
	return s.inboundWA(u, "text", map[string]any{"text": map[string]string{"body": text}})
}

// WhatsAppImage is the webhook of a user's image with a caption.
func (s *Server) WhatsAppImage(u WAUser, caption string, data []byte, mimeType string) ([]byte, string) {
	id := s.AddWhatsAppMedia(data, mimeType)
	sum := sha256.Sum256(data)
	image := map[string]string{"mime_type": mimeType, "sha256": base64.StdEncoding.EncodeToString(sum[:]), "id": id}
	if caption != "" {
		image["caption"] = caption
	}
	return s.inboundWA(u, "image", map[string]any{"image": image})
}

// WhatsAppDocument is the webhook of a user's document.
func (s *Server) WhatsAppDocument(u WAUser, filename, mimeType string, data []byte, caption string) ([]byte, string) {
	id := s.AddWhatsAppMedia(data, mimeType)
	sum := sha256.Sum256(data)
	doc := map[string]string{"filename": filename, "mime_type": mimeType, "sha256": base64.StdEncoding.EncodeToString(sum[:]), "id": id}
	if caption != "" {
		doc["caption"] = caption
	}
	return s.inboundWA(u, "document", map[string]any{"document": doc})
}

// WhatsAppMessage is the webhook of a user's message of any type with its content object, e.g.
// ("location", {"location": {...}}).
func (s *Server) WhatsAppMessage(u WAUser, msgType string, content map[string]any) ([]byte, string) {
	return s.inboundWA(u, msgType, content)
}

// WhatsAppStatus is the statuses webhook of a message the business sent: sent, delivered, read
// or failed (with an error). It echoes the message's biz_opaque_callback_data, as Meta does.
func (s *Server) WhatsAppStatus(wamid, status string, errs ...StatusError) []byte {
	s.mu.Lock()
	var msg *WAMessage
	for _, u := range s.waUsers {
		for i := range u.sent {
			if u.sent[i].ID == wamid {
				msg = &u.sent[i]
			}
		}
	}
	s.mu.Unlock()
	if msg == nil {
		panic("metafake: no message " + wamid + " was sent")
	}
	st := map[string]any{"id": wamid, "status": status, "timestamp": strconv.FormatInt(s.now().Unix(), 10), "recipient_id": msg.To}
	if msg.BizOpaque != "" {
		st["biz_opaque_callback_data"] = msg.BizOpaque
	}
	if status != "failed" {
		st["conversation"] = map[string]any{"id": randomHex(16), "origin": map[string]string{"type": "service"}}
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "CBP", "category": "service"}
	}
	if len(errs) > 0 {
		var list []map[string]any
		for _, e := range errs {
			list = append(list, map[string]any{"code": e.Code, "title": e.Title, "message": e.Title, "error_data": map[string]string{"details": e.Details}})
		}
		st["errors"] = list
	}
	return whatsappPayload(PhoneNumberID, map[string]any{"statuses": []map[string]any{st}})
}

// StatusError is an error of a failed status.
type StatusError struct {
	Code           int
	Title, Details string
}

// WhatsAppPayload wraps a raw value object (messages, statuses, contacts…) in the webhook
// envelope of the phone number id, for payloads the builders do not make.
func WhatsAppPayload(phoneNumberID string, value map[string]any) []byte {
	return whatsappPayload(phoneNumberID, value)
}
