package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboardhq/switchboard/sdk"
)

// matrixEvent is a room event as the homeserver pushes it.
type matrixEvent struct {
	ID       string          `json:"event_id"`
	Type     string          `json:"type"`
	RoomID   string          `json:"room_id"`
	Sender   string          `json:"sender"`
	StateKey *string         `json:"state_key"`
	TS       int64           `json:"origin_server_ts"`
	Content  json.RawMessage `json:"content"`
}

// messageContent is the content of an m.room.message.
type messageContent struct {
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format"`
	FormattedBody string `json:"formatted_body"`
	FileName      string `json:"filename"`
	URL           string `json:"url"`
	Info          struct {
		MimeType string `json:"mimetype"`
		Size     int64  `json:"size"`
	} `json:"info"`
	RelatesTo struct {
		InReplyTo *struct {
			EventID string `json:"event_id"`
		} `json:"m.in_reply_to"`
	} `json:"m.relates_to"`
}

// handleEvent handles one pushed event. It returns an error only when the event could not be
// handled now and the transaction must come again; events the bridge refuses are counted.
func (b *bridge) handleEvent(ctx context.Context, ev matrixEvent) error {
	if b.cfg.ours(ev.Sender) {
		return nil // the bridge's own posts, echoed back
	}
	switch ev.Type {
	case "m.room.member":
		return b.onMember(ctx, ev)
	case "m.room.message", "m.sticker":
		return b.onMessage(ctx, ev)
	case "m.room.encrypted":
		if p, ok := b.pairOf(ev.RoomID); ok {
			b.count("events_dropped", "encrypted")
			return b.notice(ctx, p, ev.RoomID, txnID(ev.ID, "encrypted"),
				"This message is end-to-end encrypted and cannot reach the agent. Please start a new direct chat without encryption.")
		}
	}
	return nil
}

func (b *bridge) onMember(ctx context.Context, ev matrixEvent) error {
	if ev.StateKey == nil {
		return nil
	}
	target := *ev.StateKey
	var c struct {
		Membership  string `json:"membership"`
		IsDirect    bool   `json:"is_direct"`
		DisplayName string `json:"displayname"`
	}
	if err := json.Unmarshal(ev.Content, &c); err != nil {
		b.count("events_dropped", "malformed")
		return nil
	}
	b.mu.Lock()
	agentsRoom := b.agentsRoom
	b.mu.Unlock()
	if username, ghost := b.cfg.agentOf(target); ghost {
		switch c.Membership {
		case "invite":
			return b.acceptInvite(ctx, ev, username, c.IsDirect)
		case "leave", "ban":
			if p, ok := b.pairOf(ev.RoomID); ok && p.agent == username {
				return b.dropRoom(ctx, p, ev.RoomID)
			}
		}
		return nil
	}
	if b.cfg.ours(target) {
		return nil
	}
	switch {
	case ev.RoomID == agentsRoom && c.Membership == "join":
		b.learnExpert(target, c.DisplayName)
	case c.Membership == "leave" || c.Membership == "ban":
		p, ok := b.pairOf(ev.RoomID)
		if !ok || p.expert != target {
			return nil
		}
		if err := b.dropRoom(ctx, p, ev.RoomID); err != nil {
			return err
		}
		end := sdk.NewConversationEnded("matrix:"+ev.ID, p.key(), sdk.Expert(target, b.expertName(ctx, target)), "The expert left the Matrix chat.")
		if err := b.host.Emit(ctx, end); err != nil {
			if _, rejected := sdk.IsRejected(err); !rejected {
				return err
			}
		}
	}
	return nil
}

// acceptInvite has the ghost join a direct chat an expert opened and records it.
func (b *bridge) acceptInvite(ctx context.Context, ev matrixEvent, username string, direct bool) error {
	if err := b.ensureGhost(ctx, username, ""); err != nil {
		return err
	}
	ghost := b.cfg.ghostID(username)
	if !direct {
		// Agents chat one to one; group rooms are declined.
		b.count("events_dropped", "not_direct")
		if _, err := b.hs.as(ctx, ghost).LeaveRoom(ev.RoomID); err != nil && !refused(err) {
			return err
		}
		return nil
	}
	if _, err := b.hs.as(ctx, ghost).JoinRoom(ev.RoomID, "", nil); err != nil {
		if refused(err) {
			b.logger().Info("could not join a direct chat (invite withdrawn?)", "room", ev.RoomID, "ghost", ghost, "error", err)
			return nil
		}
		return err
	}
	return b.addRoom(ctx, pair{agent: username, expert: ev.Sender}, ev.RoomID)
}

