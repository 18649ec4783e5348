package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/matrix-org/gomatrix"
)

const (
	clientPrefix = "/_matrix/client/v3"
	mediaPrefix  = "/_matrix/media/v3"
	// requestTimeout bounds one client-server request; syncs add their long-poll time to it.
	requestTimeout = 30 * time.Second
	syncTimeout    = 25 * time.Second
)

// homeserver is the bridge's side of the client-server API: every request carries the as_token
// and, when made for a ghost, the ghost's user id (identity assertion).
type homeserver struct {
	base      *url.URL
	asToken   string
	botID     string
	transport http.RoundTripper
}

func newHomeserver(s *settings) (*homeserver, error) {
	u, err := url.Parse(s.HomeserverURL)
	if err != nil {
		return nil, err
	}
	return &homeserver{base: u, asToken: s.ASToken, botID: s.botID(), transport: http.DefaultTransport}, nil
}

// as is a client acting as userID (the bot, or a ghost through identity assertion) whose
// requests end with ctx.
func (h *homeserver) as(ctx context.Context, userID string) *gomatrix.Client {
	return h.asWithin(ctx, userID, requestTimeout)
}

func (h *homeserver) asWithin(ctx context.Context, userID string, timeout time.Duration) *gomatrix.Client {
	cli := &gomatrix.Client{
		HomeserverURL: h.base,
		Prefix:        clientPrefix,
		UserID:        userID,
		AccessToken:   h.asToken,
		Client:        &http.Client{Transport: ctxTransport{ctx: ctx, next: h.transport}, Timeout: timeout},
	}
	if userID != h.botID {
		cli.AppServiceUserID = userID
	}
	return cli
}

// ctxTransport gives gomatrix's context-free requests the caller's context, so a shutdown or a
// caller's deadline ends them.
type ctxTransport struct {
	ctx  context.Context
	next http.RoundTripper
}

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return t.next.RoundTrip(r.WithContext(t.ctx))
}

// errcode returns the HTTP status and Matrix errcode of a failed request (0, "" for others).
func errcode(err error) (int, string) {
	var he gomatrix.HTTPError
	if !errors.As(err, &he) {
		return 0, ""
	}
	var re gomatrix.RespError
	if errors.As(he.WrappedError, &re) {
		return he.Code, re.ErrCode
	}
	var body gomatrix.RespError
	_ = json.Unmarshal(he.Contents, &body)
	return he.Code, body.ErrCode
}

// refused reports whether the homeserver refused a request for good (a 4xx other than rate
// limiting), as opposed to failing now.
func refused(err error) bool {
	status, _ := errcode(err)
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests
}

// register creates a user in the appservice's namespace; an existing one is fine.
func (h *homeserver) register(ctx context.Context, localpart string) error {
	cli := h.as(ctx, h.botID)
	req := map[string]any{"type": "m.login.application_service", "username": localpart, "inhibit_login": true}
	err := cli.MakeRequest(http.MethodPost, cli.BuildURL("register"), req, nil)
	if _, code := errcode(err); code == "M_USER_IN_USE" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("register %s: %w", localpart, err)
	}
	return nil
}

// send puts one event into a room with the given transaction id; the homeserver answers a
// repeated transaction id with the first event instead of sending another.
func (h *homeserver) send(ctx context.Context, userID, roomID, eventType, txn string, content any) (string, error) {
	cli := h.as(ctx, userID)
	var resp gomatrix.RespSendEvent
	if err := cli.MakeRequest(http.MethodPut, cli.BuildURL("rooms", roomID, "send", eventType, txn), content, &resp); err != nil {
		return "", fmt.Errorf("send %s to %s as %s: %w", eventType, roomID, userID, err)
	}
	return resp.EventID, nil
}

// directRooms reads a user's m.direct account data: user id → DM room ids.
func (h *homeserver) directRooms(ctx context.Context, userID string) (map[string][]string, error) {
	cli := h.as(ctx, userID)
	direct := map[string][]string{}
	err := cli.MakeRequest(http.MethodGet, cli.BuildURL("user", userID, "account_data", "m.direct"), nil, &direct)
	if _, code := errcode(err); code == "M_NOT_FOUND" {
		return map[string][]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read m.direct of %s: %w", userID, err)
	}
	return direct, nil
}

