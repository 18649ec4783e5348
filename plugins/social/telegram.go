package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Telegram Bot API (https://core.telegram.org/bots/api): updates arrive by webhook (with the
// secret_token header) or by long polling getUpdates; replies go out with sendMessage.
const (
	telegramMaxText = 4096
	// telegramWebhookPath is where Telegram posts updates, under the instance's public URL.
	telegramWebhookPath = "telegram/webhook"
)

type telegram struct {
	p   *social
	cfg *telegramSettings
	api *http.Client
}

func newTelegram(p *social, cfg *telegramSettings) *telegram {
	// Long polls last poll_timeout; the client's own timeout only catches a dead connection.
	return &telegram{p: p, cfg: cfg, api: &http.Client{Timeout: cfg.pollTimeout + 30*time.Second}}
}

func (t *telegram) kind() string { return "telegram" }
func (t *telegram) self() string { return t.cfg.botID }
func (t *telegram) maxText() int { return telegramMaxText }

func (t *telegram) routes(mux *http.ServeMux) {
	if t.cfg.Mode == "webhook" {
		mux.HandleFunc("POST /"+telegramWebhookPath, t.p.webhook(t.serveWebhook))
	}
}

// run registers the webhook, or reads updates by long polling.
func (t *telegram) run(ctx context.Context) {
	if t.cfg.Mode == "webhook" {
		t.setWebhook(ctx)
		return
	}
	t.poll(ctx)
}

// setWebhook points Telegram at the instance, retrying until Telegram accepts.
func (t *telegram) setWebhook(ctx context.Context) {
	url := t.p.cfg.PublicURL + telegramWebhookPath
	params := map[string]any{"url": url, "secret_token": t.cfg.WebhookSecret, "allowed_updates": []string{"message"}}
	for pause := time.Second; ; pause = backoff(pause, time.Minute) {
		err := t.call(ctx, "setWebhook", params, nil)
		if err == nil {
			t.p.problem("telegram", nil)
			t.p.log().Info("telegram webhook set", "url", url)
			return
		}
		if ctx.Err() != nil {
			return
		}
		t.p.problem("telegram", err)
		t.p.log().Error("telegram refused the webhook; trying again", "url", url, "error", err, "retry_in", pause)
		if !wait(ctx, pause) {
			return
		}
	}
}

// poll reads updates with getUpdates. The offset moves past an update only once the hub stored
// what it carried, so updates a crash interrupted come again (Telegram keeps unconfirmed updates
// for 24 hours); the hub drops the repeats by event id.
func (t *telegram) poll(ctx context.Context) {
	var offset int64
	webhookSet := true // until deleteWebhook said otherwise: getUpdates fails while one is set
	pause := time.Second
	fail := func(what string, err error) {
		t.p.problem("telegram", err)
		t.p.log().Warn("telegram "+what+" failed; trying again", "error", err, "retry_in", pause)
		wait(ctx, pause)
		pause = backoff(pause, time.Minute)
	}
	for ctx.Err() == nil {
		if webhookSet {
			if err := t.call(ctx, "deleteWebhook", map[string]any{"drop_pending_updates": false}, nil); err != nil {
				if ctx.Err() == nil {
					fail("deleteWebhook", err)
				}
				continue
			}
			webhookSet = false
			t.p.log().Info("telegram long polling started")
		}
		params := map[string]any{"timeout": int(t.cfg.pollTimeout / time.Second), "allowed_updates": []string{"message"}}
		if offset != 0 {
			params["offset"] = offset
		}
		var updates []json.RawMessage
		if err := t.call(ctx, "getUpdates", params, &updates); err != nil {
			if ctx.Err() != nil {
				return
			}
			var tgErr *telegramError
			if errors.As(err, &tgErr) && tgErr.Code == http.StatusConflict && strings.Contains(tgErr.Description, "webhook") {
				webhookSet = true // someone set a webhook since: polling takes over again
			}
			fail("getUpdates", err)
			continue
		}
		t.p.problem("telegram", nil)
		pause = time.Second
		for _, raw := range updates {
			id, err := t.handle(ctx, raw)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				// Not confirmed: the next getUpdates starts again at this update.
				fail("handling update "+strconv.FormatInt(id, 10), err)
				break
			}
			offset = id + 1
		}
	}
}

// handle hands one polled update to the hub. An update Telegram sent in a shape it should not
// have is skipped (logged and counted): asking for it again would bring the same.
func (t *telegram) handle(ctx context.Context, raw json.RawMessage) (int64, error) {
	u, err := parseUpdate(raw)
	if err != nil {
		var head struct {
			UpdateID int64 `json:"update_id"`
		}
		if json.Unmarshal(raw, &head) != nil || head.UpdateID <= 0 {
			return 0, fmt.Errorf("an update without update_id: %w", err)
		}
		t.p.count(refusedInbound, "malformed")
		t.p.log().Warn("telegram update skipped: malformed", "update_id", head.UpdateID, "error", err)
		return head.UpdateID, nil
	}
	return u.UpdateID, t.receive(ctx, u)
}