// onMessage passes an expert's message in a DM room to the hub. What the hub refuses, and
// files the bridge will not carry, are explained to the expert in the room.
func (b *bridge) onMessage(ctx context.Context, ev matrixEvent) error {
	p, ok := b.pairOf(ev.RoomID)
	if !ok {
		b.mu.Lock()
		agentsRoom := b.agentsRoom
		b.mu.Unlock()
		if ev.RoomID != agentsRoom {
			b.count("events_dropped", "unknown_room")
		}
		return nil
	}
	if ev.Sender != p.expert {
		b.count("events_dropped", "not_the_expert")
		return nil
	}
	var c messageContent
	if err := json.Unmarshal(ev.Content, &c); err != nil {
		b.count("events_dropped", "malformed")
		return nil
	}
	if ev.Type == "m.sticker" {
		c.MsgType = "m.image"
	}
	name := b.expertName(ctx, ev.Sender)
	content, refusal, err := b.inboundContent(ctx, c, name)
	if err != nil {
		return err
	}
	if refusal != "" {
		return b.notice(ctx, p, ev.RoomID, txnID(ev.ID, "refused"), refusal)
	}
	if content == nil {
		b.count("events_dropped", "empty")
		return nil
	}
	msg := sdk.NewMessage("matrix:"+ev.ID, p.key(), sdk.Expert(ev.Sender, name), content)
	if ev.TS > 0 {
		msg.Time = timestamppb.New(time.UnixMilli(ev.TS))
	}
	err = b.host.Emit(ctx, msg)
	if reason, rejected := sdk.IsRejected(err); rejected {
		b.count("events_dropped", "refused_by_hub")
		return b.notice(ctx, p, ev.RoomID, txnID(ev.ID, "rejected"), "Not delivered: "+reason)
	}
	return err
}

// inboundContent converts a message's content. A file too large to carry becomes a refusal to
// show the expert; a nil content means nothing to pass on.
func (b *bridge) inboundContent(ctx context.Context, c messageContent, name string) (*sdk.Content, string, error) {
	switch c.MsgType {
	case "m.image", "m.file", "m.audio", "m.video":
		return b.inboundFile(ctx, c)
	}
	text, html := fromMatrix(c.MsgType, c.Body, c.Format, c.FormattedBody, c.RelatesTo.InReplyTo != nil, name)
	if text == "" && html == "" {
		return nil, "", nil
	}
	return &sdk.Content{Text: text, Html: html}, "", nil
}

func (b *bridge) inboundFile(ctx context.Context, c messageContent) (*sdk.Content, string, error) {
	fileName, caption := c.Body, ""
	if c.FileName != "" && c.FileName != c.Body {
		fileName, caption = c.FileName, c.Body
	}
	max := b.cfg.MaxAttachmentBytes
	tooLarge := fmt.Sprintf("The file %q is larger than %s, the most the agent can receive, so it was not passed on. Please share a link instead.", fileName, sdk.SizeText(max))
	if c.Info.Size > max {
		b.count("events_dropped", "attachment_too_large")
		return nil, tooLarge, nil
	}
	data, contentType, err := b.hs.download(ctx, c.URL, max)
	switch {
	case errors.Is(err, errTooLarge):
		b.count("events_dropped", "attachment_too_large")
		return nil, tooLarge, nil
	case err != nil && (refused(err) || strings.HasPrefix(err.Error(), "not an mxc")):
		b.count("events_dropped", "attachment_unavailable")
		return nil, fmt.Sprintf("The file %q could not be fetched from the homeserver, so it was not passed on.", fileName), nil
	case err != nil:
		return nil, "", err
	}
	if c.Info.MimeType != "" {
		contentType = c.Info.MimeType
	}
	content := &sdk.Content{Attachments: []*sdk.Attachment{{Name: fileName, ContentType: contentType, Size: int64(len(data)), Data: data}}}
	if caption != "" {
		content.Text, content.Html = fromMatrix("m.text", caption, c.Format, c.FormattedBody, false, "")
	}
	return content, "", nil
}
