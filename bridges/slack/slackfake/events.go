package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Slack resends an envelope it has no ack for after a few seconds, up to three times.
const (
	retryAfter = 3 * time.Second
	maxRetries = 3
	pingEvery  = 2 * time.Second
)

// eventsState is how events reach the app: over Socket Mode connections, or posted to the
// Events API request URL when one is set.
type eventsState struct {
	mu      sync.Mutex
	conns   map[*sockConn]bool
	acks    map[string]bool
	news    chan struct{} // closed and replaced on every connect, disconnect and ack
	seq     int
	url     string // Events API request URL; "" for Socket Mode
	dropped int    // envelopes sent on a connection that closed before the ack
	pending int    // deliveries not yet acknowledged
}

type sockConn struct {
	conn   *websocket.Conn
	wmu    sync.Mutex
	closed chan struct{}
}

func (e *eventsState) init() {
	e.conns = map[*sockConn]bool{}
	e.acks = map[string]bool{}
	e.news = make(chan struct{})
}

func (e *eventsState) changed() {
	close(e.news)
	e.news = make(chan struct{})
}

func (e *eventsState) closeSockets() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.conns {
		c.conn.Close()
	}
}

// UseEventsAPI makes the workspace post events and interactions to the request URL, signed with
// the signing secret, instead of sending them over Socket Mode.
func (s *Server) UseEventsAPI(requestURL string) {
	s.events.mu.Lock()
	s.events.url = requestURL
	s.events.mu.Unlock()
}

// Connections is the number of open Socket Mode connections.
func (s *Server) Connections() int {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return len(s.events.conns)
}

// Pending is the number of deliveries (events, interactions, echoes of the app's posts) the app
// has not acknowledged yet.
func (s *Server) Pending() int {
	s.events.mu.Lock()
	defer s.events.mu.Unlock()
	return s.events.pending
}

