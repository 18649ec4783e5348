package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

func configure(t *testing.T, raw, hubURL string) (*social, error) {
	t.Helper()
	p := newSocial()
	_, err := p.Configure(context.Background(), sdk.Config{Instance: "tg", JSON: []byte(raw), PublicURL: hubURL, ValidateOnly: true})
	if err != nil {
		return nil, err
	}
	s, err := decodeSettings(sdk.Config{JSON: []byte(raw)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.check(hubURL); err != nil {
		t.Fatal(err)
	}
	p.cfg = *s
	return p, nil
}

func TestConfigErrors(t *testing.T) {
	tg := `"telegram": {"bot_token": "123:abc"}`
	wa := `"whatsapp": {"phone_number_id": "1", "access_token": "a", "app_secret": "s", "verify_token": "v"}`
	for _, tc := range []struct {
		name, config, path, message string
	}{
		{"no adapter", `{}`, "adapter", "required"},
		{"unknown adapter", `{"adapter": "sms"}`, "adapter", "must be telegram, whatsapp or messenger"},
		{"missing section", `{"adapter": "whatsapp"}`, "whatsapp", "required"},
		{"two sections", `{"adapter": "telegram", ` + tg + `, ` + wa + `}`, "whatsapp", "only the section of the adapter in use"},
		{"unknown field", `{"adapter": "telegram", ` + tg + `, "colour": "red"}`, "colour", "unknown field"},
		{"unknown nested field", `{"adapter": "telegram", "telegram": {"bot_token": "123:abc", "token": "x"}}`, "telegram.token", "unknown field"},
		{"bad bot token", `{"adapter": "telegram", "telegram": {"bot_token": "abc"}}`, "telegram.bot_token", "must look like"},
		{"bad mode", `{"adapter": "telegram", "telegram": {"bot_token": "1:a", "mode": "push"}}`, "telegram.mode", "must be auto, webhook or polling"},
		{"bad secret", `{"adapter": "telegram", "telegram": {"bot_token": "1:a", "webhook_secret": "no spaces"}}`, "telegram.webhook_secret", "letters, digits"},
		{"bad poll timeout", `{"adapter": "telegram", "telegram": {"bot_token": "1:a", "poll_timeout": "2m"}}`, "telegram.poll_timeout", "1s to 50s"},
		{"bad api base", `{"adapter": "telegram", "telegram": {"bot_token": "1:a", "api_base": "ftp://x"}}`, "telegram.api_base", "http or https"},
		{"media too big", `{"adapter": "telegram", ` + tg + `, "max_media_bytes": 104857600}`, "max_media_bytes", "between 1 and"},
		{"bad public url", `{"adapter": "telegram", ` + tg + `, "public_url": "hub"}`, "public_url", "http or https"},
		{"no phone number id", `{"adapter": "whatsapp", "whatsapp": {"access_token": "a", "app_secret": "s", "verify_token": "v"}}`, "whatsapp.phone_number_id", "required"},
		{"phone number, not its id", `{"adapter": "whatsapp", "whatsapp": {"phone_number_id": "+1555", "access_token": "a", "app_secret": "s", "verify_token": "v"}}`, "whatsapp.phone_number_id", "digits only"},
		{"no app secret", `{"adapter": "whatsapp", "whatsapp": {"phone_number_id": "1", "access_token": "a", "verify_token": "v"}}`, "whatsapp.app_secret", "required"},
		{"template without language", `{"adapter": "whatsapp", "whatsapp": {"phone_number_id": "1", "access_token": "a", "app_secret": "s", "verify_token": "v", "template": {"name": "x", "language": ""}}}`, "whatsapp.template.language", "required"},
		{"no page token", `{"adapter": "messenger", "messenger": {"page_id": "1", "app_secret": "s", "verify_token": "v"}}`, "messenger.page_access_token", "required"},
		{"no verify token", `{"adapter": "messenger", "messenger": {"page_id": "1", "page_access_token": "t", "app_secret": "s"}}`, "messenger.verify_token", "required"},
		{"wrong type", `{"adapter": "telegram", ` + tg + `, "enabled": "no"}`, "enabled", "must be bool"},
		{"wrong nested type", `{"adapter": "whatsapp", "whatsapp": {"phone_number_id": 15550001}}`, "whatsapp.phone_number_id", "must be string"},
		{"unknown template field", `{"adapter": "whatsapp", "whatsapp": {"phone_number_id": "1", "access_token": "a", "app_secret": "s", "verify_token": "v", "template": {"name": "x", "language": "en", "params": []}}}`, "whatsapp.template.params", "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, tc.config, "")
			var ce sdk.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Configure = %v, want a ConfigError", err)
			}
			for _, fe := range ce {
				if fe.Path == tc.path && strings.Contains(fe.Message, tc.message) {
					return
				}
			}
			t.Errorf("errors %v: want %s: …%s…", ce, tc.path, tc.message)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	p, err := configure(t, `{"adapter": "telegram", "telegram": {"bot_token": "123456:ABC-def"}}`, "http://127.0.0.1:8080/c/tg/")
	if err != nil {
		t.Fatal(err)
	}
	c := p.cfg
	if !c.enabled || c.MaxMediaBytes != 16<<20 || c.PublicURL != "http://127.0.0.1:8080/c/tg/" {
		t.Errorf("defaults: enabled %v, max_media_bytes %d, public URL %q", c.enabled, c.MaxMediaBytes, c.PublicURL)
	}
	tg := c.Telegram
	if tg.APIBase != "https://api.telegram.org" || tg.pollTimeout != 25*time.Second || tg.botID != "123456" {
		t.Errorf("telegram defaults: %+v", tg)
	}
	if tg.Mode != "polling" {
		t.Errorf("auto mode with an http hub URL chose %s: Telegram posts only to https", tg.Mode)
	}
	if len(tg.WebhookSecret) < 32 || !secretPattern.MatchString(tg.WebhookSecret) {
		t.Errorf("derived webhook secret %q: want a long secret in Telegram's alphabet", tg.WebhookSecret)
	}

	p, _ = configure(t, `{"adapter": "telegram", "telegram": {"bot_token": "123456:ABC-def"}}`, "https://hub.example.com/c/tg/")
	if p.cfg.Telegram.Mode != "webhook" {
		t.Errorf("auto mode with an https hub URL chose %s", p.cfg.Telegram.Mode)
	}
	p, _ = configure(t, `{"adapter": "telegram", "public_url": "https://proxy.example.com/tg", "telegram": {"bot_token": "123456:ABC-def"}}`, "http://127.0.0.1:8080/c/tg/")
	if p.cfg.PublicURL != "https://proxy.example.com/tg/" || p.cfg.Telegram.Mode != "webhook" {
		t.Errorf("public_url override: %q, mode %s", p.cfg.PublicURL, p.cfg.Telegram.Mode)
	}
	if _, err := configure(t, `{"adapter": "telegram", "telegram": {"bot_token": "1:a", "mode": "webhook"}}`, ""); err == nil {
		t.Error("webhook mode without any public URL was accepted")
	}

	p, _ = configure(t, `{"adapter": "messenger", "messenger": {"page_id": "1", "page_access_token": "t", "app_secret": "s", "verify_token": "v"}}`, "")
	if p.cfg.Messenger.APIBase != "https://graph.facebook.com/v21.0" {
		t.Errorf("graph default: %q", p.cfg.Messenger.APIBase)
	}
}

func TestConfigSchemaDeclaresEveryField(t *testing.T) {
	var schema struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(configSchema), &schema); err != nil || schema.Type != "object" {
		t.Fatalf("schema: %v", err)
	}
	for _, field := range []string{"adapter", "enabled", "default_queue", "public_url", "state_dir", "max_media_bytes", "telegram", "whatsapp", "messenger"} {
		if _, ok := schema.Properties[field]; !ok {
			t.Errorf("the schema does not declare %s", field)
		}
	}
	var nested struct {
		Properties map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"properties"`
	}
	json.Unmarshal([]byte(configSchema), &nested)
	for section, fields := range map[string][]string{
		"telegram":  {"bot_token", "api_base", "mode", "webhook_secret", "poll_timeout"},
		"whatsapp":  {"phone_number_id", "access_token", "app_secret", "verify_token", "api_base", "template"},
		"messenger": {"page_id", "page_access_token", "app_secret", "verify_token", "api_base"},
	} {
		for _, f := range fields {
			if _, ok := nested.Properties[section].Properties[f]; !ok {
				t.Errorf("the schema does not declare %s.%s", section, f)
			}
		}
	}
}

func TestSplitText(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		max        int
		want       []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"word break", "aaaa bbbb cccc", 10, []string{"aaaa bbbb", "cccc"}},
		{"paragraph first", "aaaaaaa\n\nbb cc dd", 12, []string{"aaaaaaa", "bb cc dd"}},
		{"break in the second half only", "aaaa\n\nbb cc dd", 12, []string{"aaaa\n\nbb cc", "dd"}},
		{"hard cut", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"emoji count twice", "😀😀😀", 4, []string{"😀😀", "😀"}},
		{"empty", "  ", 5, nil},
	} {
		got := splitText(tc.text, tc.max)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
