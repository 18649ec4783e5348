package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboardhq/switchboard/sdk"
)

const version = "1.0.0"

// readyWait bounds how long Deliver waits for the bridge to know who it is on Slack before it
// lets the SDK retry.
const readyWait = 10 * time.Second

// bridge is the plugin: Slack's Web API and events on one side, the hub on the other.
type bridge struct {
	cfg       settings
	publicURL string
	api       *slack.Client
	files     *http.Client
	apiHost   string

	host   sdk.Host
	hosted chan struct{} // closed once Run has the host
	ready  chan struct{} // closed once Run knows the app's identity
	self   identity

	chats   *chats
	posted  *sdk.RecentIDs // hub event ids posted to Slack
	dir     *directory
	experts *experts
	events  *onceSet // Slack event ids handled
	lanes   *lanes

	mu       sync.Mutex
	problems map[string]error // by area ("auth", "socket"): what the hub's liveness probe reports
}

// identity is who the app is on Slack.
type identity struct {
	userID string // the bot user
	botID  string
	appID  string
	teamID string
}

func newBridge() *bridge {
	b := &bridge{
		ready:    make(chan struct{}),
		hosted:   make(chan struct{}),
		problems: map[string]error{},
		posted:   sdk.NewRecentIDs(8192),
		events:   newOnceSet(8192),
		lanes:    newLanes(),
		dir:      newDirectory(),
		experts:  newExperts(),
	}
	b.chats = newChats(b)
	return b
}

func (b *bridge) Describe() sdk.Description {
	return sdk.Description{
		Name:         "slack",
		Version:      version,
		Summary:      "Slack: experts chat with agents through a Slack app (Socket Mode or Events API)",
		Capabilities: []string{"rich_text", "attachments", "presence", "http"},
		ConfigSchema: configSchema,
	}
}

func (b *bridge) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.check(cfg.PublicURL); err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	b.cfg = s
	b.publicURL = cfg.PublicURL
	u, _ := url.Parse(s.APIURL)
	b.apiHost = u.Host
	b.files = &http.Client{Timeout: 2 * time.Minute}
	b.api = slack.New(s.BotToken,
		slack.OptionAPIURL(s.APIURL),
		slack.OptionAppLevelToken(s.AppToken),
		slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second}))
	if s.Mode != "events" {
		return &sdk.Configured{}, nil
	}
	return &sdk.Configured{Handler: b.routes()}, nil
}

func (b *bridge) Run(ctx context.Context, host sdk.Host) error {
	b.host = host
	close(b.hosted)
	if err := b.identify(ctx); err != nil {
		return nil // ctx ended
	}
	close(b.ready)
	if b.cfg.Mode == "events" {
		b.logger().Info("slack bridge ready in events mode", "request_url", b.publicURL+"events", "app", b.self.appID)
	} else {
		b.logger().Info("slack bridge ready in socket mode", "app", b.self.appID)
	}
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(b.recoverExperts)
	run(b.publishHomes)
	run(b.pollPresence)
	if b.cfg.Mode != "events" {
		run(b.runSocket)
	}
	<-ctx.Done()
	wg.Wait()
	return nil
}

// identify learns the app's bot user, bot and app ids, retrying until Slack answers.
func (b *bridge) identify(ctx context.Context) error {
	backoff := time.Second
	for {
		err := b.whoAmI(ctx)
		if err == nil {
			b.setProblem("auth", nil)
			return nil
		}
		b.setProblem("auth", fmt.Errorf("slack: identify the app: %w", err))
		b.logger().Warn("cannot reach Slack; retrying", "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Minute)
	}
}

func (b *bridge) whoAmI(ctx context.Context) error {
	auth, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("auth.test: %w", err)
	}
	if auth.BotID == "" {
		return errors.New("auth.test: the bot_token is not a bot token")
	}
	bot, err := b.api.GetBotInfoContext(ctx, slack.GetBotInfoParameters{Bot: auth.BotID})
	if err != nil {
		return fmt.Errorf("bots.info: %w", err)
	}
	b.self = identity{userID: auth.UserID, botID: auth.BotID, appID: bot.AppID, teamID: auth.TeamID}
	return nil
}

// awaitReady waits until Run knows the app's identity.
func (b *bridge) awaitReady(ctx context.Context) error {
	t := time.NewTimer(readyWait)
	defer t.Stop()
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errors.New("not connected to Slack yet")
	}
}

// Health implements sdk.HealthChecker.
func (b *bridge) Health(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for _, area := range []string{"auth", "socket"} {
		errs = append(errs, b.problems[area])
	}
	return errors.Join(errs...)
}

// setProblem records (or with nil clears) the problem of one area.
func (b *bridge) setProblem(area string, err error) {
	b.mu.Lock()
	b.problems[area] = err
	b.mu.Unlock()
}

// count reports a bad input to the hub's metrics, once Run has the host.
func (b *bridge) count(name, reason string) {
	select {
	case <-b.hosted:
		b.host.Count(name, reason)
	default:
	}
}

var discard = slog.New(slog.DiscardHandler)

// logger is the hub's log once Run has the host.
func (b *bridge) logger() *slog.Logger {
	select {
	case <-b.hosted:
		return b.host.Logger()
	default:
		return discard
	}
}
