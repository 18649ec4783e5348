package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/sdk"
)

var errTooBig = errors.New("file too big")

// attachments downloads the files of an expert's message. A file over max_attachment_bytes is
// left out and the expert is told so in the chat's thread.
func (b *bridge) attachments(ctx context.Context, ev *event, pr pair, msgID string) ([]*sdk.Attachment, error) {
	var out []*sdk.Attachment
	for _, f := range ev.Files {
		if f.ID == "" {
			continue
		}
		if f.FileAccess == "check_file_info" || f.URLPrivate == "" {
			info, _, _, err := b.api.GetFileInfoContext(ctx, f.ID, 0, 0)
			if err != nil {
				return nil, fmt.Errorf("files.info %s: %w", f.ID, err)
			}
			f = slackFile{ID: info.ID, Name: info.Name, Title: info.Title, Mimetype: info.Mimetype, Size: int64(info.Size),
				URLPrivate: info.URLPrivate, URLPrivateDownload: info.URLPrivateDownload}
		}
		name := firstNonEmpty(f.Name, firstNonEmpty(f.Title, f.ID))
		var data []byte
		err := errTooBig
		if f.Size <= b.cfg.MaxAttachmentBytes {
			data, err = b.download(ctx, firstNonEmpty(f.URLPrivateDownload, f.URLPrivate))
		}
		if errors.Is(err, errTooBig) {
			b.count("attachments_refused", "too_big")
			note := fmt.Sprintf("“%s” was not sent: files up to %s reach the agent.", name, sdk.SizeText(b.cfg.MaxAttachmentBytes))
			if err := b.notice(ctx, pr, "too-big:"+msgID+":"+f.ID, note); err != nil {
				return nil, err
			}
			continue
		}
		if errors.Is(err, errMalformed) {
			b.logger().Warn("file of an expert's message skipped", "file", f.ID, "error", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, &sdk.Attachment{Name: name, ContentType: f.Mimetype, Size: int64(len(data)), Data: data})
	}
	return out, nil
}

// download fetches a private file with the bot token; the token only goes to Slack's hosts.
func (b *bridge) download(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || !b.slackHost(u) {
		b.count("attachments_refused", "foreign_url")
		return nil, fmt.Errorf("file address %q is not Slack's: %w", raw, errMalformed)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+b.cfg.BotToken)
	res, err := b.files.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", u.Redacted(), err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: %s", u.Redacted(), res.Status)
	}
	// Slack answers a request it does not accept with its sign-in page, not an error status.
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		return nil, fmt.Errorf("download %s: Slack sent a web page instead of the file: check the files:read scope", u.Redacted())
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, b.cfg.MaxAttachmentBytes+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", u.Redacted(), err)
	}
	if int64(len(data)) > b.cfg.MaxAttachmentBytes {
		return nil, errTooBig
	}
	return data, nil
}

// slackHost reports whether u is Slack's (or the configured API's host, e.g. a test server).
func (b *bridge) slackHost(u *url.URL) bool {
	if u.Scheme != "https" && !(u.Scheme == "http" && u.Host == b.apiHost) {
		return false
	}
	h := u.Hostname()
	return u.Host == b.apiHost || h == "slack.com" || strings.HasSuffix(h, ".slack.com") || strings.HasSuffix(h, ".slack-edge.com")
}
