package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The Web API methods the bridge calls, with Slack's parameters, answers and error codes.

// answer is a Web API method: the request's parameters in, the answer's fields (without "ok")
// or an error code out.
type answer func(r *Request) (map[string]any, string)

// api wraps a method: it records the call, checks the bot token and writes Slack's envelope.
func (s *Server) api(method answer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		req := &Request{Method: name}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			req.JSON = body
		} else {
			req.Form, _ = url.ParseQuery(string(body))
			for k, v := range r.URL.Query() {
				req.Form[k] = v
			}
		}
		req.Token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if req.Token == "" && req.Form != nil {
			req.Token = req.Form.Get("token")
		}
		s.mu.Lock()
		s.requests = append(s.requests, *req)
		var code string
		if codes := s.fail[name]; len(codes) > 0 {
			code, s.fail[name] = codes[0], codes[1:]
		}
		s.mu.Unlock()
		switch {
		case code == "ratelimited":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case code != "":
		case req.Token == "":
			code = "not_authed"
		case strings.HasPrefix(req.Token, "xapp-"):
			code = "not_allowed_token_type"
		case req.Token != s.BotToken:
			code = "invalid_auth"
		}
		var fields map[string]any
		if code == "" {
			fields, code = method(req)
		}
		out := map[string]any{"ok": code == ""}
		if code != "" {
			out["error"] = code
		}
		for k, v := range fields {
			out[k] = v
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(out)
	}
}

