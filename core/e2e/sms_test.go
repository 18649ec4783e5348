package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/sms/twiliofake"
	"github.com/switchboardhq/switchboard/plugins/social/metafake"
	kannelpeer "github.com/switchboardhq/switchboard/tools/testpeer/kannel"
	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// An SMS through a real Kannel gateway (bearerbox, smsbox and the fake SMS center, started by
// the test): the customer's text reaches an agent, the reply reaches the SMS center, its
// delivery report marks it delivered in the console, a crash of the plugin loses nothing, and
// after STOP nothing more is sent.
func TestSMSThroughKannel(t *testing.T) {
	const secret = "kannel-callback-secret-for-tests-0123"
	const ours, customer = "+15559990000", "+15550001111"
	addr := testproc.FreeAddr(t)
	kannel := kannelpeer.Start(t, kannelpeer.Options{
		MOURL: "http://" + addr + "/c/sms/kannel/mo?secret=" + secret + "&id=%I"})
	h := startHub(t, hubOptions{addr: addr, extraPlugins: fmt.Sprintf(
		`  - {instance: sms, plugin: sms, tenant: acme, config: {adapter: kannel, numbers: [%q], kannel: {sendsms_url: %q, username: %q, password: %q, callback_secret: %q}}}`,
		ours, kannel.SendsmsURL, kannel.User, kannel.Password, secret)})
	h.waitPlugin("sms", 0)
	alice := availableAgent(t, h, "acme", "alice")

	if err := kannel.InjectMO(customer, ours, "Hello, is my parcel on its way?"); err != nil {
		t.Fatal(err)
	}
	conv := alice.waitOffer(ctxTimeout(t, 20*time.Second))
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	var view struct {
		Channel  string `json:"channel"`
		Customer struct {
			DisplayName string `json:"display_name"`
			Phone       string `json:"phone"`
		} `json:"customer"`
	}
	alice.must("GET", "/api/v1/conversations/"+conv, nil, &view)
	if view.Channel != "sms" || view.Customer.Phone != customer || view.Customer.DisplayName != customer {
		t.Errorf("the chat shows channel %q and customer %+v; want sms and the customer's number", view.Channel, view.Customer)
	}
	if msgs := waitMessages(t, alice, conv, 1); msgs[0].Text != "Hello, is my parcel on its way?" {
		t.Fatalf("messages %+v", msgs)
	}

	// The agent's formatted reply goes out as plain text with the link kept, and is delivered.
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "k1",
		"text": "Yes! Track it here", "html": `<p><b>Yes!</b> Track it <a href="https://example.com/t/42">here</a></p>`}, nil)
	mt := awaitKannelMT(t, kannel, func(mts []kannelpeer.MT) bool { return len(mts) >= 1 })
	if mt[0].To != customer || mt[0].From != ours || !strings.Contains(mt[0].Text, "Yes! Track it here (https://example.com/t/42)") {
		t.Errorf("the SMS center got %+v, want the reply as plain text with the link", mt[0])
	}
	waitDelivery(t, alice, conv, "Yes! Track it here", "delivered")

	// The plugin crashes; texts sent meanwhile arrive once when it is back (Kannel retries).
	p, _ := h.plugin("sms")
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := kannel.InjectMO(customer, ours, "Thanks, and the invoice?"); err != nil {
		t.Fatal(err)
	}
	h.waitPlugin("sms", p.PID)
	customerTexts := func() []string {
		msgs, _ := alice.messages(conv, 0)
		var texts []string
		for _, m := range msgs {
			if m.SenderKind == "customer" {
				texts = append(texts, m.Text)
			}
		}
		return texts
	}
	waitFor(t, "the text sent while the plugin was down", func() bool { return len(customerTexts()) >= 2 })
	if err := kannel.InjectMO(customer, ours, "STOP"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "STOP", func() bool { return len(customerTexts()) >= 3 })
	if got, want := customerTexts(), []string{"Hello, is my parcel on its way?", "Thanks, and the invoice?", "STOP"}; !slices.Equal(got, want) {
		t.Errorf("customer texts %q, want %q, each once", got, want)
	}

	// After STOP nothing more is sent. The chat ended; when the customer writes again, the
	// agent's reply is refused with the reason, and the SMS center gets nothing.
	sentBefore := len(kannel.MT())
	if err := kannel.InjectMO(customer, ours, "One more thing"); err != nil {
		t.Fatal(err)
	}
	again := alice.waitOffer(ctxTimeout(t, 20*time.Second))
	if again == conv {
		t.Fatalf("the text after STOP went to the ended chat %s", conv)
	}
	alice.must("POST", "/api/v1/conversations/"+again+"/accept", nil, nil)
	alice.must("POST", "/api/v1/conversations/"+again+"/messages", map[string]string{"client_id": "k2", "text": "Noted."}, nil)
	failed := waitDelivery(t, alice, again, "Noted.", "failed")
	if !strings.Contains(failed.DeliveryReason, "STOP") {
		t.Errorf("the refused reply says %q, want the opt-out", failed.DeliveryReason)
	}
	if n := len(kannel.MT()); n != sentBefore {
		t.Errorf("the SMS center got %d more messages after STOP", n-sentBefore)
	}
}

