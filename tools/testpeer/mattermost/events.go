package mattermost

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

// Events is what a user's WebSocket received, as the user's chat app would see it.
type Events struct {
	mu     sync.Mutex
	events []*model.WebSocketEvent
	ws     *model.WebSocketClient
}

// Listen opens a WebSocket as the user and records every event until the test ends.
func (u *User) Listen(t testing.TB, s *Server) *Events {
	t.Helper()
	ws, err := model.NewWebSocketClient4(strings.Replace(s.URL, "http://", "ws://", 1), u.Token)
	if err != nil {
		t.Fatalf("mattermost: open a WebSocket as %s: %v", u.Username, err)
	}
	e := &Events{ws: ws}
	ws.Listen()
	go func() {
		responses := ws.ResponseChannel
		for {
			select {
			case ev, ok := <-ws.EventChannel:
				if !ok {
					return
				}
				e.mu.Lock()
				e.events = append(e.events, ev)
				e.mu.Unlock()
			case _, ok := <-responses:
				if !ok {
					responses = nil
				}
			case <-ws.PingTimeoutChannel:
			}
		}
	}()
	t.Cleanup(ws.Close)
	// The hello event says the server registered the connection.
	e.Wait(t, 10*time.Second, "the WebSocket's hello", func(ev *model.WebSocketEvent) bool {
		return ev.EventType() == model.WebsocketEventHello
	})
	return e
}

// Count counts the events matching ok.
func (e *Events) Count(ok func(*model.WebSocketEvent) bool) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ok(ev) {
			n++
		}
	}
	return n
}

// Wait waits for an event matching ok and returns it; it fails the test after limit.
func (e *Events) Wait(t testing.TB, limit time.Duration, what string, ok func(*model.WebSocketEvent) bool) *model.WebSocketEvent {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		e.mu.Lock()
		i := slices.IndexFunc(e.events, ok)
		var ev *model.WebSocketEvent
		if i >= 0 {
			ev = e.events[i]
		}
		n := len(e.events)
		e.mu.Unlock()
		if ev != nil {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("mattermost: no WebSocket event: %s within %s (%d events)", what, limit, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Typing matches a typing event of user in channel.
func Typing(userID, channelID string) func(*model.WebSocketEvent) bool {
	return func(ev *model.WebSocketEvent) bool {
		uid, _ := ev.GetData()["user_id"].(string)
		return ev.EventType() == model.WebsocketEventTyping && uid == userID && ev.GetBroadcast().ChannelId == channelID
	}
}

// Posts returns a channel's posts, oldest first, as the user sees them.
func (u *User) Posts(ctx context.Context, channelID string) ([]*model.Post, error) {
	list, _, err := u.Client.GetPostsForChannel(ctx, channelID, 0, 200, "", false, false)
	if err != nil {
		return nil, fmt.Errorf("read the posts of %s as %s: %w", channelID, u.Username, err)
	}
	var posts []*model.Post
	for _, id := range slices.Backward(list.Order) {
		if p := list.Posts[id]; p != nil {
			posts = append(posts, p)
		}
	}
	return posts, nil
}

// PostJSON decodes the post carried by a "posted" event.
func PostJSON(ev *model.WebSocketEvent) *model.Post {
	raw, _ := ev.GetData()["post"].(string)
	var p model.Post
	if json.Unmarshal([]byte(raw), &p) != nil {
		return nil
	}
	return &p
}
