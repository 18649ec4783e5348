package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// Homeservers push only room events to an appservice, not typing or presence. The bridge reads
// those through /sync: the bot's sync sees the presence of everyone in the agents room, and each
// ghost with a DM syncs for its partners' typing and presence. A ghost's sync passes the agent's
// own presence as set_presence, since a sync otherwise marks its user online.

// syncFilter keeps sync responses small: presence, typing and hardly any timeline.
const syncFilter = `{"room":{"timeline":{"limit":1,"types":["m.room.message"]},"state":{"types":["m.room.member"],"lazy_load_members":true},"account_data":{"not_types":["*"]}},"account_data":{"not_types":["*"]}}`

type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Presence  struct {
		Events []syncEvent `json:"events"`
	} `json:"presence"`
	Rooms struct {
		Join map[string]struct {
			Ephemeral struct {
				Events []syncEvent `json:"events"`
			} `json:"ephemeral"`
		} `json:"join"`
	} `json:"rooms"`
}

type syncEvent struct {
	Type    string          `json:"type"`
	Sender  string          `json:"sender"`
	Content json.RawMessage `json:"content"`
}

// sync is one /sync long poll as userID.
func (h *homeserver) sync(ctx context.Context, userID, since, setPresence string) (*syncResponse, error) {
	cli := h.asWithin(ctx, userID, requestTimeout+syncTimeout)
	q := map[string]string{"filter": syncFilter, "set_presence": setPresence, "timeout": "0"}
	if since != "" {
		q["since"] = since
		q["timeout"] = strconv.FormatInt(syncTimeout.Milliseconds(), 10)
	}
	var resp syncResponse
	if err := cli.MakeRequest(http.MethodGet, cli.BuildURLWithQuery([]string{"sync"}, q), nil, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// startSync runs a /sync loop as userID unless one runs already.
func (b *bridge) startSync(userID string) {
	b.mu.Lock()
	ctx := b.runCtx
	if ctx == nil || ctx.Err() != nil || b.syncing[userID] {
		b.mu.Unlock()
		return
	}
	b.syncing[userID] = true
	b.mu.Unlock()
	go b.syncLoop(ctx, userID)
}

func (b *bridge) syncLoop(ctx context.Context, userID string) {
	username, ghost := b.cfg.agentOf(userID)
	since := ""
	backoff := time.Second
	for ctx.Err() == nil {
		setPresence := "offline"
		if ghost && b.agentOnline(username) {
			setPresence = "online"
		}
		resp, err := b.hs.sync(ctx, userID, since, setPresence)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			b.log.Debug("sync failed; retrying", "user", userID, "error", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		since = resp.NextBatch
		b.onSync(ctx, username, ghost, resp)
	}
}

func (b *bridge) onSync(ctx context.Context, username string, ghost bool, resp *syncResponse) {
	for _, e := range resp.Presence.Events {
		var c struct {
			Presence    string `json:"presence"`
			StatusMsg   string `json:"status_msg"`
			DisplayName string `json:"displayname"`
		}
		if e.Type != "m.presence" || json.Unmarshal(e.Content, &c) != nil || c.Presence == "" {
			continue
		}
		b.expertPresence(e.Sender, c.Presence, c.StatusMsg, c.DisplayName)
	}
	if !ghost {
		return
	}
	for room, r := range resp.Rooms.Join {
		p, ok := b.pairOf(room)
		if !ok || p.agent != username {
			continue
		}
		for _, e := range r.Ephemeral.Events {
			var c struct {
				UserIDs []string `json:"user_ids"`
			}
			if e.Type == "m.typing" && json.Unmarshal(e.Content, &c) == nil {
				b.expertTyping(ctx, p, room, slices.Contains(c.UserIDs, p.expert))
			}
		}
	}
}

// expertTyping tells the hub when the expert starts or stops typing in the chat's room.
func (b *bridge) expertTyping(ctx context.Context, p pair, room string, active bool) {
	b.mu.Lock()
	was := b.typing[room]
	b.typing[room] = active
	b.mu.Unlock()
	if was == active {
		return
	}
	ev := sdk.NewTyping("matrix-typing-"+randomID(), p.key(), sdk.Expert(p.expert, b.expertName(ctx, p.expert)), active)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.host.Emit(ctx, ev); err != nil {
		b.log.Debug("could not pass on the expert's typing", "expert", p.expert, "agent", p.agent, "error", err)
	}
}