// DropConnections closes every Socket Mode connection, as Slack does when it rotates them.
func (s *Server) DropConnections() { s.events.closeSockets() }

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// socket serves a Socket Mode connection: hello first, pings, and acks read back.
func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ticket") == "" {
		http.Error(w, "no ticket", http.StatusUnauthorized)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &sockConn{conn: conn, closed: make(chan struct{})}
	hello := map[string]any{"type": "hello", "num_connections": 1, "debug_info": map[string]any{"host": "fake-applink", "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": AppID}}
	if c.write(hello) != nil {
		conn.Close()
		return
	}
	e := &s.events
	e.mu.Lock()
	e.conns[c] = true
	e.changed()
	e.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-c.closed:
				return
			case <-s.ctx.Done():
				return
			case <-t.C:
				c.wmu.Lock()
				err := conn.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				c.wmu.Unlock()
				if err != nil {
					conn.Close()
					return
				}
			}
		}
	}()
	defer func() {
		close(c.closed)
		conn.Close()
		e.mu.Lock()
		delete(e.conns, c)
		e.changed()
		e.mu.Unlock()
	}()
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string `json:"envelope_id"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		e.mu.Lock()
		e.acks[ack.EnvelopeID] = true
		e.changed()
		e.mu.Unlock()
	}
}

func (c *sockConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(v)
}

// deliver hands one payload to the app and returns once the app acknowledged it: an ack with the
// envelope id in Socket Mode, a 200 from the request URL in Events API mode. Unacknowledged
// envelopes are resent, as Slack does.
func (s *Server) deliver(ctx context.Context, typ string, payload []byte) error {
	e := &s.events
	e.mu.Lock()
	target := e.url
	e.pending++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.pending--
		e.mu.Unlock()
	}()
	if target != "" {
		return s.post(ctx, target, typ, payload)
	}
	attempt := 0
	var ids []string
	for {
		e.mu.Lock()
		var conn *sockConn
		for c := range e.conns {
			conn = c
			break
		}
		news := e.news
		e.mu.Unlock()
		if conn == nil {
			select {
			case <-news:
				continue
			case <-ctx.Done():
				return fmt.Errorf("no app connected over Socket Mode: %w", ctx.Err())
			}
		}
		e.mu.Lock()
		e.seq++
		id := fmt.Sprintf("%08x-fake-4e00-a000-%012d", e.seq, e.seq)
		e.mu.Unlock()
		ids = append(ids, id)
		env := map[string]any{"envelope_id": id, "payload": json.RawMessage(payload), "type": typ,
			"accepts_response_payload": typ == "interactive", "retry_attempt": attempt, "retry_reason": ""}
		if attempt > 0 {
			env["retry_reason"] = "timeout"
		}
		if err := conn.write(env); err != nil {
			conn.conn.Close()
			continue
		}
		timeout := time.NewTimer(retryAfter)
		acked, resend := false, false
		for !acked && !resend {
			e.mu.Lock()
			for _, id := range ids {
				acked = acked || e.acks[id]
			}
			news := e.news
			_, open := e.conns[conn]
			e.mu.Unlock()
			switch {
			case acked:
			case !open:
				e.mu.Lock()
				e.dropped++
				e.mu.Unlock()
				resend = true
			default:
				select {
				case <-news:
				case <-timeout.C:
					resend = attempt < maxRetries
					if !resend {
						timeout.Reset(time.Hour)
					}
				case <-ctx.Done():
					timeout.Stop()
					return fmt.Errorf("the app did not acknowledge envelope %s: %w", id, ctx.Err())
				}
			}
		}
		timeout.Stop()
		if acked {
			return nil
		}
		attempt++
	}
}

// Sign is Slack's request signature of body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends an Events API request (or an interaction form) signed, retrying until a 200.
func (s *Server) post(ctx context.Context, target, typ string, payload []byte) error {
	body, contentType := payload, "application/json"
	if typ == "interactive" {
		body, contentType = []byte(url.Values{"payload": {string(payload)}}.Encode()), "application/x-www-form-urlencoded"
	}
	client := &http.Client{Timeout: time.Minute}
	for attempt := 0; ; attempt++ {
		ts := time.Now().Unix()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
		req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
		req.Header.Set("X-Slack-Signature", Sign(s.SigningSecret, ts, body))
		if attempt > 0 {
			req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(attempt))
			req.Header.Set("X-Slack-Retry-Reason", "http_error")
		}
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New(res.Status)
			}
			return fmt.Errorf("the request URL did not take the %s request: %v", typ, err)
		case <-time.After(min(time.Duration(attempt+1)*100*time.Millisecond, time.Second)):
		}
	}
}

// SendEvent delivers an event callback with the inner event and returns its event id.
func (s *Server) SendEvent(ctx context.Context, inner map[string]any) (string, error) {
	s.mu.Lock()
	s.seq++
	id := "Ev0FAKE" + strings.ToUpper(strconv.FormatInt(s.seq, 36))
	s.mu.Unlock()
	return id, s.SendEventWithID(ctx, id, inner)
}

// SendEventWithID delivers an event callback with a given event id, as Slack does when it
// retries.
func (s *Server) SendEventWithID(ctx context.Context, eventID string, inner map[string]any) error {
	return s.deliver(ctx, "events_api", s.Callback(eventID, inner))
}

// Callback is the Events API body of an inner event.
func (s *Server) Callback(eventID string, inner map[string]any) []byte {
	cb := map[string]any{"token": "fake-verification-token", "team_id": TeamID, "api_app_id": AppID, "event": inner,
		"type": "event_callback", "event_id": eventID, "event_time": time.Now().Unix(), "is_ext_shared_channel": false,
		"authorizations": []map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true, "is_enterprise_install": false}},
		"event_context":  "4-fake"}
	data, _ := json.Marshal(cb)
	return data
}

// echo tells the app about its own post in a DM, in the background.
func (s *Server) echo(channel, user string, m Message) {
	inner := map[string]any{"type": "message", "channel": channel, "channel_type": "im", "user": m.User, "bot_id": m.BotID,
		"app_id": m.AppID, "text": m.Text, "ts": m.TS, "event_ts": m.TS}
	if m.Subtype != "" {
		inner["subtype"] = m.Subtype
		inner["username"] = m.Username
	}
	if m.ThreadTS != "" {
		inner["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		inner["blocks"] = m.Blocks
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
		defer cancel()
		_, _ = s.SendEvent(ctx, inner)
	}()
}

// store keeps a message a user wrote in their DM with the app and returns the message event.
func (s *Server) store(user, threadTS string, m *Message) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[user] == nil {
		return nil, fmt.Errorf("no user %s in the workspace", user)
	}
	ch := s.dmLocked(user)
	if threadTS != "" && !s.hasTS(ch, threadTS) {
		return nil, fmt.Errorf("no message %s in %s to reply to", threadTS, ch)
	}
	m.Type, m.User, m.ThreadTS, m.TS = "message", user, threadTS, s.nextTS()
	s.messages[ch] = append(s.messages[ch], m)
	inner := map[string]any{"type": "message", "channel": ch, "channel_type": "im", "user": user, "text": m.Text,
		"ts": m.TS, "event_ts": m.TS, "team": TeamID, "client_msg_id": fmt.Sprintf("fake-%s", m.TS)}
	if m.Subtype != "" {
		inner["subtype"] = m.Subtype
	}
	if threadTS != "" {
		inner["thread_ts"] = threadTS
		inner["parent_user_id"] = BotUserID
	}
	if len(m.Blocks) > 0 {
		inner["blocks"] = m.Blocks
	}
	return inner, nil
}

// Say has a user write text in their DM with the app (in the thread threadTS, if not ""), with
// the rich_text block Slack's clients send; it returns the message's ts once the app
// acknowledged the event.
func (s *Server) Say(ctx context.Context, user, threadTS, text string) (string, error) {
	block := []map[string]any{{"type": "rich_text", "block_id": "fake", "elements": []map[string]any{
		{"type": "rich_text_section", "elements": []map[string]any{{"type": "text", "text": text}}}}}}
	raw, _ := json.Marshal(block)
	return s.SayBlocks(ctx, user, threadTS, escape(text), raw)
}

// SayBlocks has a user write a message with the given mrkdwn text and blocks (nil: none).
func (s *Server) SayBlocks(ctx context.Context, user, threadTS, text string, blocks json.RawMessage) (string, error) {
	inner, err := s.store(user, threadTS, &Message{Text: text, Blocks: blocks})
	if err != nil {
		return "", err
	}
	_, err = s.SendEvent(ctx, inner)
	return inner["ts"].(string), err
}

// ShareFile has a user share a file with a comment. With checkInfo the event carries only the
// file id, as Slack does for some workspaces, and the app must call files.info.
func (s *Server) ShareFile(ctx context.Context, user, threadTS, text, name, mimetype string, data []byte, checkInfo bool) (string, error) {
	s.mu.Lock()
	s.seq++
	id := "F0FAKE" + strings.ToUpper(strconv.FormatInt(s.seq, 36))
	u := "http://" + s.host() + "/files-pri/" + TeamID + "-" + id + "/" + url.PathEscape(name)
	obj := FileObject{ID: id, Name: name, Title: name, Mimetype: mimetype, Size: len(data), URLPrivate: u, URLPrivateDownload: u + "?download=1"}
	s.files[id] = &file{obj: obj, data: data}
	s.mu.Unlock()
	shared := obj
	if checkInfo {
		shared = FileObject{ID: id, FileAccess: "check_file_info"}
	}
	inner, err := s.store(user, threadTS, &Message{Text: escape(text), Subtype: "file_share", Files: []FileObject{shared}})
	if err != nil {
		return "", err
	}
	inner["files"] = []FileObject{shared}
	inner["upload"] = true
	_, err = s.SendEvent(ctx, inner)
	return inner["ts"].(string), err
}

// OpenHome has a user open the app's Home tab.
func (s *Server) OpenHome(ctx context.Context, user string) error {
	_, err := s.SendEvent(ctx, map[string]any{"type": "app_home_opened", "user": user, "channel": s.DM(user), "tab": "home",
		"event_ts": fmt.Sprintf("%d.000100", time.Now().Unix())})
	return err
}

// Buttons lists the buttons of the user's current Home tab: value → action id.
func (s *Server) Buttons(user string) map[string]string {
	views := s.Views(user)
	out := map[string]string{}
	if len(views) == 0 {
		return out
	}
	var v struct {
		Blocks []struct {
			BlockID   string `json:"block_id"`
			Accessory *struct {
				Type     string `json:"type"`
				ActionID string `json:"action_id"`
				Value    string `json:"value"`
			} `json:"accessory"`
		} `json:"blocks"`
	}
	json.Unmarshal(views[len(views)-1], &v)
	for _, b := range v.Blocks {
		if a := b.Accessory; a != nil && a.Type == "button" {
			out[a.Value] = a.ActionID + "\x00" + b.BlockID
		}
	}
	return out
}

// PressButton has a user press the button with the value in their Home tab; it fails when the
// tab shows no such button.
func (s *Server) PressButton(ctx context.Context, user, value string) error {
	found, ok := s.Buttons(user)[value]
	if !ok {
		return fmt.Errorf("the Home tab of %s shows no button with value %q", user, value)
	}
	actionID, blockID, _ := strings.Cut(found, "\x00")
	s.mu.Lock()
	s.seq++
	actionTS := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq%1000000)
	name := ""
	if u := s.users[user]; u != nil {
		name = u.Name
	}
	s.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user, "username": name, "name": name, "team_id": TeamID},
		"api_app_id": AppID, "token": "fake-verification-token", "container": map[string]any{"type": "view", "view_id": "V1"},
		"trigger_id": "1.fake.trigger", "team": map[string]any{"id": TeamID, "domain": "fake"}, "is_enterprise_install": false,
		"view": map[string]any{"id": "V1", "type": "home"},
		"actions": []map[string]any{{"action_id": actionID, "block_id": blockID, "value": value, "type": "button",
			"text": map[string]any{"type": "plain_text", "text": "Chat"}, "action_ts": actionTS}},
	})
	return s.deliver(ctx, "interactive", payload)
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// SendRaw delivers a payload as it is: over Socket Mode as an envelope of type typ
// ("events_api", "interactive"), or to the request URL. It returns once the app acknowledged it.
func (s *Server) SendRaw(ctx context.Context, typ string, payload []byte) error {
	return s.deliver(ctx, typ, payload)
}