// Twilio's webhooks through the hub, against a fake of Twilio's API that signs as Twilio does:
// a forged, a re-signed-with-another-token and a wrong-URL request are refused with 403 and
// counted; a signed one reaches an agent, whose reply is created through the Messages API and
// marked delivered by the status callback.
func TestTwilioWebhooksThroughTheHub(t *testing.T) {
	const ours, customer = "+15559990000", "+15550002222"
	tw := twiliofake.New(t, ours)
	addr := testproc.FreeAddr(t)
	public := "http://" + addr + "/c/tw/"
	h := startHub(t, hubOptions{addr: addr, extraPlugins: fmt.Sprintf(
		`  - {instance: tw, plugin: sms, tenant: acme, config: {adapter: twilio, numbers: [%q], twilio: {account_sid: %q, auth_token: %q, public_url: %q, api_base: %q}}}`,
		ours, tw.AccountSID, tw.AuthToken, public, tw.URL)})
	h.waitPlugin("tw", 0)
	alice := availableAgent(t, h, "acme", "alice")
	ctx := ctxTimeout(t, 60*time.Second)
	hook := public + "twilio/sms"

	forged := tw.IncomingParams(customer, ours, "forged")
	before := h.metric("switchboard_plugin_rejections_total", `plugin_instance="tw"`, `reason="forged_signature"`)
	for name, signature := range map[string]string{
		"forged":      "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"other token": twiliofake.Sign("not-the-auth-token", hook, forged),
		"wrong URL":   twiliofake.Sign(tw.AuthToken, public+"elsewhere", forged),
	} {
		if code, body, err := tw.PostSigned(ctx, hook, forged, signature); err != nil || code != 403 {
			t.Errorf("%s request answered %d %q %v, want 403", name, code, body, err)
		}
	}
	waitFor(t, "the three refusals counted", func() bool {
		return h.metric("switchboard_plugin_rejections_total", `plugin_instance="tw"`, `reason="forged_signature"`) == before+3
	})
	params := tw.IncomingParams(customer, ours, "Hi from my phone")
	if code, body, err := tw.Post(ctx, hook, params); err != nil || code != 200 || !strings.Contains(body, "<Response") {
		t.Fatalf("a signed request answered %d %q %v, want 200 with TwiML", code, body, err)
	}
	conv := alice.waitOffer(ctxTimeout(t, 15*time.Second))
	alice.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, nil)
	if msgs := waitMessages(t, alice, conv, 1); len(msgs) != 1 || msgs[0].Text != "Hi from my phone" {
		t.Fatalf("messages %+v, want only the signed text (nothing of the refused ones)", msgs)
	}
	alice.must("POST", "/api/v1/conversations/"+conv+"/messages", map[string]string{"client_id": "t1", "text": "Hello, how can I help?"}, nil)
	var created twiliofake.Message
	waitFor(t, "the Messages API call", func() bool {
		for _, m := range tw.Messages() {
			if m.To == customer && m.Body == "Hello, how can I help?" {
				created = m
				return true
			}
		}
		return false
	})
	if created.From != ours || created.StatusCallback == "" {
		t.Errorf("message created as %+v, want from our number with a status callback", created)
	}
	if code, err := tw.SendStatus(ctx, created.SID, "delivered", ""); err != nil || code/100 != 2 {
		t.Fatalf("status callback answered %d %v", code, err)
	}
	waitDelivery(t, alice, conv, "Hello, how can I help?", "delivered")
}

func awaitKannelMT(t *testing.T, k *kannelpeer.Kannel, ok func([]kannelpeer.MT) bool) []kannelpeer.MT {
	t.Helper()
	var mts []kannelpeer.MT
	waitFor(t, "a text at the SMS center", func() bool { mts = k.MT(); return ok(mts) })
	return mts
}

