package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
	"github.com/switchboardhq/switchboard/tools/testpeer/dendrite"
)

// TestConformance runs the SDK's conformance kit against the bridge with a real Dendrite: each
// of the kit's conversations is a DM between a real Matrix user and an agent's ghost.
func TestConformance(t *testing.T) {
	proxy := newAppserviceProxy()
	t.Cleanup(proxy.close)
	asToken, hsToken := "as-"+randomID(), "hs-"+randomID()
	hs := dendrite.Start(t, dendrite.Options{
		AppserviceURL: proxy.URL(), ASToken: asToken, HSToken: hsToken, UserRegex: "@sb_.*:localhost",
	})
	cfg, _ := json.Marshal(map[string]any{
		"homeserver_url": hs.URL, "server_name": dendrite.ServerName, "as_token": asToken, "hs_token": hsToken,
		"max_attachment_bytes": 1 << 20, "presence_interval": "30s",
	})
	sdktest.Run(t, sdktest.Options{
		Binary:  sdktest.Build(t, "."),
		Kind:    sdk.KindBridge,
		Config:  cfg,
		Driver:  &experts{hs: hs, proxy: proxy, chats: map[string]*chat{}},
		Timeout: 25 * time.Second,
	})
}

// experts plays the Matrix users of the kit's conversations: one real user per conversation,
// who opens a DM with the conversation's agent and writes there.
type experts struct {
	hs    *dendrite.Server
	proxy *appserviceProxy
	mu    sync.Mutex
	chats map[string]*chat
}

type chat struct {
	mu     sync.Mutex
	expert *matrixUser
	ghost  string
	room   string
}

func (d *experts) chat(conv string) *chat {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.chats[conv]
	if c == nil {
		c = &chat{ghost: "@sb_" + sdktest.AgentFor(conv) + ":" + dendrite.ServerName}
		d.chats[conv] = c
	}
	return c
}

