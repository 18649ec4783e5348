package telegramfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Updates: what customers do, made into Bot API updates, and how they reach the bot (the
// getUpdates queue, or a webhook post).

// Text makes an update of the customer writing text in their private chat with the bot. It is
// not delivered yet: Queue it for getUpdates, or Post it to the webhook.
func (s *Server) Text(c Customer, text string) Update {
	return s.update(c, func(m *Message) { m.Text = text })
}

// Photo makes an update with a photo in two sizes (a thumbnail and data itself) and a caption.
func (s *Server) Photo(c Customer, caption string, data []byte) Update {
	thumb := s.AddFile([]byte("thumbnail of "+strconv.Itoa(len(data))+" bytes"), "photos/thumb.jpg")
	full := s.AddFile(data, "photos/file.jpg")
	return s.update(c, func(m *Message) {
		m.Caption = caption
		m.Photo = []PhotoSize{
			{FileID: thumb.FileID, FileUniqueID: thumb.FileUniqueID, Width: 90, Height: 60, FileSize: thumb.FileSize},
			{FileID: full.FileID, FileUniqueID: full.FileUniqueID, Width: 1280, Height: 853, FileSize: full.FileSize},
		}
	})
}

// Document makes an update with a file.
func (s *Server) Document(c Customer, name, mimeType string, data []byte, caption string) Update {
	f := s.AddFile(data, "documents/"+name)
	return s.update(c, func(m *Message) {
		m.Caption = caption
		m.Document = &Document{FileID: f.FileID, FileUniqueID: f.FileUniqueID, FileName: name, MimeType: mimeType, FileSize: f.FileSize}
	})
}

// Sticker makes an update with a sticker.
func (s *Server) Sticker(c Customer) Update {
	f := s.AddFile([]byte("webp"), "stickers/file.webp")
	return s.update(c, func(m *Message) {
		m.Sticker = &Sticker{FileID: f.FileID, FileUniqueID: f.FileUniqueID, Type: "regular", Width: 512, Height: 512}
	})
}

// AddFile stores a file the bot may getFile and download.
func (s *Server) AddFile(data []byte, path string) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.files) + 1
	f := File{FileID: fmt.Sprintf("AgACAgQAAxkBAAI%06d", n), FileUniqueID: fmt.Sprintf("AQAD%06d", n), FileSize: int64(len(data)),
		FilePath: strings.Replace(path, ".", fmt.Sprintf("_%d.", n), 1)}
	s.files[f.FileID] = &file{obj: f, data: data}
	return f
}

func (s *Server) update(c Customer, fill func(*Message)) Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chatLocked(c)
	ch.nextMsg++
	user := &User{ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Username: c.Username, LanguageCode: c.LanguageCode}
	m := &Message{MessageID: ch.nextMsg, From: user, Date: time.Now().Unix(),
		Chat: Chat{ID: c.ID, Type: "private", Username: c.Username, FirstName: c.FirstName, LastName: c.LastName}}
	fill(m)
	u := Update{UpdateID: s.nextID, Message: m}
	s.nextID++
	return u
}

func (s *Server) chatLocked(c Customer) *chat {
	ch := s.chats[c.ID]
	if ch == nil {
		ch = &chat{user: c}
		s.chats[c.ID] = ch
	}
	return ch
}

// Queue makes updates available to getUpdates.
func (s *Server) Queue(updates ...Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, updates...)
	s.changedLocked()
}

// Post sends an update to the webhook setWebhook stored, with its secret token, as Telegram
// does, and returns the webhook's HTTP status.
func (s *Server) Post(ctx context.Context, u Update) (int, error) {
	wh := s.Webhook()
	if wh.URL == "" {
		return 0, fmt.Errorf("telegramfake: no webhook is set")
	}
	body, _ := json.Marshal(u)
	return PostRaw(ctx, wh.URL, wh.SecretToken, body)
}

// PostRaw posts a body to a webhook URL with the secret token header ("" sends none), as
// Telegram does, and returns the HTTP status.
func PostRaw(ctx context.Context, webhookURL, secret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
