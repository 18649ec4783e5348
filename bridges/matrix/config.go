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
  "required": ["homeserver_url", "server_name", "as_token", "hs_token"],
  "properties": {
    "homeserver_url": {"type": "string", "format": "uri", "description": "Client-server API base of the homeserver, e.g. https://matrix.example.org"},
    "server_name": {"type": "string", "description": "The homeserver's name, the part after the colon in user ids (example.org)"},
    "as_token": {"type": "string", "minLength": 16, "description": "as_token of the appservice registration: the bridge's credential toward the homeserver"},
    "hs_token": {"type": "string", "minLength": 16, "description": "hs_token of the appservice registration: what the homeserver presents when it pushes events"},
    "bot_localpart": {"type": "string", "default": "switchboard", "description": "sender_localpart of the registration: the bridge's own user, which owns the agents room"},
    "ghost_prefix": {"type": "string", "default": "sb_", "description": "Prefix of agents' Matrix users (@sb_alice:example.org); the registration's exclusive user namespace must cover it"},
    "agents_room_alias": {"type": "string", "description": "Alias of the public room listing every agent; default #agents:<server_name>"},
    "max_attachment_bytes": {"type": "integer", "minimum": 1, "maximum": 25165824, "default": 10485760, "description": "Largest file an expert can send to an agent"},
    "presence_interval": {"type": "string", "default": "1m", "description": "How often agents' presence is asserted again (Go duration)"}
  }
}`

// settings is the instance configuration.
type settings struct {
	HomeserverURL      string `json:"homeserver_url"`
	ServerName         string `json:"server_name"`
	ASToken            string `json:"as_token"`
	HSToken            string `json:"hs_token"`
	BotLocalpart       string `json:"bot_localpart"`
	GhostPrefix        string `json:"ghost_prefix"`
	AgentsRoomAlias    string `json:"agents_room_alias"`
	MaxAttachmentBytes int64  `json:"max_attachment_bytes"`
	PresenceInterval   string `json:"presence_interval"`

	presenceInterval time.Duration
}

const (
	defaultBotLocalpart  = "switchboard"
	defaultGhostPrefix   = "sb_"
	defaultMaxAttachment = 10 << 20
)

// localpartChars are the characters a Matrix user localpart may hold.
var localpartChars = regexp.MustCompile(`^[a-z0-9._=\-/]+$`)

// check fills in defaults and lists every bad field.
func (s *settings) check() error {
	var errs sdk.ConfigError
	bad := func(path, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	s.HomeserverURL = strings.TrimRight(s.HomeserverURL, "/")
	if s.HomeserverURL == "" {
		bad("homeserver_url", "required: the client-server API base, e.g. https://matrix.example.org")
	} else if u, err := url.Parse(s.HomeserverURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("homeserver_url", "must be an http or https URL, not %q", s.HomeserverURL)
	}
	if s.ServerName == "" {
		bad("server_name", "required: the part after the colon in the homeserver's user ids")
	} else if strings.ContainsAny(s.ServerName, " /@#!") {
		bad("server_name", "must be a server name such as example.org, not %q", s.ServerName)
	}
	if len(s.ASToken) < 16 {
		bad("as_token", "required: at least 16 characters, as in the appservice registration")
	}
	if len(s.HSToken) < 16 {
		bad("hs_token", "required: at least 16 characters, as in the appservice registration")
	}
	if s.ASToken != "" && s.ASToken == s.HSToken {
		bad("hs_token", "must differ from as_token")
	}
	if s.BotLocalpart == "" {
		s.BotLocalpart = defaultBotLocalpart
	}
	if !localpartChars.MatchString(s.BotLocalpart) {
		bad("bot_localpart", "may hold only a-z, 0-9 and ._=-/, not %q", s.BotLocalpart)
	}
	if s.GhostPrefix == "" {
		s.GhostPrefix = defaultGhostPrefix
	}
	if !localpartChars.MatchString(s.GhostPrefix) {
		bad("ghost_prefix", "may hold only a-z, 0-9 and ._=-/, not %q", s.GhostPrefix)
	} else if strings.HasPrefix(s.BotLocalpart, s.GhostPrefix) {
		bad("bot_localpart", "must not start with ghost_prefix %q: the bot is no agent", s.GhostPrefix)
	}
	if s.AgentsRoomAlias == "" && s.ServerName != "" {
		s.AgentsRoomAlias = "#agents:" + s.ServerName
	}
	if local, server, ok := strings.Cut(strings.TrimPrefix(s.AgentsRoomAlias, "#"), ":"); !strings.HasPrefix(s.AgentsRoomAlias, "#") || !ok || local == "" {
		bad("agents_room_alias", "must look like #agents:%s, not %q", s.ServerName, s.AgentsRoomAlias)
	} else if server != s.ServerName {
		bad("agents_room_alias", "must be on the bridge's own server %s (the bridge creates the room), not %s", s.ServerName, server)
	}
	if s.MaxAttachmentBytes == 0 {
		s.MaxAttachmentBytes = defaultMaxAttachment
	}
	if s.MaxAttachmentBytes < 1 || s.MaxAttachmentBytes > sdk.MaxAttachmentBytes {
		bad("max_attachment_bytes", "must be between 1 and %d", sdk.MaxAttachmentBytes)
	}
	if s.PresenceInterval == "" {
		s.PresenceInterval = "1m"
	}
	d, err := time.ParseDuration(s.PresenceInterval)
	if err != nil || d < time.Second {
		bad("presence_interval", "must be a duration of at least 1s like 1m, not %q", s.PresenceInterval)
	}
	s.presenceInterval = d
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// botID is the bridge's own user.
func (s *settings) botID() string { return "@" + s.BotLocalpart + ":" + s.ServerName }
