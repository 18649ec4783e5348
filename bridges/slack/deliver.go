package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// slackUserID is the shape of a Slack user id.
var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// Deliver implements sdk.Plugin. Typing is dropped: a Slack app cannot show typing.
func (b *bridge) Deliver(ctx context.Context, ev *sdk.Event) error {
	if p := ev.GetPresence(); p != nil {
		if s := p.GetSubject(); s.GetKind() == sdk.AsAgent && s.GetId() != "" {
			b.setAgent(s.GetId(), s.GetDisplayName(), p.GetState() == sdk.Online)
		}
		return nil
	}
	if ev.GetTyping() != nil {
		return nil
	}
	msg, started, ended := ev.GetMessage(), ev.GetConversationStarted(), ev.GetConversationEnded()
	if msg == nil && started == nil && ended == nil {
		return nil
	}
	agent, expert, ok := sdk.ParseExpertChatKey(ev.GetConversation())
	if !ok {
		return sdk.Reject("conversation %q is not an expert chat", ev.GetConversation())
	}
	if !slackUserID.MatchString(expert) {
		return sdk.Reject("%q is not a Slack user id", expert)
	}
	if err := b.awaitReady(ctx); err != nil {
		return err
	}
	pr := pair{agent: agent, expert: expert}
	switch {
	case msg != nil:
		from := msg.GetFrom()
		c := msg.GetContent()
		html := c.GetHtml()
		text := c.GetText()
		if links := attachmentLinks(c.GetAttachments()); links != "" {
			text, html = richtext.Normalize(text, html)
			text += "\n" + links
			html += richtext.FromText(links)
		}
		if richtext.IsEmpty(text, html) {
			return nil
		}
		as := b.agentName(agent, from)
		if from.GetKind() == sdk.AsSystem {
			as = ""
		}
		return b.post(ctx, pr, ev.GetId(), as, text, html)
	case started != nil:
		name := b.agentName(agent, started.GetInitiator())
		_, err := b.startThread(ctx, pr, ev.GetId(), name,
			fmt.Sprintf("%s started a chat with you. Answer in this thread.", name))
		return err
	default:
		by := ended.GetBy()
		if by.GetKind() == sdk.AsExpert {
			return nil
		}
		name := b.agentName(agent, by)
		return b.postInThread(ctx, pr, ev.GetId(), name,
			fmt.Sprintf("%s closed the chat. Write in this thread to reach them again.", name))
	}
}

// agentName is the name an agent's posts show: the one in the event, or the directory's.
func (b *bridge) agentName(agent string, p *sdk.Participant) string {
	if p.GetKind() == sdk.AsAgent && p.GetDisplayName() != "" {
		return p.GetDisplayName()
	}
	if name := b.dir.name(agent); name != "" {
		return name
	}
	return agent
}

// attachmentLinks lists an agent's attachments that have an address, one per line. Files the
// hub sends inline are not uploaded to Slack: the line names them.
func attachmentLinks(atts []*sdk.Attachment) string {
	var lines []string
	for _, a := range atts {
		name := a.GetName()
		if name == "" {
			name = "attachment"
		}
		if u := a.GetUrl(); strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
			lines = append(lines, "📎 "+name+": "+u)
		} else {
			lines = append(lines, "📎 "+name+" (open it in the agent's console)")
		}
	}
	return strings.Join(lines, "\n")
}

// post puts one hub event into the pair's thread, starting the thread when there is none. A
// post that is already on Slack (the hub resent the event) is not repeated.
func (b *bridge) post(ctx context.Context, pr pair, eventID, as, text, html string) error {
	if b.posted.Has(eventID) {
		return nil
	}
	channel, err := b.chats.dm(ctx, pr.expert)
	if err != nil {
		return b.slackError(ctx, err)
	}
	unlock := b.chats.lock(channel)
	defer unlock()
	t, ok, err := b.chats.find(ctx, channel, pr)
	if err != nil {
		return b.slackError(ctx, err)
	}
	if ok {
		if err := b.chats.readThread(ctx, t); err != nil {
			return b.slackError(ctx, err)
		}
		if b.posted.Has(eventID) {
			return nil
		}
	}
	ts, err := b.postMessage(ctx, channel, t.ts, pr, eventID, as, text, html)
	if err != nil {
		return err
	}
	if !ok {
		b.chats.record(pr, thread{channel, ts})
	}
	b.posted.Add(eventID)
	return nil
}

