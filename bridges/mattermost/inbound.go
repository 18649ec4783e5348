package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboardhq/switchboard/sdk"
)

// maxInlineBytes bounds the files of one expert post together, so the event stays under the
// hub's message size.
const maxInlineBytes = sdk.MaxMessageBytes - 2<<20

// inboundContent converts an expert's post: Markdown to sanitized HTML, files fetched within the
// size limit. Files that do not fit are named to the expert in a notice. Nil means the post
// carries nothing to pass on.
func (b *bridge) inboundContent(ctx context.Context, a *agent, post *model.Post) *sdk.Content {
	text, html := fromMarkdown(post.Message)
	atts, refused := b.fetchFiles(ctx, a, post)
	if len(refused) > 0 {
		msg := fmt.Sprintf("Not forwarded to %s: %s.", a.displayName(), strings.Join(refused, "; "))
		if err := b.notice(ctx, a, post.ChannelId, "refused:"+post.Id, msg); err != nil {
			b.log.Warn("tell an expert a file was refused", "agent", a.hub, "error", err)
		}
	}
	if text == "" && len(atts) == 0 {
		return nil
	}
	return &sdk.Content{Text: text, Html: html, Attachments: atts}
}

// fetchFiles downloads the post's files that fit; refused names the others with their sizes.
func (b *bridge) fetchFiles(ctx context.Context, a *agent, post *model.Post) (atts []*sdk.Attachment, refused []string) {
	client, _ := a.api()
	total := int64(0)
	for _, id := range post.FileIds {
		var info *model.FileInfo
		err := retry(ctx, func() (err error) { info, _, err = client.GetFileInfo(ctx, id); return err })
		if err != nil {
			b.host.Count(countAttachments, reasonDownload)
			b.log.Warn("read an expert's file", "agent", a.hub, "file", id, "error", err)
			refused = append(refused, "a file Mattermost could not describe")
			continue
		}
		tooBig := fmt.Sprintf("%q (%s, over the limit of %s)", info.Name, sdk.SizeText(info.Size), sdk.SizeText(b.cfg.MaxAttachmentBytes))
		if info.Size > b.cfg.MaxAttachmentBytes {
			b.host.Count(countAttachments, reasonOversized)
			refused = append(refused, tooBig)
			continue
		}
		if total+info.Size > maxInlineBytes {
			b.host.Count(countAttachments, reasonOversized)
			refused = append(refused, fmt.Sprintf("%q (%s; the files of one message may not exceed %s together)", info.Name, sdk.SizeText(info.Size), sdk.SizeText(maxInlineBytes)))
			continue
		}
		var data []byte
		err = retry(ctx, func() (err error) { data, _, err = client.GetFile(ctx, id); return err })
		switch {
		case err != nil:
			b.host.Count(countAttachments, reasonDownload)
			b.log.Warn("download an expert's file", "agent", a.hub, "file", id, "error", err)
			refused = append(refused, fmt.Sprintf("%q (could not be downloaded)", info.Name))
			continue
		case int64(len(data)) > b.cfg.MaxAttachmentBytes:
			b.host.Count(countAttachments, reasonOversized)
			refused = append(refused, tooBig)
			continue
		}
		total += int64(len(data))
		atts = append(atts, &sdk.Attachment{Name: info.Name, ContentType: info.MimeType, Size: int64(len(data)), Data: data})
	}
	return atts, refused
}

// retry runs fn up to three times with a short pause.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := range 3 {
		if err = fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * 300 * time.Millisecond):
		}
	}
	return err
}

func timestampMillis(ms int64) *timestamppb.Timestamp {
	return timestamppb.New(time.UnixMilli(ms))
}
