package metafake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Messenger Platform: the Send API (POST /{page id}/messages or /me/messages), the User Profile
// API (GET /{PSID}?fields=…), attachment URLs on a CDN, and the page webhooks
// (entry[].messaging[] with message or delivery).

// FBUser is a person writing to the Page, known to it by their page-scoped id.
type FBUser struct {
	PSID      string
	FirstName string
	LastName  string
}

type fbUser struct {
	user        FBUser
	lastWrote   time.Time
	closed      bool
	unavailable bool
	sent        []FBMessage
}

// FBMessage is a message the Page sent, as the fake accepted it.
type FBMessage struct {
	ID            string
	To            string
	MessagingType string
	Text          string
}

func (s *Server) fbUserLocked(u FBUser) *fbUser {
	fu := s.fbUsers[u.PSID]
	if fu == nil {
		fu = &fbUser{user: u}
		s.fbUsers[u.PSID] = fu
	}
	return fu
}

// CloseMessengerWindow makes the person's 24-hour window closed.
func (s *Server) CloseMessengerWindow(psid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.fbUsers[psid]; u != nil {
		u.closed = true
	}
}

// MakeUnavailable makes the person unreachable (error 551), e.g. they deactivated their account.
func (s *Server) MakeUnavailable(psid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.fbUsers[psid]; u != nil {
		u.unavailable = true
	}
}

// MessengerSent returns what the Page sent to the person, in order.
func (s *Server) MessengerSent(psid string) []FBMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.fbUsers[psid]; u != nil {
		return append([]FBMessage(nil), u.sent...)
	}
	return nil
}

// MessengerTexts returns the texts the Page sent to the person, in order.
func (s *Server) MessengerTexts(psid string) []string {
	var out []string
	for _, m := range s.MessengerSent(psid) {
		out = append(out, m.Text)
	}
	return out
}

func (s *Server) isPSID(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fbUsers[id] != nil
}

