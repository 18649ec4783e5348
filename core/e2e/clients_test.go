package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// agent drives the console API as the console does: session cookie, CSRF header, push WebSocket.
type agent struct {
	t      testing.TB
	base   string
	client *http.Client
	csrf   string
	id     string
	pushes chan map[string]any
	cancel context.CancelFunc
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func login(t testing.TB, base, tenant, username string) *agent {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	a := &agent{t: t, base: base, client: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
	var res struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		CSRF string `json:"csrf_token"`
	}
	code := a.call("POST", "/api/v1/login", map[string]string{"tenant": tenant, "username": username, "password": password}, &res)
	if code != 200 {
		t.Fatalf("login %s/%s: %d", tenant, username, code)
	}
	a.csrf, a.id = res.CSRF, res.User.ID
	return a
}

// availableAgent signs a user in, opens their console WebSocket and makes them Available.
func availableAgent(t testing.TB, h *hubProc, tenant, username string) *agent {
	t.Helper()
	a := login(t, h.url, tenant, username)
	a.listen()
	a.setState("available")
	return a
}

// call sends a JSON request and decodes the JSON answer into out; it returns the status (0 when
// the hub could not be reached).
func (a *agent) call(method, path string, body, out any) int {
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", a.csrf)
	res, err := a.client.Do(req)
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	if out != nil {
		json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

func (a *agent) must(method, path string, body, out any) {
	a.t.Helper()
	if code := a.call(method, path, body, out); code/100 != 2 {
		a.t.Fatalf("%s %s: status %d", method, path, code)
	}
}

// listen opens the push WebSocket and reconnects whenever it drops, until the test ends.
func (a *agent) listen() {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.t.Cleanup(cancel)
	a.pushes = make(chan map[string]any, 4096)
	connected := make(chan struct{})
	var once sync.Once
	go func() {
		for ctx.Err() == nil {
			u := strings.Replace(a.base, "http", "ws", 1) + "/api/v1/ws"
			hdr := http.Header{"Origin": {a.base}}
			for _, c := range a.client.Jar.Cookies(mustURL(a.base)) {
				hdr.Add("Cookie", c.Name+"="+c.Value)
			}
			conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: hdr})
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			conn.SetReadLimit(1 << 20)
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					break
				}
				var p map[string]any
				json.Unmarshal(data, &p)
				if p["type"] == "hello" {
					once.Do(func() { close(connected) })
				}
				a.pushes <- p
			}
			conn.CloseNow()
		}
	}()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		a.t.Fatal("console WebSocket did not connect")
	}
}

func (a *agent) setState(state string) {
	a.t.Helper()
	a.must("PUT", "/api/v1/state", map[string]string{"state": state}, nil)
}

// waitOffer waits for an offer push and returns the offered conversation id.
func (a *agent) waitOffer(ctx context.Context) string {
	a.t.Helper()
	for {
		select {
		case p := <-a.pushes:
			if p["type"] == "offer" {
				return p["conversation_id"].(string)
			}
			if p["type"] == "hello" {
				snap := p["snapshot"].(map[string]any)
				if offers, _ := snap["offers"].([]any); len(offers) > 0 {
					return offers[0].(map[string]any)["conversation"].(map[string]any)["id"].(string)
				}
			}
		case <-ctx.Done():
			a.t.Fatal("no offer arrived")
			return ""
		}
	}
}

type message struct {
	Seq         int64        `json:"seq"`
	ID          string       `json:"id"`
	SenderKind  string       `json:"sender_kind"`
	SenderName  string       `json:"sender_name"`
	Text        string       `json:"text"`
	HTML        string       `json:"html"`
	Attachments []attachment `json:"attachments"`
	// What the customer's platform reported about an agent's message.
	Delivery       string `json:"delivery"`
	DeliveryReason string `json:"delivery_reason"`
}

type attachment struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	Size int64  `json:"size"`
}

// messages returns the conversation's stored messages after seq; ok is false when the hub is down.
func (a *agent) messages(conv string, after int64) ([]message, bool) {
	var res struct {
		Messages []message `json:"messages"`
	}
	code := a.call("GET", fmt.Sprintf("/api/v1/conversations/%s/messages?after=%d", conv, after), nil, &res)
	return res.Messages, code == 200
}

// lastMessages returns the conversation's last n messages, as a chat opens with them.
func (a *agent) lastMessages(conv string, n int) []message {
	a.t.Helper()
	var res struct {
		Messages []message `json:"messages"`
	}
	a.must("GET", fmt.Sprintf("/api/v1/conversations/%s/messages?last=%d", conv, n), nil, &res)
	return res.Messages
}

