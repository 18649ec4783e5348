package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
	mmpeer "github.com/switchboardhq/switchboard/tools/testpeer/mattermost"
)

const testPrefix = "sb-"

func TestConformance(t *testing.T) {
	server := mmpeer.Start(t)
	cfg, _ := json.Marshal(map[string]any{
		"server_url":           server.URL,
		"admin_token":          server.AdminToken,
		"team":                 mmpeer.TeamName,
		"username_prefix":      testPrefix,
		"presence_interval":    "5s",
		"expert_poll_interval": "1s",
	})
	sdktest.Run(t, sdktest.Options{
		Binary:  sdktest.Build(t, "."),
		Kind:    sdk.KindBridge,
		Config:  cfg,
		Driver:  &experts{server: server, chats: map[string]*expertChat{}},
		Timeout: 30 * time.Second,
	})
}

// experts plays Mattermost users: one real expert per conversation, writing to the agent's user
// the bridge made for sdktest.AgentFor(conversation).
type experts struct {
	server *mmpeer.Server

	mu    sync.Mutex
	chats map[string]*expertChat
}

type expertChat struct {
	expert  *mmpeer.User
	agentID string
	channel string
}

// chat returns the conversation's expert and direct channel, waiting for the bridge to create
// the agent's user (it does on the agent's presence).
func (d *experts) chat(ctx context.Context, conversation string) (*expertChat, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.chats[conversation]; c != nil {
		return c, nil
	}
	agentName := mattermostUsername(testPrefix, sdktest.AgentFor(conversation))
	var agent *model.User
	err := pollUntil(ctx, func() (bool, error) {
		u, _, err := d.server.Admin.GetUserByUsername(ctx, agentName, "")
		agent = u
		return err == nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("the bridge made no Mattermost user %s for agent %s: %w", agentName, sdktest.AgentFor(conversation), err)
	}
	expert, err := d.server.NewUser(ctx, "expert"+conversation[:12], "Expert", conversation[:6])
	if err != nil {
		return nil, err
	}
	ch, _, err := expert.Client.CreateDirectChannel(ctx, expert.Id, agent.Id)
	if err != nil {
		return nil, fmt.Errorf("open a direct channel with %s: %w", agentName, err)
	}
	c := &expertChat{expert: expert, agentID: agent.Id, channel: ch.Id}
	d.chats[conversation] = c
	return c, nil
}

// Inbound posts as the expert and returns once the bridge moved the channel's resume point past
// the post, which it does only after the hub stored the message.
func (d *experts) Inbound(ctx context.Context, _, conversation, text string) error {
	c, err := d.chat(ctx, conversation)
	if err != nil {
		return err
	}
	post, _, err := c.expert.Client.CreatePost(ctx, &model.Post{ChannelId: c.channel, Message: text})
	if err != nil {
		return fmt.Errorf("post as the expert: %w", err)
	}
	return pollUntil(ctx, func() (bool, error) {
		p, _, err := d.server.Admin.GetPreferenceByCategoryAndName(ctx, c.agentID, resumeCategory, c.channel)
		if err != nil {
			return false, err
		}
		at, _ := strconv.ParseInt(p.Value, 10, 64)
		return at >= post.CreateAt, nil
	})
}

// Delivered reads the agent's posts in the direct channel, as the expert sees them, in order.
func (d *experts) Delivered(ctx context.Context, _, conversation string) ([]string, error) {
	c, err := d.chat(ctx, conversation)
	if err != nil {
		return nil, err
	}
	list, _, err := c.expert.Client.GetPostsForChannel(ctx, c.channel, 0, 200, "", false, false)
	if err != nil {
		return nil, err
	}
	var texts []string
	for _, id := range slices.Backward(list.Order) {
		if p := list.Posts[id]; p != nil && p.UserId == c.agentID {
			html, err := richtext.MarkdownToHTML(p.Message)
			if err != nil {
				return nil, err
			}
			texts = append(texts, richtext.ToText(html))
		}
	}
	return texts, nil
}

func pollUntil(ctx context.Context, fn func() (bool, error)) error {
	var last error
	for {
		ok, err := fn()
		if ok {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