func (s *Server) sendMessenger(w http.ResponseWriter, body json.RawMessage) {
	var req struct {
		Recipient *struct {
			ID string `json:"id"`
		} `json:"recipient"`
		MessagingType string `json:"messaging_type"`
		Message       *struct {
			Text string `json:"text"`
		} `json:"message"`
		Tag string `json:"tag"`
	}
	invalid := func(msg string) {
		graphFail(w, GraphError{Status: 400, Message: "(#100) " + msg, Type: "OAuthException", Code: 100})
	}
	if err := json.Unmarshal(body, &req); err != nil {
		invalid("Invalid parameter: " + err.Error())
		return
	}
	switch {
	case req.Recipient == nil || req.Recipient.ID == "":
		invalid("The parameter recipient is required")
		return
	case req.MessagingType != "RESPONSE" && req.MessagingType != "UPDATE" && req.MessagingType != "MESSAGE_TAG":
		invalid("Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
		return
	case req.Message == nil || strings.TrimSpace(req.Message.Text) == "":
		invalid("The parameter message['text'] is required")
		return
	case utf8.RuneCountInString(req.Message.Text) > 2000:
		invalid("Length of param message[text] must be less than or equal to 2000")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.fbUsers[req.Recipient.ID]
	switch {
	case u == nil:
		graphFail(w, GraphError{Status: 400, Message: "(#100) No matching user found", Type: "OAuthException", Code: 100, Subcode: 2018001})
		return
	case u.unavailable:
		graphFail(w, GraphError{Status: 400, Message: "(#551) This person isn't available right now.", Type: "OAuthException", Code: 551, Subcode: 1545041})
		return
	case req.MessagingType != "MESSAGE_TAG" && (u.closed || s.now().Sub(u.lastWrote) >= Window):
		graphFail(w, GraphError{Status: 400, Message: "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
			Type: "OAuthException", Code: 10, Subcode: 2018278})
		return
	}
	msg := FBMessage{ID: fmt.Sprintf("m_fake%012d", s.nextID()), To: req.Recipient.ID, MessagingType: req.MessagingType, Text: req.Message.Text}
	u.sent = append(u.sent, msg)
	s.changedLocked()
	reply(w, map[string]string{"recipient_id": msg.To, "message_id": msg.ID})
}

// profile answers the User Profile API.
func (s *Server) profile(w http.ResponseWriter, psid, fields string) {
	s.mu.Lock()
	u := s.fbUsers[psid].user
	s.mu.Unlock()
	answer := map[string]string{"id": psid}
	for _, f := range strings.Split(fields, ",") {
		switch strings.TrimSpace(f) {
		case "first_name":
			answer["first_name"] = u.FirstName
		case "last_name":
			answer["last_name"] = u.LastName
		}
	}
	reply(w, answer)
}

// AddAttachment stores a file a person sent and returns its CDN URL.
func (s *Server) AddAttachment(data []byte, mimeType, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.Itoa(s.nextID())
	s.media[id] = &mediaFile{data: data, mimeType: mimeType}
	return s.ts.URL + "/cdn/" + id + "/" + name + "?_nc_sig=" + randomHex(8)
}

// downloadCDN serves an attachment URL; like Meta's CDN, it needs no token.
func (s *Server) downloadCDN(w http.ResponseWriter, r *http.Request) {
	token, in := bearer(r)
	s.record(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Token: token, TokenIn: in})
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/cdn/"), "/")
	s.mu.Lock()
	m := s.media[id]
	s.mu.Unlock()
	if m == nil || m.forWA {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	w.Write(m.data)
}

// messengerPayload wraps messaging events in the webhook envelope of the page.
func messengerPayload(pageID string, at time.Time, events ...map[string]any) []byte {
	body, _ := json.Marshal(map[string]any{
		"object": "page",
		"entry":  []map[string]any{{"id": pageID, "time": at.UnixMilli(), "messaging": events}},
	})
	return body
}

// MessengerPayload wraps raw messaging events in the webhook envelope of the page id.
func (s *Server) MessengerPayload(pageID string, events ...map[string]any) []byte {
	return messengerPayload(pageID, s.now(), events...)
}

// inboundFB builds the webhook of a person's message; their window opens now.
func (s *Server) inboundFB(u FBUser, message map[string]any) ([]byte, string) {
	s.mu.Lock()
	fu := s.fbUserLocked(u)
	now := s.now()
	fu.lastWrote, fu.closed = now, false
	mid := fmt.Sprintf("m_in%012d", s.nextID())
	s.changedLocked()
	s.mu.Unlock()
	message["mid"] = mid
	return messengerPayload(PageID, now, map[string]any{
		"sender": map[string]string{"id": u.PSID}, "recipient": map[string]string{"id": PageID},
		"timestamp": now.UnixMilli(), "message": message,
	}), mid
}

// MessengerText is the webhook of a person's text message, and its mid.
func (s *Server) MessengerText(u FBUser, text string) ([]byte, string) {
	return s.inboundFB(u, map[string]any{"text": text})
}

// MessengerAttachment is the webhook of a person's attachment (type image, video, audio or file).
func (s *Server) MessengerAttachment(u FBUser, kind string, data []byte, mimeType, name string) ([]byte, string) {
	return s.inboundFB(u, map[string]any{"attachments": []map[string]any{
		{"type": kind, "payload": map[string]string{"url": s.AddAttachment(data, mimeType, name)}},
	}})
}

// MessengerDelivery is the webhook confirming that the Page's messages reached the person.
func (s *Server) MessengerDelivery(psid string, mids ...string) []byte {
	now := s.now()
	return messengerPayload(PageID, now, map[string]any{
		"sender": map[string]string{"id": psid}, "recipient": map[string]string{"id": PageID},
		"timestamp": now.UnixMilli(), "delivery": map[string]any{"mids": mids, "watermark": now.UnixMilli()},
	})
}