func (h *homeserver) setDirectRooms(ctx context.Context, userID string, direct map[string][]string) error {
	cli := h.as(ctx, userID)
	if err := cli.MakeRequest(http.MethodPut, cli.BuildURL("user", userID, "account_data", "m.direct"), direct, nil); err != nil {
		return fmt.Errorf("write m.direct of %s: %w", userID, err)
	}
	return nil
}

// resolveAlias returns the room an alias points to ("" when none does).
func (h *homeserver) resolveAlias(ctx context.Context, alias string) (string, error) {
	cli := h.as(ctx, h.botID)
	var resp struct {
		RoomID string `json:"room_id"`
	}
	err := cli.MakeRequest(http.MethodGet, cli.BuildURL("directory", "room", alias), nil, &resp)
	if status, _ := errcode(err); status == http.StatusNotFound {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", alias, err)
	}
	return resp.RoomID, nil
}

// presence reads a user's presence ("online", "unavailable", "offline") and status message.
func (h *homeserver) presence(ctx context.Context, userID string) (string, string, error) {
	resp, err := h.as(ctx, h.botID).GetStatus(userID)
	if err != nil {
		return "", "", fmt.Errorf("read presence of %s: %w", userID, err)
	}
	return resp.Presence, resp.StatusMsg, nil
}

// displayName reads a user's display name ("" when they have none).
func (h *homeserver) displayName(ctx context.Context, userID string) string {
	resp, err := h.as(ctx, h.botID).GetDisplayName(userID)
	if err != nil {
		return ""
	}
	return resp.DisplayName
}

// errTooLarge says a file exceeds max_attachment_bytes.
var errTooLarge = errors.New("file is larger than max_attachment_bytes")

// download fetches an mxc:// file, refusing to read more than max bytes.
func (h *homeserver) download(ctx context.Context, mxc string, max int64) ([]byte, string, error) {
	rest, ok := strings.CutPrefix(mxc, "mxc://")
	server, media, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || server == "" || media == "" || strings.ContainsAny(media, "/?#") {
		return nil, "", fmt.Errorf("not an mxc:// URI: %q", mxc)
	}
	u := *h.base
	u.Path = strings.TrimRight(u.Path, "/") + mediaPrefix + "/download/" + url.PathEscape(server) + "/" + url.PathEscape(media)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+h.asToken)
	resp, err := (&http.Client{Transport: h.transport, Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("download %s: %w", mxc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("download %s: %w", mxc, gomatrix.HTTPError{Code: resp.StatusCode, Message: resp.Status})
	}
	if resp.ContentLength > max {
		return nil, "", errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, "", fmt.Errorf("download %s: %w", mxc, err)
	}
	if int64(len(data)) > max {
		return nil, "", errTooLarge
	}
	return data, resp.Header.Get("Content-Type"), nil
}

// upload stores a file in the media repository as userID and returns its mxc:// URI.
func (h *homeserver) upload(ctx context.Context, userID, name, contentType string, data []byte) (string, error) {
	u := *h.base
	u.Path = strings.TrimRight(u.Path, "/") + mediaPrefix + "/upload"
	q := url.Values{"filename": {name}, "user_id": {userID}}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+h.asToken)
	resp, err := (&http.Client{Transport: h.transport, Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return "", fmt.Errorf("upload %s: %w", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("upload %s: %w", name, gomatrix.HTTPError{Code: resp.StatusCode, Contents: body, Message: resp.Status})
	}
	var out gomatrix.RespMediaUpload
	if err := json.Unmarshal(body, &out); err != nil || out.ContentURI == "" {
		return "", fmt.Errorf("upload %s: no content_uri in %q", name, body)
	}
	return out.ContentURI, nil
}

// recentEvents returns up to limit of the newest events of a room, newest first.
func (h *homeserver) recentEvents(ctx context.Context, userID, roomID string, limit int) ([]gomatrix.Event, error) {
	cli := h.as(ctx, userID)
	var resp gomatrix.RespMessages
	u := cli.BuildURLWithQuery([]string{"rooms", roomID, "messages"}, map[string]string{"dir": "b", "limit": fmt.Sprint(limit)})
	if err := cli.MakeRequest(http.MethodGet, u, nil, &resp); err != nil {
		return nil, fmt.Errorf("read history of %s: %w", roomID, err)
	}
	return resp.Chunk, nil
}
