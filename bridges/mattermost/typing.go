package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
)

// Mattermost shows typing for a few seconds per event and has no "stopped typing" event: the
// bridge repeats an agent's typing while it lasts, and ends an expert's when no event came for
// a while.
const (
	typingRepeat     = 4 * time.Second
	typingMaxRepeat  = 2 * time.Minute
	expertTypingIdle = 6 * time.Second
)

// typingLoop repeats an agent's typing in one chat until stopped; an expert's typing uses the
// same entry to time out.
type typingLoop struct {
	cancel context.CancelFunc
	timer  *time.Timer
}

func (t *typingLoop) stop() {
	if t.cancel != nil {
		t.cancel()
	}
	if t.timer != nil {
		t.timer.Stop()
	}
}

// deliverTyping shows an agent's typing to the expert. Typing is not stored or resent: a
// failure is only logged.
func (b *bridge) deliverTyping(ctx context.Context, ev *sdk.Event) {
	t := ev.GetTyping()
	if t.GetFrom().GetKind() != sdk.AsAgent {
		return
	}
	key := ev.GetConversation()
	if !t.GetActive() {
		b.stopTyping(key)
		return
	}
	a, ch, err := b.chat(ctx, key, t.GetFrom())
	if err != nil {
		b.log.Debug("agent typing not shown", "conversation", key, "error", err)
		return
	}
	loopCtx, cancel := context.WithTimeout(context.Background(), typingMaxRepeat)
	b.mu.Lock()
	if old := b.typing["agent:"+key]; old != nil {
		old.stop()
	}
	b.typing["agent:"+key] = &typingLoop{cancel: cancel}
	b.mu.Unlock()
	go func() {
		defer cancel()
		tick := time.NewTicker(typingRepeat)
		defer tick.Stop()
		for {
			client, user := a.api()
			callCtx, done := context.WithTimeout(loopCtx, typingRepeat)
			if _, err := client.PublishUserTyping(callCtx, user.Id, model.TypingRequest{ChannelId: ch}); err != nil && loopCtx.Err() == nil {
				b.log.Debug("publish an agent's typing", "agent", a.hub, "error", err)
			}
			done()
			select {
			case <-loopCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// stopTyping ends the agent's typing in a chat, when they sent or stopped.
func (b *bridge) stopTyping(key string) {
	b.mu.Lock()
	t := b.typing["agent:"+key]
	delete(b.typing, "agent:"+key)
	b.mu.Unlock()
	if t != nil {
		t.stop()
	}
}

// expertTyping passes an expert's typing in the agent's direct channel to the hub, and its end
// once Mattermost sent no typing for a while.
func (b *bridge) expertTyping(a *agent, agentUser *model.User, expertID, channelID string) {
	key := sdk.ExpertChatKey(a.hub, expertID)
	if b.channel(key) != channelID {
		// Typing events come from every channel the agent's user is in; only the direct
		// channel with this expert counts.
		if channelID != model.GetDMNameFromIds(agentUser.Id, expertID) && !b.isDirectWith(a, channelID, agentUser.Id, expertID) {
			return
		}
		b.rememberChannel(key, channelID)
	}
	expert := sdk.Expert(expertID, displayName(b.experts.cached(expertID), expertID))
	b.mu.Lock()
	t := b.typing["expert:"+key]
	fresh := t == nil
	if fresh {
		t = &typingLoop{}
		b.typing["expert:"+key] = t
		t.timer = time.AfterFunc(expertTypingIdle, func() {
			b.mu.Lock()
			if b.typing["expert:"+key] != t {
				b.mu.Unlock()
				return
			}
			delete(b.typing, "expert:"+key)
			b.mu.Unlock()
			b.emitTyping(key, expert, false)
		})
	} else {
		t.timer.Reset(expertTypingIdle)
	}
	b.mu.Unlock()
	if fresh {
		b.emitTyping(key, expert, true)
	}
}

// stopExpertTyping ends an expert's typing when their post arrives.
func (b *bridge) stopExpertTyping(key string) {
	b.mu.Lock()
	t := b.typing["expert:"+key]
	delete(b.typing, "expert:"+key)
	b.mu.Unlock()
	if t != nil {
		t.stop()
		_, expertID, _ := sdk.ParseExpertChatKey(key)
		b.emitTyping(key, sdk.Expert(expertID, displayName(b.experts.cached(expertID), expertID)), false)
	}
}

func (b *bridge) emitTyping(key string, from *sdk.Participant, active bool) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.host.Emit(ctx, sdk.NewTyping("mm-typing-"+randomID(), key, from, active)); err != nil {
			b.log.Debug("expert typing not passed on", "conversation", key, "error", err)
		}
	}()
}

// isDirectWith asks Mattermost whether channelID is the direct channel of the two users; the
// channel name of a direct channel is made of the two ids.
func (b *bridge) isDirectWith(a *agent, channelID, agentID, expertID string) bool {
	client, _ := a.api()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ch, _, err := client.GetChannel(ctx, channelID, "")
	return err == nil && ch.Type == model.ChannelTypeDirect && ch.Name == model.GetDMNameFromIds(agentID, expertID)
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
