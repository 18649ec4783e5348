package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboardhq/switchboard/sdk"
)

// nameTTL is how long an expert's Slack name is reused before it is read again.
const nameTTL = time.Hour

// experts are the Slack users the bridge knows: those with a DM with the app, those who opened
// its Home tab or wrote to it. Their presence is polled and reported to the hub.
type experts struct {
	mu    sync.Mutex
	known map[string]*expertInfo
	wake  chan struct{}
}

type expertInfo struct {
	name     string
	named    time.Time
	reported sdk.PresenceState // last state told to the hub; 0 before the first report
	isBot    bool
}

func newExperts() *experts {
	return &experts{known: map[string]*expertInfo{}, wake: make(chan struct{}, 1)}
}

// learnExpert adds an expert; a new one has their presence read at once.
func (b *bridge) learnExpert(id string) {
	if id == "" || id == b.self.userID || id == "USLACKBOT" {
		return
	}
	e := b.experts
	e.mu.Lock()
	_, ok := e.known[id]
	if !ok {
		e.known[id] = &expertInfo{}
	}
	e.mu.Unlock()
	if !ok {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// expertName is the name Slack shows for a user, read with users.info and kept for nameTTL;
// the id when Slack does not answer.
func (b *bridge) expertName(ctx context.Context, id string) string {
	e := b.experts
	e.mu.Lock()
	info := e.known[id]
	if info != nil && info.name != "" && time.Since(info.named) < nameTTL {
		name := info.name
		e.mu.Unlock()
		return name
	}
	e.mu.Unlock()
	u, err := b.api.GetUserInfoContext(ctx, id)
	if err != nil {
		b.logger().Warn("users.info failed; showing the user id", "user", id, "error", err)
		return id
	}
	name := firstNonEmpty(u.Profile.DisplayName, firstNonEmpty(u.RealName, firstNonEmpty(u.Profile.RealName, u.Name)))
	if name == "" {
		name = id
	}
	e.mu.Lock()
	if info = e.known[id]; info != nil {
		info.name, info.named, info.isBot = name, time.Now(), u.IsBot
	}
	e.mu.Unlock()
	return name
}

// resolve names users for message text; other ids stay as they are.
func (b *bridge) resolve(ctx context.Context) resolver {
	return func(kind, id string) string {
		if kind != "user" || !slackUserID.MatchString(id) {
			return ""
		}
		e := b.experts
		e.mu.Lock()
		info := e.known[id]
		e.mu.Unlock()
		if info == nil {
			u, err := b.api.GetUserInfoContext(ctx, id)
			if err != nil {
				return ""
			}
			return firstNonEmpty(u.Profile.DisplayName, u.RealName)
		}
		return b.expertName(ctx, id)
	}
}

// recoverExperts learns the experts from the app's DMs, so that after a restart their presence
// is reported and their Home tabs are kept up to date.
func (b *bridge) recoverExperts(ctx context.Context) {
	params := &slack.GetConversationsForUserParameters{Types: []string{"im"}, Limit: 200, ExcludeArchived: true}
	for page := 0; page < 50; page++ {
		channels, cursor, err := b.api.GetConversationsForUserContext(ctx, params)
		if err != nil {
			if ctx.Err() == nil {
				b.logger().Warn("users.conversations failed: experts are learnt as they write", "error", err)
			}
			return
		}
		for _, c := range channels {
			if c.User == "" || c.User == "USLACKBOT" || c.User == b.self.userID {
				continue
			}
			b.chats.knowDM(c.User, c.ID)
			b.learnExpert(c.User)
			b.showHome(c.User)
		}
		if cursor == "" {
			return
		}
		params.Cursor = cursor
	}
}

// pollPresence reads the presence of every known expert each interval (and of a new expert at
// once) and reports changes to the hub; the first reading of each expert is reported too.
func (b *bridge) pollPresence(ctx context.Context) {
	tick := time.NewTicker(b.cfg.presencePoll)
	defer tick.Stop()
	for {
		b.expertsPresence(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-b.experts.wake:
		}
	}
}

func (b *bridge) expertsPresence(ctx context.Context) {
	e := b.experts
	e.mu.Lock()
	ids := make([]string, 0, len(e.known))
	for id, info := range e.known {
		if !info.isBot {
			ids = append(ids, id)
		}
	}
	e.mu.Unlock()
	slices.Sort(ids)
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		p, err := b.api.GetUserPresenceContext(ctx, id)
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) {
			select {
			case <-ctx.Done():
			case <-time.After(rl.RetryAfter):
			}
			return
		}
		if err != nil {
			b.logger().Warn("users.getPresence failed", "user", id, "error", err)
			continue
		}
		state := sdk.Away
		if p.Presence == "active" {
			state = sdk.Online
		}
		e.mu.Lock()
		info := e.known[id]
		same := info != nil && info.reported == state
		e.mu.Unlock()
		if same {
			continue
		}
		if err := b.reportPresence(ctx, id, state); err != nil {
			if ctx.Err() == nil {
				b.logger().Warn("cannot report an expert's presence", "user", id, "error", err)
			}
			continue
		}
		e.mu.Lock()
		if info := e.known[id]; info != nil {
			info.reported = state
		}
		e.mu.Unlock()
	}
}

func (b *bridge) reportPresence(ctx context.Context, id string, state sdk.PresenceState) error {
	name := b.expertName(ctx, id)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	evID := "slack-presence:" + id + ":" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := b.host.Emit(ctx, sdk.NewPresence(evID, sdk.Expert(id, name), state, "")); err != nil {
		return fmt.Errorf("emit presence: %w", err)
	}
	return nil
}
