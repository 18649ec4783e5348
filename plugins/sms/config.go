package main

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/switchboardhq/switchboard/sdk"
)

const configSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "additionalProperties": false,
  "required": ["adapter", "numbers"],
  "properties": {
    "adapter": {"type": "string", "enum": ["twilio", "kannel"], "description": "Which SMS provider this line uses; its settings go in the object of the same name"},
    "numbers": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "Our numbers on this line: E.164 (+15559990000), or for Kannel also short codes (12345). Inbound SMS to any other number are refused"},
    "default_queue": {"type": "string", "description": "Queue for conversations started on this line; empty = the tenant's default queue"},
    "queue_by_number": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Queue per number of ours, overriding default_queue"},
    "max_segments": {"type": "integer", "minimum": 1, "maximum": 255, "default": 10, "description": "Longest reply, in SMS segments (153 GSM-7 or 67 UCS-2 characters each); longer replies are refused with a reason"},
    "state_dir": {"type": "string", "description": "Directory for <instance>.json with the customers' STOP opt-outs; empty keeps them in memory only (lost on restart)"},
    "disabled": {"type": "boolean", "default": false, "description": "Take the line out of service: inbound SMS get 410 Gone, replies are refused"},
    "twilio": {
      "type": "object",
      "additionalProperties": false,
      "required": ["account_sid", "auth_token"],
      "properties": {
        "account_sid": {"type": "string", "pattern": "^AC[0-9a-fA-F]{32}$", "description": "Account SID (AC…)"},
        "auth_token": {"type": "string", "description": "Auth token: signs Twilio's webhooks and authenticates our API calls"},
        "public_url": {"type": "string", "format": "uri", "description": "URL Twilio posts to for this instance, ending in /; default the hub's /c/<instance>/. Signatures are checked against it"},
        "api_base": {"type": "string", "format": "uri", "default": "https://api.twilio.com", "description": "Base URL of Twilio's REST API"}
      }
    },
    "kannel": {
      "type": "object",
      "additionalProperties": false,
      "required": ["sendsms_url", "username", "password", "callback_secret"],
      "properties": {
        "sendsms_url": {"type": "string", "format": "uri", "description": "smsbox's sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms"},
        "username": {"type": "string", "description": "sendsms-user username"},
        "password": {"type": "string", "description": "sendsms-user password"},
        "callback_secret": {"type": "string", "minLength": 24, "pattern": "^[A-Za-z0-9._~-]+$", "description": "Secret Kannel puts in the post-url and every dlr-url (?secret=…): Kannel does not sign its callbacks"},
        "public_url": {"type": "string", "format": "uri", "description": "URL Kannel calls back for this instance, ending in /; default the hub's /c/<instance>/"},
        "smsc": {"type": "string", "description": "smsc-id to route replies through; empty lets Kannel choose"}
      }
    }
  }
}`

// Defaults and limits of the configuration.
const (
	defaultMaxSegments = 10
	maxSegmentsLimit   = 255 // the concatenation header counts parts in one byte
	defaultTwilioAPI   = "https://api.twilio.com"
	minSecretLength    = 24
)

var (
	e164Pattern      = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	shortPattern     = regexp.MustCompile(`^\+?[0-9]{3,15}$`)
	accountSIDRegexp = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	secretPattern    = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
	instancePattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// settings is one instance's configuration.
type settings struct {
	Adapter       string            `json:"adapter"`
	Numbers       []string          `json:"numbers"`
	DefaultQueue  string            `json:"default_queue"`
	QueueByNumber map[string]string `json:"queue_by_number"`
	MaxSegments   int               `json:"max_segments"`
	StateDir      string            `json:"state_dir"`
	Disabled      bool              `json:"disabled"`
	Twilio        *twilioSettings   `json:"twilio"`
	Kannel        *kannelSettings   `json:"kannel"`
}

type twilioSettings struct {
	AccountSID string `json:"account_sid"`
	AuthToken  string `json:"auth_token"`
	PublicURL  string `json:"public_url"`
	APIBase    string `json:"api_base"`
}

type kannelSettings struct {
	SendsmsURL     string `json:"sendsms_url"`
	Username       string `json:"username"`
	Password       string `json:"password"`
	CallbackSecret string `json:"callback_secret"`
	PublicURL      string `json:"public_url"`
	SMSC           string `json:"smsc"`
}

// check fills defaults and reports every bad field. hubURL is sdk.Config.PublicURL, the default
// base of the provider's callbacks.
func (s *settings) check(instance, hubURL string) error {
	var errs sdk.ConfigError
	bad := func(path, format string, args ...any) {
		errs = append(errs, sdk.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch s.Adapter {
	case "twilio":
		if s.Kannel != nil {
			bad("kannel", "set only with adapter kannel; this line uses twilio")
		}
		if s.Twilio == nil {
			bad("twilio", "required with adapter twilio: account_sid and auth_token")
		} else {
			s.Twilio.check(hubURL, bad)
		}
	case "kannel":
		if s.Twilio != nil {
			bad("twilio", "set only with adapter twilio; this line uses kannel")
		}
		if s.Kannel == nil {
			bad("kannel", "required with adapter kannel: sendsms_url, username, password and callback_secret")
		} else {
			s.Kannel.check(hubURL, bad)
		}
	case "":
		bad("adapter", "required: twilio or kannel")
	default:
		bad("adapter", "must be twilio or kannel, not %q", s.Adapter)
	}
	if len(s.Numbers) == 0 {
		bad("numbers", "required: at least one number of ours, e.g. +15559990000")
	}
	seen := map[string]bool{}
	for i, n := range s.Numbers {
		n = strings.TrimSpace(n)
		s.Numbers[i] = n
		switch {
		case s.Adapter == "twilio" && !e164Pattern.MatchString(n):
			bad(fmt.Sprintf("numbers[%d]", i), "must be an E.164 number like +15559990000, not %q", n)
		case s.Adapter != "twilio" && !e164Pattern.MatchString(n) && !shortPattern.MatchString(n):
			bad(fmt.Sprintf("numbers[%d]", i), "must be an E.164 number like +15559990000 or a short code, not %q", n)
		case seen[digits(n)]:
			bad(fmt.Sprintf("numbers[%d]", i), "%s is listed twice", n)
		}
		seen[digits(n)] = true
	}
	for n := range s.QueueByNumber {
		if !seen[digits(n)] {
			bad("queue_by_number."+n, "is not one of numbers")
		}
	}
	if s.MaxSegments == 0 {
		s.MaxSegments = defaultMaxSegments
	}
	if s.MaxSegments < 1 || s.MaxSegments > maxSegmentsLimit {
		bad("max_segments", "must be between 1 and %d", maxSegmentsLimit)
	}
	if s.StateDir != "" {
		if !filepath.IsAbs(s.StateDir) {
			bad("state_dir", "must be an absolute path, not %q", s.StateDir)
		}
		if !instancePattern.MatchString(instance) {
			bad("state_dir", "the instance name %q cannot name a state file", instance)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (t *twilioSettings) check(hubURL string, bad func(path, format string, args ...any)) {
	if !accountSIDRegexp.MatchString(t.AccountSID) {
		bad("twilio.account_sid", "must be the account SID: AC and 32 hex digits")
	}
	if t.AuthToken == "" {
		bad("twilio.auth_token", "required: the auth token from the Twilio console")
	}
	if t.PublicURL == "" {
		t.PublicURL = hubURL
	}
	switch {
	case t.PublicURL == "":
		bad("twilio.public_url", "required when the hub has no public_url: Twilio must reach the hub, and signatures are checked against this URL")
	case !isHTTPURL(t.PublicURL):
		bad("twilio.public_url", "must be an http or https URL, not %q", t.PublicURL)
	case !strings.HasSuffix(t.PublicURL, "/"):
		t.PublicURL += "/"
	}
	if t.APIBase == "" {
		t.APIBase = defaultTwilioAPI
	}
	if !isHTTPURL(t.APIBase) {
		bad("twilio.api_base", "must be an http or https URL, not %q", t.APIBase)
	}
	t.APIBase = strings.TrimSuffix(t.APIBase, "/")
}

func (k *kannelSettings) check(hubURL string, bad func(path, format string, args ...any)) {
	if !isHTTPURL(k.SendsmsURL) {
		bad("kannel.sendsms_url", "must be smsbox's http or https sendsms URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms")
	}
	if k.Username == "" {
		bad("kannel.username", "required: the sendsms-user's username")
	}
	if k.Password == "" {
		bad("kannel.password", "required: the sendsms-user's password")
	}
	switch {
	case len(k.CallbackSecret) < minSecretLength:
		bad("kannel.callback_secret", "must be at least %d characters: it is all that protects the callbacks", minSecretLength)
	case !secretPattern.MatchString(k.CallbackSecret):
		bad("kannel.callback_secret", "may hold only letters, digits and . _ ~ - (it travels in URLs Kannel rewrites)")
	}
	if k.PublicURL == "" {
		k.PublicURL = hubURL
	}
	switch {
	case k.PublicURL == "":
		bad("kannel.public_url", "required when the hub has no public_url: Kannel must reach the hub with delivery reports")
	case !isHTTPURL(k.PublicURL):
		bad("kannel.public_url", "must be an http or https URL, not %q", k.PublicURL)
	case strings.Contains(k.PublicURL, "%"):
		bad("kannel.public_url", "must not contain %%: Kannel reads it as an escape in dlr-url")
	case !strings.HasSuffix(k.PublicURL, "/"):
		k.PublicURL += "/"
	}
}

// queueFor is the queue of conversations started on our number.
func (s *settings) queueFor(ours string) string {
	for n, q := range s.QueueByNumber {
		if digits(n) == digits(ours) {
			return q
		}
	}
	return s.DefaultQueue
}

// ourNumber returns our configured number matching n (with or without "+"), or "".
func (s *settings) ourNumber(n string) string {
	d := digits(n)
	for _, ours := range s.Numbers {
		if digits(ours) == d {
			return ours
		}
	}
	return ""
}

// digits is a number without its leading "+", for matching numbers written either way.
func digits(n string) string { return strings.TrimPrefix(strings.TrimSpace(n), "+") }

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