// Bad input from the platforms' side is refused by the channel plugins with a precise status and
// a count, and nothing reaches the store: a form that does not parse, a text to a number that is
// not ours, a body over the plugin's limit, truncated JSON, a WhatsApp number the instance does not
// serve, and a message for an instance that is switched off.
func TestChannelBadInputThroughTheHub(t *testing.T) {
	const ours = "+15559990000"
	tw := twiliofake.New(t, ours)
	meta := metafake.New(t)
	addr := testproc.FreeAddr(t)
	public := "http://" + addr + "/c/tw/"
	wa := fmt.Sprintf(`{phone_number_id: %q, access_token: %q, app_secret: %q, verify_token: v, api_base: %q}`,
		metafake.PhoneNumberID, meta.AccessToken, meta.AppSecret, meta.URL())
	h := startHub(t, hubOptions{addr: addr, limitsExtra: ", max_body_bytes: 4194304", extraPlugins: fmt.Sprintf(
		"  - {instance: tw, plugin: sms, tenant: acme, config: {adapter: twilio, numbers: [%q], twilio: {account_sid: %q, auth_token: %q, public_url: %q, api_base: %q}}}\n"+
			"  - {instance: wa, plugin: social, tenant: acme, config: {adapter: whatsapp, whatsapp: %s}}\n"+
			"  - {instance: wa-off, plugin: social, tenant: acme, config: {adapter: whatsapp, enabled: false, whatsapp: %s}}",
		ours, tw.AccountSID, tw.AuthToken, public, tw.URL, wa, wa)})
	for _, inst := range []string{"tw", "wa", "wa-off"} {
		h.waitPlugin(inst, 0)
	}
	availableAgent(t, h, "acme", "alice")
	ctx := ctxTimeout(t, 60*time.Second)
	twilioHook := public + "twilio/sms"
	metaHook := func(inst string) string { return h.url + "/c/" + inst + "/whatsapp/webhook" }
	text, _ := meta.WhatsAppText(metafake.WAUser{WaID: "15550003333", Name: "Nina"}, "hello")

	for _, tc := range []struct {
		name, instance, reason string
		send                   func() (int, error)
		want                   int
	}{
		{"malformed form", "tw", "malformed", func() (int, error) {
			return rawPost(ctx, twilioHook, "application/x-www-form-urlencoded", []byte("From=%zz&Body=%"), nil)
		}, 400},
		{"unknown number", "tw", "unknown_number", func() (int, error) {
			code, _, err := tw.Post(ctx, twilioHook, tw.IncomingParams("+15550003333", "+15550009999", "to a number we do not have"))
			return code, err
		}, 404},
		{"oversized body", "tw", "oversized", func() (int, error) {
			p := tw.IncomingParams("+15550003333", ours, strings.Repeat("x", 3<<20))
			code, _, err := tw.Post(ctx, twilioHook, p)
			return code, err
		}, 413},
		{"truncated JSON", "wa", "malformed", func() (int, error) {
			cut := text[:len(text)/2]
			a, err := metafake.PostSigned(ctx, metaHook("wa"), cut, metafake.Sign(meta.AppSecret, cut))
			return a.Status, err
		}, 400},
		{"another WhatsApp number", "wa", "unknown_recipient", func() (int, error) {
			other := metafake.WhatsAppPayload("999999999999999", map[string]any{"messages": []map[string]any{{
				"from": "15550003333", "id": "wamid.other", "timestamp": "1700000000", "type": "text", "text": map[string]string{"body": "hi"}}}})
			a, err := meta.Post(ctx, metaHook("wa"), other)
			return a.Status, err
		}, 404},
		{"switched-off instance", "wa-off", "disabled", func() (int, error) {
			a, err := meta.Post(ctx, metaHook("wa-off"), text)
			return a.Status, err
		}, 410},
	} {
		before := h.metric("switchboard_plugin_rejections_total", `plugin_instance="`+tc.instance+`"`, `reason="`+tc.reason+`"`)
		code, err := tc.send()
		if err != nil || code != tc.want {
			t.Errorf("%s: answered %d %v, want %d", tc.name, code, err, tc.want)
			continue
		}
		waitFor(t, tc.name+" counted", func() bool {
			return h.metric("switchboard_plugin_rejections_total", `plugin_instance="`+tc.instance+`"`, `reason="`+tc.reason+`"`) == before+1
		})
	}
	// Every request was answered after the plugin decided: anything stored would be counted.
	if got := h.metric("switchboard_conversations_total", `event="started"`); got != 0 {
		t.Errorf("%v conversations started from refused input, want none", got)
	}
	if got := h.metric("switchboard_messages_total", `sender="customer"`); got != 0 {
		t.Errorf("%v customer messages stored from refused input, want none", got)
	}
}

// rawPost posts a body as is.
func rawPost(ctx context.Context, url, contentType string, body []byte, header map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}
