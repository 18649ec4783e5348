package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// customer is one web chat conversation: its current connection (if any) and the hub events
// written to it that the customer has not acknowledged yet.
type customer struct {
	key string

	mu       sync.Mutex
	conn     *websocket.Conn
	changed  chan struct{} // closed and replaced whenever conn changes
	acks     map[string]chan struct{}
	lastSeen time.Time
}

func (c *customer) attach(conn *websocket.Conn) *websocket.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.conn
	c.conn = conn
	c.lastSeen = time.Now()
	close(c.changed)
	c.changed = make(chan struct{})
	return old
}

func (c *customer) detach(conn *websocket.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == conn {
		c.conn = nil
		c.lastSeen = time.Now()
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

func (c *customer) ack(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.acks[id]; ok {
		close(ch)
		delete(c.acks, id)
	}
}

func (w *webchat) customer(key string) *customer {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.customers[key]
	if c == nil {
		c = &customer{key: key, changed: make(chan struct{}), acks: map[string]chan struct{}{}, lastSeen: time.Now()}
		w.customers[key] = c
	}
	return c
}

// forgetIdle drops customers who have been gone for longer than the offline TTL and have nothing
// pending.
func (w *webchat) forgetIdle() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, c := range w.customers {
		c.mu.Lock()
		idle := c.conn == nil && len(c.acks) == 0 && time.Since(c.lastSeen) > w.cfg.offlineTTL
		c.mu.Unlock()
		if idle {
			delete(w.customers, k)
		}
	}
}

func (w *webchat) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.customers {
		c.mu.Lock()
		if c.conn != nil {
			c.conn.Close(websocket.StatusGoingAway, "the chat service is restarting; reconnecting")
		}
		c.mu.Unlock()
	}
}

// Frames between the widget and the plugin.
type inFrame struct {
	Type         string            `json:"type"`
	Conversation string            `json:"conversation,omitempty"`
	ID           string            `json:"id,omitempty"`
	Text         string            `json:"text,omitempty"`
	Active       bool              `json:"active,omitempty"`
	Queue        string            `json:"queue,omitempty"`
	Origin       string            `json:"origin,omitempty"`
	Customer     *customerIdentity `json:"customer,omitempty"`
	Prechat      []prechatAnswer   `json:"prechat,omitempty"`
}

