package main

import "testing"

func TestLocalpartMapping(t *testing.T) {
	cases := map[string]string{
		"alice":         "alice",
		"Alice":         "_alice",
		"bob_smith":     "bob__smith",
		"x=y":           "x=3dy",
		"ana.maria-2":   "ana.maria-2",
		"josé":          "jos=c3=a9",
		"a/b c@d:e":     "a=2fb=20c=40d=3ae",
		"agent0123abcd": "agent0123abcd",
	}
	for username, want := range cases {
		got := encodeLocalpart(username)
		if got != want {
			t.Errorf("encodeLocalpart(%q) = %q, want %q", username, got, want)
		}
		if back, ok := decodeLocalpart(got); !ok || back != username {
			t.Errorf("decodeLocalpart(%q) = %q, %v; want %q", got, back, ok, username)
		}
	}
	for _, bad := range []string{"", "_", "_A", "=zz", "=4", "A", "a b", "=61"} {
		if got, ok := decodeLocalpart(bad); ok {
			t.Errorf("decodeLocalpart(%q) = %q, accepted; want refused", bad, got)
		}
	}
}

func TestGhostNamespace(t *testing.T) {
	s := settings{ServerName: "example.org", GhostPrefix: "sb_", BotLocalpart: "switchboard"}
	if got, ok := s.agentOf("@sb__alice:example.org"); !ok || got != "Alice" {
		t.Errorf("agentOf = %q, %v", got, ok)
	}
	for _, id := range []string{"@sb_alice:other.org", "@alice:example.org", "sb_alice:example.org", "@switchboard:example.org", "@sb_:example.org"} {
		if got, ok := s.agentOf(id); ok {
			t.Errorf("agentOf(%q) = %q, want no agent", id, got)
		}
	}
	for id, want := range map[string]bool{
		"@switchboard:example.org": true, "@sb_x:example.org": true, "@sb_:example.org": true,
		"@bob:example.org": false, "@sb_x:evil.org": false, "@switchboard:evil.org": false,
	} {
		if s.ours(id) != want {
			t.Errorf("ours(%q) = %v, want %v", id, !want, want)
		}
	}
}

func TestTxnIDIsStable(t *testing.T) {
	if txnID("ev1") != txnID("ev1") || txnID("ev1") == txnID("ev2") || txnID("ev1", "file", "0") == txnID("ev1", "file", "1") {
		t.Error("txnID must be a function of its parts")
	}
}
