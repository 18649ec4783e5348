package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/plugins/social/metafake"
)

// The X-Hub-Signature-256 scheme ("sha256=" + hex HMAC-SHA256 of the raw body) is the one GitHub
// documents with a test vector; Meta publishes none of its own.
func TestSignaturePublishedVector(t *testing.T) {
	const (
		secret = "It's a Secret to Everybody"
		body   = "Hello, World!"
		sig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	if err := checkSignature(secret, sig, []byte(body)); err != nil {
		t.Errorf("the published vector is refused: %v", err)
	}
	if got := metafake.Sign(secret, []byte(body)); got != sig {
		t.Errorf("the fake signs the vector as %s", got)
	}
	for name, header := range map[string]string{
		"missing":        "",
		"sha1":           "sha1=0b0c7ab87d5c0b4ba6d4a6d4a6a7d2dcdc5f0e1e",
		"no prefix":      strings.TrimPrefix(sig, "sha256="),
		"not hex":        "sha256=zz",
		"other secret":   metafake.Sign("another secret", []byte(body)),
		"truncated":      sig[:len(sig)-2],
		"one bit off":    sig[:len(sig)-1] + "6",
		"upper-case hex": "sha256=" + strings.ToUpper(strings.TrimPrefix(sig, "sha256=")),
	} {
		err := checkSignature(secret, header, []byte(body))
		if name == "upper-case hex" {
			if err != nil {
				t.Errorf("%s: refused: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if checkSignature(secret, sig, []byte(body+" ")) == nil {
		t.Error("a changed body is accepted")
	}
}

// metaCase is one Meta adapter under test: its config and webhook path, and a payload maker.
type metaCase struct {
	name   string
	path   string
	config func(*metafake.Server) map[string]any
	// text is a valid payload of a customer's text message.
	text func(*metafake.Server) []byte
	// foreign is a valid payload for another number or page.
	foreign func(*metafake.Server) []byte
	// verifyToken is the configured verify token.
	verifyToken string
}

func metaCases() []metaCase {
	return []metaCase{{
		name: "whatsapp", path: "whatsapp/webhook", verifyToken: "wa-verify",
		config: func(f *metafake.Server) map[string]any { return whatsappConfig(f, nil) },
		text:   func(f *metafake.Server) []byte { p, _ := f.WhatsAppText(maria, "hello"); return p },
		foreign: func(f *metafake.Server) []byte {
			return metafake.WhatsAppPayload("999999999999", map[string]any{"messages": []map[string]any{
				{"from": maria.WaID, "id": "wamid.x", "timestamp": "1700000000", "type": "text", "text": map[string]string{"body": "hi"}}}})
		},
	}, {
		name: "messenger", path: "messenger/webhook", verifyToken: "fb-verify",
		config: func(f *metafake.Server) map[string]any { return messengerConfig(f, nil) },
		text:   func(f *metafake.Server) []byte { p, _ := f.MessengerText(paul, "hello"); return p },
		foreign: func(f *metafake.Server) []byte {
			return f.MessengerPayload("555555555", map[string]any{"sender": map[string]string{"id": paul.PSID},
				"recipient": map[string]string{"id": "555555555"}, "timestamp": 1700000000000, "message": map[string]any{"mid": "m_x", "text": "hi"}})
		},
	}}
}

func TestMetaVerificationHandshake(t *testing.T) {
	for _, mc := range metaCases() {
		t.Run(mc.name, func(t *testing.T) {
			fake := metafake.New(t)
			host := newTestHost()
			inst := startInstance(t, host, mc.config(fake), nil)
			ctx := ctxFor(t)
			a, ok, err := metafake.Verify(ctx, inst.url+mc.path, mc.verifyToken)
			if err != nil || !ok {
				t.Fatalf("good token: %+v %v: want 200 and the challenge echoed", a, err)
			}
			a, ok, err = metafake.Verify(ctx, inst.url+mc.path, "not-the-token")
			if err != nil || ok || a.Status != http.StatusForbidden {
				t.Errorf("bad token: %+v %v, want 403", a, err)
			}
			if host.count("inbound_refused/forged_verify_token") != 1 {
				t.Error("the bad token was not counted")
			}
			res, err := http.Get(inst.url + mc.path + "?hub.verify_token=" + mc.verifyToken)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("no hub.mode or challenge: %d, want 400", res.StatusCode)
			}
		})
	}
}

func TestMetaWebhookRefusals(t *testing.T) {
	for _, mc := range metaCases() {
		t.Run(mc.name, func(t *testing.T) {
			fake := metafake.New(t)
			host := newTestHost()
			inst := startInstance(t, host, mc.config(fake), nil)
			ctx := ctxFor(t)
			hook := inst.url + mc.path
			good, foreign := mc.text(fake), mc.foreign(fake)

			for name, tc := range map[string]struct {
				body      []byte
				signature string
				status    int
				reason    string
			}{
				"unsigned":               {good, "", http.StatusForbidden, "forged_signature"},
				"re-signed":              {good, metafake.Sign("a guessed secret", good), http.StatusForbidden, "forged_signature"},
				"signature of another":   {good, metafake.Sign(fake.AppSecret, []byte("{}")), http.StatusForbidden, "forged_signature"},
				"truncated JSON":         {good[:len(good)-7], metafake.Sign(fake.AppSecret, good[:len(good)-7]), http.StatusBadRequest, "malformed"},
				"not an object":          {[]byte(`[1,2]`), metafake.Sign(fake.AppSecret, []byte(`[1,2]`)), http.StatusBadRequest, "malformed"},
				"other object":           {[]byte(`{"object":"instagram","entry":[]}`), metafake.Sign(fake.AppSecret, []byte(`{"object":"instagram","entry":[]}`)), http.StatusBadRequest, "malformed"},
				"another number or page": {foreign, metafake.Sign(fake.AppSecret, foreign), http.StatusNotFound, "unknown_recipient"},
			} {
				before := host.count("inbound_refused/" + tc.reason)
				a, err := metafake.PostSigned(ctx, hook, tc.body, tc.signature)
				if err != nil || a.Status != tc.status {
					t.Errorf("%s: %+v %v, want %d", name, a, err, tc.status)
				}
				if host.count("inbound_refused/"+tc.reason) != before+1 {
					t.Errorf("%s: not counted as %s", name, tc.reason)
				}
			}
			big := bytes.Repeat([]byte(" "), maxBodyBytes+1)
			if a, _ := metafake.PostSigned(ctx, hook, big, metafake.Sign(fake.AppSecret, big)); a.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("oversized: %d, want 413", a.Status)
			}
			if host.count("inbound_refused/oversized") != 1 {
				t.Error("the oversized body was not counted")
			}
			if n := len(host.Events()); n != 0 {
				t.Fatalf("refused requests stored %d events", n)
			}
			// The signed original goes through.
			if a, err := fake.Post(ctx, hook, good); err != nil || a.Status != http.StatusOK {
				t.Fatalf("the signed payload: %+v %v", a, err)
			}
			host.Await(t, "the message", withText("hello"))
		})
	}
}

func TestMetaDisabled(t *testing.T) {
	for _, mc := range metaCases() {
		t.Run(mc.name, func(t *testing.T) {
			fake := metafake.New(t)
			host := newTestHost()
			cfg := mc.config(fake)
			cfg["enabled"] = false
			inst := startInstance(t, host, cfg, nil)
			a, err := fake.Post(ctxFor(t), inst.url+mc.path, mc.text(fake))
			if err != nil || a.Status != http.StatusGone {
				t.Errorf("disabled: %+v %v, want 410", a, err)
			}
			if host.count("inbound_refused/disabled") != 1 || len(host.Events()) != 0 {
				t.Errorf("disabled: counted %d, stored %d", host.count("inbound_refused/disabled"), len(host.Events()))
			}
			key := inst.p.keyOf("123")
			if reason := rejected(t, deliver(inst.p, key, "out-1", "hello")); !strings.Contains(reason, "disabled") {
				t.Errorf("reason = %q", reason)
			}
			if reqs := fake.Requests("", ""); len(reqs) != 0 {
				t.Errorf("a disabled instance called the Graph API: %+v", reqs)
			}
		})
	}
}
