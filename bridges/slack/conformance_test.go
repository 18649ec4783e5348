package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/bridges/slack/slackfake"
	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	fake := slackfake.New(t)
	d := &slackExperts{fake: fake, chats: map[string]*expertChat{}}
	cfg, _ := json.Marshal(map[string]any{"bot_token": fake.BotToken, "app_token": fake.AppToken, "api_url": fake.APIURL(),
		"presence_poll_interval": "1s", "agent_icon_url": "https://avatars.example.com/{agent}.png"})
	sdktest.Run(t, sdktest.Options{
		Binary: sdktest.Build(t, "."),
		Kind:   sdk.KindBridge,
		Config: cfg,
		Driver: d,
	})
}

// slackExperts plays the Slack side: one expert per conversation, who opens the app's Home tab,
// presses Chat next to the agent and writes in the thread the app starts. Messages travel as
// Socket Mode events_api envelopes; the app's posts are what the fake recorded from
// chat.postMessage in that thread.
type slackExperts struct {
	fake *slackfake.Server

	mu    sync.Mutex
	chats map[string]*expertChat
}

type expertChat struct {
	mu     sync.Mutex
	user   string
	thread string
}

func (d *slackExperts) chat(conv string) *expertChat {
	d.mu.Lock()
	defer d.mu.Unlock()
	c := d.chats[conv]
	if c == nil {
		c = &expertChat{user: "U" + strings.ToUpper(conv[:10])}
		d.fake.AddUser(c.user, "Expert "+conv[:6])
		d.chats[conv] = c
	}
	return c
}

func (d *slackExperts) Inbound(ctx context.Context, _, conv, text string) error {
	c := d.chat(conv)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.thread == "" {
		thread, err := startChat(ctx, d.fake, c.user, sdktest.AgentFor(conv))
		if err != nil {
			return err
		}
		c.thread = thread
	}
	_, err := d.fake.Say(ctx, c.user, c.thread, text)
	return err
}

func (d *slackExperts) Delivered(_ context.Context, _, conv string) ([]string, error) {
	c := d.chat(conv)
	c.mu.Lock()
	thread := c.thread
	c.mu.Unlock()
	if thread == "" {
		return nil, nil
	}
	var texts []string
	for _, m := range d.fake.Thread(d.fake.DM(c.user), thread) {
		if m.BotID != "" && m.TS != thread {
			texts = append(texts, unescapeText(m.Text))
		}
	}
	return texts, nil
}

// startChat has the expert open the Home tab, wait for the agent's button, press it and find the
// thread the app starts for the chat.
func startChat(ctx context.Context, fake *slackfake.Server, user, agent string) (string, error) {
	if err := fake.OpenHome(ctx, user); err != nil {
		return "", fmt.Errorf("open the Home tab: %w", err)
	}
	if err := waitUntil(ctx, func() bool { _, ok := fake.Buttons(user)[agent]; return ok }); err != nil {
		return "", fmt.Errorf("the Home tab of %s never showed a Chat button for %s: %w", user, agent, err)
	}
	if err := fake.PressButton(ctx, user, agent); err != nil {
		return "", err
	}
	var thread string
	err := waitUntil(ctx, func() bool { thread = chatThread(fake, user, agent); return thread != "" })
	if err != nil {
		return "", fmt.Errorf("no thread for the chat of %s with %s: %w", user, agent, err)
	}
	return thread, nil
}

// chatThread is the ts of the app's post that starts the chat of user with agent, or "".
func chatThread(fake *slackfake.Server, user, agent string) string {
	for _, m := range fake.Messages(fake.DM(user)) {
		if m.BotID == slackfake.BotID && m.ThreadTS == "" && m.Metadata != nil && m.Metadata.EventType == chatMeta &&
			m.Metadata.EventPayload["agent"] == agent && m.Metadata.EventPayload["expert"] == user {
			return m.TS
		}
	}
	return ""
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
