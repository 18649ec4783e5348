package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	d := &widgets{chats: map[string]*widget{}}
	t.Cleanup(d.close)
	sdktest.Run(t, sdktest.Options{
		Binary: sdktest.Build(t, "."),
		Kind:   sdk.KindChannel,
		Config: []byte(`{"title": "Support", "greeting": "Hello!", "offline_ttl": "1m", "max_message_chars": 2000}`),
		Driver: d,
	})
}

// widgets plays customers' browsers: one widget per conversation, speaking the customer WebSocket
// protocol as static/widget.js does.
type widgets struct {
	mu    sync.Mutex
	chats map[string]*widget
}

func (d *widgets) widget(conversation string) *widget {
	d.mu.Lock()
	defer d.mu.Unlock()
	w := d.chats[conversation]
	if w == nil {
		w = &widget{key: conversation, seen: map[string]bool{}, waiting: map[string]chan string{}}
		d.chats[conversation] = w
	}
	return w
}

func (d *widgets) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, w := range d.chats {
		w.mu.Lock()
		if w.conn != nil {
			w.conn.CloseNow()
		}
		w.mu.Unlock()
	}
}

// Inbound sends a customer message and waits for the plugin's ack frame, which it writes once the
// hub stored the message.
func (d *widgets) Inbound(ctx context.Context, addr, conversation, text string) error {
	w := d.widget(conversation)
	conn, lost, err := w.connect(ctx, addr)
	if err != nil {
		return err
	}
	id := messageID()
	answer := make(chan string, 1)
	w.mu.Lock()
	w.waiting[id] = answer
	w.mu.Unlock()
	if err := write(ctx, conn, map[string]any{"type": "message", "id": id, "text": text}); err != nil {
		return fmt.Errorf("send message frame: %w", err)
	}
	select {
	case reason := <-answer:
		if reason != "" {
			return fmt.Errorf("the plugin refused message %s: %s", id, reason)
		}
		return nil
	case <-lost:
		return fmt.Errorf("the connection closed before the plugin acked message %s: %v", id, w.lostReason())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delivered returns the hub messages the widget showed, reconnecting first when the plugin
// restarted (a new addr), as the widget does after a dropped connection.
func (d *widgets) Delivered(ctx context.Context, addr, conversation string) ([]string, error) {
	w := d.widget(conversation)
	if _, _, err := w.connect(ctx, addr); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.received...), nil
}

// widget is one customer's chat window.
type widget struct {
	key    string
	dialMu sync.Mutex // one connection attempt at a time

	mu       sync.Mutex
	addr     string
	conn     *websocket.Conn
	lost     chan struct{} // closed when conn ends
	lostErr  error
	waiting  map[string]chan string // message id → "" on ack, the reason on error
	seen     map[string]bool        // hub event ids shown
	received []string               // texts of hub messages, in order, each once
}

// connect returns the open connection to addr, dialling and starting the conversation when there
// is none.
func (w *widget) connect(ctx context.Context, addr string) (*websocket.Conn, <-chan struct{}, error) {
	w.dialMu.Lock()
	defer w.dialMu.Unlock()
	w.mu.Lock()
	conn, lost, same := w.conn, w.lost, w.addr == addr
	w.mu.Unlock()
	if conn != nil && same {
		select {
		case <-lost:
		default:
			return conn, lost, nil
		}
	}
	if conn != nil {
		conn.CloseNow()
	}
	var err error
	for {
		conn, _, err = websocket.Dial(ctx, "ws://"+addr+"/ws", nil)
		if err == nil {
			break
		}
		select { // the plugin answers 503 until its Run started
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("dial ws://%s/ws: %w", addr, err)
		}
	}
	started := make(chan struct{})
	lost = make(chan struct{})
	w.mu.Lock()
	w.addr, w.conn, w.lost, w.lostErr = addr, conn, lost, nil
	w.mu.Unlock()
	go w.read(conn, started, lost)
	if err := write(ctx, conn, map[string]any{"type": "start", "conversation": w.key}); err != nil {
		return nil, nil, fmt.Errorf("send start frame: %w", err)
	}
	select {
	case <-started:
		return conn, lost, nil
	case <-lost:
		return nil, nil, fmt.Errorf("the plugin closed the connection instead of starting conversation %s: %v", w.key, w.lostReason())
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("conversation %s did not start: %w", w.key, ctx.Err())
	}
}

func (w *widget) lostReason() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lostErr
}

// read handles the plugin's frames until the connection ends. Hub events are recorded before they
// are acked, so the plugin's ack to the hub means the customer has the message.
func (w *widget) read(conn *websocket.Conn, started, lost chan struct{}) {
	var err, refused error
	defer func() {
		w.mu.Lock()
		w.lostErr = errors.Join(refused, err)
		w.mu.Unlock()
		close(lost)
	}()
	for {
		var data []byte
		_, data, err = conn.Read(context.Background())
		if err != nil {
			return
		}
		var f outFrame
		if err = json.Unmarshal(data, &f); err != nil {
			return
		}
		switch f.Type {
		case "started":
			if f.Conversation != w.key {
				err = fmt.Errorf("the plugin started conversation %q, the widget asked for %q", f.Conversation, w.key)
				return
			}
			close(started)
		case "ack", "error":
			reason := ""
			if f.Type == "error" {
				reason = f.Reason
			}
			w.mu.Lock()
			answer := w.waiting[f.ID]
			delete(w.waiting, f.ID)
			w.mu.Unlock()
			if answer != nil {
				answer <- reason
			} else if reason != "" {
				refused = fmt.Errorf("the plugin refused a frame: %s", reason)
			}
		case "message", "assigned", "ended", "transferred":
			w.mu.Lock()
			if f.Type == "message" && !w.seen[f.ID] {
				w.received = append(w.received, f.Text)
			}
			w.seen[f.ID] = true
			w.mu.Unlock()
			if err = write(context.Background(), conn, map[string]any{"type": "ack", "id": f.ID}); err != nil {
				return
			}
		}
	}
}

func write(ctx context.Context, conn *websocket.Conn, frame map[string]any) error {
	data, err := json.Marshal(frame)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, data)
}

// messageID is a widget message id: 24 hex digits, as the widget makes them.
func messageID() string { return randomID()[:24] }
