package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

func configure(t *testing.T, cfg string, hubURL string) (*sms, error) {
	t.Helper()
	p := newSMS()
	_, err := p.Configure(context.Background(), sdk.Config{Instance: "sms-us", Tenant: "acme", JSON: []byte(cfg), PublicURL: hubURL, ValidateOnly: true})
	return p, err
}

func TestConfigValid(t *testing.T) {
	for _, cfg := range []string{
		`{"adapter": "twilio", "numbers": ["+15559990000"], "default_queue": "support",
		  "twilio": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t", "public_url": "https://hub.example.com/c/sms-us/", "api_base": "https://api.twilio.com"},
		  "max_segments": 10}`,
		`{"adapter": "kannel", "numbers": ["+15559990000", "12345"],
		  "kannel": {"sendsms_url": "http://127.0.0.1:13013/cgi-bin/sendsms", "username": "u", "password": "p",
		             "callback_secret": "0123456789abcdefghijklmnop", "public_url": "http://127.0.0.1:8080/c/sms-local/", "smsc": ""}}`,
	} {
		if _, err := configure(t, cfg, ""); err != nil {
			t.Errorf("refused %s: %v", cfg, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	twilio := `"twilio": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t"}`
	kannel := `"kannel": {"sendsms_url": "http://127.0.0.1:13013/cgi-bin/sendsms", "username": "u", "password": "p", "callback_secret": "0123456789abcdefghijklmnop"}`
	for _, tc := range []struct {
		name, cfg, hubURL, path string
	}{
		{"no adapter", `{"numbers": ["+15559990000"]}`, "https://hub/c/x/", "adapter"},
		{"unknown adapter", `{"adapter": "nexmo", "numbers": ["+15559990000"]}`, "https://hub/c/x/", "adapter"},
		{"no numbers", `{"adapter": "twilio", ` + twilio + `}`, "https://hub/c/x/", "numbers"},
		{"a number that is not E.164", `{"adapter": "twilio", "numbers": ["5559990000"], ` + twilio + `}`, "https://hub/c/x/", "numbers[0]"},
		{"a number twice", `{"adapter": "kannel", "numbers": ["+15559990000", "15559990000"], ` + kannel + `}`, "https://hub/c/x/", "numbers[1]"},
		{"a queue for a number not ours", `{"adapter": "twilio", "numbers": ["+15559990000"], "queue_by_number": {"+1555": "q"}, ` + twilio + `}`, "https://hub/c/x/", "queue_by_number.+1555"},
		{"settings of the other adapter", `{"adapter": "twilio", "numbers": ["+15559990000"], ` + twilio + `, ` + kannel + `}`, "https://hub/c/x/", "kannel"},
		{"twilio without its settings", `{"adapter": "twilio", "numbers": ["+15559990000"]}`, "https://hub/c/x/", "twilio"},
		{"a bad account sid", `{"adapter": "twilio", "numbers": ["+15559990000"], "twilio": {"account_sid": "AB1", "auth_token": "t"}}`, "https://hub/c/x/", "twilio.account_sid"},
		{"twilio without any public URL", `{"adapter": "twilio", "numbers": ["+15559990000"], ` + twilio + `}`, "", "twilio.public_url"},
		{"a short callback secret", `{"adapter": "kannel", "numbers": ["+15559990000"], "kannel": {"sendsms_url": "http://k/cgi-bin/sendsms", "username": "u", "password": "p", "callback_secret": "short"}}`, "https://hub/c/x/", "kannel.callback_secret"},
		{"a callback secret Kannel would rewrite", `{"adapter": "kannel", "numbers": ["+15559990000"], "kannel": {"sendsms_url": "http://k/cgi-bin/sendsms", "username": "u", "password": "p", "callback_secret": "0123456789abcdefghijk%p&x"}}`, "https://hub/c/x/", "kannel.callback_secret"},
		{"kannel without any public URL", `{"adapter": "kannel", "numbers": ["+15559990000"], ` + kannel + `}`, "", "kannel.public_url"},
		{"max_segments too high", `{"adapter": "twilio", "numbers": ["+15559990000"], "max_segments": 300, ` + twilio + `}`, "https://hub/c/x/", "max_segments"},
		{"a relative state_dir", `{"adapter": "twilio", "numbers": ["+15559990000"], "state_dir": "state", ` + twilio + `}`, "https://hub/c/x/", "state_dir"},
		{"an unknown field", `{"adapter": "twilio", "numbers": ["+15559990000"], "from": "x", ` + twilio + `}`, "https://hub/c/x/", "from"},
		{"an unknown twilio field", `{"adapter": "twilio", "numbers": ["+15559990000"], "twilio": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t", "token": "x"}}`, "https://hub/c/x/", "token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := configure(t, tc.cfg, tc.hubURL)
			var cerr sdk.ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("error %v, want a ConfigError for %s", err, tc.path)
			}
			for _, f := range cerr {
				if f.Path == tc.path {
					return
				}
			}
			t.Errorf("errors %v name no %s", cerr, tc.path)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg := `{"adapter": "twilio", "numbers": ["+15559990000"], "twilio": {"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "t"}}`
	var s settings
	if err := (sdk.Config{JSON: []byte(cfg)}).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if err := s.check("sms-us", "https://hub.example.com/c/sms-us/"); err != nil {
		t.Fatal(err)
	}
	if s.Twilio.PublicURL != "https://hub.example.com/c/sms-us/" || s.Twilio.APIBase != defaultTwilioAPI || s.MaxSegments != defaultMaxSegments {
		t.Errorf("defaults: %+v %+v", s, s.Twilio)
	}
}

func TestDescribeSchema(t *testing.T) {
	var schema struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(newSMS().Describe().ConfigSchema), &schema); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"adapter", "numbers", "default_queue", "queue_by_number", "max_segments", "state_dir", "disabled", "twilio", "kannel"} {
		if _, ok := schema.Properties[f]; !ok {
			t.Errorf("the schema does not declare %s", f)
		}
	}
}

func TestStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	o, err := loadOptOuts(dir, "sms-us")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sms-us.json")); err != nil {
		t.Fatalf("no state file written at start: %v", err)
	}
	if err := o.set("sms:+1|+2", true, time.Now()); err != nil {
		t.Fatal(err)
	}
	again, err := loadOptOuts(dir, "sms-us")
	if err != nil || !again.has("sms:+1|+2") {
		t.Fatalf("reloaded: %v %v", again, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %d files, want only the state file (no temporary left)", len(entries))
	}
	os.WriteFile(filepath.Join(dir, "sms-us.json"), []byte("{not json"), 0o600)
	if _, err := loadOptOuts(dir, "sms-us"); err == nil || !strings.Contains(err.Error(), "not a state file") {
		t.Errorf("a corrupt state file: %v", err)
	}
}

func TestKeywords(t *testing.T) {
	for text, want := range map[string]keyword{
		"STOP": optOutWord, "stop": optOutWord, " Stop\n": optOutWord, "STOPALL": optOutWord, "unsubscribe": optOutWord,
		"Cancel": optOutWord, "END": optOutWord, "quit": optOutWord,
		"START": optInWord, "unstop": optInWord,
		"stop it": noKeyword, "please stop": noKeyword, "STOP.": noKeyword, "started": noKeyword, "": noKeyword,
	} {
		if got := keywordOf(text); got != want {
			t.Errorf("keywordOf(%q) = %d, want %d", text, got, want)
		}
	}
}