// open creates the expert and their DM with the agent's ghost, once, and waits for the ghost to
// join it.
func (d *experts) open(ctx context.Context, conv string) (*chat, error) {
	c := d.chat(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.room != "" {
		return c, nil
	}
	if c.expert == nil {
		id, token := d.hs.CreateUser("expert" + conv[:12])
		c.expert = &matrixUser{hs: d.hs, id: id, token: token}
	}
	// The kit announced the agent just before; the bridge may still be registering the ghost.
	var room string
	err := poll(ctx, func() (bool, error) {
		var resp struct {
			RoomID string `json:"room_id"`
		}
		err := c.expert.do(ctx, http.MethodPost, "/createRoom", map[string]any{"preset": "trusted_private_chat", "is_direct": true, "invite": []string{c.ghost}}, &resp)
		room = resp.RoomID
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("%s could not open a DM with %s: %w", c.expert.id, c.ghost, err)
	}
	err = poll(ctx, func() (bool, error) {
		members, err := c.expert.joinedMembers(ctx, room)
		return slices.Contains(members, c.ghost), err
	})
	if err != nil {
		return nil, fmt.Errorf("%s never joined the DM %s: %w", c.ghost, room, err)
	}
	c.room = room
	return c, nil
}

// Inbound has the conversation's expert write in the DM and waits until the bridge answered the
// homeserver's transaction holding the message with 200, which it does once the hub stored it.
func (d *experts) Inbound(ctx context.Context, httpAddr, conv, text string) error {
	d.proxy.setTarget(httpAddr)
	c, err := d.open(ctx, conv)
	if err != nil {
		return err
	}
	eventID, err := c.expert.send(ctx, c.room, map[string]any{"msgtype": "m.text", "body": text})
	if err != nil {
		return err
	}
	return d.proxy.waitConfirmed(ctx, eventID)
}

// Delivered returns the bodies of the ghost's messages in the DM, oldest first.
func (d *experts) Delivered(ctx context.Context, httpAddr, conv string) ([]string, error) {
	d.proxy.setTarget(httpAddr)
	c := d.chat(conv)
	c.mu.Lock()
	expert, room := c.expert, c.room
	c.mu.Unlock()
	if room == "" {
		return nil, nil
	}
	events, err := expert.messages(ctx, room)
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, e := range events {
		if e.Sender == c.ghost && e.Type == "m.room.message" {
			texts = append(texts, e.Content.Body)
		}
	}
	return texts, nil
}

// matrixUser is a real user of the homeserver, with their access token.
type matrixUser struct {
	hs        *dendrite.Server
	id, token string
}

type roomEvent struct {
	EventID string `json:"event_id"`
	Type    string `json:"type"`
	Sender  string `json:"sender"`
	Content struct {
		MsgType       string `json:"msgtype"`
		Body          string `json:"body"`
		Format        string `json:"format"`
		FormattedBody string `json:"formatted_body"`
	} `json:"content"`
}

func (u *matrixUser) do(ctx context.Context, method, path string, body, out any) error {
	if err := u.hs.ClientCall(ctx, u.token, method, path, body, out); err != nil {
		return fmt.Errorf("as %s: %w", u.id, err)
	}
	return nil
}

func (u *matrixUser) send(ctx context.Context, room string, content map[string]any) (string, error) {
	var resp struct {
		EventID string `json:"event_id"`
	}
	err := u.do(ctx, http.MethodPut, "/rooms/"+url.PathEscape(room)+"/send/m.room.message/t"+randomID(), content, &resp)
	return resp.EventID, err
}

func (u *matrixUser) joinedMembers(ctx context.Context, room string) ([]string, error) {
	var resp struct {
		Joined map[string]any `json:"joined"`
	}
	if err := u.do(ctx, http.MethodGet, "/rooms/"+url.PathEscape(room)+"/joined_members", nil, &resp); err != nil {
		return nil, err
	}
	var ids []string
	for id := range resp.Joined {
		ids = append(ids, id)
	}
	return ids, nil
}

// messages returns the room's newest 1000 events, oldest first.
func (u *matrixUser) messages(ctx context.Context, room string) ([]roomEvent, error) {
	var resp struct {
		Chunk []roomEvent `json:"chunk"`
	}
	if err := u.do(ctx, http.MethodGet, "/rooms/"+url.PathEscape(room)+"/messages?dir=b&limit=1000", nil, &resp); err != nil {
		return nil, err
	}
	slices.Reverse(resp.Chunk)
	return resp.Chunk, nil
}

// appserviceProxy stands where the homeserver's registration points: it forwards transactions
// to the bridge's current loopback address (which changes when the kit restarts the bridge),
// holding a request while no bridge listens instead of failing it (a failure would make the
// homeserver back off for seconds), and records which events the bridge answered 200 for.
type appserviceProxy struct {
	srv *httptest.Server

	mu        sync.Mutex
	target    string
	changed   chan struct{}
	confirmed map[string]bool
}

func newAppserviceProxy() *appserviceProxy {
	p := &appserviceProxy{changed: make(chan struct{}), confirmed: map[string]bool{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.forward))
	return p
}

func (p *appserviceProxy) URL() string { return p.srv.URL }

func (p *appserviceProxy) close() { p.srv.Close() }

func (p *appserviceProxy) setTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target != addr {
		p.target = addr
		close(p.changed)
		p.changed = make(chan struct{})
	}
}

func (p *appserviceProxy) current() (string, <-chan struct{}, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target, p.changed, len(p.confirmed)
}

func (p *appserviceProxy) forward(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	deadline := time.Now().Add(25 * time.Second)
	for {
		target, changed, _ := p.current()
		if target != "" {
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+target+r.URL.RequestURI(), bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err == nil {
				answer, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK && strings.Contains(r.URL.Path, "/transactions/") {
					p.confirm(body)
				}
				w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
				w.WriteHeader(resp.StatusCode)
				w.Write(answer)
				return
			}
		}
		if time.Now().After(deadline) || r.Context().Err() != nil {
			http.Error(w, "no bridge listening", http.StatusBadGateway)
			return
		}
		select {
		case <-changed:
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
		}
	}
}

func (p *appserviceProxy) confirm(body []byte) {
	var txn struct {
		Events []struct {
			EventID string `json:"event_id"`
		} `json:"events"`
	}
	_ = json.Unmarshal(body, &txn)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range txn.Events {
		p.confirmed[e.EventID] = true
	}
}

func (p *appserviceProxy) waitConfirmed(ctx context.Context, eventID string) error {
	err := poll(ctx, func() (bool, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.confirmed[eventID], nil
	})
	if err != nil {
		return fmt.Errorf("the bridge never answered 200 for a transaction holding %s: %w", eventID, err)
	}
	return nil
}

// poll calls check every 50 ms until it reports done, fails, or ctx ends.
func poll(ctx context.Context, check func() (bool, error)) error {
	var last error
	for {
		done, err := check()
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
