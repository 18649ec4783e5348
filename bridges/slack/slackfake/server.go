// Package slackfake is a Slack workspace for tests: slack-go's slacktest server extended with
// the Web API methods the Slack bridge calls, Socket Mode, and signed Events API requests. It
// answers in Slack's published shapes ("ok", error codes, form or JSON bodies), keeps the
// workspace's messages and Home tabs, and records every request so tests can check them field by
// field. It is test code: nothing of it talks to the real Slack.
package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// Identities of the app in the fake workspace.
const (
	TeamID    = "T0FAKE001"
	AppID     = "A0FAKE001"
	BotID     = "B0FAKE001"
	BotUserID = "U0FAKEBOT"
)

// Server is the fake workspace with one app installed.
type Server struct {
	BotToken, AppToken, SigningSecret string

	ts     *slacktest.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	users     map[string]*User
	dms       map[string]string // user → DM channel
	messages  map[string][]*Message
	views     map[string][]json.RawMessage
	ephemeral []Ephemeral
	files     map[string]*file
	requests  []Request
	fail      map[string][]string // method → error codes to answer, in turn
	seq       int64
	lastSec   int64
	hold      chan struct{} // while not nil, chat.postMessage keeps messages but does not answer

	events eventsState
}

// User is a member of the workspace.
type User struct {
	ID, Name, DisplayName string
	Presence              string // "active" or "away"
	IsBot                 bool
}

// Message is a message as Slack keeps it.
type Message struct {
	TS       string          `json:"ts"`
	ThreadTS string          `json:"thread_ts,omitempty"`
	Type     string          `json:"type"`
	Subtype  string          `json:"subtype,omitempty"`
	User     string          `json:"user,omitempty"`
	BotID    string          `json:"bot_id,omitempty"`
	AppID    string          `json:"app_id,omitempty"`
	Username string          `json:"username,omitempty"`
	IconURL  string          `json:"-"`
	Text     string          `json:"text"`
	Blocks   json.RawMessage `json:"blocks,omitempty"`
	Metadata *Metadata       `json:"metadata,omitempty"`
	Files    []FileObject    `json:"files,omitempty"`
}

// Metadata is a message's metadata.
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Ephemeral is a message only one user sees.
type Ephemeral struct {
	Channel, User, Text, ThreadTS string
}

// Request is one Web API call as the server received it.
type Request struct {
	Method string
	Token  string
	Form   url.Values      // form-encoded calls
	JSON   json.RawMessage // JSON calls
}

type file struct {
	obj  FileObject
	data []byte
}

// FileObject is Slack's file object.
type FileObject struct {
	ID                 string `json:"id"`
	Name               string `json:"name,omitempty"`
	Title              string `json:"title,omitempty"`
	Mimetype           string `json:"mimetype,omitempty"`
	Size               int    `json:"size,omitempty"`
	URLPrivate         string `json:"url_private,omitempty"`
	URLPrivateDownload string `json:"url_private_download,omitempty"`
	FileAccess         string `json:"file_access,omitempty"`
}

// New starts a fake workspace; it stops when the test ends.
func New(t interface {
	Cleanup(func())
}) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		BotToken:      "xoxb-fake-bot-token",
		AppToken:      "xapp-fake-app-token",
		SigningSecret: "fake-signing-secret",
		ctx:           ctx, cancel: cancel,
		users:    map[string]*User{},
		dms:      map[string]string{},
		messages: map[string][]*Message{},
		views:    map[string][]json.RawMessage{},
		files:    map[string]*file{},
		fail:     map[string][]string{},
	}
	s.events.init()
	handlers := map[string]http.HandlerFunc{
		"/auth.test":             s.api(s.authTest),
		"/bots.info":             s.api(s.botsInfo),
		"/conversations.open":    s.api(s.conversationsOpen),
		"/conversations.history": s.api(s.conversationsHistory),
		"/conversations.replies": s.api(s.conversationsReplies),
		"/users.conversations":   s.api(s.usersConversations),
		"/chat.postMessage":      s.api(s.chatPostMessage),
		"/chat.postEphemeral":    s.api(s.chatPostEphemeral),
		"/chat.update":           s.api(s.chatUpdate),
		"/views.publish":         s.api(s.viewsPublish),
		"/users.info":            s.api(s.usersInfo),
		"/users.getPresence":     s.api(s.usersGetPresence),
		"/files.info":            s.api(s.filesInfo),
		"/apps.connections.open": s.appsConnectionsOpen,
		"/files-pri/":            s.download,
		"/link/":                 s.socket,
	}
	s.ts = slacktest.NewTestServer(func(c slacktest.Customize) {
		for path, h := range handlers {
			c.Handle(path, h)
		}
	})
	s.ts.Start()
	t.Cleanup(s.Close)
	return s
}

// APIURL is the base URL to configure as the bridge's api_url.
func (s *Server) APIURL() string { return s.ts.GetAPIURL() }

func (s *Server) host() string { return s.ts.ServerAddr }

// Close stops the server and whatever it is delivering.
func (s *Server) Close() {
	s.cancel()
	s.events.closeSockets()
	s.ts.Stop()
	s.wg.Wait()
}

// AddUser adds a person to the workspace, active.
func (s *Server) AddUser(id, displayName string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[id] = &User{ID: id, Name: strings.ToLower(strings.ReplaceAll(displayName, " ", ".")), DisplayName: displayName, Presence: "active"}
}

// SetPresence sets a user's presence: "active" or "away".
func (s *Server) SetPresence(id, presence string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.Presence = presence
	}
}

// FailNext makes the next calls of method answer with the error codes, in turn.
func (s *Server) FailNext(method string, codes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[method] = append(s.fail[method], codes...)
}

// HoldPosts makes chat.postMessage keep each message but not answer until release is called:
// the app cannot tell whether its post arrived.
func (s *Server) HoldPosts() (release func()) {
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.hold = nil
			s.mu.Unlock()
			close(hold)
		})
	}
}

// DM is the app's DM channel with the user, opened if needed.
func (s *Server) DM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(user)
}

func (s *Server) dmLocked(user string) string {
	ch := s.dms[user]
	if ch == "" {
		ch = "D" + strings.TrimPrefix(user, "U") + "X"
		s.dms[user] = ch
	}
	return ch
}

// Messages returns the channel's messages, oldest first.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages[channel]))
	for _, m := range s.messages[channel] {
		out = append(out, *m)
	}
	return out
}

// Thread returns a thread of the channel: its first message, then the replies.
func (s *Server) Thread(channel, ts string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.TS == ts || m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// Views returns the Home tabs published for the user, oldest first.
func (s *Server) Views(user string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.views[user])
}

// Ephemerals returns the messages only the user saw.
func (s *Server) Ephemerals(user string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemeral {
		if e.User == user {
			out = append(out, e)
		}
	}
	return out
}

// Requests returns the calls of a Web API method ("" for all), in order.
func (s *Server) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if method == "" || r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// nextTS is a fresh, increasing message timestamp.
func (s *Server) nextTS() string {
	sec := time.Now().Unix()
	if sec <= s.lastSec {
		sec = s.lastSec
	}
	s.lastSec = sec
	s.seq++
	return fmt.Sprintf("%d.%06d", sec, s.seq%1000000)
}
