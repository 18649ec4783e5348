package e2e

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/social/metafake"
	"github.com/switchboardhq/switchboard/plugins/social/telegramfake"
)

// The social plugin runs against spec-following fakes of Telegram and Meta (no real platform
// runs offline); these tests drive it through the hub as operators deploy it.

// A Telegram customer reaches an agent through long polling: text and a photo arrive, the
// agent's reply reaches the chat, a SIGKILL of the plugin loses nothing and doubles nothing, and
// a customer who blocked the bot makes the agent's next reply fail with the reason in the
// console.
func TestTelegramCustomerThroughTheHub(t *testing.T) {
	tg := telegramfake.New(t)
	h := startHub(t, hubOptions{extraPlugins: fmt.Sprintf(
		`  - {instance: tg, plugin: social, tenant: acme, config: {adapter: telegram, telegram: {bot_token: %q, api_base: %q, mode: polling, poll_timeout: 1s}}}`,
		tg.Token, tg.URL())})
	h.waitPlugin("tg", 0)
	alice := availableAgent(t, h, "acme", "alice")

	tanya := telegramfake.Customer{ID: 7001, Username: "tanya_t", FirstName: "Tanya", LastName: "Tran", LanguageCode: "en"}
	photo := []byte("\xff\xd8\xff\xe0 a small jpeg")
	tg.Queue(tg.Text(tanya, "Hello from Telegram"), tg.Photo(tanya, "my receipt", photo))
	conv := alice.waitOffer(ctxTimeout(t, 15*time.Second))
	var view struct {
		Channel  string `json:"channel"`
		Origin   string `json:"origin"`
		Customer struct {
			DisplayName string `json:"display_name"`
			Nickname    string `json:"nickname"`
		} `json:"customer"`
	}
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	alice.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.Channel != "telegram" || view.Origin != "Telegram" || view.Customer.Nickname != "tanya_t" {
		t.Errorf("the chat shows channel %q, origin %q and customer %+v; want telegram, Telegram and tanya_t", view.Channel, view.Origin, view.Customer)
	}
	if got := h.metric("switchboard_active_chats", `channel="telegram"`); got != 1 {
		t.Errorf("switchboard_active_chats{channel=\"telegram\"} = %v, want 1", got)
	}
	if got := h.metric("switchboard_active_chats", `channel="social"`); got != 0 {
		t.Errorf("the plugin's name still counts as a channel: %v", got)
	}
	msgs := waitMessages(t, alice, conv, 2)
	if msgs[0].Text != "Hello from Telegram" || len(msgs[1].Attachments) != 1 || !strings.HasPrefix(msgs[1].Attachments[0].URL, "/api/v1/files/") {
		t.Fatalf("messages %+v, want the text then the photo kept by the hub", msgs)
	}
	res, err := alice.client.Get(h.url + msgs[1].Attachments[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(got) != string(photo) {
		t.Errorf("the photo downloads as %q, want the customer's bytes", got)
	}

	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r1", "text": "Hi Tanya, let me check."}, nil)
	waitFor(t, "the reply in the Telegram chat", func() bool { return slices.Contains(tg.Texts(tanya.ID), "Hi Tanya, let me check.") })

	// The plugin is killed while updates wait: each arrives once after the restart.
	p, _ := h.plugin("tg")
	tg.Queue(tg.Text(tanya, "one"), tg.Text(tanya, "two"))
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.waitPlugin("tg", p.PID)
	tg.Queue(tg.Text(tanya, "three"))
	msgs = waitMessages(t, alice, conv, 6)
	var texts []string
	for _, m := range msgs {
		if m.SenderKind == "customer" {
			texts = append(texts, m.Text)
		}
	}
	if want := []string{"Hello from Telegram", "my receipt", "one", "two", "three"}; !slices.Equal(texts, want) {
		t.Errorf("customer messages after the crash %q, want %q, each once", texts, want)
	}

	// The customer blocks the bot: the next reply fails, with the reason, in the console.
	tg.Block(tanya.ID)
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "r2", "text": "Are you still there?"}, nil)
	failed := waitDelivery(t, alice, conv, "Are you still there?", "failed")
	if !strings.Contains(strings.ToLower(failed.DeliveryReason), "blocked") {
		t.Errorf("the failed reply says %q, want the reason (the customer blocked the bot)", failed.DeliveryReason)
	}
}

