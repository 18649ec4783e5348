package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/matrix-org/gomatrix"

	"github.com/switchboardhq/switchboard/sdk"
)

const version = "1.0.0"

// bridge is the plugin: the hub on one side, the homeserver (as an appservice) on the other.
type bridge struct {
	cfg  settings
	hs   *homeserver
	host sdk.Host
	log  *slog.Logger
	// ready is closed once Run has the host and the bridge found its room on the homeserver.
	ready  chan struct{}
	runCtx context.Context
	wg     sync.WaitGroup

	// txnMu serializes the homeserver's transactions: they are handled in the order it sent them.
	txnMu   sync.Mutex
	txnDone *sdk.RecentIDs
	// directMu serializes read-modify-write of the ghosts' m.direct account data.
	directMu sync.Mutex

	mu            sync.Mutex
	startErr      error
	agentsRoom    string
	agents        map[string]*agent  // by username
	rooms         map[string]pair    // DM room id → its agent and expert
	pairs         map[pair]string    // agent and expert → their newest DM room
	unsaved       map[string]bool    // DM rooms not yet written to the ghost's m.direct
	experts       map[string]*expert // by Matrix user id
	syncing       map[string]bool    // users with a running /sync loop
	typing        map[string]bool    // DM room id → the expert is typing there
	presenceDirty map[string]bool    // experts whose presence the hub has not heard yet
	presenceWake  chan struct{}
}

// pair is one expert chat: the agent's username and the expert's Matrix user id.
type pair struct{ agent, expert string }

func (p pair) key() string { return sdk.ExpertChatKey(p.agent, p.expert) }

// agent is what the bridge knows of an agent and has done for their ghost.
type agent struct {
	announced    bool // the hub told the bridge about this agent
	name         string
	online       bool
	registered   bool
	nameSet      string
	inAgentsRoom bool
	directLoaded bool
}

// expert is a Matrix user the bridge knows: a member of the agents room or a DM partner.
type expert struct {
	name      string
	presence  string // Matrix presence: online, unavailable, offline ("" before it was read)
	statusMsg string
}

func newBridge() *bridge {
	return &bridge{
		ready:         make(chan struct{}),
		txnDone:       sdk.NewRecentIDs(4096),
		agents:        map[string]*agent{},
		rooms:         map[string]pair{},
		pairs:         map[pair]string{},
		unsaved:       map[string]bool{},
		experts:       map[string]*expert{},
		syncing:       map[string]bool{},
		typing:        map[string]bool{},
		presenceDirty: map[string]bool{},
		presenceWake:  make(chan struct{}, 1),
	}
}

