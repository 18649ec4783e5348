package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
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
  "required": ["adapter"],
  "properties": {
    "adapter": {"enum": ["telegram", "whatsapp", "messenger"], "description": "The platform of this instance; only its section may be set"},
    "enabled": {"type": "boolean", "default": true, "description": "false: webhooks are answered 410 Gone (and counted), nothing is polled, agents' replies are refused"},
    "default_queue": {"type": "string", "description": "Queue of the conversations this instance starts; empty = the tenant's default queue"},
    "public_url": {"type": "string", "format": "uri", "description": "Where the platform reaches this instance (ending in /); default: the hub's <public_url>/c/<instance>/. Set it when a TLS proxy fronts the hub"},
    "state_dir": {"type": "string", "description": "Directory for <instance>.json: each customer's last message time (the 24-hour window) across restarts. Empty: memory only"},
    "max_media_bytes": {"type": "integer", "minimum": 1, "maximum": 25165824, "default": 16777216, "description": "Largest photo or file a customer may send; larger ones are left out, counted and logged (the text still goes through)"},
    "telegram": {
      "type": "object",
      "additionalProperties": false,
      "required": ["bot_token"],
      "properties": {
        "bot_token": {"type": "string", "pattern": "^[0-9]+:[A-Za-z0-9_-]+$", "description": "The bot's token from @BotFather"},
        "api_base": {"type": "string", "format": "uri", "default": "https://api.telegram.org", "description": "Bot API server"},
        "mode": {"enum": ["auto", "webhook", "polling"], "default": "auto", "description": "webhook: Telegram posts to <public_url>telegram/webhook; polling: getUpdates; auto: webhook when the public URL is https"},
        "webhook_secret": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,256}$", "description": "secret_token Telegram sends with each update; default: derived from the bot token"},
        "poll_timeout": {"type": "string", "default": "25s", "description": "Long-polling timeout of getUpdates (Go duration, 1s to 50s)"}
      }
    },
    "whatsapp": {
      "type": "object",
      "additionalProperties": false,
      "required": ["phone_number_id", "access_token", "app_secret", "verify_token"],
      "properties": {
        "phone_number_id": {"type": "string", "pattern": "^[0-9]+$", "description": "The business phone number's id (WhatsApp Manager → API setup)"},
        "access_token": {"type": "string", "description": "A system user's access token with whatsapp_business_messaging"},
        "app_secret": {"type": "string", "description": "The Meta app's secret: signs the webhooks (X-Hub-Signature-256)"},
        "verify_token": {"type": "string", "description": "Any string; type the same in the app's webhook settings"},
        "api_base": {"type": "string", "format": "uri", "default": "https://graph.facebook.com/v21.0", "description": "Graph API base, with its version"},
        "template": {
          "type": "object",
          "additionalProperties": false,
          "required": ["name", "language"],
          "description": "Approved template sent instead of a reply written more than 24 hours after the customer's last message",
          "properties": {
            "name": {"type": "string"},
            "language": {"type": "string", "description": "The template's language code, e.g. en or en_US"}
          }
        }
      }
    },
    "messenger": {
      "type": "object",
      "additionalProperties": false,
      "required": ["page_id", "page_access_token", "app_secret", "verify_token"],
      "properties": {
        "page_id": {"type": "string", "pattern": "^[0-9]+$", "description": "The Facebook Page's id"},
        "page_access_token": {"type": "string", "description": "The Page access token with pages_messaging"},
        "app_secret": {"type": "string", "description": "The Meta app's secret: signs the webhooks (X-Hub-Signature-256)"},
        "verify_token": {"type": "string", "description": "Any string; type the same in the app's webhook settings"},
        "api_base": {"type": "string", "format": "uri", "default": "https://graph.facebook.com/v21.0", "description": "Graph API base, with its version"}
      }
    }
  },
  "allOf": [
    {"if": {"properties": {"adapter": {"const": "telegram"}}}, "then": {"required": ["telegram"], "not": {"anyOf": [{"required": ["whatsapp"]}, {"required": ["messenger"]}]}}},
    {"if": {"properties": {"adapter": {"const": "whatsapp"}}}, "then": {"required": ["whatsapp"], "not": {"anyOf": [{"required": ["telegram"]}, {"required": ["messenger"]}]}}},
    {"if": {"properties": {"adapter": {"const": "messenger"}}}, "then": {"required": ["messenger"], "not": {"anyOf": [{"required": ["telegram"]}, {"required": ["whatsapp"]}]}}}
  ]
}`

// Defaults of the configuration.
const (
	defaultTelegramAPI   = "https://api.telegram.org"
	defaultGraphAPI      = "https://graph.facebook.com/v21.0"
	defaultMaxMediaBytes = 16 << 20
	defaultPollTimeout   = 25 * time.Second
)

// settings is the instance configuration.
type settings struct {
	Adapter       string `json:"adapter"`
	Enabled       *bool  `json:"enabled"`
	DefaultQueue  string `json:"default_queue"`
	PublicURL     string `json:"public_url"`
	StateDir      string `json:"state_dir"`
	MaxMediaBytes int64  `json:"max_media_bytes"`
	// The adapters' sections are decoded on their own, so errors name the field's whole path.
	RawTelegram  json.RawMessage `json:"telegram"`
	RawWhatsApp  json.RawMessage `json:"whatsapp"`
	RawMessenger json.RawMessage `json:"messenger"`

	Telegram  *telegramSettings  `json:"-"`
	WhatsApp  *whatsappSettings  `json:"-"`
	Messenger *messengerSettings `json:"-"`

	enabled bool
}

type telegramSettings struct {
	BotToken      string `json:"bot_token"`
	APIBase       string `json:"api_base"`
	Mode          string `json:"mode"`
	WebhookSecret string `json:"webhook_secret"`
	PollTimeout   string `json:"poll_timeout"`

	botID       string // the number before the token's colon
	pollTimeout time.Duration
}

type whatsappSettings struct {
	PhoneNumberID string          `json:"phone_number_id"`
	AccessToken   string          `json:"access_token"`
	AppSecret     string          `json:"app_secret"`
	VerifyToken   string          `json:"verify_token"`
	APIBase       string          `json:"api_base"`
	RawTemplate   json.RawMessage `json:"template"`

	Template *template `json:"-"`
}

type template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
}

type messengerSettings struct {
	PageID          string `json:"page_id"`
	PageAccessToken string `json:"page_access_token"`
	AppSecret       string `json:"app_secret"`
	VerifyToken     string `json:"verify_token"`
	APIBase         string `json:"api_base"`
}

var (
	botTokenPattern = regexp.MustCompile(`^([0-9]+):[A-Za-z0-9_-]+$`)
	secretPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	digitsPattern   = regexp.MustCompile(`^[0-9]+$`)
)

// decodeSettings decodes the configuration strictly: unknown fields and wrong types come back as
// field errors with their whole path (telegram.bot_token).
func decodeSettings(cfg sdk.Config) (*settings, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	var errs sdk.ConfigError
	section := func(raw json.RawMessage, path string, v any) bool {
		if len(raw) == 0 || string(raw) == "null" {
			return false
		}
		var ce sdk.ConfigError
		if err := (sdk.Config{JSON: raw}).Decode(v); errors.As(err, &ce) {
			for _, fe := range ce {
				errs = append(errs, sdk.FieldError{Path: strings.TrimSuffix(path+"."+fe.Path, "."), Message: fe.Message})
			}
		}
		return true
	}
	if t := new(telegramSettings); section(s.RawTelegram, "telegram", t) {
		s.Telegram = t
	}
	if w := new(whatsappSettings); section(s.RawWhatsApp, "whatsapp", w) {
		s.WhatsApp = w
		if t := new(template); section(w.RawTemplate, "whatsapp.template", t) {
			w.Template = t
		}
	}
	if m := new(messengerSettings); section(s.RawMessenger, "messenger", m) {
		s.Messenger = m
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &s, nil
}

// check fills defaults and reports every bad field. hubURL is the public URL the hub gave the
// instance (sdk.Config.PublicURL); public_url overrides it.
func (s *settings) check(hubURL string) error {
	var errs sdk.ConfigError
	bad := func(path, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	s.enabled = s.Enabled == nil || *s.Enabled
	sections := map[string]bool{"telegram": s.Telegram != nil, "whatsapp": s.WhatsApp != nil, "messenger": s.Messenger != nil}
	switch s.Adapter {
	case "telegram", "whatsapp", "messenger":
		if !sections[s.Adapter] {
			bad(s.Adapter, "required: the %s adapter's settings", s.Adapter)
		}
		for name, set := range sections {
			if set && name != s.Adapter {
				bad(name, "only the section of the adapter in use (%s) may be set", s.Adapter)
			}
		}
	case "":
		bad("adapter", "required: telegram, whatsapp or messenger")
	default:
		bad("adapter", "must be telegram, whatsapp or messenger, not %q", s.Adapter)
	}
	if s.PublicURL != "" {
		if !httpURL(s.PublicURL) {
			bad("public_url", "must be an http or https URL, not %q", s.PublicURL)
		}
	} else {
		s.PublicURL = hubURL
	}
	if s.PublicURL != "" && !strings.HasSuffix(s.PublicURL, "/") {
		s.PublicURL += "/"
	}
	if s.MaxMediaBytes == 0 {
		s.MaxMediaBytes = defaultMaxMediaBytes
	}
	if s.MaxMediaBytes < 1 || s.MaxMediaBytes > sdk.MaxAttachmentBytes {
		bad("max_media_bytes", "must be between 1 and %d (%s: what one event can carry to the hub)", sdk.MaxAttachmentBytes, sdk.SizeText(sdk.MaxAttachmentBytes))
	}
	switch {
	case s.Adapter == "telegram" && s.Telegram != nil:
		s.Telegram.check(s.PublicURL, bad)
	case s.Adapter == "whatsapp" && s.WhatsApp != nil:
		s.WhatsApp.check(bad)
	case s.Adapter == "messenger" && s.Messenger != nil:
		s.Messenger.check(bad)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (t *telegramSettings) check(publicURL string, bad func(path, format string, args ...any)) {
	m := botTokenPattern.FindStringSubmatch(t.BotToken)
	switch {
	case t.BotToken == "":
		bad("telegram.bot_token", "required: the bot's token from @BotFather (123456:ABC…)")
	case m == nil:
		bad("telegram.bot_token", "must look like 123456:ABC-DEF… (the bot's id, a colon, the secret)")
	default:
		t.botID = m[1]
	}
	t.APIBase = apiBase(t.APIBase, defaultTelegramAPI, "telegram.api_base", bad)
	if t.Mode == "" {
		t.Mode = "auto"
	}
	switch t.Mode {
	case "auto":
		t.Mode = "polling"
		if strings.HasPrefix(publicURL, "https://") {
			t.Mode = "webhook"
		}
	case "webhook":
		if publicURL == "" {
			bad("telegram.mode", "webhook mode needs a public URL (the hub's public_url or this instance's): Telegram must reach it")
		}
	case "polling":
	default:
		bad("telegram.mode", "must be auto, webhook or polling, not %q", t.Mode)
	}
	if t.WebhookSecret == "" && t.BotToken != "" {
		// Derived, so a webhook needs no extra setting; only who knows the token can compute it.
		mac := hmac.New(sha256.New, []byte(t.BotToken))
		mac.Write([]byte("switchboard telegram webhook secret"))
		t.WebhookSecret = base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	} else if t.WebhookSecret != "" && !secretPattern.MatchString(t.WebhookSecret) {
		bad("telegram.webhook_secret", "must be 1 to 256 letters, digits, _ or - (Telegram's secret_token rules)")
	}
	t.pollTimeout = defaultPollTimeout
	if t.PollTimeout != "" {
		d, err := time.ParseDuration(t.PollTimeout)
		if err != nil || d < time.Second || d > 50*time.Second {
			bad("telegram.poll_timeout", "must be a duration from 1s to 50s like 25s, not %q", t.PollTimeout)
		}
		t.pollTimeout = d.Truncate(time.Second)
	}
}

func (w *whatsappSettings) check(bad func(path, format string, args ...any)) {
	switch {
	case w.PhoneNumberID == "":
		bad("whatsapp.phone_number_id", "required: the business number's id from WhatsApp Manager → API setup (digits, not the phone number)")
	case !digitsPattern.MatchString(w.PhoneNumberID):
		bad("whatsapp.phone_number_id", "must be the number's id: digits only")
	}
	if w.AccessToken == "" {
		bad("whatsapp.access_token", "required: a system user's access token with the whatsapp_business_messaging permission")
	}
	if w.AppSecret == "" {
		bad("whatsapp.app_secret", "required: the Meta app's secret (App settings → Basic), which signs the webhooks")
	}
	if w.VerifyToken == "" {
		bad("whatsapp.verify_token", "required: any string, typed again in the app's webhook settings")
	}
	w.APIBase = apiBase(w.APIBase, defaultGraphAPI, "whatsapp.api_base", bad)
	if t := w.Template; t != nil {
		if strings.TrimSpace(t.Name) == "" {
			bad("whatsapp.template.name", "required: the approved template's name")
		}
		if strings.TrimSpace(t.Language) == "" {
			bad("whatsapp.template.language", "required: the template's language code, e.g. en_US")
		}
	}
}

func (m *messengerSettings) check(bad func(path, format string, args ...any)) {
	switch {
	case m.PageID == "":
		bad("messenger.page_id", "required: the Facebook Page's id")
	case !digitsPattern.MatchString(m.PageID):
		bad("messenger.page_id", "must be the Page's id: digits only")
	}
	if m.PageAccessToken == "" {
		bad("messenger.page_access_token", "required: the Page access token with the pages_messaging permission")
	}
	if m.AppSecret == "" {
		bad("messenger.app_secret", "required: the Meta app's secret (App settings → Basic), which signs the webhooks")
	}
	if m.VerifyToken == "" {
		bad("messenger.verify_token", "required: any string, typed again in the app's webhook settings")
	}
	m.APIBase = apiBase(m.APIBase, defaultGraphAPI, "messenger.api_base", bad)
}

// apiBase checks a base URL and returns it without a trailing slash.
func apiBase(raw, def, path string, bad func(path, format string, args ...any)) string {
	if raw == "" {
		return def
	}
	if !httpURL(raw) {
		bad(path, "must be an http or https URL, not %q", raw)
	}
	return strings.TrimRight(raw, "/")
}

func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
