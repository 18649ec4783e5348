package main

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// agentLocked returns the agent's record, creating it; b.mu must be held.
func (b *bridge) agentLocked(username string) *agent {
	a := b.agents[username]
	if a == nil {
		a = &agent{}
		b.agents[username] = a
	}
	return a
}

// ensureGhost makes the agent's ghost exist on the homeserver with the agent's display name, in
// the agents room, and loads the ghost's DM rooms. Each step runs once per process unless the
// name changes; every step is idempotent on the homeserver, so a restart simply repeats them.
func (b *bridge) ensureGhost(ctx context.Context, username, displayName string) error {
	ghost := b.cfg.ghostID(username)
	b.mu.Lock()
	a := *b.agentLocked(username)
	room := b.agentsRoom
	b.mu.Unlock()
	if !a.registered {
		if err := b.hs.register(ctx, b.cfg.GhostPrefix+encodeLocalpart(username)); err != nil {
			return err
		}
		b.updateAgent(username, func(a *agent) { a.registered = true })
	}
	if displayName != "" && a.nameSet != displayName {
		if err := b.hs.as(ctx, ghost).SetDisplayName(displayName); err != nil {
			return fmt.Errorf("set the display name of %s: %w", ghost, err)
		}
		b.updateAgent(username, func(a *agent) { a.nameSet = displayName })
	}
	if !a.inAgentsRoom && room != "" {
		if _, err := b.hs.as(ctx, ghost).JoinRoom(room, "", nil); err != nil {
			return fmt.Errorf("%s joins the agents room: %w", ghost, err)
		}
		b.updateAgent(username, func(a *agent) { a.inAgentsRoom = true })
	}
	if !a.directLoaded {
		return b.loadDirect(ctx, username)
	}
	return nil
}

func (b *bridge) updateAgent(username string, fn func(*agent)) {
	b.mu.Lock()
	fn(b.agentLocked(username))
	b.mu.Unlock()
}

// deliverPresence mirrors an agent's presence on their ghost. Experts' presence only ever comes
// from the bridge to the hub; the hub sends agents'.
func (b *bridge) deliverPresence(ctx context.Context, p *sdk.Presence) error {
	subject := p.GetSubject()
	if subject.GetKind() != sdk.AsAgent || subject.GetId() == "" {
		return nil
	}
	username, name := subject.GetId(), subject.GetDisplayName()
	if name == "" {
		name = username
	}
	b.updateAgent(username, func(a *agent) { a.announced, a.name = true, name })
	if err := b.ensureGhost(ctx, username, name); err != nil {
		return err
	}
	online := p.GetState() == sdk.Online
	b.updateAgent(username, func(a *agent) { a.online = online })
	return b.setGhostPresence(ctx, username, online)
}

func (b *bridge) setGhostPresence(ctx context.Context, username string, online bool) error {
	state := "offline"
	if online {
		state = "online"
	}
	ghost := b.cfg.ghostID(username)
	if err := b.hs.as(ctx, ghost).SetStatus(state, ""); err != nil {
		return fmt.Errorf("set presence of %s: %w", ghost, err)
	}
	return nil
}

// assertPresence sets every ghost's presence again at presence_interval: homeservers let
// presence lapse to "unavailable" when nothing renews it.
func (b *bridge) assertPresence(ctx context.Context) {
	defer b.wg.Done()
	tick := time.NewTicker(b.cfg.presenceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		b.mu.Lock()
		states := map[string]bool{}
		for username, a := range b.agents {
			if a.announced && a.registered {
				states[username] = a.online
			}
		}
		b.mu.Unlock()
		for username, online := range states {
			if err := b.setGhostPresence(ctx, username, online); err != nil && ctx.Err() == nil {
				b.log.Warn("could not renew an agent's presence", "agent", username, "error", err)
			}
		}
	}
}

// agentOnline reports the agent's presence as the hub last said it.
func (b *bridge) agentOnline(username string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.agents[username]
	return a != nil && a.online
}
