package main

import (
	"context"
	"embed"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

//go:embed static
var static embed.FS

const version = "1.0.0"

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "title": {"type": "string", "description": "Heading of the chat window", "default": "Chat with us"},
    "default_queue": {"type": "string", "description": "Queue for chats that name none; empty = the tenant's default queue"},
    "greeting": {"type": "string", "description": "First line the customer sees"},
    "max_frame_bytes": {"type": "integer", "minimum": 256, "maximum": 1048576, "default": 16384, "description": "Largest customer WebSocket frame"},
    "max_message_chars": {"type": "integer", "minimum": 1, "maximum": 20000, "default": 4000},
    "messages_per_second": {"type": "number", "exclusiveMinimum": 0, "default": 3, "description": "Sustained messages one customer connection may send; more are refused with a reason"},
    "message_burst": {"type": "integer", "minimum": 1, "default": 20, "description": "Messages a customer may send at once before the rate applies"},
    "offline_ttl": {"type": "string", "description": "How long events wait for a disconnected customer before they are refused (Go duration)", "default": "10m"},
    "allowed_origins": {"type": "array", "items": {"type": "string"}, "description": "Host patterns of sites that may embed the widget; empty allows every site"}
  }
}`

// settings is the instance configuration.
type settings struct {
	Title           string   `json:"title"`
	DefaultQueue    string   `json:"default_queue"`
	Greeting        string   `json:"greeting"`
	MaxFrameBytes   int64    `json:"max_frame_bytes"`
	MaxMessageChars int      `json:"max_message_chars"`
	MessagesPerSec  float64  `json:"messages_per_second"`
	MessageBurst    int      `json:"message_burst"`
	OfflineTTL      string   `json:"offline_ttl"`
	AllowedOrigins  []string `json:"allowed_origins"`

	offlineTTL time.Duration
}

func (s *settings) check() error {
	var errs sdk.ConfigError
	if s.Title == "" {
		s.Title = "Chat with us"
	}
	if s.MaxFrameBytes == 0 {
		s.MaxFrameBytes = 16 << 10
	}
	if s.MaxFrameBytes < 256 || s.MaxFrameBytes > 1<<20 {
		errs = append(errs, sdk.FieldError{Path: "max_frame_bytes", Message: "must be between 256 and 1048576"})
	}
	if s.MaxMessageChars == 0 {
		s.MaxMessageChars = 4000
	}
	if s.MaxMessageChars < 1 || s.MaxMessageChars > 20000 {
		errs = append(errs, sdk.FieldError{Path: "max_message_chars", Message: "must be between 1 and 20000"})
	}
	if s.MessagesPerSec == 0 {
		s.MessagesPerSec = 3
	}
	if s.MessagesPerSec < 0 {
		errs = append(errs, sdk.FieldError{Path: "messages_per_second", Message: "must be greater than 0"})
	}
	if s.MessageBurst == 0 {
		s.MessageBurst = 20
	}
	if s.MessageBurst < 0 {
		errs = append(errs, sdk.FieldError{Path: "message_burst", Message: "must be at least 1"})
	}
	if s.OfflineTTL == "" {
		s.OfflineTTL = "10m"
	}
	d, err := time.ParseDuration(s.OfflineTTL)
	if err != nil || d <= 0 {
		errs = append(errs, sdk.FieldError{Path: "offline_ttl", Message: fmt.Sprintf("must be a positive duration like 10m, not %q", s.OfflineTTL)})
	}
	s.offlineTTL = d
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// webchat is the plugin: customers' WebSockets on one side, the hub on the other.
type webchat struct {
	cfg       settings
	publicURL string
	host      sdk.Host
	// ready is closed once Run has the host.
	ready chan struct{}

	mu        sync.Mutex
	customers map[string]*customer
}

func newWebchat() *webchat {
	return &webchat{ready: make(chan struct{}), customers: map[string]*customer{}}
}

func (w *webchat) Describe() sdk.Description {
	return sdk.Description{
		Name:         "webchat",
		Version:      version,
		Summary:      "Web chat: an embeddable widget and a customer WebSocket",
		Capabilities: []string{"typing", "rich_text", "http"},
		ConfigSchema: configSchema,
	}
}

func (w *webchat) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	w.cfg = s
	w.publicURL = cfg.PublicURL
	return &sdk.Configured{Handler: w.routes()}, nil
}

func (w *webchat) Run(ctx context.Context, host sdk.Host) error {
	w.host = host
	close(w.ready)
	host.Logger().Info("web chat ready", "widget", w.publicURL+"widget.js", "demo", w.publicURL+"demo")
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			w.closeAll()
			return nil
		case <-tick.C:
			w.forgetIdle()
		}
	}
}

func (w *webchat) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget.js", w.serveStatic("static/widget.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /demo", w.serveStatic("static/demo.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /ws", w.serveWS)
	mux.HandleFunc("GET /config.json", w.serveConfig)
	mux.HandleFunc("GET /availability", w.serveAvailability)
	return mux
}

func (w *webchat) serveStatic(name, contentType string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		data, err := static.ReadFile(name)
		if err != nil {
			http.Error(rw, "not found", http.StatusNotFound)
			return
		}
		rw.Header().Set("Content-Type", contentType)
		rw.Header().Set("X-Content-Type-Options", "nosniff")
		if contentType[:9] == "text/html" {
			rw.Header().Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'")
		}
		rw.Write(data)
	}
}

func main() {
	sdk.ServeChannel(newWebchat())
}
