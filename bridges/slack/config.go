package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["bot_token"],
  "properties": {
    "bot_token": {"type": "string", "pattern": "^xoxb-", "description": "The app's bot token (xoxb-…), for the Web API"},
    "app_token": {"type": "string", "pattern": "^xapp-", "description": "App-level token (xapp-…) with connections:write; required in socket mode"},
    "signing_secret": {"type": "string", "description": "The app's signing secret; required in events mode, where Slack posts to <public_url>/c/<instance>/events"},
    "mode": {"type": "string", "enum": ["socket", "events"], "default": "socket", "description": "socket: the bridge connects to Slack (no public URL needed); events: Slack posts events to the hub"},
    "api_url": {"type": "string", "format": "uri", "default": "https://slack.com/api/", "description": "Base URL of the Slack Web API"},
    "max_attachment_bytes": {"type": "integer", "minimum": 1, "maximum": 25165824, "default": 10485760, "description": "Largest file an expert may send; larger files are refused and the expert is told"},
    "presence_poll_interval": {"type": "string", "default": "60s", "description": "How often experts' Slack presence is read (Go duration, at least 1s)"},
    "agent_icon_url": {"type": "string", "description": "Icon of agents' posts; {agent} is replaced by the agent's username. Empty: the app's icon"}
  }
}`

// Defaults of the configuration.
const (
	defaultAPIURL        = "https://slack.com/api/"
	defaultMaxAttachment = 10 << 20
	defaultPresencePoll  = time.Minute
)

// settings is the instance configuration.
type settings struct {
	BotToken             string `json:"bot_token"`
	AppToken             string `json:"app_token"`
	SigningSecret        string `json:"signing_secret"`
	Mode                 string `json:"mode"`
	APIURL               string `json:"api_url"`
	MaxAttachmentBytes   int64  `json:"max_attachment_bytes"`
	PresencePollInterval string `json:"presence_poll_interval"`
	AgentIconURL         string `json:"agent_icon_url"`

	presencePoll time.Duration
}

// check fills defaults and reports every bad field.
func (s *settings) check(publicURL string) error {
	var errs sdk.ConfigError
	bad := func(path, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case s.BotToken == "":
		bad("bot_token", "required: the app's bot token (xoxb-…) from OAuth & Permissions")
	case !strings.HasPrefix(s.BotToken, "xoxb-"):
		bad("bot_token", "must be a bot token starting with xoxb-")
	}
	if s.Mode == "" {
		s.Mode = "socket"
	}
	switch s.Mode {
	case "socket":
		switch {
		case s.AppToken == "":
			bad("app_token", "required in socket mode: an app-level token (xapp-…) with the connections:write scope")
		case !strings.HasPrefix(s.AppToken, "xapp-"):
			bad("app_token", "must be an app-level token starting with xapp-")
		}
	case "events":
		if s.SigningSecret == "" {
			bad("signing_secret", "required in events mode: the app's signing secret from Basic Information")
		}
		if publicURL == "" {
			bad("mode", "events mode needs the hub's public_url: Slack must reach the hub to post events")
		}
	default:
		bad("mode", "must be socket or events, not %q", s.Mode)
	}
	if s.APIURL == "" {
		s.APIURL = defaultAPIURL
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("api_url", "must be an http or https URL, not %q", s.APIURL)
	} else if !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/"
	}
	if s.MaxAttachmentBytes == 0 {
		s.MaxAttachmentBytes = defaultMaxAttachment
	}
	if s.MaxAttachmentBytes < 1 || s.MaxAttachmentBytes > sdk.MaxAttachmentBytes {
		bad("max_attachment_bytes", "must be between 1 and %d", sdk.MaxAttachmentBytes)
	}
	s.presencePoll = defaultPresencePoll
	if s.PresencePollInterval != "" {
		d, err := time.ParseDuration(s.PresencePollInterval)
		if err != nil || d < time.Second {
			bad("presence_poll_interval", "must be a duration of at least 1s like 60s, not %q", s.PresencePollInterval)
		}
		s.presencePoll = d
	}
	if s.AgentIconURL != "" {
		u, err := url.Parse(strings.ReplaceAll(s.AgentIconURL, "{agent}", "x"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("agent_icon_url", "must be an http or https URL, not %q", s.AgentIconURL)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// iconFor is the icon URL of an agent's posts, or "".
func (s *settings) iconFor(agent string) string {
	if s.AgentIconURL == "" {
		return ""
	}
	return strings.ReplaceAll(s.AgentIconURL, "{agent}", url.PathEscape(agent))
}
