package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/matrix-org/gomatrix"

	"github.com/switchboardhq/switchboard/sdk"
)

// Which DM room belongs to which agent and expert is kept where Matrix clients keep it: in the
// ghost's m.direct account data ({expert: [room, …]}, newest last). The in-memory maps are a
// cache of it, rebuilt after a restart from the ghosts found in the agents room and from every
// agent the hub announces.

// loadDirect reads a ghost's m.direct into the room maps.
func (b *bridge) loadDirect(ctx context.Context, username string) error {
	ghost := b.cfg.ghostID(username)
	direct, err := b.hs.directRooms(ctx, ghost)
	if err != nil {
		return err
	}
	var experts []string
	b.mu.Lock()
	for expertID, rooms := range direct {
		if !validUserID(expertID) || b.cfg.ours(expertID) || len(rooms) == 0 {
			continue
		}
		p := pair{agent: username, expert: expertID}
		for _, room := range rooms {
			b.rooms[room] = p
		}
		if _, known := b.pairs[p]; !known {
			b.pairs[p] = rooms[len(rooms)-1]
		}
		experts = append(experts, expertID)
	}
	b.agentLocked(username).directLoaded = true
	b.mu.Unlock()
	for _, id := range experts {
		b.learnExpert(id, "")
	}
	if len(experts) > 0 {
		b.startSync(ghost)
	}
	return nil
}

// pairOf returns the chat a DM room belongs to.
func (b *bridge) pairOf(room string) (pair, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.rooms[room]
	return p, ok
}

// roomOf returns the newest DM room of a chat ("" when there is none).
func (b *bridge) roomOf(p pair) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pairs[p]
}

// addRoom records a DM room for a chat. The room is usable at once; until its m.direct entry is
// written it stays marked unsaved, and the chat's next event writes it again.
func (b *bridge) addRoom(ctx context.Context, p pair, room string) error {
	b.mu.Lock()
	b.rooms[room] = p
	b.pairs[p] = room
	b.unsaved[room] = true
	b.mu.Unlock()
	ghost := b.cfg.ghostID(p.agent)
	b.startSync(ghost)
	b.learnExpert(p.expert, "")

	b.directMu.Lock()
	defer b.directMu.Unlock()
	direct, err := b.hs.directRooms(ctx, ghost)
	if err != nil {
		return err
	}
	rooms := slices.DeleteFunc(direct[p.expert], func(r string) bool { return r == room })
	direct[p.expert] = append(rooms, room)
	if err := b.hs.setDirectRooms(ctx, ghost, direct); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.unsaved, room)
	b.mu.Unlock()
	return nil
}

// dropRoom forgets a DM room the expert or the ghost left; the chat's next event opens another.
func (b *bridge) dropRoom(ctx context.Context, p pair, room string) error {
	b.directMu.Lock()
	defer b.directMu.Unlock()
	ghost := b.cfg.ghostID(p.agent)
	direct, err := b.hs.directRooms(ctx, ghost)
	if err != nil {
		return err
	}
	rooms := slices.DeleteFunc(direct[p.expert], func(r string) bool { return r == room })
	if len(rooms) == 0 {
		delete(direct, p.expert)
	} else {
		direct[p.expert] = rooms
	}
	if err := b.hs.setDirectRooms(ctx, ghost, direct); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.rooms, room)
	delete(b.typing, room)
	delete(b.unsaved, room)
	if b.pairs[p] == room {
		delete(b.pairs, p)
		if len(rooms) > 0 {
			b.pairs[p] = rooms[len(rooms)-1]
		}
	}
	b.mu.Unlock()
	return nil
}

// ensureRoom returns the chat's DM room, opening one (the ghost creates it and invites the
// expert) when there is none.
func (b *bridge) ensureRoom(ctx context.Context, p pair, agentName string) (string, error) {
	if err := b.ensureGhost(ctx, p.agent, agentName); err != nil {
		return "", err
	}
	if room := b.roomOf(p); room != "" {
		b.mu.Lock()
		unsaved := b.unsaved[room]
		b.mu.Unlock()
		if unsaved {
			return room, b.addRoom(ctx, p, room)
		}
		return room, nil
	}
	ghost := b.cfg.ghostID(p.agent)
	resp, err := b.hs.as(ctx, ghost).CreateRoom(&gomatrix.ReqCreateRoom{
		Preset:   "trusted_private_chat",
		IsDirect: true,
		Invite:   []string{p.expert},
	})
	if refused(err) {
		return "", sdk.Reject("Matrix refused a direct chat with %s: %v", p.expert, err)
	}
	if err != nil {
		return "", fmt.Errorf("open a direct chat between %s and %s: %w", ghost, p.expert, err)
	}
	if err := b.addRoom(ctx, p, resp.RoomID); err != nil {
		return "", err
	}
	return resp.RoomID, nil
}