func (b *bridge) Describe() sdk.Description {
	return sdk.Description{
		Name:         "matrix",
		Version:      version,
		Summary:      "Matrix bridge: experts on a Matrix homeserver chat with agents through an application service",
		Capabilities: []string{"http", "typing", "rich_text", "attachments", "presence"},
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
	hs, err := newHomeserver(&s)
	if err != nil {
		return nil, err
	}
	b.cfg, b.hs = s, hs
	return &sdk.Configured{Handler: b.routes()}, nil
}

// Run finds or creates the agents room, rebuilds the room map from the homeserver, then keeps
// agents' presence asserted and follows experts' presence and typing until ctx ends.
func (b *bridge) Run(ctx context.Context, host sdk.Host) error {
	b.mu.Lock()
	b.host, b.log, b.runCtx = host, host.Logger(), ctx
	b.mu.Unlock()
	backoff := time.Second
	for {
		err := b.start(ctx)
		if err == nil {
			break
		}
		b.mu.Lock()
		b.startErr = err
		b.mu.Unlock()
		b.log.Warn("cannot reach the homeserver yet; retrying", "homeserver", b.cfg.HomeserverURL, "error", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	b.mu.Lock()
	b.startErr = nil
	b.mu.Unlock()
	close(b.ready)
	b.log.Info("matrix bridge ready", "homeserver", b.cfg.HomeserverURL, "agents_room", b.cfg.AgentsRoomAlias, "bot", b.cfg.botID())

	b.wg.Add(2)
	go b.emitPresence(ctx)
	go b.assertPresence(ctx)
	b.startSync(b.cfg.botID())
	<-ctx.Done()
	b.wg.Wait()
	return nil
}

// Health reports a homeserver the bridge could not set itself up on.
func (b *bridge) Health(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.startErr != nil {
		return fmt.Errorf("homeserver not usable: %w", b.startErr)
	}
	return nil
}

// start registers the bot, finds or creates the agents room and learns who is in it: the
// ghosts (whose m.direct account data holds the DM rooms) and the experts.
func (b *bridge) start(ctx context.Context) error {
	if err := b.hs.register(ctx, b.cfg.BotLocalpart); err != nil {
		return err
	}
	room, err := b.hs.resolveAlias(ctx, b.cfg.AgentsRoomAlias)
	if err != nil {
		return err
	}
	bot := b.hs.as(ctx, b.cfg.botID())
	if room == "" {
		room, err = b.createAgentsRoom(ctx)
		if err != nil {
			return err
		}
	} else if _, err := bot.JoinRoom(room, "", nil); err != nil {
		return fmt.Errorf("join the agents room %s: %w", b.cfg.AgentsRoomAlias, err)
	}
	b.mu.Lock()
	b.agentsRoom = room
	b.mu.Unlock()
	members, err := bot.JoinedMembers(room)
	if err != nil {
		return fmt.Errorf("list the agents room: %w", err)
	}
	for id, m := range members.Joined {
		name := ""
		if m.DisplayName != nil {
			name = *m.DisplayName
		}
		if username, ok := b.cfg.agentOf(id); ok {
			b.mu.Lock()
			a := b.agentLocked(username)
			a.registered, a.inAgentsRoom = true, true
			b.mu.Unlock()
			if err := b.loadDirect(ctx, username); err != nil {
				return err
			}
		} else if !b.cfg.ours(id) {
			b.learnExpert(id, name)
		}
	}
	return nil
}

func (b *bridge) createAgentsRoom(ctx context.Context) (string, error) {
	local, _, _ := cutAlias(b.cfg.AgentsRoomAlias)
	resp, err := b.hs.as(ctx, b.cfg.botID()).CreateRoom(&gomatrix.ReqCreateRoom{
		Visibility:    "public",
		Preset:        "public_chat",
		RoomAliasName: local,
		Name:          "Agents",
		Topic:         "Contact-center agents. Start a direct chat with one to reach them.",
	})
	if err != nil {
		return "", fmt.Errorf("create the agents room %s: %w", b.cfg.AgentsRoomAlias, err)
	}
	return resp.RoomID, nil
}

// waitReady blocks until Run finished its start-up or ctx ends.
func (b *bridge) waitReady(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// count reports bad input to the hub's metrics; it may be called before Run has the host.
func (b *bridge) count(name, reason string) {
	b.mu.Lock()
	h := b.host
	b.mu.Unlock()
	if h != nil {
		h.Count(name, reason)
	}
}

// logger is the hub's logger once Run has it.
func (b *bridge) logger() *slog.Logger {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.log != nil {
		return b.log
	}
	return slog.Default()
}

// Deliver hands an event from the hub to Matrix.
func (b *bridge) Deliver(ctx context.Context, ev *sdk.Event) error {
	if err := b.waitReady(ctx); err != nil {
		return err
	}
	if p := ev.GetPresence(); p != nil {
		return b.deliverPresence(ctx, p)
	}
	agentName, expertID, ok := sdk.ParseExpertChatKey(ev.GetConversation())
	if !ok {
		return sdk.Reject("conversation %q is not an expert chat", ev.GetConversation())
	}
	if !validUserID(expertID) || b.cfg.ours(expertID) {
		return sdk.Reject("%q is not a Matrix user an agent can chat with", expertID)
	}
	p := pair{agent: agentName, expert: expertID}
	switch {
	case ev.GetConversationStarted() != nil:
		_, err := b.ensureRoom(ctx, p, agentDisplayName(ev.GetConversationStarted().GetInitiator()))
		return err
	case ev.GetMessage() != nil:
		return b.deliverMessage(ctx, p, ev)
	case ev.GetTyping() != nil:
		b.deliverTyping(ctx, p, ev.GetTyping().GetActive())
		return nil
	case ev.GetConversationEnded() != nil:
		return b.deliverEnded(ctx, p, ev)
	}
	return nil
}

func agentDisplayName(p *sdk.Participant) string {
	if p.GetKind() == sdk.AsAgent {
		return p.GetDisplayName()
	}
	return ""
}