// send sends a message and retries with the same client id until the hub answers, as a console
// does across a hub restart. It returns once the hub acknowledged it.
func (a *agent) send(ctx context.Context, conv, clientID, text string) error {
	for {
		var m message
		code := a.call("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": clientID, "text": text}, &m)
		switch {
		case code == 200:
			return nil
		case code != 0 && code != 502 && code != 503:
			return fmt.Errorf("send %q: status %d", text, code)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// customer speaks the web chat widget's protocol: it keeps unacknowledged messages and resends
// them after a reconnect, acknowledges hub events and drops repeats by id.
type customer struct {
	t            testing.TB
	wsURL        string
	conversation string
	nickname     string
	email        string

	mu       sync.Mutex
	conn     *websocket.Conn
	pending  []map[string]any
	acked    []string // texts the plugin acknowledged, in order
	received []string // texts of hub messages, in order, without repeats
	seen     map[string]bool
	events   []map[string]any
	errors   []string
	started  chan struct{}
	stopped  chan struct{}
	cancel   context.CancelFunc
}

func newCustomer(t testing.TB, base, nickname, email string) *customer {
	return &customer{t: t, wsURL: strings.Replace(base, "http", "ws", 1) + "/c/webchat/ws", nickname: nickname, email: email,
		seen: map[string]bool{}, started: make(chan struct{}), stopped: make(chan struct{})}
}

// run keeps the customer connected until ctx ends or stop is called.
func (c *customer) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.cancel = cancel
	c.mu.Unlock()
	defer close(c.stopped)
	for ctx.Err() == nil {
		conn, _, err := websocket.Dial(ctx, c.wsURL, nil)
		if err != nil {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		c.session(ctx, conn)
		conn.CloseNow()
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *customer) write(ctx context.Context, conn *websocket.Conn, v any) error {
	data, _ := json.Marshal(v)
	return conn.Write(ctx, websocket.MessageText, data)
}

func (c *customer) session(ctx context.Context, conn *websocket.Conn) {
	c.mu.Lock()
	conv := c.conversation
	c.mu.Unlock()
	start := map[string]any{"type": "start", "conversation": conv, "customer": map[string]string{"nickname": c.nickname, "email": c.email, "language": "en"}}
	if c.write(ctx, conn, start) != nil {
		return
	}
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			c.mu.Lock()
			if c.conn == conn {
				c.conn = nil
			}
			c.mu.Unlock()
			return
		}
		var f map[string]any
		json.Unmarshal(data, &f)
		c.mu.Lock()
		c.events = append(c.events, f)
		switch f["type"] {
		case "started":
			c.conversation = f["conversation"].(string)
			c.conn = conn
			select {
			case <-c.started:
			default:
				close(c.started)
			}
			// Resend what is unacknowledged, in order, before say can write anything newer: the
			// lock is held across the writes, as the widget's single thread does.
			for _, m := range c.pending {
				if c.write(ctx, conn, m) != nil {
					c.mu.Unlock()
					return
				}
			}
			c.mu.Unlock()
			continue
		case "ack":
			for i, m := range c.pending {
				if m["id"] == f["id"] {
					c.acked = append(c.acked, m["text"].(string))
					c.pending = append(c.pending[:i], c.pending[i+1:]...)
					break
				}
			}
		case "error":
			c.errors = append(c.errors, fmt.Sprint(f["reason"]))
		case "message", "assigned", "ended", "transferred":
			id, _ := f["id"].(string)
			if id == "" { // the plugin's own answer to our "end": nothing to acknowledge
				c.mu.Unlock()
				continue
			}
			if f["type"] == "message" && !c.seen[id] {
				c.received = append(c.received, f["text"].(string))
			}
			c.seen[id] = true
			c.mu.Unlock()
			c.write(ctx, conn, map[string]any{"type": "ack", "id": id})
			continue
		}
		c.mu.Unlock()
	}
}

// stop disconnects the customer for good.
func (c *customer) stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		<-c.stopped
	}
}

// say queues a message: sent now if connected, else after the next reconnect.
func (c *customer) say(ctx context.Context, text string) {
	m := map[string]any{"type": "message", "id": newID(), "text": text}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, m)
	if c.conn != nil {
		c.write(ctx, c.conn, m)
	}
}

func (c *customer) snapshot() (acked, received []string, pending int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.acked...), append([]string(nil), c.received...), len(c.pending)
}

func (c *customer) waitStarted(t testing.TB) {
	t.Helper()
	select {
	case <-c.started:
	case <-time.After(15 * time.Second):
		t.Fatal("customer conversation did not start")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
