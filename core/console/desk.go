package console

import (
	"bytes"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/core/hub"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

func (s *Server) directory(w http.ResponseWriter, r *http.Request, c caller) {
	d, err := s.opts.Hub.Directory(c.tenant)
	s.answer(w, d, err)
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request, c caller) {
	list, err := s.opts.Hub.Agents(r.Context(), c.tenant, c.userID)
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": list})
}

func (s *Server) startChat(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Username string `json:"username"`
	}
	if !decode(w, r, &req) {
		return
	}
	v, err := s.opts.Hub.StartChat(r.Context(), c.tenant, c.userID, req.Username)
	s.answer(w, v, err)
}

func (s *Server) experts(w http.ResponseWriter, r *http.Request, c caller) {
	list, err := s.opts.Hub.Experts(r.Context(), c.tenant, c.userID)
	s.answer(w, map[string]any{"experts": list}, err)
}

func (s *Server) startExpertChat(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Expert string `json:"expert"`
	}
	if !decode(w, r, &req) {
		return
	}
	v, err := s.opts.Hub.StartExpertChat(r.Context(), c.tenant, c.userID, r.PathValue("instance"), req.Expert)
	s.answer(w, v, err)
}

// file sends a stored attachment as a download: never rendered by the browser in the console's
// origin, whatever its type says.
func (s *Server) file(w http.ResponseWriter, r *http.Request, c caller) {
	f, err := s.opts.Hub.File(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	ctype := f.ContentType
	if _, _, err := mime.ParseMediaType(ctype); err != nil || ctype == "" {
		ctype = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.FormatInt(int64(len(f.Data)), 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(f.Data)
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Seq int64 `json:"seq"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.answer(w, nil, s.opts.Hub.MarkRead(r.Context(), c.tenant, c.userID, r.PathValue("id"), req.Seq))
}

func (s *Server) supervise(w http.ResponseWriter, r *http.Request, c caller) {
	sup, err := s.opts.Hub.Supervise(r.Context(), c.tenant, c.userID)
	s.answer(w, sup, err)
}

func (s *Server) transcripts(w http.ResponseWriter, r *http.Request, c caller) {
	var before time.Time
	if b := r.URL.Query().Get("before"); b != "" {
		t, err := time.Parse(time.RFC3339Nano, b)
		if err != nil {
			writeError(w, http.StatusBadRequest, "before must be an RFC 3339 time such as 2026-11-21T16:00:00Z")
			return
		}
		before = t
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := s.opts.Hub.Transcripts(r.Context(), c.tenant, c.userID, before, limit)
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": list})
}

func (s *Server) customer(w http.ResponseWriter, r *http.Request, c caller) {
	card, err := s.opts.Hub.Customer(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	s.answer(w, card, err)
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request, c caller) {
	var req hub.CustomerFields
	if !decode(w, r, &req) {
		return
	}
	card, err := s.opts.Hub.CreateCustomer(r.Context(), c.tenant, c.userID, r.PathValue("id"), req)
	s.answer(w, card, err)
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request, c caller) {
	var req struct {
		Subject        string `json:"subject"`
		Notes          string `json:"notes"`
		ConversationID string `json:"conversation_id"`
	}
	if !decode(w, r, &req) {
		return
	}
	k, err := s.opts.Hub.CreateCase(r.Context(), c.tenant, c.userID, r.PathValue("id"), req.ConversationID, req.Subject, req.Notes)
	s.answer(w, k, err)
}

// transcript downloads a whole conversation as plain text or as a self-contained HTML page.
func (s *Server) transcript(w http.ResponseWriter, r *http.Request, c caller) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "text"
	}
	if format != "text" && format != "html" {
		writeError(w, http.StatusBadRequest, "format must be text or html")
		return
	}
	v, msgs, err := s.opts.Hub.Transcript(r.Context(), c.tenant, c.userID, r.PathValue("id"))
	if err != nil {
		writeHubError(w, s.opts.Logger, err)
		return
	}
	var buf bytes.Buffer
	ext, ctype := "txt", "text/plain; charset=utf-8"
	if format == "html" {
		ext, ctype = "html", "text/html; charset=utf-8"
		err = transcriptHTML(&buf, v, msgs)
	} else {
		transcriptText(&buf, v, msgs)
	}
	if err != nil {
		writeServerError(w, s.opts.Logger, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="transcript-%s.%s"`, safeName(v.ID), ext))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Write(buf.Bytes())
}

func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, id)
}

