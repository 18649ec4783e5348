package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk"
)

func TestConfigDefaults(t *testing.T) {
	s := settings{HomeserverURL: "https://matrix.example.org/", ServerName: "example.org", ASToken: strings.Repeat("a", 32), HSToken: strings.Repeat("h", 32)}
	if err := s.check(); err != nil {
		t.Fatal(err)
	}
	if s.HomeserverURL != "https://matrix.example.org" || s.BotLocalpart != "switchboard" || s.GhostPrefix != "sb_" ||
		s.AgentsRoomAlias != "#agents:example.org" || s.MaxAttachmentBytes != 10<<20 || s.presenceInterval.Seconds() != 60 {
		t.Errorf("defaults: %+v", s)
	}
	if got := s.ghostID("Alice_B"); got != "@sb__alice___b:example.org" {
		t.Errorf("ghostID = %q", got)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := []struct {
		json string
		path string
	}{
		{`{"server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh"}`, "homeserver_url"},
		{`{"homeserver_url": "ftp://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh"}`, "homeserver_url"},
		{`{"homeserver_url": "https://x", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh"}`, "server_name"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "short", "hs_token": "hhhhhhhhhhhhhhhh"}`, "as_token"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "aaaaaaaaaaaaaaaa"}`, "hs_token"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "ghost_prefix": "SB"}`, "ghost_prefix"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "bot_localpart": "sb_bot"}`, "bot_localpart"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "agents_room_alias": "#agents:other.org"}`, "agents_room_alias"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "max_attachment_bytes": 99999999}`, "max_attachment_bytes"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "presence_interval": "soon"}`, "presence_interval"},
		{`{"homeserver_url": "https://x", "server_name": "example.org", "as_token": "aaaaaaaaaaaaaaaa", "hs_token": "hhhhhhhhhhhhhhhh", "max_attachment_bytes": "big"}`, "max_attachment_bytes"},
	}
	for _, tc := range cases {
		_, err := newBridge().Configure(t.Context(), sdk.Config{JSON: []byte(tc.json), ValidateOnly: true})
		var cerr sdk.ConfigError
		if !errors.As(err, &cerr) {
			t.Errorf("%s: got %v, want a ConfigError", tc.json, err)
			continue
		}
		found := false
		for _, f := range cerr {
			found = found || f.Path == tc.path
		}
		if !found {
			t.Errorf("%s: errors %v name no %q", tc.json, cerr, tc.path)
		}
	}
}

func TestConfigSchemaDeclaresEveryField(t *testing.T) {
	var schema struct {
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(configSchema), &schema); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(settings{})
	var fields map[string]any
	json.Unmarshal(data, &fields)
	for f := range fields {
		if _, ok := schema.Properties[f]; !ok {
			t.Errorf("config field %q is missing from the schema", f)
		}
	}
	if len(schema.Properties) != len(fields) {
		t.Errorf("schema declares %d properties, settings has %d fields", len(schema.Properties), len(fields))
	}
}