// WhatsApp through the hub: the Meta verification handshake, a signed message starts the chat, a
// forged one is refused and counted, the agent's reply goes out and its delivery report marks it
// delivered, and a reply after Meta closed the 24-hour window is refused with the reason shown.
func TestWhatsAppCustomerThroughTheHub(t *testing.T) {
	meta := metafake.New(t)
	const verify = "verify-me"
	h := startHub(t, hubOptions{extraPlugins: fmt.Sprintf(
		`  - {instance: wa, plugin: social, tenant: acme, config: {adapter: whatsapp, whatsapp: {phone_number_id: %q, access_token: %q, app_secret: %q, verify_token: %q, api_base: %q}}}`,
		metafake.PhoneNumberID, meta.AccessToken, meta.AppSecret, verify, meta.URL())})
	h.waitPlugin("wa", 0)
	hook := h.url + "/c/wa/whatsapp/webhook"
	ctx := ctxTimeout(t, 60*time.Second)

	if _, ok, err := metafake.Verify(ctx, hook, verify); err != nil || !ok {
		t.Fatalf("verification handshake with the right token: ok %v, %v", ok, err)
	}
	if _, ok, _ := metafake.Verify(ctx, hook, "wrong"); ok {
		t.Fatal("verification handshake with a wrong token succeeded")
	}

	alice := availableAgent(t, h, "acme", "alice")
	wendy := metafake.WAUser{WaID: "15551234567", Name: "Wendy Wu"}
	body, _ := meta.WhatsAppText(wendy, "Hi, my order is late")
	forgedBefore := h.metric("switchboard_plugin_rejections_total", `plugin_instance="wa"`, `reason="forged_signature"`)
	if ans, err := metafake.PostSigned(ctx, hook, body, metafake.Sign("not-the-secret", body)); err != nil || ans.Status != 403 {
		t.Fatalf("a forged webhook answered %+v %v, want 403", ans, err)
	}
	waitFor(t, "the forged webhook counted", func() bool {
		return h.metric("switchboard_plugin_rejections_total", `plugin_instance="wa"`, `reason="forged_signature"`) == forgedBefore+1
	})
	if ans, err := meta.Post(ctx, hook, body); err != nil || ans.Status != 200 {
		t.Fatalf("a signed webhook answered %+v %v, want 200", ans, err)
	}
	conv := alice.waitOffer(ctxTimeout(t, 15*time.Second))
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	if msgs := waitMessages(t, alice, conv, 1); msgs[0].Text != "Hi, my order is late" {
		t.Fatalf("messages %+v", msgs)
	}
	// The platform retries the same message: stored once.
	if ans, err := meta.Post(ctx, hook, body); err != nil || ans.Status != 200 {
		t.Fatalf("a retried webhook answered %+v %v, want 200", ans, err)
	}

	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "w1", "text": "Sorry Wendy, it ships today."}, nil)
	waitFor(t, "the reply at Meta", func() bool { return slices.Contains(meta.WhatsAppTexts(wendy.WaID), "Sorry Wendy, it ships today.") })
	sent := meta.WhatsAppSent(wendy.WaID)
	if ans, err := meta.Post(ctx, hook, meta.WhatsAppStatus(sent[len(sent)-1].ID, "delivered")); err != nil || ans.Status != 200 {
		t.Fatalf("the status webhook answered %+v %v", ans, err)
	}
	waitDelivery(t, alice, conv, "Sorry Wendy, it ships today.", "delivered")

	// Meta closed the customer-service window: the reply is refused, with the reason.
	meta.CloseWindow(wendy.WaID)
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "w2", "text": "Anything else?"}, nil)
	failed := waitDelivery(t, alice, conv, "Anything else?", "failed")
	if !strings.Contains(failed.DeliveryReason, "24 hours") {
		t.Errorf("the refused reply says %q, want the 24-hour window", failed.DeliveryReason)
	}
	if msgs, _ := alice.messages(conv, 0); countCustomer(msgs) != 1 {
		t.Errorf("the customer's retried message is stored %d times, want once", countCustomer(msgs))
	}
}

func countCustomer(msgs []message) int {
	n := 0
	for _, m := range msgs {
		if m.SenderKind == "customer" {
			n++
		}
	}
	return n
}

// waitMessages waits until the conversation holds at least n messages and returns them.
func waitMessages(t *testing.T, a *agent, conv string, n int) []message {
	t.Helper()
	var msgs []message
	waitFor(t, fmt.Sprintf("%d messages in %s", n, conv), func() bool {
		msgs, _ = a.messages(conv, 0)
		return len(msgs) >= n
	})
	return msgs
}

// waitDelivery waits until the agent's message with the text shows the delivery state.
func waitDelivery(t *testing.T, a *agent, conv, text, state string) message {
	t.Helper()
	var found message
	waitFor(t, fmt.Sprintf("%q %s", text, state), func() bool {
		msgs, _ := a.messages(conv, 0)
		for _, m := range msgs {
			if m.Text == text && m.Delivery == state {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(20*time.Second, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}
