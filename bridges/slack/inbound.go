package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// emitWait bounds how long one Slack event waits for the hub to store it. Slack retries an event
// it has no ack for, and a retry joins the wait of the first delivery (same event id).
const emitWait = 10 * time.Minute

// callback is the outer shape of an Events API request and of a Socket Mode events_api payload.
type callback struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	TeamID    string          `json:"team_id"`
	APIAppID  string          `json:"api_app_id"`
	EventID   string          `json:"event_id"`
	EventTime int64           `json:"event_time"`
	Event     json.RawMessage `json:"event"`
}

// event is the inner event: the fields of message and app_home_opened the bridge reads.
type event struct {
	Type        string            `json:"type"`
	Subtype     string            `json:"subtype"`
	Channel     string            `json:"channel"`
	ChannelType string            `json:"channel_type"`
	User        string            `json:"user"`
	BotID       string            `json:"bot_id"`
	AppID       string            `json:"app_id"`
	Text        string            `json:"text"`
	TS          string            `json:"ts"`
	ThreadTS    string            `json:"thread_ts"`
	Blocks      []json.RawMessage `json:"blocks"`
	Files       []slackFile       `json:"files"`
	Tab         string            `json:"tab"`
}

type slackFile struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Title              string `json:"title"`
	Mimetype           string `json:"mimetype"`
	Size               int64  `json:"size"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
	FileAccess         string `json:"file_access"`
}

// interaction is a block_actions payload: a button pressed in the Home tab.
type interaction struct {
	Type     string `json:"type"`
	APIAppID string `json:"api_app_id"`
	User     struct {
		ID string `json:"id"`
	} `json:"user"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// errMalformed marks input that can never be handled: acknowledge it, count it, drop it.
var errMalformed = errors.New("malformed")

// laneOf is the key that keeps one DM's messages in order.
func laneOf(cb *callback) string {
	var ev struct {
		Channel string `json:"channel"`
	}
	_ = json.Unmarshal(cb.Event, &ev)
	return ev.Channel
}

// handleCallback handles one event callback once per Slack event id. It returns nil when Slack
// may be told the event arrived: the hub stored what it carried, or there was nothing to store.
func (b *bridge) handleCallback(ctx context.Context, cb *callback) error {
	if cb.Type != "event_callback" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, emitWait)
	defer cancel()
	repeat, err := b.events.do(ctx, cb.EventID, func() error {
		var ev event
		if err := json.Unmarshal(cb.Event, &ev); err != nil {
			b.count("events_refused", "malformed")
			b.logger().Warn("slack event with an unreadable inner event", "event_id", cb.EventID, "error", err)
			return nil
		}
		switch ev.Type {
		case "message":
			return b.onMessage(ctx, &ev)
		case "app_home_opened":
			if ev.Tab == "home" || ev.Tab == "" {
				b.learnExpert(ev.User)
				b.chats.knowDM(ev.User, ev.Channel)
				b.showHome(ev.User)
			}
		}
		return nil
	})
	if repeat {
		b.logger().Debug("slack event seen before", "event_id", cb.EventID)
	}
	return err
}

// isOwn reports whether a message comes from the app itself or another bot: never imported.
func (b *bridge) isOwn(ev *event) bool {
	return ev.BotID != "" || ev.Subtype == "bot_message" || (ev.AppID != "" && ev.AppID == b.self.appID) ||
		ev.User == b.self.userID
}

// imported are the message subtypes that carry something an expert wrote.
var imported = map[string]bool{"": true, "file_share": true, "thread_broadcast": true}

func (b *bridge) onMessage(ctx context.Context, ev *event) error {
	if b.isOwn(ev) || !imported[ev.Subtype] || ev.User == "" || ev.TS == "" {
		return nil
	}
	if ev.ChannelType != "" && ev.ChannelType != "im" {
		return nil
	}
	b.learnExpert(ev.User)
	b.chats.knowDM(ev.User, ev.Channel)
	pr, ok, err := b.chatOf(ctx, ev)
	if err != nil || !ok {
		return err
	}
	key := sdk.ExpertChatKey(pr.agent, pr.expert)
	id := "slack:" + ev.Channel + ":" + ev.TS
	content, err := b.content(ctx, ev, pr, id)
	if err != nil {
		return err
	}
	if richtext.IsEmpty(content.GetText(), content.GetHtml()) && len(content.GetAttachments()) == 0 {
		return nil
	}
	from := sdk.Expert(ev.User, b.expertName(ctx, ev.User))
	err = b.host.Emit(ctx, sdk.NewMessage(id, key, from, content))
	if reason, rejected := sdk.IsRejected(err); rejected {
		b.count("messages_refused", "hub")
		return b.notice(ctx, pr, "refused:"+id, fmt.Sprintf("Your message did not reach %s: %s", b.agentName(pr.agent, nil), reason))
	}
	return err
}

