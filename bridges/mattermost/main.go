// Command mattermost is the Switchboard bridge to Mattermost: every agent gets a real Mattermost
// user the bridge speaks for, experts write to that user in a direct message, and agents answer
// from the console. It talks to Mattermost only through its REST API and WebSocket, with a
// system admin's personal access token, and never stores anything of its own: the resume points
// of the agents' direct messages live in the agents' Mattermost preferences.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
)

const version = "1.0.0"

// Counter names and reasons reported with host.Count.
const (
	countAttachments = "attachments"
	countMessages    = "messages"
	countEvents      = "platform_events"

	reasonOversized = "oversized"
	reasonDownload  = "download_failed"
	reasonRejected  = "rejected_by_hub"
	reasonMalformed = "malformed"
)

// bridge is the plugin: the hub on one side, one Mattermost server on the other.
type bridge struct {
	cfg      settings
	instance string
	admin    *model.Client4

	host sdk.Host
	log  *slog.Logger
	// ready is closed once Run has the host and found the team; outbound work waits for it.
	ready chan struct{}

	mu       sync.Mutex
	setupErr error
	adminID  string
	team     *model.Team
	agents   map[string]*agent // by hub username
	agentIDs map[string]*agent // by Mattermost user id
	channels map[string]string // conversation key → direct channel id
	typing   map[string]*typingLoop
	posted   *postIndex
	imported *sdk.RecentIDs
	experts  *directory
}

func newBridge() *bridge {
	return &bridge{
		ready:    make(chan struct{}),
		agents:   map[string]*agent{},
		agentIDs: map[string]*agent{},
		channels: map[string]string{},
		typing:   map[string]*typingLoop{},
		posted:   newPostIndex(20000),
		imported: sdk.NewRecentIDs(20000),
		log:      slog.New(slog.DiscardHandler),
	}
}

func (b *bridge) Describe() sdk.Description {
	return sdk.Description{
		Name:         "mattermost",
		Version:      version,
		Summary:      "Mattermost bridge: experts answer agents in direct messages with the agents' own Mattermost users",
		Capabilities: []string{"typing", "rich_text", "attachments", "presence"},
		ConfigSchema: configSchema,
	}
}

func (b *bridge) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	b.cfg = s
	b.instance = cfg.Instance
	b.admin = model.NewAPIv4Client(s.serverURL)
	b.admin.SetToken(s.AdminToken)
	b.admin.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	b.experts = newDirectory(s.Experts, s.expertPoll)
	return nil, nil
}

// Run connects to Mattermost (retrying while it is unreachable), then keeps the agents'
// presence asserted and the experts' presence polled until ctx ends.
func (b *bridge) Run(ctx context.Context, host sdk.Host) error {
	b.host = host
	b.log = host.Logger()
	backoff := time.Second
	for {
		err := b.connect(ctx)
		if err == nil {
			break
		}
		b.mu.Lock()
		b.setupErr = err
		b.mu.Unlock()
		b.log.Error("cannot use the Mattermost server; retrying", "server", b.cfg.serverURL, "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	close(b.ready)
	b.log.Info("connected to Mattermost", "server", b.cfg.serverURL, "team", b.cfg.Team)
	go b.pollExperts(ctx)
	b.assertPresence(ctx)
	b.closeAll()
	return nil
}

// connect checks the admin token and finds the team.
func (b *bridge) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	me, _, err := b.admin.GetMe(ctx, "")
	if err != nil {
		return fmt.Errorf("admin_token: sign in: %w", err)
	}
	if !me.IsSystemAdmin() {
		return fmt.Errorf("admin_token: user %s is not a system admin", me.Username)
	}
	team, _, err := b.admin.GetTeamByName(ctx, b.cfg.Team, "")
	if err != nil {
		return fmt.Errorf("team %q: %w", b.cfg.Team, err)
	}
	b.mu.Lock()
	b.adminID, b.team, b.setupErr = me.Id, team, nil
	b.mu.Unlock()
	return nil
}

// Health reports a Mattermost server the bridge cannot use.
func (b *bridge) Health(ctx context.Context) error {
	select {
	case <-b.ready:
	default:
		b.mu.Lock()
		err := b.setupErr
		b.mu.Unlock()
		if err != nil {
			return fmt.Errorf("mattermost: %w", err)
		}
		return nil
	}
	if _, _, err := b.admin.GetPing(ctx); err != nil {
		return fmt.Errorf("mattermost: %s does not answer: %w", b.cfg.serverURL, err)
	}
	return nil
}

// await blocks outbound work until Run connected.
func (b *bridge) await(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Deliver hands one hub event to Mattermost.
func (b *bridge) Deliver(ctx context.Context, ev *sdk.Event) error {
	if err := b.await(ctx); err != nil {
		return err
	}
	switch {
	case ev.GetPresence() != nil:
		return b.deliverPresence(ctx, ev.GetPresence())
	case ev.GetMessage() != nil:
		return b.deliverMessage(ctx, ev)
	case ev.GetTyping() != nil:
		b.deliverTyping(ctx, ev)
		return nil
	case ev.GetConversationStarted() != nil:
		return b.deliverStarted(ctx, ev)
	case ev.GetConversationEnded() != nil:
		return b.deliverEnded(ctx, ev)
	}
	return nil // assignments, transfers, queue status and receipts mean nothing on Mattermost
}

// closeAll ends every agent's WebSocket when the bridge stops.
func (b *bridge) closeAll() {
	b.mu.Lock()
	agents := make([]*agent, 0, len(b.agents))
	for _, a := range b.agents {
		agents = append(agents, a)
	}
	for _, t := range b.typing {
		t.stop()
	}
	b.mu.Unlock()
	for _, a := range agents {
		a.closeSocket()
	}
}

// isPermanent says a Mattermost call failed because what it names does not exist or may not be
// used: retrying will not help.
func isPermanent(resp *model.Response, err error) bool {
	if err == nil || resp == nil {
		return false
	}
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusNotImplemented:
		return true
	}
	return false
}

func statusOf(resp *model.Response) int {
	if resp == nil {
		return 0
	}
	return resp.StatusCode
}

func main() {
	sdk.ServeBridge(newBridge())
}