func (s *Server) authTest(*Request) (map[string]any, string) {
	return map[string]any{"url": "https://fake.slack.test/", "team": "Fake", "user": "switchboard", "team_id": TeamID,
		"user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}, ""
}

func (s *Server) botsInfo(r *Request) (map[string]any, string) {
	if r.Form.Get("bot") != BotID {
		return nil, "bot_not_found"
	}
	return map[string]any{"bot": map[string]any{"id": BotID, "deleted": false, "name": "switchboard", "updated": 1700000000,
		"app_id": AppID, "user_id": BotUserID, "icons": map[string]string{}}}, ""
}

func (s *Server) conversationsOpen(r *Request) (map[string]any, string) {
	users := strings.Split(r.Form.Get("users"), ",")
	if len(users) != 1 || users[0] == "" {
		return nil, "users_list_not_supplied"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[users[0]] == nil {
		return nil, "user_not_found"
	}
	_, already := s.dms[users[0]]
	return map[string]any{"no_op": already, "already_open": already, "channel": map[string]any{"id": s.dmLocked(users[0])}}, ""
}

func (s *Server) usersConversations(r *Request) (map[string]any, string) {
	if !strings.Contains(r.Form.Get("types"), "im") {
		return map[string]any{"channels": []any{}, "response_metadata": map[string]string{"next_cursor": ""}}, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var chans []map[string]any
	for user, ch := range s.dms {
		chans = append(chans, map[string]any{"id": ch, "is_im": true, "user": user, "created": 1700000000})
	}
	slices.SortFunc(chans, func(a, b map[string]any) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
	return map[string]any{"channels": orEmpty(chans), "response_metadata": map[string]string{"next_cursor": ""}}, ""
}

func orEmpty[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// page cuts a list by Slack's cursor and limit.
func page[T any](items []T, r *Request) ([]T, string) {
	start, _ := strconv.Atoi(r.Form.Get("cursor"))
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if start > len(items) {
		start = len(items)
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

// view is a message as history and replies show it: metadata only when asked for.
func view(m *Message, withMeta bool) Message {
	out := *m
	if !withMeta {
		out.Metadata = nil
	}
	return out
}

func (s *Server) conversationsHistory(r *Request) (map[string]any, string) {
	ch := r.Form.Get("channel")
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, ok := s.messages[ch]
	if !ok && !s.isDM(ch) {
		return nil, "channel_not_found"
	}
	withMeta := r.Form.Get("include_all_metadata") == "1" || r.Form.Get("include_all_metadata") == "true"
	var top []Message
	for i := len(msgs) - 1; i >= 0; i-- { // newest first
		m := msgs[i]
		if m.ThreadTS == "" || m.ThreadTS == m.TS || m.Subtype == "thread_broadcast" {
			top = append(top, view(m, withMeta))
		}
	}
	got, next := page(top, r)
	return map[string]any{"messages": orEmpty(got), "has_more": next != "", "response_metadata": map[string]string{"next_cursor": next}}, ""
}

func (s *Server) conversationsReplies(r *Request) (map[string]any, string) {
	ch, ts := r.Form.Get("channel"), r.Form.Get("ts")
	s.mu.Lock()
	defer s.mu.Unlock()
	withMeta := r.Form.Get("include_all_metadata") == "1" || r.Form.Get("include_all_metadata") == "true"
	var thread []Message
	for _, m := range s.messages[ch] {
		if m.TS == ts || m.ThreadTS == ts {
			thread = append(thread, view(m, withMeta))
		}
	}
	if len(thread) == 0 {
		return nil, "thread_not_found"
	}
	got, next := page(thread, r)
	return map[string]any{"messages": got, "has_more": next != "", "response_metadata": map[string]string{"next_cursor": next}}, ""
}

func (s *Server) isDM(ch string) bool {
	for _, c := range s.dms {
		if c == ch {
			return true
		}
	}
	return false
}

func (s *Server) userOfDM(ch string) string {
	for u, c := range s.dms {
		if c == ch {
			return u
		}
	}
	return ""
}

func (s *Server) chatPostMessage(r *Request) (map[string]any, string) {
	f := r.Form
	m := &Message{Type: "message", User: BotUserID, BotID: BotID, AppID: AppID, Text: f.Get("text"),
		ThreadTS: f.Get("thread_ts"), Username: f.Get("username"), IconURL: f.Get("icon_url")}
	if m.Username != "" {
		m.Subtype = "bot_message"
	}
	if b := f.Get("blocks"); b != "" {
		var blocks []map[string]any
		if json.Unmarshal([]byte(b), &blocks) != nil || len(blocks) > 50 || !validBlocks(blocks) {
			return nil, "invalid_blocks"
		}
		m.Blocks = json.RawMessage(b)
	}
	if m.Text == "" && len(m.Blocks) == 0 {
		return nil, "no_text"
	}
	if len(m.Text) > 40000 {
		return nil, "msg_too_long"
	}
	if md := f.Get("metadata"); md != "" {
		var meta Metadata
		if json.Unmarshal([]byte(md), &meta) != nil || meta.EventType == "" {
			return nil, "invalid_metadata_format"
		}
		m.Metadata = &meta
	}
	ch := f.Get("channel")
	s.mu.Lock()
	if !s.isDM(ch) {
		s.mu.Unlock()
		return nil, "channel_not_found"
	}
	if m.ThreadTS != "" && !s.hasTS(ch, m.ThreadTS) {
		s.mu.Unlock()
		return nil, "invalid_thread_ts"
	}
	m.TS = s.nextTS()
	s.messages[ch] = append(s.messages[ch], m)
	user := s.userOfDM(ch)
	echo := *m
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-s.ctx.Done():
		}
	}
	// Slack tells the app about its own posts in a DM too: the bridge must not import them.
	s.echo(ch, user, echo)
	return map[string]any{"channel": ch, "ts": m.TS, "message": m}, ""
}

// validBlocks checks what Slack checks of a rich_text block: known container and element types.
func validBlocks(blocks []map[string]any) bool {
	containers := map[string]bool{"rich_text_section": true, "rich_text_list": true, "rich_text_preformatted": true, "rich_text_quote": true}
	inline := map[string]bool{"text": true, "link": true, "emoji": true, "user": true, "channel": true, "usergroup": true, "broadcast": true, "date": true, "color": true}
	for _, b := range blocks {
		if b["type"] != "rich_text" {
			continue
		}
		els, _ := b["elements"].([]any)
		if len(els) == 0 {
			return false
		}
		for _, e := range els {
			c, _ := e.(map[string]any)
			if !containers[fmt.Sprint(c["type"])] {
				return false
			}
			items, ok := c["elements"].([]any)
			if !ok {
				return false
			}
			for _, it := range items {
				el, _ := it.(map[string]any)
				typ := fmt.Sprint(el["type"])
				if c["type"] == "rich_text_list" {
					if typ != "rich_text_section" {
						return false
					}
					continue
				}
				if !inline[typ] || (typ == "text" && el["text"] == "") || (typ == "link" && el["url"] == "") {
					return false
				}
			}
		}
	}
	return true
}

func (s *Server) hasTS(ch, ts string) bool {
	for _, m := range s.messages[ch] {
		if m.TS == ts {
			return true
		}
	}
	return false
}

func (s *Server) chatPostEphemeral(r *Request) (map[string]any, string) {
	f := r.Form
	if f.Get("text") == "" && f.Get("blocks") == "" {
		return nil, "no_text"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.isDM(f.Get("channel")) {
		return nil, "channel_not_found"
	}
	if s.users[f.Get("user")] == nil {
		return nil, "user_not_in_channel"
	}
	s.ephemeral = append(s.ephemeral, Ephemeral{Channel: f.Get("channel"), User: f.Get("user"), Text: f.Get("text"), ThreadTS: f.Get("thread_ts")})
	return map[string]any{"message_ts": s.nextTS()}, ""
}

func (s *Server) chatUpdate(r *Request) (map[string]any, string) {
	f := r.Form
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages[f.Get("channel")] {
		if m.TS == f.Get("ts") {
			if m.BotID != BotID {
				return nil, "cant_update_message"
			}
			m.Text = f.Get("text")
			if b := f.Get("blocks"); b != "" {
				m.Blocks = json.RawMessage(b)
			}
			return map[string]any{"channel": f.Get("channel"), "ts": m.TS, "text": m.Text}, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) viewsPublish(r *Request) (map[string]any, string) {
	var req struct {
		UserID string          `json:"user_id"`
		View   json.RawMessage `json:"view"`
	}
	if json.Unmarshal(r.JSON, &req) != nil || len(req.View) == 0 {
		return nil, "invalid_arguments"
	}
	var v struct {
		Type   string           `json:"type"`
		Blocks []map[string]any `json:"blocks"`
	}
	if json.Unmarshal(req.View, &v) != nil || v.Type != "home" || len(v.Blocks) > 100 {
		return nil, "invalid_arguments"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users[req.UserID] == nil {
		return nil, "user_not_found"
	}
	s.views[req.UserID] = append(s.views[req.UserID], req.View)
	return map[string]any{"view": map[string]any{"id": "V" + strconv.Itoa(len(s.views[req.UserID])), "type": "home", "blocks": v.Blocks}}, ""
}

func (s *Server) usersInfo(r *Request) (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[r.Form.Get("user")]
	if u == nil {
		return nil, "user_not_found"
	}
	return map[string]any{"user": map[string]any{"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.DisplayName, "is_bot": u.IsBot,
		"profile": map[string]any{"display_name": u.DisplayName, "real_name": u.DisplayName}}}, ""
}

func (s *Server) usersGetPresence(r *Request) (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[r.Form.Get("user")]
	if u == nil {
		return nil, "user_not_found"
	}
	return map[string]any{"presence": u.Presence}, ""
}

func (s *Server) filesInfo(r *Request) (map[string]any, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[r.Form.Get("file")]
	if f == nil {
		return nil, "file_not_found"
	}
	return map[string]any{"file": f.obj, "comments": []any{}, "paging": map[string]int{"count": 0, "total": 0, "page": 1, "pages": 1}}, ""
}

// download serves url_private: the file with the bot token, Slack's sign-in page without.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	id := strings.Split(strings.TrimPrefix(r.URL.Path, "/files-pri/"), "/")[0]
	id = id[strings.LastIndexByte(id, '-')+1:]
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: "files-pri", Token: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
	f := s.files[id]
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.BotToken {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><html><body>Sign in to Slack</body></html>")
		return
	}
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.obj.Mimetype)
	w.Write(f.data)
}

func (s *Server) appsConnectionsOpen(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: "apps.connections.open", Token: token})
	s.mu.Unlock()
	out := map[string]any{"ok": true, "url": "ws://" + s.host() + "/link/?ticket=" + strconv.FormatInt(time.Now().UnixNano(), 36) + "&app_id=" + AppID}
	switch {
	case token == "":
		out = map[string]any{"ok": false, "error": "not_authed"}
	case strings.HasPrefix(token, "xoxb-"):
		out = map[string]any{"ok": false, "error": "not_allowed_token_type"}
	case token != s.AppToken:
		out = map[string]any{"ok": false, "error": "invalid_auth"}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(out)
}
