package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
)

// lineLogger turns a plugin's stderr lines into records of the hub's log. JSON lines (what the
// SDK writes, and go-plugin's own hclog output) keep their level, message and attributes; any
// other line (a panic, a stray print) is logged as a warning so it is never hidden.
type lineLogger struct {
	log *slog.Logger
	// skipModule drops hclog records of this module prefix (go-plugin re-logs plugin lines that
	// the stderr path already handled).
	skipModule string
	// renameKeys renames record keys that would clash with the logger's own attributes.
	renameKeys map[string]string
	mu         sync.Mutex
	partial    []byte
	last       []string // the last few lines, for start errors
}

// tail returns the last lines the plugin wrote, joined.
func (l *lineLogger) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, " | ")
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(l.partial[:i])
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 { // a line that never ends is logged in pieces
		l.line(l.partial)
		l.partial = nil
	}
	return len(p), nil
}

func (l *lineLogger) line(raw []byte) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return
	}
	if len(l.last) == 5 {
		l.last = l.last[1:]
	}
	l.last = append(l.last, string(raw))
	var rec map[string]any
	if raw[0] != '{' || json.Unmarshal(raw, &rec) != nil {
		l.log.Warn("plugin output", "line", string(raw))
		return
	}
	if mod, _ := rec["@module"].(string); l.skipModule != "" && strings.HasPrefix(mod, l.skipModule) {
		return
	}
	msg, _ := rec["@message"].(string)
	levelText, _ := rec["@level"].(string)
	delete(rec, "@message")
	delete(rec, "@level")
	delete(rec, "@timestamp")
	delete(rec, "@module")
	delete(rec, "@caller")
	attrs := make([]slog.Attr, 0, len(rec))
	for k, v := range rec {
		if to, ok := l.renameKeys[k]; ok {
			k = to
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	l.log.LogAttrs(context.Background(), parseLevel(levelText), msg, attrs...)
}

func parseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "trace", "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}
