package main

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["server_url", "admin_token", "team"],
  "properties": {
    "server_url": {"type": "string", "format": "uri", "description": "Base address of the Mattermost server, e.g. https://chat.example.com"},
    "admin_token": {"type": "string", "description": "Personal access token of a Mattermost system admin; the bridge creates the agents' users and their tokens with it"},
    "team": {"type": "string", "description": "Name (the URL slug) of the team the agents' users join and whose members are the experts"},
    "username_prefix": {"type": "string", "pattern": "^[a-z0-9._-]{0,16}$", "default": "", "description": "Put before an agent's hub username to make their Mattermost username, e.g. agent- makes agent-alice"},
    "presence_interval": {"type": "string", "default": "1m", "description": "How often the agents' presence is set again on Mattermost (Go duration)"},
    "expert_poll_interval": {"type": "string", "default": "15s", "description": "How often the experts' presence is read from Mattermost (Go duration)"},
    "max_attachment_bytes": {"type": "integer", "minimum": 1, "maximum": 25165824, "default": 10485760, "description": "Largest file an expert can send to an agent; larger ones are refused with a note to the expert"},
    "experts": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "description": "Usernames of the experts whose presence agents see; empty: the team's members and everyone who writes to an agent"}
  }
}`

// Defaults and bounds of the configuration.
const (
	defaultPresenceInterval = time.Minute
	defaultExpertPoll       = 15 * time.Second
	defaultMaxAttachment    = 10 << 20
)

// settings is the instance configuration.
type settings struct {
	ServerURL          string   `json:"server_url"`
	AdminToken         string   `json:"admin_token"`
	Team               string   `json:"team"`
	UsernamePrefix     string   `json:"username_prefix"`
	PresenceInterval   string   `json:"presence_interval"`
	ExpertPollInterval string   `json:"expert_poll_interval"`
	MaxAttachmentBytes int64    `json:"max_attachment_bytes"`
	Experts            []string `json:"experts"`

	serverURL        string // without a trailing slash
	presenceInterval time.Duration
	expertPoll       time.Duration
}

var (
	prefixPattern   = regexp.MustCompile(`^[a-z0-9._-]{0,16}$`)
	usernamePattern = regexp.MustCompile(`^[a-z0-9._-]{1,64}$`)
)

// check fills in defaults and lists every problem with the fields.
func (s *settings) check() error {
	var errs sdk.ConfigError
	bad := func(path, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	u, err := url.Parse(strings.TrimSpace(s.ServerURL))
	switch {
	case s.ServerURL == "":
		bad("server_url", "required: the Mattermost server's address, e.g. https://chat.example.com")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad("server_url", "must be an http or https address like https://chat.example.com, not %q", s.ServerURL)
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		bad("server_url", "must be a plain address without user, query or fragment")
	default:
		s.serverURL = strings.TrimRight(u.String(), "/")
	}
	if strings.TrimSpace(s.AdminToken) == "" {
		bad("admin_token", "required: a personal access token of a Mattermost system admin")
	}
	if strings.TrimSpace(s.Team) == "" {
		bad("team", "required: the name of the team the agents join")
	}
	if !prefixPattern.MatchString(s.UsernamePrefix) {
		bad("username_prefix", "may hold up to 16 of a-z 0-9 . _ -, not %q", s.UsernamePrefix)
	}
	s.presenceInterval = duration(s.PresenceInterval, defaultPresenceInterval, 5*time.Second, 24*time.Hour, "presence_interval", bad)
	s.expertPoll = duration(s.ExpertPollInterval, defaultExpertPoll, 500*time.Millisecond, time.Hour, "expert_poll_interval", bad)
	if s.MaxAttachmentBytes == 0 {
		s.MaxAttachmentBytes = defaultMaxAttachment
	}
	if s.MaxAttachmentBytes < 1 || s.MaxAttachmentBytes > sdk.MaxAttachmentBytes {
		bad("max_attachment_bytes", "must be between 1 and %d", sdk.MaxAttachmentBytes)
	}
	seen := map[string]bool{}
	for i, name := range s.Experts {
		path := fmt.Sprintf("experts[%d]", i)
		name = strings.TrimPrefix(name, "@")
		switch {
		case !usernamePattern.MatchString(name):
			bad(path, "must be a Mattermost username (a-z 0-9 . _ -), not %q", s.Experts[i])
		case seen[name]:
			bad(path, "%q is listed twice", name)
		}
		seen[name] = true
		s.Experts[i] = name
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func duration(raw string, def, lo, hi time.Duration, path string, bad func(string, string, ...any)) time.Duration {
	if raw == "" {
		return def
	}
	d, err := time.ParseDuration(raw)
	if err != nil || d < lo || d > hi {
		bad(path, "must be a duration between %s and %s like %s, not %q", lo, hi, def, raw)
		return def
	}
	return d
}
