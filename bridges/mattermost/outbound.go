package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/sdk"
)

// Post props the bridge sets: propEvent holds the idempotency key of every post it makes (the
// hub event id, or a key of its own for notices); propNotice marks notices from the hub or the
// bridge, which are not the agent's own words.
const (
	propEvent  = "switchboard_event"
	propNotice = "switchboard_notice"
)

// Mattermost's limits on one post.
const (
	maxPostRunes = 16000
	maxPostFiles = 10
)

// chat resolves an expert chat key to the agent and the direct channel, creating them as needed.
func (b *bridge) chat(ctx context.Context, key string, from *sdk.Participant) (*agent, string, error) {
	agentName, expertID, ok := sdk.ParseExpertChatKey(key)
	if !ok {
		return nil, "", sdk.Reject("conversation %q is not an expert chat", key)
	}
	if !model.IsValidId(expertID) {
		return nil, "", sdk.Reject("%q is not a Mattermost user id", expertID)
	}
	display := ""
	if from.GetKind() == sdk.AsAgent && from.GetId() == agentName {
		display = from.GetDisplayName()
	}
	a, err := b.ensureAgent(ctx, agentName, display)
	if err != nil {
		return nil, "", err
	}
	b.listen(a)
	if id := b.channel(key); id != "" {
		return a, id, nil
	}
	client, user := a.api()
	ch, resp, err := client.CreateDirectChannel(ctx, user.Id, expertID)
	if err != nil {
		if isPermanent(resp, err) {
			return nil, "", sdk.Reject("Mattermost has no user %s to write to", expertID)
		}
		return nil, "", fmt.Errorf("mattermost: open the direct channel of %s and %s: %w", user.Username, expertID, err)
	}
	b.rememberChannel(key, ch.Id)
	b.experts.sawPartner(expertID)
	return a, ch.Id, nil
}

func (b *bridge) channel(key string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.channels[key]
}

func (b *bridge) rememberChannel(key, channelID string) {
	b.mu.Lock()
	b.channels[key] = channelID
	b.mu.Unlock()
}

// deliverStarted opens the direct channel of an agent who starts a chat.
func (b *bridge) deliverStarted(ctx context.Context, ev *sdk.Event) error {
	_, _, err := b.chat(ctx, ev.GetConversation(), ev.GetConversationStarted().GetInitiator())
	return err
}

// deliverEnded tells the expert the agent closed the chat.
func (b *bridge) deliverEnded(ctx context.Context, ev *sdk.Event) error {
	by := ev.GetConversationEnded().GetBy()
	a, ch, err := b.chat(ctx, ev.GetConversation(), by)
	if err != nil {
		return err
	}
	b.stopTyping(ev.GetConversation())
	return b.notice(ctx, a, ch, ev.GetId(), a.displayName()+" closed this chat. Write here to start a new one.")
}

