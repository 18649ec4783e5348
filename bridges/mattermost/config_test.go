package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

func TestConfigErrors(t *testing.T) {
	valid := `"server_url": "https://chat.example.com/", "admin_token": "tok", "team": "experts"`
	for _, tc := range []struct {
		name, json, path, msg string
	}{
		{"empty", `{}`, "server_url", "required"},
		{"no token", `{"server_url": "https://chat.example.com", "team": "t"}`, "admin_token", "required"},
		{"no team", `{"server_url": "https://chat.example.com", "admin_token": "x"}`, "team", "required"},
		{"bad scheme", `{"server_url": "ftp://chat", "admin_token": "x", "team": "t"}`, "server_url", "http or https"},
		{"query in url", `{"server_url": "https://chat?x=1", "admin_token": "x", "team": "t"}`, "server_url", "without"},
		{"bad prefix", `{` + valid + `, "username_prefix": "Agent "}`, "username_prefix", "a-z"},
		{"bad interval", `{` + valid + `, "presence_interval": "soon"}`, "presence_interval", "duration"},
		{"short interval", `{` + valid + `, "presence_interval": "1s"}`, "presence_interval", "between"},
		{"bad poll", `{` + valid + `, "expert_poll_interval": "1ms"}`, "expert_poll_interval", "between"},
		{"too big files", `{` + valid + `, "max_attachment_bytes": 104857600}`, "max_attachment_bytes", "between"},
		{"negative files", `{` + valid + `, "max_attachment_bytes": -1}`, "max_attachment_bytes", "between"},
		{"bad expert", `{` + valid + `, "experts": ["ok", "Not Valid"]}`, "experts[1]", "username"},
		{"twice", `{` + valid + `, "experts": ["bob", "@bob"]}`, "experts[1]", "twice"},
		{"unknown field", `{` + valid + `, "colour": "red"}`, "colour", "unknown"},
		{"wrong type", `{` + valid + `, "max_attachment_bytes": "big"}`, "max_attachment_bytes", "must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newBridge().Configure(context.Background(), sdk.Config{JSON: []byte(tc.json), ValidateOnly: true})
			var cerr sdk.ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("Configure(%s) = %v, want a ConfigError", tc.json, err)
			}
			for _, f := range cerr {
				if f.Path == tc.path && strings.Contains(f.Message, tc.msg) {
					return
				}
			}
			t.Errorf("Configure(%s) = %v, want %s: …%s…", tc.json, cerr, tc.path, tc.msg)
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	b := newBridge()
	_, err := b.Configure(context.Background(), sdk.Config{Instance: "mm", JSON: []byte(`{"server_url": "https://chat.example.com/", "admin_token": "tok", "team": "experts", "experts": ["@erin"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	c := b.cfg
	if c.serverURL != "https://chat.example.com" || c.presenceInterval != time.Minute || c.expertPoll != 15*time.Second ||
		c.MaxAttachmentBytes != 10<<20 || len(c.Experts) != 1 || c.Experts[0] != "erin" {
		t.Errorf("configuration with defaults = %+v", c)
	}
}

func TestMattermostUsername(t *testing.T) {
	for _, tc := range []struct{ prefix, hub, want string }{
		{"", "alice", "alice"},
		{"sb-", "alice", "sb-alice"},
		{"", "Alice.Archer", "alice.archer"},
		{"", "józef k", "j-zef-k"},
		{"", "42", "agent-42"},
		{"", "system", "agent-system"},
		{"", "all", "agent-all"},
	} {
		if got := mattermostUsername(tc.prefix, tc.hub); got != tc.want {
			t.Errorf("mattermostUsername(%q, %q) = %q, want %q", tc.prefix, tc.hub, got, tc.want)
		}
	}
	long1 := mattermostUsername("", strings.Repeat("a", 80)+"1")
	long2 := mattermostUsername("", strings.Repeat("a", 80)+"2")
	if len(long1) > 64 || long1 == long2 {
		t.Errorf("long usernames %q and %q: want distinct, at most 64 characters", long1, long2)
	}
}
