package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
)

// resumeCategory is the preference category, on each agent's user, that holds per direct
// channel the create time of the last expert post the hub stored: after a restart the bridge
// imports what came later.
const resumeCategory = "switchboard_resume"

// catchUpPosts bounds how many posts of a channel without a resume point are imported.
const catchUpPosts = 200

// listen starts the agent's WebSocket and inbox worker unless they run.
func (b *bridge) listen(a *agent) {
	a.sockMu.Lock()
	defer a.sockMu.Unlock()
	if a.inbox.started {
		return
	}
	a.inbox.started = true
	go b.drainInbox(a)
	go b.socketLoop(a)
}

func (a *agent) setSocket(ws *model.WebSocketClient) {
	a.sockMu.Lock()
	a.socket = ws
	a.sockMu.Unlock()
}

func (a *agent) closeSocket() {
	a.sockMu.Lock()
	ws := a.socket
	a.socket = nil
	a.sockMu.Unlock()
	a.inbox.stop()
	if ws != nil {
		ws.Close()
	}
}

// socketLoop keeps a WebSocket open as the agent's user, reconnecting with backoff. After each
// connect it imports what the agent's direct channels got while nobody listened.
func (b *bridge) socketLoop(a *agent) {
	backoff := 500 * time.Millisecond
	for !a.inbox.isClosed() {
		started := time.Now()
		err := b.socketOnce(a)
		if a.inbox.isClosed() {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 500 * time.Millisecond
		}
		b.log.Warn("agent's Mattermost connection ended; reconnecting", "agent", a.hub, "error", err, "retry_in", backoff)
		select {
		case <-a.inbox.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (b *bridge) socketOnce(a *agent) error {
	client, user := a.api()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	_, resp, err := client.GetMe(ctx, "")
	if statusOf(resp) == http.StatusUnauthorized {
		if err = b.renewToken(ctx, a); err == nil {
			client, _ = a.api()
		}
	}
	cancel()
	if err != nil {
		return err
	}
	ws, err := model.NewWebSocketClient4(websocketURL(b.cfg.serverURL), client.AuthToken)
	if err != nil {
		return err
	}
	a.setSocket(ws)
	ws.Listen()
	if a.inbox.isClosed() {
		ws.Close()
		return nil
	}
	// Posts that arrive while the catch-up runs wait in the socket's channel; the inbox
	// drops the ones catch-up already queued.
	b.catchUp(a, user)
	responses := ws.ResponseChannel
	for {
		select {
		case ev, ok := <-ws.EventChannel:
			if !ok {
				a.setSocket(nil)
				if ws.ListenError != nil {
					return ws.ListenError
				}
				return nil
			}
			b.handleEvent(a, ev)
		case _, ok := <-responses:
			if !ok {
				responses = nil
			}
		case <-ws.PingTimeoutChannel:
			ws.Close()
		}
	}
}

func websocketURL(server string) string {
	switch {
	case strings.HasPrefix(server, "https://"):
		return "wss://" + strings.TrimPrefix(server, "https://")
	case strings.HasPrefix(server, "http://"):
		return "ws://" + strings.TrimPrefix(server, "http://")
	}
	return server
}

// handleEvent takes the events of the agent's WebSocket that matter: experts' posts and typing
// in direct channels.
func (b *bridge) handleEvent(a *agent, ev *model.WebSocketEvent) {
	switch ev.EventType() {
	case model.WebsocketEventPosted:
		data := ev.GetData()
		if kind, _ := data["channel_type"].(string); model.ChannelType(kind) != model.ChannelTypeDirect {
			return
		}
		raw, _ := data["post"].(string)
		var post model.Post
		if err := json.Unmarshal([]byte(raw), &post); err != nil || post.Id == "" {
			b.host.Count(countEvents, reasonMalformed)
			return
		}
		if b.fromExpert(a, &post) {
			a.inbox.add(&post)
		}
	case model.WebsocketEventTyping:
		userID, _ := ev.GetData()["user_id"].(string)
		if userID == "" || b.agentByUserID(userID) != nil {
			return
		}
		_, user := a.api()
		b.expertTyping(a, user, userID, ev.GetBroadcast().ChannelId)
	}
}

// fromExpert tells the posts to import: normal posts, not by any agent's user, not made by the
// bridge.
func (b *bridge) fromExpert(a *agent, post *model.Post) bool {
	if post.DeleteAt != 0 || (post.Type != model.PostTypeDefault && post.Type != model.PostTypeMe) {
		return false
	}
	if post.GetProp(propEvent) != nil || b.agentByUserID(post.UserId) != nil {
		return false
	}
	_, user := a.api()
	return post.UserId != user.Id
}

// catchUp queues the expert posts of the agent's direct channels newer than their resume points.
func (b *bridge) catchUp(a *agent, user *model.User) {
	client, _ := a.api()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	channels, _, err := client.GetChannelsForUserWithLastDeleteAt(ctx, user.Id, 0)
	if err != nil {
		b.log.Warn("list an agent's direct channels", "agent", a.hub, "error", err)
		return
	}
	prefs, resp, err := client.GetPreferencesByCategory(ctx, user.Id, resumeCategory)
	if err != nil && statusOf(resp) != http.StatusNotFound {
		b.log.Warn("read an agent's resume points", "agent", a.hub, "status", statusOf(resp), "error", err)
		return
	}
	resume := map[string]int64{}
	for _, p := range prefs {
		if at, err := strconv.ParseInt(p.Value, 10, 64); err == nil {
			resume[p.Name] = at
		}
	}
	for _, ch := range channels {
		if ch.Type != model.ChannelTypeDirect || ch.DeleteAt != 0 {
			continue
		}
		expert := ch.GetOtherUserIdForDM(user.Id)
		if expert == "" || expert == user.Id || b.agentByUserID(expert) != nil {
			continue
		}
		b.rememberChannel(sdk.ExpertChatKey(a.hub, expert), ch.Id)
		b.experts.sawPartner(expert)
		since, ok := resume[ch.Id]
		if ok && ch.LastPostAt <= since {
			continue
		}
		var list *model.PostList
		if ok {
			list, _, err = client.GetPostsSince(ctx, ch.Id, since-1, false)
		} else {
			list, _, err = client.GetPostsForChannel(ctx, ch.Id, 0, catchUpPosts, "", false, false)
		}
		if err != nil {
			b.log.Warn("read a direct channel's posts", "agent", a.hub, "channel", ch.Id, "error", err)
			continue
		}
		posts := make([]*model.Post, 0, len(list.Posts))
		for _, p := range list.Posts {
			if p.ChannelId == ch.Id && p.CreateAt >= since && b.fromExpert(a, p) {
				posts = append(posts, p)
			}
		}
		slices.SortFunc(posts, func(x, y *model.Post) int {
			if x.CreateAt != y.CreateAt {
				return int(x.CreateAt - y.CreateAt)
			}
			return strings.Compare(x.Id, y.Id)
		})
		for _, p := range posts {
			a.inbox.add(p)
		}
	}
}

// drainInbox hands the agent's queued expert posts to the hub one at a time, in order.
func (b *bridge) drainInbox(a *agent) {
	for {
		post, ok := a.inbox.next()
		if !ok {
			return
		}
		b.importPost(a, post)
	}
}

// importPost emits one expert post and, once the hub stored it, moves the channel's resume
// point past it.
func (b *bridge) importPost(a *agent, post *model.Post) {
	if b.imported.Has(post.Id) {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // stop waiting when the bridge stops
		select {
		case <-a.inbox.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	key := sdk.ExpertChatKey(a.hub, post.UserId)
	b.rememberChannel(key, post.ChannelId)
	b.experts.sawPartner(post.UserId)
	b.stopExpertTyping(key)
	expert := b.experts.user(ctx, b.admin, post.UserId)
	if expert != nil && (expert.IsBot || expert.Props[propAgent] != "") {
		return
	}
	content := b.inboundContent(ctx, a, post)
	if content != nil {
		ev := sdk.NewMessage("mm-post-"+post.Id, key, sdk.Expert(post.UserId, displayName(expert, post.UserId)), content)
		ev.Time = timestampMillis(post.CreateAt)
		err := b.host.Emit(ctx, ev)
		if reason, rejected := sdk.IsRejected(err); rejected {
			b.host.Count(countMessages, reasonRejected)
			b.notice(ctx, a, post.ChannelId, "rejected:"+post.Id,
				"Your message could not be delivered to "+a.displayName()+": "+reason)
		} else if err != nil {
			return // the bridge stops; the next run imports it again from the resume point
		}
	}
	b.imported.Add(post.Id)
	b.saveResume(ctx, a, post.ChannelId, post.CreateAt)
}

func (b *bridge) saveResume(ctx context.Context, a *agent, channelID string, at int64) {
	client, user := a.api()
	pref := model.Preference{UserId: user.Id, Category: resumeCategory, Name: channelID, Value: strconv.FormatInt(at, 10)}
	if _, err := client.UpdatePreferences(ctx, user.Id, model.Preferences{pref}); err != nil {
		b.log.Warn("save a resume point", "agent", a.hub, "channel", channelID, "error", err)
	}
}

func (a *agent) displayName() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.display != "" {
		return a.display
	}
	return a.hub
}

func displayName(u *model.User, fallback string) string {
	if u == nil {
		return fallback
	}
	return u.GetDisplayName(model.ShowNicknameFullName)
}

// inbox is an agent's queue of expert posts waiting for the hub, unbounded so the WebSocket is
// always drained; the hub's acks pace it.
type inbox struct {
	mu      sync.Mutex
	posts   []*model.Post
	queued  map[string]bool
	wake    chan struct{}
	done    chan struct{}
	started bool // guarded by the agent's sockMu
}

func newInbox() *inbox {
	return &inbox{queued: map[string]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (q *inbox) add(p *model.Post) {
	q.mu.Lock()
	if !q.queued[p.Id] {
		q.queued[p.Id] = true
		q.posts = append(q.posts, p)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// next waits for a post; false once the bridge stops.
func (q *inbox) next() (*model.Post, bool) {
	for {
		q.mu.Lock()
		if len(q.posts) > 0 {
			p := q.posts[0]
			q.posts = q.posts[1:]
			delete(q.queued, p.Id)
			q.mu.Unlock()
			return p, true
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-q.done:
			return nil, false
		}
	}
}

func (q *inbox) stop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	select {
	case <-q.done:
	default:
		close(q.done)
	}
}

func (q *inbox) isClosed() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}