// deliverMessage posts an agent's message, or a hub notice, as the agent's user.
func (b *bridge) deliverMessage(ctx context.Context, ev *sdk.Event) error {
	m := ev.GetMessage()
	a, ch, err := b.chat(ctx, ev.GetConversation(), m.GetFrom())
	if err != nil {
		return err
	}
	b.stopTyping(ev.GetConversation())
	md, err := toMarkdown(m.GetContent())
	if err != nil {
		return sdk.Reject("the message cannot be converted to Markdown: %v", err)
	}
	system := m.GetFrom().GetKind() == sdk.AsSystem
	if system {
		md = noticeMarkdown(md)
	}
	parts := splitMessage(md, maxPostRunes)
	for i, part := range parts {
		key := ev.GetId()
		if i > 0 {
			key += "#" + strconv.Itoa(i+1)
		}
		last := i == len(parts)-1
		err := b.postOnce(ctx, a, ch, key, func(ctx context.Context) (*model.Post, error) {
			post := &model.Post{Message: part}
			if system {
				post.AddProp(propNotice, true)
			}
			if last {
				files, notes := b.upload(ctx, a, ch, m.GetContent().GetAttachments())
				post.FileIds = files
				if len(notes) > 0 {
					post.Message = strings.TrimSpace(post.Message + "\n\n" + strings.Join(notes, "\n"))
				}
			}
			return post, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// upload puts the attachments that carry data into the channel and links those that carry an
// address; what Mattermost refuses is named in notes instead.
func (b *bridge) upload(ctx context.Context, a *agent, channelID string, atts []*sdk.Attachment) (ids, notes []string) {
	client, _ := a.api()
	for _, att := range atts {
		name := att.GetName()
		if name == "" {
			name = "file"
		}
		switch {
		case len(att.GetData()) > 0 && len(ids) < maxPostFiles:
			res, _, err := client.UploadFile(ctx, att.GetData(), channelID, name)
			if err != nil || len(res.FileInfos) == 0 {
				b.log.Warn("upload an agent's file", "agent", a.hub, "file", name, "error", err)
				notes = append(notes, fmt.Sprintf("*(%s could not be attached: Mattermost refused it)*", escapeMarkdown(name)))
				continue
			}
			ids = append(ids, res.FileInfos[0].Id)
		case len(att.GetData()) > 0:
			notes = append(notes, fmt.Sprintf("*(%s could not be attached: at most %d files fit in one post)*", escapeMarkdown(name), maxPostFiles))
		case isWebAddress(att.GetUrl()):
			notes = append(notes, fmt.Sprintf("[%s](%s)", escapeMarkdown(name), att.GetUrl()))
		}
	}
	return ids, notes
}

func isWebAddress(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// notice posts a line from the bridge or the hub as the agent, marked as a notice, once per key.
func (b *bridge) notice(ctx context.Context, a *agent, channelID, key, text string) error {
	return b.postOnce(ctx, a, channelID, key, func(context.Context) (*model.Post, error) {
		post := &model.Post{Message: noticeMarkdown(escapeMarkdown(text))}
		post.AddProp(propNotice, true)
		return post, nil
	})
}

// postOnce creates the post build makes unless the channel already has one with key: the bridge
// remembers its recent posts, and after a restart reads the channel's latest posts once.
func (b *bridge) postOnce(ctx context.Context, a *agent, channelID, key string, build func(context.Context) (*model.Post, error)) error {
	if b.posted.has(channelID, key) {
		return nil
	}
	client, user := a.api()
	if b.posted.needsScan(channelID) {
		list, _, err := client.GetPostsForChannel(ctx, channelID, 0, catchUpPosts, "", false, false)
		if err != nil {
			return fmt.Errorf("mattermost: read the latest posts of channel %s: %w", channelID, err)
		}
		for _, p := range list.Posts {
			if k, ok := p.GetProp(propEvent).(string); ok && k != "" {
				b.posted.add(channelID, k)
			}
		}
		b.posted.scanned(channelID)
		if b.posted.has(channelID, key) {
			return nil
		}
	}
	post, err := build(ctx)
	if err != nil {
		return err
	}
	post.ChannelId = channelID
	post.AddProp(propEvent, key)
	sum := sha256.Sum256([]byte(channelID + key))
	// Mattermost answers a repeated pending_post_id with the post it made, for a short while.
	post.PendingPostId = user.Id + ":" + hex.EncodeToString(sum[:12])
	if _, resp, err := client.CreatePost(ctx, post); err != nil {
		b.posted.rescan(channelID) // the post may exist although the answer was lost
		if isPermanent(resp, err) {
			return sdk.Reject("Mattermost refused the post: %v", err)
		}
		return fmt.Errorf("mattermost: post in channel %s: %w", channelID, err)
	}
	b.posted.add(channelID, key)
	return nil
}

// splitMessage cuts md into parts of at most n runes, at line ends where it can.
func splitMessage(md string, n int) []string {
	if utf8.RuneCountInString(md) <= n {
		return []string{md}
	}
	var parts []string
	for utf8.RuneCountInString(md) > n {
		cut := len(md)
		runes := 0
		for i := range md {
			if runes == n {
				cut = i
				break
			}
			runes++
		}
		if nl := strings.LastIndexByte(md[:cut], '\n'); nl > cut/2 {
			cut = nl + 1
		}
		parts = append(parts, strings.TrimRight(md[:cut], "\n"))
		md = md[cut:]
	}
	if strings.TrimSpace(md) != "" {
		parts = append(parts, md)
	}
	return parts
}