// startThread makes sure the pair has a thread, posting starter as its first post when there
// is none; it returns whether it started one.
func (b *bridge) startThread(ctx context.Context, pr pair, eventID, as, starter string) (bool, error) {
	channel, err := b.chats.dm(ctx, pr.expert)
	if err != nil {
		return false, b.slackError(ctx, err)
	}
	unlock := b.chats.lock(channel)
	defer unlock()
	if _, ok, err := b.chats.find(ctx, channel, pr); err != nil || ok {
		return false, b.slackError(ctx, err)
	}
	ts, err := b.postMessage(ctx, channel, "", pr, eventID, as, starter, "")
	if err != nil {
		return false, err
	}
	b.chats.record(pr, thread{channel, ts})
	b.posted.Add(eventID)
	return true, nil
}

// postInThread posts a note into the pair's existing thread; without a thread it does nothing.
func (b *bridge) postInThread(ctx context.Context, pr pair, eventID, as, text string) error {
	if b.posted.Has(eventID) {
		return nil
	}
	channel, err := b.chats.dm(ctx, pr.expert)
	if err != nil {
		return b.slackError(ctx, err)
	}
	unlock := b.chats.lock(channel)
	defer unlock()
	t, ok, err := b.chats.find(ctx, channel, pr)
	if err != nil || !ok {
		return b.slackError(ctx, err)
	}
	if err := b.chats.readThread(ctx, t); err != nil {
		return b.slackError(ctx, err)
	}
	if b.posted.Has(eventID) {
		return nil
	}
	if _, err := b.postMessage(ctx, channel, t.ts, pr, eventID, as, text, ""); err != nil {
		return err
	}
	b.posted.Add(eventID)
	return nil
}

// postMessage calls chat.postMessage: rich_text block and text fallback, the agent's name and
// icon, the thread, and metadata naming the chat and the hub event. A starter (threadTS "")
// carries the chat metadata.
func (b *bridge) postMessage(ctx context.Context, channel, threadTS string, pr pair, eventID, as, text, html string) (string, error) {
	block, fallback := toRichText(text, html)
	meta := slack.SlackMetadata{EventType: messageMeta, EventPayload: map[string]any{"agent": pr.agent, "expert": pr.expert, "event": eventID}}
	opts := []slack.MsgOption{slack.MsgOptionText(fallback, false)}
	if threadTS == "" {
		meta.EventType = chatMeta
	} else {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	opts = append(opts, slack.MsgOptionMetadata(meta))
	if as != "" {
		opts = append(opts, slack.MsgOptionUsername(as))
		if icon := b.cfg.iconFor(pr.agent); icon != "" {
			opts = append(opts, slack.MsgOptionIconURL(icon))
		}
	}
	withBlocks := opts
	if block != nil {
		withBlocks = append(append([]slack.MsgOption{}, opts...), slack.MsgOptionBlocks(*block))
	}
	_, ts, err := b.api.PostMessageContext(ctx, channel, withBlocks...)
	if block != nil && slackCode(err) == "invalid_blocks" {
		b.count("format_fallbacks", "invalid_blocks")
		b.logger().Warn("slack refused the rich_text block; posting the text alone", "event", eventID)
		_, ts, err = b.api.PostMessageContext(ctx, channel, opts...)
	}
	if err != nil {
		return "", b.slackError(ctx, fmt.Errorf("chat.postMessage to %s: %w", channel, err))
	}
	b.setProblem("auth", nil)
	return ts, nil
}

// permanent are the Slack errors a retry cannot fix.
var permanent = map[string]bool{
	"channel_not_found": true, "user_not_found": true, "user_disabled": true, "is_archived": true,
	"msg_too_long": true, "no_text": true, "cannot_dm_bot": true, "messages_tab_disabled": true,
	"restricted_action": true, "invalid_metadata_format": true, "invalid_metadata_schema": true,
	"metadata_too_large": true, "too_many_attachments": true, "invalid_blocks": true,
}

// slackError turns a Web API failure into what Deliver returns: a refusal for what Slack never
// accepts, an error to retry for the rest. A rate limit waits for Slack's Retry-After first.
func (b *bridge) slackError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		select {
		case <-time.After(rl.RetryAfter):
		case <-ctx.Done():
		}
		return err
	}
	code := slackCode(err)
	switch {
	case permanent[code]:
		return sdk.Reject("Slack refused the message: %s", code)
	case code == "invalid_auth" || code == "not_authed" || code == "token_revoked" || code == "account_inactive" || code == "missing_scope":
		b.setProblem("auth", fmt.Errorf("slack: %s: check bot_token and the app's scopes", code))
	}
	return err
}

// slackCode is the error code of a Web API answer with "ok": false, or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}