// serveWebhook takes an update Telegram posts: the secret token first, then the body.
func (t *telegram) serveWebhook(w http.ResponseWriter, r *http.Request) error {
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(t.cfg.WebhookSecret)) != 1 {
		return refuse(http.StatusForbidden, "forged_secret", "X-Telegram-Bot-Api-Secret-Token is missing or wrong")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	u, err := parseUpdate(body)
	if err != nil {
		return refuse(http.StatusBadRequest, "malformed", "not a Telegram update: "+err.Error())
	}
	if err := t.receive(r.Context(), u); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// Bot API objects, as far as the plugin reads them.
type (
	tgUpdate struct {
		UpdateID int64      `json:"update_id"`
		Message  *tgMessage `json:"message"`
	}
	tgMessage struct {
		MessageID int64         `json:"message_id"`
		From      *tgUser       `json:"from"`
		Chat      *tgChat       `json:"chat"`
		Date      int64         `json:"date"`
		Text      string        `json:"text"`
		Caption   string        `json:"caption"`
		Photo     []tgPhotoSize `json:"photo"`
		Document  *tgFile       `json:"document"`
		Audio     *tgFile       `json:"audio"`
		Voice     *tgFile       `json:"voice"`
		Video     *tgFile       `json:"video"`
	}
	tgUser struct {
		ID           int64  `json:"id"`
		Username     string `json:"username"`
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name"`
		LanguageCode string `json:"language_code"`
	}
	tgChat struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		Username  string `json:"username"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	tgPhotoSize struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		FileSize     int64  `json:"file_size"`
	}
	tgFile struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileName     string `json:"file_name"`
		MimeType     string `json:"mime_type"`
		FileSize     int64  `json:"file_size"`
	}
)

// parseUpdate decodes an update strictly: one JSON object with an update_id, and a message (if
// any) with its id, chat and date.
func parseUpdate(data []byte) (*tgUpdate, error) {
	var u tgUpdate
	if err := decodeOne(data, &u); err != nil {
		return nil, err
	}
	if u.UpdateID <= 0 {
		return nil, errors.New("update_id is missing")
	}
	if m := u.Message; m != nil {
		if m.MessageID <= 0 || m.Chat == nil || m.Chat.ID == 0 || m.Chat.Type == "" || m.Date <= 0 {
			return nil, errors.New("message without message_id, chat or date")
		}
	}
	return &u, nil
}

// receive hands a customer's message to the hub. Only private chats are conversations with a
// customer; other updates are acknowledged and left alone.
func (t *telegram) receive(ctx context.Context, u *tgUpdate) error {
	m := u.Message
	if m == nil {
		return nil
	}
	if m.Chat.Type != "private" {
		t.p.log().Info("telegram message outside a private chat ignored", "chat_type", m.Chat.Type, "update_id", u.UpdateID)
		return nil
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	id := "tg:" + chatID + ":" + strconv.FormatInt(m.MessageID, 10)
	if t.p.seen.Has(id) {
		return nil
	}
	text := m.Text
	if text == "" {
		text = m.Caption
	}
	var files []media
	if f := t.file(m); f != nil {
		files = append(files, *f)
	} else if text == "" {
		text = "[the customer sent something this channel cannot show: a sticker, a location or a contact]"
	}
	atts, note, err := t.p.fetchMedia(ctx, id, files)
	if err != nil {
		return err
	}
	text = joinLines(text, note)
	cust := &pb.Customer{Address: chatID, Nickname: m.Chat.Username, FirstName: m.Chat.FirstName, LastName: m.Chat.LastName}
	if from := m.From; from != nil {
		cust.Language = from.LanguageCode
		if cust.Nickname == "" && cust.FirstName == "" {
			cust.Nickname, cust.FirstName, cust.LastName = from.Username, from.FirstName, from.LastName
		}
	}
	return t.p.receive(ctx, inbound{
		key: t.p.keyOf(chatID), id: id, at: time.Unix(m.Date, 0), text: text, files: atts,
		customer: func(context.Context) *pb.Customer { return cust },
	})
}

// file is the message's photo (its largest size) or file, if it has one.
func (t *telegram) file(m *tgMessage) *media {
	if len(m.Photo) > 0 {
		best := m.Photo[0]
		for _, ps := range m.Photo[1:] {
			if ps.Width*ps.Height > best.Width*best.Height || (ps.Width*ps.Height == best.Width*best.Height && ps.FileSize > best.FileSize) {
				best = ps
			}
		}
		return t.media(tgFile{FileID: best.FileID, FileUniqueID: best.FileUniqueID, MimeType: "image/jpeg", FileSize: best.FileSize})
	}
	for _, f := range []*tgFile{m.Document, m.Video, m.Audio, m.Voice} {
		if f != nil && f.FileID != "" {
			return t.media(*f)
		}
	}
	return nil
}

func (t *telegram) media(f tgFile) *media {
	return &media{id: f.FileUniqueID, name: f.FileName, contentType: f.MimeType, size: f.FileSize,
		fetch: func(ctx context.Context, limit int64) ([]byte, string, error) {
			var file struct {
				FilePath string `json:"file_path"`
				FileSize int64  `json:"file_size"`
			}
			err := t.call(ctx, "getFile", map[string]any{"file_id": f.FileID}, &file)
			var tgErr *telegramError
			if errors.As(err, &tgErr) && tgErr.Code == http.StatusBadRequest {
				if strings.Contains(tgErr.Description, "too big") {
					return nil, "", errTooBig
				}
				return nil, "", fmt.Errorf("%w: getFile: %v", errGone, err)
			}
			if err != nil {
				return nil, "", err
			}
			if file.FileSize > limit {
				return nil, "", errTooBig
			}
			if file.FilePath == "" {
				return nil, "", fmt.Errorf("%w: getFile gave no file_path", errGone)
			}
			return t.p.download(ctx, t.cfg.APIBase+"/file/bot"+t.cfg.BotToken+"/"+file.FilePath, "", limit)
		}}
}

// send sends a text with sendMessage. Telegram refusing for good (the customer blocked the bot,
// the chat is gone) is a rejection; a rate limit or an outage is retried.
func (t *telegram) send(ctx context.Context, to, text, _ string) (string, error) {
	chatID, err := strconv.ParseInt(to, 10, 64)
	if err != nil {
		return "", sdk.Reject("%q is not a Telegram chat id", to)
	}
	var msg struct {
		MessageID int64 `json:"message_id"`
	}
	err = t.call(ctx, "sendMessage", map[string]any{"chat_id": chatID, "text": text}, &msg)
	var tgErr *telegramError
	if errors.As(err, &tgErr) {
		switch tgErr.Code {
		case http.StatusForbidden:
			return "", sdk.Reject("the customer blocked the bot or left Telegram, so Telegram refuses messages to them (%s)", tgErr.Description)
		case http.StatusBadRequest:
			return "", sdk.Reject("Telegram refused the message: %s", tgErr.Description)
		case http.StatusTooManyRequests:
			// Telegram says when it takes messages again; the SDK retries right after.
			wait(ctx, time.Duration(min(max(tgErr.RetryAfter, 1), 60))*time.Second)
		case http.StatusUnauthorized, http.StatusNotFound:
			t.p.problem("telegram", err)
		}
	}
	if err != nil {
		return "", err
	}
	t.p.problem("telegram", nil)
	return strconv.FormatInt(msg.MessageID, 10), nil
}

// telegramError is the Bot API's answer to a failed call.
type telegramError struct {
	Method      string
	Code        int
	Description string
	RetryAfter  int
}

func (e *telegramError) Error() string {
	s := fmt.Sprintf("telegram %s: %d %s", e.Method, e.Code, e.Description)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %d s)", e.RetryAfter)
	}
	return s
}

// call posts a Bot API method with JSON parameters and decodes its result into out. Errors never
// carry the request URL: it holds the bot token.
func (t *telegram) call(ctx context.Context, method string, params, out any) error {
	body, err := json.Marshal(params)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.cfg.APIBase+"/bot"+t.cfg.BotToken+"/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("telegram %s: bad api_base", method)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := t.api.Do(req)
	if err != nil {
		return fmt.Errorf("telegram %s: %w", method, bareError(err))
	}
	defer res.Body.Close()
	var answer struct {
		OK          bool            `json:"ok"`
		Result      json.RawMessage `json:"result"`
		ErrorCode   int             `json:"error_code"`
		Description string          `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&answer); err != nil {
		return fmt.Errorf("telegram %s: %s and no Bot API answer: %v", method, res.Status, err)
	}
	if !answer.OK {
		code := answer.ErrorCode
		if code == 0 {
			code = res.StatusCode
		}
		return &telegramError{Method: method, Code: code, Description: answer.Description, RetryAfter: answer.Parameters.RetryAfter}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(answer.Result, out); err != nil {
		return fmt.Errorf("telegram %s: unexpected result: %v", method, err)
	}
	return nil
}

// decodeOne decodes exactly one JSON value into v: truncated or trailing data is an error.
func decodeOne(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON value")
	}
	return nil
}