const stamp = "2006-01-02 15:04:05 MST"

type transcriptLine struct{ label, value string }

func transcriptHeader(v hub.ConversationView) []transcriptLine {
	who := v.Customer.DisplayName
	if v.Peer != nil {
		who = v.Peer.DisplayName
	} else if v.Customer.Email != "" && !strings.Contains(who, v.Customer.Email) {
		who += " <" + v.Customer.Email + ">"
	}
	lines := []transcriptLine{{"Conversation", v.ID}, {"With", who}, {"Channel", v.Channel}}
	if v.Queue != "" {
		lines = append(lines, transcriptLine{"Queue", v.Queue})
	}
	if v.AgentName != "" {
		lines = append(lines, transcriptLine{"Agent", v.AgentName})
	}
	lines = append(lines, transcriptLine{"Started", v.CreatedAt.UTC().Format(stamp)})
	if v.EndedAt != nil {
		lines = append(lines, transcriptLine{"Ended", v.EndedAt.UTC().Format(stamp)})
	}
	if v.Disposition != "" {
		lines = append(lines, transcriptLine{"Disposition", v.Disposition})
	}
	if v.Notes != "" {
		lines = append(lines, transcriptLine{"Notes", v.Notes})
	}
	return lines
}

func sender(m hub.MessageView) string {
	if m.SenderName != "" {
		return m.SenderName
	}
	return m.SenderKind
}

func transcriptText(buf *bytes.Buffer, v hub.ConversationView, msgs []hub.MessageView) {
	buf.WriteString("Switchboard transcript\n")
	for _, l := range transcriptHeader(v) {
		fmt.Fprintf(buf, "%s: %s\n", l.label, l.value)
	}
	buf.WriteString("\n")
	for _, m := range msgs {
		text := strings.TrimSpace(m.Text)
		if text == "" {
			text = richtext.ToText(m.HTML)
		}
		fmt.Fprintf(buf, "[%s] %s: %s\n", m.CreatedAt.UTC().Format("15:04:05"), sender(m), strings.ReplaceAll(text, "\n", "\n    "))
		for _, a := range m.Attachments {
			fmt.Fprintf(buf, "    attachment: %s (%d bytes) %s\n", a.Name, a.Size, a.URL)
		}
	}
}

var transcriptPage = template.Must(template.New("t").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Transcript {{.ID}}</title>
<style>
body{font:14px/1.5 system-ui,sans-serif;color:#1c2330;max-width:760px;margin:32px auto;padding:0 16px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;color:#475467}dt{font-weight:600}dd{margin:0}
ol{list-style:none;padding:0}li{margin:10px 0;padding:8px 12px;border-radius:10px;background:#f1f3f7}
li.agent{background:#e8eeff}li.system{background:none;color:#667085;font-size:12px}
.meta{font-size:12px;color:#667085}.meta b{color:#1c2330}
</style></head><body>
<h1>Transcript</h1>
<dl>{{range .Header}}<dt>{{.Label}}</dt><dd>{{.Value}}</dd>{{end}}</dl>
<ol>{{range .Messages}}<li class="{{.Kind}}"><div class="meta"><b>{{.From}}</b> · {{.At}}</div><div>{{.HTML}}</div>{{range .Attachments}}<div class="meta">attachment: {{.Name}} ({{.Size}} bytes)</div>{{end}}</li>{{end}}</ol>
</body></html>
`))

func transcriptHTML(buf *bytes.Buffer, v hub.ConversationView, msgs []hub.MessageView) error {
	type line struct{ Label, Value string }
	type msg struct {
		Kind, From, At string
		HTML           template.HTML
		Attachments    any
	}
	data := struct {
		ID       string
		Header   []line
		Messages []msg
	}{ID: v.ID}
	for _, l := range transcriptHeader(v) {
		data.Header = append(data.Header, line{l.label, l.value})
	}
	for _, m := range msgs {
		// The stored HTML was sanitized when it arrived; sanitizing again costs little and keeps
		// the download safe whatever wrote the store.
		data.Messages = append(data.Messages, msg{Kind: m.SenderKind, From: sender(m), At: m.CreatedAt.UTC().Format(stamp),
			HTML: template.HTML(richtext.Sanitize(m.HTML)), Attachments: m.Attachments})
	}
	return transcriptPage.Execute(buf, data)
}