type customerIdentity struct {
	Nickname      string `json:"nickname,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	Email         string `json:"email,omitempty"`
	Phone         string `json:"phone,omitempty"`
	AccountNumber string `json:"account_number,omitempty"`
	Language      string `json:"language,omitempty"`
}

type prechatAnswer struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

type outFrame struct {
	Type         string `json:"type"`
	ID           string `json:"id,omitempty"`
	Conversation string `json:"conversation,omitempty"`
	Reason       string `json:"reason,omitempty"`
	Name         string `json:"name,omitempty"`
	From         string `json:"from,omitempty"`
	Text         string `json:"text,omitempty"`
	HTML         string `json:"html,omitempty"`
	Active       bool   `json:"active,omitempty"`
	At           string `json:"at,omitempty"`
	Position     int32  `json:"position,omitempty"`
	Wait         int32  `json:"wait,omitempty"` // estimated seconds
	Closed       bool   `json:"closed,omitempty"`
}

var (
	keyPattern = regexp.MustCompile(`^[a-f0-9]{32}$`)
	idPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// errBadFrame is a customer frame the plugin refuses; the connection is closed with its reason.
type errBadFrame struct {
	stat   string
	reason string
}

func (e *errBadFrame) Error() string { return e.reason }

func badFrame(stat, format string, args ...any) error {
	return &errBadFrame{stat: stat, reason: fmt.Sprintf(format, args...)}
}

func (w *webchat) serveWS(rw http.ResponseWriter, r *http.Request) {
	select {
	case <-w.ready:
	default:
		http.Error(rw, "the chat service is starting; try again", http.StatusServiceUnavailable)
		return
	}
	opts := &websocket.AcceptOptions{OriginPatterns: w.cfg.AllowedOrigins}
	if len(w.cfg.AllowedOrigins) == 0 {
		opts.InsecureSkipVerify = true // the widget is embedded in any site unless origins are configured
	}
	conn, err := websocket.Accept(rw, r, opts)
	if err != nil {
		w.host.Count("frames_rejected", "origin")
		return
	}
	err = w.serveCustomer(r.Context(), conn)
	var bad *errBadFrame
	switch {
	case errors.As(err, &bad):
		w.host.Count("frames_rejected", bad.stat)
		w.write(r.Context(), conn, outFrame{Type: "error", Reason: bad.reason})
		conn.Close(websocket.StatusPolicyViolation, truncate(bad.reason, 120))
	case errors.Is(err, errOversized):
		w.host.Count("frames_rejected", "oversized")
		reason := fmt.Sprintf("frame larger than %d bytes", w.cfg.MaxFrameBytes)
		w.write(r.Context(), conn, outFrame{Type: "error", Reason: reason})
		conn.Close(websocket.StatusMessageTooBig, reason)
	default:
		conn.CloseNow()
	}
}

// serveCustomer reads the customer's frames until the connection ends. Each frame is checked in
// full before anything is sent to the hub, so a bad frame stores nothing.
func (w *webchat) serveCustomer(ctx context.Context, conn *websocket.Conn) error {
	var cust *customer
	limit := rate.NewLimiter(rate.Limit(w.cfg.MessagesPerSec), w.cfg.MessageBurst)
	defer func() {
		if cust != nil {
			cust.detach(conn)
		}
	}()
	for {
		typ, data, err := w.readFrame(ctx, conn)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			return badFrame("malformed", "frames must be JSON text")
		}
		var f inFrame
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return badFrame("malformed", "malformed frame: %v", err)
		}
		if f.Type != "start" && cust == nil {
			return badFrame("malformed", "the first frame must be {\"type\":\"start\"}")
		}
		switch f.Type {
		case "start":
			if cust != nil {
				return badFrame("malformed", "the conversation is already started on this connection")
			}
			key, err := w.start(ctx, conn, f)
			if err != nil {
				return err
			}
			cust = w.customer(key)
		case "message":
			if !limit.Allow() {
				// Refused, not stored: the widget shows why and the customer can send it again.
				w.host.Count("frames_rejected", "rate_limited")
				w.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Reason: "too many messages at once; wait a moment and send it again"})
				continue
			}
			if err := w.message(ctx, conn, cust, f); err != nil {
				return err
			}
		case "typing":
			w.host.Emit(ctx, sdk.NewTyping(randomID(), cust.key, &pb.Participant{Kind: sdk.AsCustomer}, f.Active))
		case "ack":
			cust.ack(f.ID)
		case "end":
			err := w.host.Emit(ctx, sdk.NewConversationEnded("end:"+cust.key, cust.key, &pb.Participant{Kind: sdk.AsCustomer}, "the customer left"))
			if err != nil {
				return err
			}
			w.write(ctx, conn, outFrame{Type: "ended", Reason: "you left the chat"})
		default:
			return badFrame("malformed", "unknown frame type %q", f.Type)
		}
	}
}

var errOversized = errors.New("oversized frame")

// readFrame reads one frame, refusing it once it passes the size limit (the rest is not read).
func (w *webchat) readFrame(ctx context.Context, conn *websocket.Conn) (websocket.MessageType, []byte, error) {
	typ, r, err := conn.Reader(ctx)
	if err != nil {
		return 0, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(r, w.cfg.MaxFrameBytes+1))
	if err != nil {
		return 0, nil, err
	}
	if int64(len(data)) > w.cfg.MaxFrameBytes {
		return 0, nil, errOversized
	}
	return typ, data, nil
}

func (w *webchat) start(ctx context.Context, conn *websocket.Conn, f inFrame) (string, error) {
	key := f.Conversation
	if key == "" {
		key = randomID()
	} else if !keyPattern.MatchString(key) {
		return "", badFrame("malformed", "conversation must be 32 hex digits")
	}
	started := &pb.ConversationStarted{Queue: f.Queue, Origin: truncate(f.Origin, 500), Customer: &pb.Customer{Address: key}}
	if started.Queue == "" {
		started.Queue = w.cfg.DefaultQueue
	}
	if id := f.Customer; id != nil {
		for _, field := range []string{id.Nickname, id.FirstName, id.LastName, id.Email, id.Phone, id.AccountNumber, id.Language} {
			if utf8.RuneCountInString(field) > 200 {
				return "", badFrame("malformed", "customer fields are limited to 200 characters")
			}
		}
		started.Customer = &pb.Customer{Address: key, Nickname: id.Nickname, FirstName: id.FirstName, LastName: id.LastName,
			Email: id.Email, Phone: id.Phone, AccountNumber: id.AccountNumber, Language: id.Language}
	}
	if len(f.Prechat) > 20 {
		return "", badFrame("malformed", "at most 20 pre-chat answers")
	}
	for _, a := range f.Prechat {
		started.Prechat = append(started.Prechat, &pb.PrechatAnswer{Question: truncate(a.Question, 200), Answer: truncate(a.Answer, 2000)})
	}
	// The connection takes the conversation's frames before the hub hears of it, so nothing the
	// hub answers at once (a place in line) goes to nobody.
	cust := w.customer(key)
	if old := cust.attach(conn); old != nil {
		old.Close(websocket.StatusPolicyViolation, "the chat continued in another window")
	}
	err := w.host.Emit(ctx, sdk.NewConversationStarted("start:"+key, key, started))
	if reason, ok := sdk.IsRejected(err); ok {
		cust.detach(conn)
		w.write(ctx, conn, outFrame{Type: "error", Reason: reason})
		return "", badFrame("refused", "%s", reason)
	}
	if err != nil {
		cust.detach(conn)
		return "", err
	}
	w.write(ctx, conn, outFrame{Type: "started", Conversation: key, Name: w.cfg.Title, Text: w.cfg.Greeting})
	return key, nil
}

func (w *webchat) message(ctx context.Context, conn *websocket.Conn, cust *customer, f inFrame) error {
	if !idPattern.MatchString(f.ID) {
		return badFrame("malformed", "message id must be 1 to 64 letters, digits, '-' or '_'")
	}
	text := strings.TrimSpace(f.Text)
	if text == "" {
		return badFrame("malformed", "empty message")
	}
	if n := utf8.RuneCountInString(text); n > w.cfg.MaxMessageChars {
		return badFrame("oversized", "message of %d characters; the limit is %d", n, w.cfg.MaxMessageChars)
	}
	// Customers type plain text: it becomes safe HTML here, at the edge.
	content := &pb.Content{Text: text, Html: richtext.FromText(text)}
	err := w.host.Emit(ctx, sdk.NewMessage("msg:"+cust.key+":"+f.ID, cust.key, &pb.Participant{Kind: sdk.AsCustomer, Id: cust.key}, content))
	if reason, ok := sdk.IsRejected(err); ok {
		w.write(ctx, conn, outFrame{Type: "error", ID: f.ID, Reason: reason})
		return nil
	}
	if err != nil {
		return err
	}
	w.write(ctx, conn, outFrame{Type: "ack", ID: f.ID})
	return nil
}

// delivery says how sure the plugin must be that the customer saw a frame.
type delivery int

const (
	bestEffort   delivery = iota // dropped when the customer is not connected (typing)
	whenOnline                   // written once the customer is connected (queue status)
	acknowledged                 // written until the widget acknowledges it (messages, notices)
)

// Deliver shows a hub event to the customer. Events that need it are written until the
// customer's widget acknowledges them, waiting for the customer to reconnect if needed (up to the
// offline TTL).
func (w *webchat) Deliver(ctx context.Context, ev *sdk.Event) error {
	frame, mode := render(ev)
	if frame == nil {
		return nil
	}
	cust := w.customer(ev.Conversation)
	for {
		cust.mu.Lock()
		conn, changed, gone := cust.conn, cust.changed, time.Since(cust.lastSeen)
		var acked chan struct{}
		if conn != nil && mode == acknowledged {
			acked = make(chan struct{})
			cust.acks[ev.Id] = acked
		}
		cust.mu.Unlock()
		if conn == nil {
			if mode == bestEffort {
				return nil // typing for nobody
			}
			if gone > w.cfg.offlineTTL {
				return sdk.Reject("the customer has been offline for %s", gone.Round(time.Second))
			}
			select {
			case <-changed:
				continue
			case <-time.After(w.cfg.offlineTTL - gone):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err := w.write(ctx, conn, *frame); err != nil {
			if mode == bestEffort {
				return nil
			}
			cust.detach(conn)
			continue
		}
		if mode != acknowledged {
			return nil
		}
		select {
		case <-acked:
			return nil
		case <-changed:
			// A new connection: write it again there; the widget drops repeats by id.
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// render turns a hub event into a widget frame and says how it must be delivered.
func render(ev *sdk.Event) (*outFrame, delivery) {
	at := ev.GetTime().AsTime().UTC().Format(time.RFC3339)
	switch p := ev.Payload.(type) {
	case *pb.Event_Message:
		c := p.Message.GetContent()
		text, html := richtext.Normalize(c.GetText(), c.GetHtml())
		return &outFrame{Type: "message", ID: ev.Id, From: fromKind(p.Message.GetFrom()), Name: p.Message.GetFrom().GetDisplayName(), Text: text, HTML: html, At: at}, acknowledged
	case *pb.Event_Typing:
		return &outFrame{Type: "typing", Active: p.Typing.Active, Name: p.Typing.GetFrom().GetDisplayName()}, bestEffort
	case *pb.Event_ConversationAssigned:
		return &outFrame{Type: "assigned", ID: ev.Id, Name: p.ConversationAssigned.GetAgent().GetDisplayName(), At: at}, acknowledged
	case *pb.Event_ConversationEnded:
		return &outFrame{Type: "ended", ID: ev.Id, Reason: p.ConversationEnded.Reason, At: at}, acknowledged
	case *pb.Event_ConversationTransferred:
		return &outFrame{Type: "transferred", ID: ev.Id, Reason: p.ConversationTransferred.Reason, At: at}, acknowledged
	case *pb.Event_QueueStatus:
		q := p.QueueStatus
		f := &outFrame{Type: "queue", ID: ev.Id, Position: q.Position, Wait: q.EstimatedWaitSeconds, Closed: q.Closed, Reason: q.Reason}
		if q.Closed {
			return f, whenOnline
		}
		return f, bestEffort // places in line change; the next one is as good
	}
	return nil, bestEffort
}

func fromKind(p *pb.Participant) string {
	switch p.GetKind() {
	case sdk.AsAgent:
		return "agent"
	case sdk.AsCustomer:
		return "customer"
	default:
		return "system"
	}
}

func (w *webchat) write(ctx context.Context, conn *websocket.Conn, f outFrame) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, data)
}

func (w *webchat) serveConfig(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	json.NewEncoder(rw).Encode(map[string]string{"title": w.cfg.Title, "greeting": w.cfg.Greeting})
}

// serveAvailability tells a page whether an agent could take a chat now (?queue= names the
// queue; default the instance's), so it can offer a chat, or a message form instead.
func (w *webchat) serveAvailability(rw http.ResponseWriter, r *http.Request) {
	select {
	case <-w.ready:
	default:
		http.Error(rw, "the chat service is starting; try again", http.StatusServiceUnavailable)
		return
	}
	queue := r.URL.Query().Get("queue")
	if queue == "" {
		queue = w.cfg.DefaultQueue
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	ok, err := w.host.HasCapacity(ctx, queue)
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	if err != nil {
		rw.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(rw).Encode(map[string]string{"error": err.Error()})
		return
	}
	json.NewEncoder(rw).Encode(map[string]bool{"available": ok})
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
