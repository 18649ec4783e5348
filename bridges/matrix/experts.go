package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// The hub keeps a directory of the experts each bridge knows, with their presence. The bridge
// knows the members of the agents room and every DM partner; it reads an expert's presence when
// it first meets them and follows changes through /sync.

// learnExpert adds an expert to those the hub hears about; a new one's name and presence are
// read in the background.
func (b *bridge) learnExpert(id, name string) {
	if b.cfg.ours(id) || !validUserID(id) {
		return
	}
	b.mu.Lock()
	e := b.experts[id]
	if e != nil {
		if name != "" && e.name != name {
			e.name = name
			b.markPresenceLocked(id)
		}
		b.mu.Unlock()
		return
	}
	b.experts[id] = &expert{name: name}
	ctx := b.runCtx
	b.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		if name == "" {
			name = b.hs.displayName(ctx, id)
		}
		presence, status, err := b.hs.presence(ctx, id)
		if err != nil {
			presence = "offline"
		}
		b.mu.Lock()
		if e := b.experts[id]; e != nil {
			if e.name == "" {
				e.name = name
			}
			if e.presence == "" {
				e.presence, e.statusMsg = presence, status
			}
			b.markPresenceLocked(id)
		}
		b.mu.Unlock()
	}()
}

// expertPresence records what /sync said about a user's presence.
func (b *bridge) expertPresence(id, presence, status, name string) {
	if b.cfg.ours(id) || !validUserID(id) {
		return
	}
	b.mu.Lock()
	e := b.experts[id]
	if e == nil {
		e = &expert{}
		b.experts[id] = e
	}
	if name != "" {
		e.name = name
	}
	if e.presence != presence || e.statusMsg != status {
		e.presence, e.statusMsg = presence, status
		b.markPresenceLocked(id)
	}
	b.mu.Unlock()
}

func (b *bridge) markPresenceLocked(id string) {
	if b.experts[id].presence == "" {
		return // not read yet: learnExpert marks it once it has
	}
	b.presenceDirty[id] = true
	select {
	case b.presenceWake <- struct{}{}:
	default:
	}
}

// expertName returns the name to show for an expert, reading it from the homeserver once.
func (b *bridge) expertName(ctx context.Context, id string) string {
	b.mu.Lock()
	e := b.experts[id]
	name := ""
	if e != nil {
		name = e.name
	}
	b.mu.Unlock()
	if name != "" {
		return name
	}
	if name = b.hs.displayName(ctx, id); name == "" {
		return id
	}
	b.mu.Lock()
	if e := b.experts[id]; e != nil && e.name == "" {
		e.name = name
	}
	b.mu.Unlock()
	return name
}

// emitPresence sends the hub the current presence of every expert marked dirty. Only the newest
// state of an expert is sent, so a burst of changes never piles up.
func (b *bridge) emitPresence(ctx context.Context) {
	defer b.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.presenceWake:
		}
		for {
			b.mu.Lock()
			var id string
			for id = range b.presenceDirty {
				break
			}
			if id == "" {
				b.mu.Unlock()
				break
			}
			delete(b.presenceDirty, id)
			e := *b.experts[id]
			b.mu.Unlock()
			name := e.name
			if name == "" {
				name = id
			}
			ev := sdk.NewPresence("matrix-presence-"+randomID(), sdk.Expert(id, name), presenceState(e.presence), e.statusMsg)
			ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
			err := b.host.Emit(ectx, ev)
			cancel()
			if err != nil && ctx.Err() == nil {
				if _, rejected := sdk.IsRejected(err); !rejected {
					b.log.Warn("could not tell the hub an expert's presence; retrying", "expert", id, "error", err)
					b.mu.Lock()
					b.markPresenceLocked(id)
					b.mu.Unlock()
					select {
					case <-time.After(time.Second):
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}
}

func presenceState(matrix string) pb.PresenceState {
	switch matrix {
	case "online":
		return sdk.Online
	case "unavailable":
		return sdk.Away
	}
	return sdk.Offline
}

func randomID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