// chatOf finds the chat a message belongs to: its thread's, or for a message outside a thread
// the expert's only chat. Otherwise the expert is told how to pick one, and ok is false.
func (b *bridge) chatOf(ctx context.Context, ev *event) (pair, bool, error) {
	if ev.ThreadTS != "" && ev.ThreadTS != ev.TS {
		pr, ok, err := b.chats.pairOf(ctx, ev.Channel, ev.ThreadTS)
		if err != nil {
			return pair{}, false, err
		}
		if ok && pr.expert == ev.User {
			return pr, true, nil
		}
		return pair{}, false, b.hint(ctx, ev, "This thread is not a chat with an agent. Write in the thread of your chat with the agent, or start a chat from this app's Home tab.")
	}
	pairs, err := b.chats.ofExpert(ctx, ev.Channel, ev.User)
	if err != nil {
		return pair{}, false, err
	}
	switch len(pairs) {
	case 1:
		return pairs[0], true, nil
	case 0:
		return pair{}, false, b.hint(ctx, ev, "To write to an agent, open this app's Home tab and press Chat next to their name.")
	}
	return pair{}, false, b.hint(ctx, ev, "You have chats with several agents: write in the thread of the chat you mean, or start one from this app's Home tab.")
}

// hint answers an expert with a message only they see.
func (b *bridge) hint(ctx context.Context, ev *event, text string) error {
	if b.posted.Has("hint:" + ev.Channel + ":" + ev.TS) {
		return nil
	}
	opts := []slack.MsgOption{slack.MsgOptionText(escapeText(text), false)}
	if ev.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(ev.ThreadTS))
	}
	if _, err := b.api.PostEphemeralContext(ctx, ev.Channel, ev.User, opts...); err != nil {
		b.logger().Warn("cannot answer an expert", "user", ev.User, "error", err)
		return nil // the hint is a courtesy; the event itself is handled
	}
	b.posted.Add("hint:" + ev.Channel + ":" + ev.TS)
	return nil
}

// notice posts the app's own note into the pair's thread, once per id.
func (b *bridge) notice(ctx context.Context, pr pair, id, text string) error {
	err := b.postInThread(ctx, pr, id, "", text)
	if _, rejected := sdk.IsRejected(err); rejected {
		return nil
	}
	return err
}

// content converts a message: rich_text blocks when it has them, its mrkdwn text otherwise, and
// its files.
func (b *bridge) content(ctx context.Context, ev *event, pr pair, id string) (*sdk.Content, error) {
	names := b.resolve(ctx)
	var blocks []richTextBlock
	for _, raw := range ev.Blocks {
		var blk richTextBlock
		if json.Unmarshal(raw, &blk) == nil && blk.Type == "rich_text" {
			blocks = append(blocks, blk)
		}
	}
	var html string
	if len(blocks) > 0 {
		html = fromRichText(blocks, names)
	} else {
		html = mrkdwnToHTML(ev.Text, names)
	}
	text, html := richtext.Normalize("", html)
	c := &sdk.Content{Text: text, Html: html}
	atts, err := b.attachments(ctx, ev, pr, id)
	if err != nil {
		return nil, err
	}
	c.Attachments = atts
	return c, nil
}

// onInteraction handles a Chat button: the pair's thread is started (or pointed to) and the hub
// opens the chat.
func (b *bridge) onInteraction(ctx context.Context, ia *interaction) error {
	if ia.Type != "block_actions" || ia.User.ID == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, emitWait)
	defer cancel()
	expert := ia.User.ID
	b.learnExpert(expert)
	for _, a := range ia.Actions {
		if a.ActionID != actionChat || a.Value == "" {
			continue
		}
		agent := a.Value
		if !b.dir.has(agent) {
			b.showHome(expert) // the button is stale
			continue
		}
		if err := b.startChat(ctx, pair{agent: agent, expert: expert}, a.ActionTS); err != nil {
			return err
		}
	}
	return nil
}

func (b *bridge) startChat(ctx context.Context, pr pair, actionTS string) error {
	name := b.agentName(pr.agent, nil)
	started, err := b.startThread(ctx, pr, "slack-chat:"+pr.expert+":"+pr.agent, name,
		fmt.Sprintf("Chat with %s. Write in this thread; %s answers here.", name, name))
	if err != nil {
		return err
	}
	if !started {
		if err := b.notice(ctx, pr, "slack-chat-again:"+pr.expert+":"+pr.agent+":"+actionTS,
			fmt.Sprintf("Your chat with %s continues in this thread.", name)); err != nil {
			return err
		}
	}
	expertName := b.expertName(ctx, pr.expert)
	ev := sdk.NewConversationStarted("slack-start:"+pr.expert+":"+pr.agent+":"+actionTS, sdk.ExpertChatKey(pr.agent, pr.expert),
		&sdk.ConversationStarted{Initiator: sdk.Expert(pr.expert, expertName), TargetAgent: pr.agent, Origin: "Slack"})
	err = b.host.Emit(ctx, ev)
	if reason, rejected := sdk.IsRejected(err); rejected {
		b.count("messages_refused", "hub")
		return b.notice(ctx, pr, "refused:"+ev.GetId(), fmt.Sprintf("The chat with %s could not be opened: %s", name, reason))
	}
	return err
}
