package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

// eventIDField marks every event the bridge posts with the hub event it came from, so a resend
// the homeserver no longer remembers the transaction of is still found in the room's history.
const eventIDField = "org.switchboard.event_id"

// txnMemory is how long a homeserver is sure to remember a transaction id (Dendrite and Synapse
// keep them for at least 30 minutes); older resends are checked against the room's history.
const txnMemory = 20 * time.Minute

// typingTimeout is how long the ghost shows as typing unless the hub says it stopped earlier.
const typingTimeout = 20 * time.Second

// deliverMessage posts an agent's (or the hub's) message in the chat's DM room as the agent's
// ghost, with transaction ids derived from the event id.
func (b *bridge) deliverMessage(ctx context.Context, p pair, ev *sdk.Event) error {
	msg := ev.GetMessage()
	room, err := b.ensureRoom(ctx, p, agentDisplayName(msg.GetFrom()))
	if err != nil {
		return err
	}
	err = b.postMessage(ctx, p, room, ev)
	if status, code := errcode(err); status == 403 && code == "M_FORBIDDEN" {
		// The ghost is no longer in the room (kicked, or the room was left while the bridge was
		// down): drop it and open a new one.
		b.logger().Info("the agent's ghost cannot write to the DM room; opening another", "room", room, "agent", p.agent, "expert", p.expert)
		if err := b.dropRoom(ctx, p, room); err != nil {
			return err
		}
		if room, err = b.ensureRoom(ctx, p, agentDisplayName(msg.GetFrom())); err != nil {
			return err
		}
		err = b.postMessage(ctx, p, room, ev)
	}
	return err
}

func (b *bridge) postMessage(ctx context.Context, p pair, room string, ev *sdk.Event) error {
	ghost := b.cfg.ghostID(p.agent)
	if t := ev.GetTime(); t != nil && time.Since(t.AsTime()) > txnMemory {
		if posted, err := b.posted(ctx, ghost, room, ev.GetId()); err != nil || posted {
			return err
		}
	}
	msg := ev.GetMessage()
	content := msg.GetContent()
	msgtype := "m.text"
	if msg.GetFrom().GetKind() == sdk.AsSystem {
		msgtype = "m.notice"
	}
	text := content.GetText()
	var links []string
	for _, att := range content.GetAttachments() {
		if len(att.GetData()) == 0 && att.GetUrl() != "" {
			links = append(links, attachmentLink(att))
		}
	}
	if len(links) > 0 {
		text = strings.TrimSpace(text + "\n" + strings.Join(links, "\n"))
	}
	body, formatted := toMatrix(text, content.GetHtml())
	if len(links) > 0 && formatted != "" {
		formatted += "<p>" + strings.Join(links, "<br/>") + "</p>"
		_, formatted = toMatrix(body, formatted)
	}
	if strings.TrimSpace(body) != "" {
		c := map[string]any{"msgtype": msgtype, "body": body, eventIDField: ev.GetId()}
		if formatted != "" {
			c["format"], c["formatted_body"] = matrixHTMLFormat, formatted
		}
		if _, err := b.hs.send(ctx, ghost, room, "m.room.message", txnID(ev.GetId()), c); err != nil {
			return err
		}
	}
	for i, att := range content.GetAttachments() {
		if len(att.GetData()) == 0 {
			continue
		}
		if err := b.postFile(ctx, ghost, room, ev.GetId(), i, att); err != nil {
			return err
		}
	}
	return nil
}

func attachmentLink(att *sdk.Attachment) string {
	if att.GetName() != "" {
		return att.GetName() + ": " + att.GetUrl()
	}
	return att.GetUrl()
}

// postFile uploads an attachment and posts it as an image or a file.
func (b *bridge) postFile(ctx context.Context, ghost, room, eventID string, i int, att *sdk.Attachment) error {
	name := att.GetName()
	if name == "" {
		name = "file"
	}
	mxc, err := b.hs.upload(ctx, ghost, name, att.GetContentType(), att.GetData())
	if err != nil {
		return err
	}
	msgtype := "m.file"
	if strings.HasPrefix(att.GetContentType(), "image/") {
		msgtype = "m.image"
	}
	c := map[string]any{
		"msgtype": msgtype, "body": name, "filename": name, "url": mxc, eventIDField: eventID,
		"info": map[string]any{"mimetype": att.GetContentType(), "size": len(att.GetData())},
	}
	_, err = b.hs.send(ctx, ghost, room, "m.room.message", txnID(eventID, "file", strconv.Itoa(i)), c)
	return err
}

// posted reports whether the ghost's recent posts in the room include one for the hub event.
func (b *bridge) posted(ctx context.Context, ghost, room, eventID string) (bool, error) {
	events, err := b.hs.recentEvents(ctx, ghost, room, 100)
	if err != nil {
		return false, err
	}
	for _, e := range events {
		if e.Sender == ghost && e.Content[eventIDField] == eventID {
			return true, nil
		}
	}
	return false, nil
}

// deliverTyping shows or ends the ghost's typing in the chat's room. Typing is never resent by
// the hub and never worth a retry, so failures are only logged.
func (b *bridge) deliverTyping(ctx context.Context, p pair, active bool) {
	room := b.roomOf(p)
	if room == "" {
		return
	}
	ghost := b.cfg.ghostID(p.agent)
	if _, err := b.hs.as(ctx, ghost).UserTyping(room, active, typingTimeout.Milliseconds()); err != nil {
		b.logger().Debug("could not show the agent typing", "room", room, "agent", p.agent, "error", err)
	}
}

// deliverEnded tells the expert the agent closed the chat; their next message opens it again.
func (b *bridge) deliverEnded(ctx context.Context, p pair, ev *sdk.Event) error {
	room := b.roomOf(p)
	if room == "" {
		return nil
	}
	name := ev.GetConversationEnded().GetBy().GetDisplayName()
	if name == "" {
		name = p.agent
	}
	text := fmt.Sprintf("%s closed this chat. Write again to reach them.", name)
	return b.notice(ctx, p, room, txnID(ev.GetId()), text)
}

// notice posts an m.notice as the agent's ghost.
func (b *bridge) notice(ctx context.Context, p pair, room, txn, text string) error {
	c := map[string]any{"msgtype": "m.notice", "body": text}
	_, err := b.hs.send(ctx, b.cfg.ghostID(p.agent), room, "m.room.message", txn, c)
	return err
}
