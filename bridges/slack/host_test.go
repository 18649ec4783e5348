package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/bridges/slack/slackfake"
	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

// testHost is the hub as the bridge sees it, with the counts this bridge makes ("name/reason").
type testHost struct{ *sdktest.Host }

func newTestHost() *testHost { return &testHost{sdktest.NewHost()} }

func (h *testHost) count(key string) int {
	name, reason, _ := strings.Cut(key, "/")
	return h.Counted(name, reason)
}

// startBridge runs a bridge in the test's process against the fake workspace until the test
// ends or stop is called.
func startBridge(t *testing.T, fake *slackfake.Server, host *testHost, mode string) (b *bridge, stop func()) {
	t.Helper()
	cfg := map[string]any{"bot_token": fake.BotToken, "api_url": fake.APIURL(), "presence_poll_interval": "1s",
		"agent_icon_url": "https://avatars.example.com/{agent}.png", "max_attachment_bytes": 1024}
	if mode == "events" {
		cfg["mode"], cfg["signing_secret"] = "events", fake.SigningSecret
	} else {
		cfg["app_token"] = fake.AppToken
	}
	raw, _ := json.Marshal(cfg)
	b = newBridge()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := b.Configure(ctx, sdk.Config{Instance: "slack", Tenant: "acme", JSON: raw, PublicURL: "http://hub.example/c/slack/"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { b.Run(ctx, host); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	select {
	case <-b.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge never identified itself on Slack")
	}
	if mode != "events" {
		if !poll(func() bool { return fake.Connections() > 0 }) {
			t.Fatal("the bridge never connected over Socket Mode")
		}
	}
	return b, stop
}

func poll(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func agentOnline(b *bridge, username, name string, online bool) {
	state := sdk.Offline
	if online {
		state = sdk.Online
	}
	b.Deliver(context.Background(), sdk.NewPresence("p-"+username+strconv.FormatBool(online), sdk.Agent(username, name), state, ""))
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
