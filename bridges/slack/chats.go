package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/slack-go/slack"
)

// Each agent–expert chat is a thread in the app's direct messages with the expert. The thread's
// first post carries metadata of type chatMeta with the pair, and every post of the app carries
// the hub event id, so after a restart the bridge finds its threads again in the DM's history
// and never posts an event twice.
const (
	chatMeta    = "switchboard_chat"
	messageMeta = "switchboard_message"
)

// historyPages bounds how far back a DM's history is read to find the chats in it.
const historyPages = 10

type pair struct{ agent, expert string }

type thread struct{ channel, ts string }

// chats maps pairs to threads and back. What is not in memory is looked up on Slack once per
// process: a DM's history for its chats, a thread's replies for the event ids posted there.
type chats struct {
	b *bridge

	mu       sync.Mutex
	byPair   map[pair]thread
	byThread map[thread]pair
	dms      map[string]string // expert → DM channel
	scanned  map[string]bool   // DM channels whose history was read
	read     map[thread]bool   // threads whose replies were read
	locks    map[string]*sync.Mutex
}

func newChats(b *bridge) *chats {
	return &chats{b: b, byPair: map[pair]thread{}, byThread: map[thread]pair{}, dms: map[string]string{},
		scanned: map[string]bool{}, read: map[thread]bool{}, locks: map[string]*sync.Mutex{}}
}

// lock serializes work on one DM channel: finding, starting and posting into its threads.
func (c *chats) lock(channel string) func() {
	c.mu.Lock()
	l := c.locks[channel]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[channel] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// knowDM records the DM channel of an expert, as Slack named it in an event.
func (c *chats) knowDM(expert, channel string) {
	if expert == "" || channel == "" {
		return
	}
	c.mu.Lock()
	c.dms[expert] = channel
	c.mu.Unlock()
}

// dm returns the app's DM channel with the expert, opening it when needed.
func (c *chats) dm(ctx context.Context, expert string) (string, error) {
	c.mu.Lock()
	ch := c.dms[expert]
	c.mu.Unlock()
	if ch != "" {
		return ch, nil
	}
	channel, _, _, err := c.b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{expert}})
	if err != nil {
		return "", fmt.Errorf("conversations.open with %s: %w", expert, err)
	}
	c.knowDM(expert, channel.ID)
	return channel.ID, nil
}

func (c *chats) record(p pair, t thread) {
	c.mu.Lock()
	c.byPair[p] = t
	c.byThread[t] = p
	c.mu.Unlock()
}

// find returns the pair's thread in channel; the caller holds the channel's lock.
func (c *chats) find(ctx context.Context, channel string, p pair) (thread, bool, error) {
	if err := c.scan(ctx, channel); err != nil {
		return thread{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.byPair[p]
	return t, ok, nil
}

// pairOf returns the chat a thread of channel belongs to.
func (c *chats) pairOf(ctx context.Context, channel, ts string) (pair, bool, error) {
	c.mu.Lock()
	p, ok := c.byThread[thread{channel, ts}]
	c.mu.Unlock()
	if ok {
		return p, true, nil
	}
	unlock := c.lock(channel)
	defer unlock()
	if err := c.scan(ctx, channel); err != nil {
		return pair{}, false, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok = c.byThread[thread{channel, ts}]
	return p, ok, nil
}

// ofExpert lists the expert's chats in their DM channel.
func (c *chats) ofExpert(ctx context.Context, channel, expert string) ([]pair, error) {
	unlock := c.lock(channel)
	defer unlock()
	if err := c.scan(ctx, channel); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []pair
	for p, t := range c.byPair {
		if p.expert == expert && t.channel == channel {
			out = append(out, p)
		}
	}
	return out, nil
}

// scan reads the DM's history once per process for the threads the app started there; the
// caller holds the channel's lock.
func (c *chats) scan(ctx context.Context, channel string) error {
	c.mu.Lock()
	done := c.scanned[channel]
	c.mu.Unlock()
	if done {
		return nil
	}
	params := &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: 200, IncludeAllMetadata: true}
	for page := 0; page < historyPages; page++ {
		res, err := c.b.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return fmt.Errorf("conversations.history of %s: %w", channel, err)
		}
		for _, m := range res.Messages {
			c.learn(channel, m.Msg, "")
		}
		if !res.HasMore || res.ResponseMetaData.NextCursor == "" {
			break
		}
		params.Cursor = res.ResponseMetaData.NextCursor
	}
	c.mu.Lock()
	c.scanned[channel] = true
	c.mu.Unlock()
	return nil
}

// readThread reads a thread's replies once per process for the event ids the app posted there;
// the caller holds the channel's lock.
func (c *chats) readThread(ctx context.Context, t thread) error {
	c.mu.Lock()
	done := c.read[t]
	c.mu.Unlock()
	if done {
		return nil
	}
	params := &slack.GetConversationRepliesParameters{ChannelID: t.channel, Timestamp: t.ts, Limit: 200, IncludeAllMetadata: true}
	for {
		msgs, more, cursor, err := c.b.api.GetConversationRepliesContext(ctx, params)
		if err != nil {
			return fmt.Errorf("conversations.replies of %s %s: %w", t.channel, t.ts, err)
		}
		for _, m := range msgs {
			c.learn(t.channel, m.Msg, t.ts)
		}
		if !more || cursor == "" {
			break
		}
		params.Cursor = cursor
	}
	c.mu.Lock()
	c.read[t] = true
	c.mu.Unlock()
	return nil
}

// learn takes what one of the app's own posts says about its chat and event.
func (c *chats) learn(channel string, m slack.Msg, parent string) {
	if m.BotID == "" || m.BotID != c.b.self.botID {
		return
	}
	meta := m.Metadata
	if meta.EventType != chatMeta && meta.EventType != messageMeta {
		return
	}
	p := pair{agent: payloadString(meta, "agent"), expert: payloadString(meta, "expert")}
	if id := payloadString(meta, "event"); id != "" {
		c.b.posted.Add(id)
	}
	if meta.EventType == chatMeta && parent == "" && p.agent != "" && p.expert != "" && (m.ThreadTimestamp == "" || m.ThreadTimestamp == m.Timestamp) {
		c.mu.Lock()
		if _, known := c.byPair[p]; !known {
			c.byPair[p] = thread{channel, m.Timestamp}
		}
		c.byThread[thread{channel, m.Timestamp}] = p
		c.dms[p.expert] = channel
		c.mu.Unlock()
	}
}

func payloadString(meta slack.SlackMetadata, key string) string {
	s, _ := meta.EventPayload[key].(string)
	return s
}
