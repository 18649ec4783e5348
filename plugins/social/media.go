package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/switchboardhq/switchboard/sdk"
)

var (
	// errTooBig: the file is larger than the instance takes.
	errTooBig = errors.New("the file is larger than max_media_bytes")
	// errGone: the platform answered that the file is not there (any more); asking again will
	// not help.
	errGone = errors.New("the platform no longer has the file")
)

// media is one file of a customer's message, not yet downloaded.
type media struct {
	id          string // the platform's file id, for logs
	name        string
	contentType string
	size        int64 // as the platform announced it; 0 when unknown
	// fetch downloads the file, refusing more than limit bytes with errTooBig.
	fetch func(ctx context.Context, limit int64) (data []byte, contentType string, err error)
}

// fetchMedia downloads the files of a message. A file over max_media_bytes (or over what is left
// of what one event may carry) is left out, counted and logged, as is one the platform no longer
// has: the rest of the message still goes to the agent, with a note saying what was left out
// (note is empty when nothing was). Other errors are returned, so the platform sends the message
// again.
func (p *social) fetchMedia(ctx context.Context, msgID string, files []media) (atts []*sdk.Attachment, note string, err error) {
	var out []*sdk.Attachment
	var notes []string
	budget := int64(sdk.MaxAttachmentBytes)
	for _, f := range files {
		limit := min(p.cfg.MaxMediaBytes, budget)
		var data []byte
		var fetchedType string
		err := errTooBig
		if f.size <= limit {
			data, fetchedType, err = f.fetch(ctx, limit)
		}
		switch {
		case errors.Is(err, errTooBig):
			p.count(refusedMedia, "oversized")
			p.log().Warn("a customer's file was left out: it is larger than max_media_bytes", "message", msgID, "file", f.id,
				"size", f.size, "limit", sdk.SizeText(p.cfg.MaxMediaBytes))
			notes = append(notes, "[the customer sent a file larger than the "+sdk.SizeText(limit)+" this channel accepts; it was left out]")
			continue
		case errors.Is(err, errGone):
			p.count(refusedMedia, "unavailable")
			p.log().Warn("a customer's file was left out: the platform no longer has it", "message", msgID, "file", f.id, "error", err)
			notes = append(notes, "[the customer sent a file the platform no longer has; it was left out]")
			continue
		case err != nil:
			return nil, "", fmt.Errorf("file %s of message %s: %w", f.id, msgID, err)
		}
		// The type the platform announced beats the download's (often application/octet-stream).
		contentType := f.contentType
		if contentType == "" {
			contentType = fetchedType
		}
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		budget -= int64(len(data))
		out = append(out, &sdk.Attachment{Name: fileName(f.name, f.id, contentType), ContentType: contentType, Size: int64(len(data)), Data: data})
	}
	return out, strings.Join(notes, "\n"), nil
}

// download fetches a file, with the bearer token when one is given, refusing more than limit
// bytes. A 403, 404 or 410 answer is errGone; other failures are worth another try.
func (p *social) download(ctx context.Context, raw, bearer string, limit int64) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, "", fmt.Errorf("%w: bad address: %v", errGone, bareError(err))
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := p.files.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("download: %w", bareError(err))
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusForbidden || res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return nil, "", fmt.Errorf("%w: download answered %s", errGone, res.Status)
	case res.StatusCode != http.StatusOK:
		return nil, "", fmt.Errorf("download answered %s", res.Status)
	case res.ContentLength > limit:
		return nil, "", errTooBig
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		return nil, "", fmt.Errorf("download: %w", bareError(err))
	}
	if int64(len(data)) > limit {
		return nil, "", errTooBig
	}
	contentType, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	return data, contentType, nil
}

// bareError drops the request URL from an HTTP client error: the URL may carry a token.
func bareError(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

// extensions are file name endings for the types platforms send without a name.
var extensions = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/gif": ".gif",
	"audio/ogg": ".ogg", "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/aac": ".aac", "audio/amr": ".amr",
	"video/mp4": ".mp4", "video/3gpp": ".3gp", "application/pdf": ".pdf",
}

// fileName is the name to show for a file: its own, or one made of its id and type.
func fileName(name, id, contentType string) string {
	name = strings.TrimSpace(path.Base(strings.ReplaceAll(name, "\\", "/")))
	if name != "" && name != "." && name != "/" {
		return name
	}
	kind, _, _ := strings.Cut(contentType, "/")
	if kind == "" || kind == "application" {
		kind = "file"
	}
	return kind + "-" + id + extensions[contentType]
}
