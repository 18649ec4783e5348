package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/switchboardhq/switchboard/plugins/social/metafake"
)

// TestConsoleDeliveryReports: an agent answers a WhatsApp customer in the console; the platform's
// report marks the reply Delivered, and a reply after the 24-hour window closed shows Not
// delivered with the reason, also after a reload.
func TestConsoleDeliveryReports(t *testing.T) {
	open := people(t)
	meta := metafake.New(t)
	h := startHub(t, hubOptions{extraPlugins: fmt.Sprintf(
		`  - {instance: wa, plugin: social, tenant: acme, config: {adapter: whatsapp, whatsapp: {phone_number_id: %q, access_token: %q, app_secret: %q, verify_token: v, api_base: %q}}}`,
		metafake.PhoneNumberID, meta.AccessToken, meta.AppSecret, meta.URL())})
	h.waitPlugin("wa", 0)
	hook := h.url + "/c/wa/whatsapp/webhook"
	ctx := ctxTimeout(t, 90*time.Second)

	alice := open()
	signIn(t, alice, h.url, "alice")
	chooseState(t, alice, "available")
	olga := metafake.WAUser{WaID: "4915112345678", Name: "Olga Ortiz"}
	body, _ := meta.WhatsAppText(olga, "Where is my refund?")
	if ans, err := meta.Post(ctx, hook, body); err != nil || ans.Status != 200 {
		t.Fatalf("webhook answered %+v %v", ans, err)
	}
	id := acceptOffer(t, alice, "Olga Ortiz")

	reply(t, alice, id, chromedp.SendKeys(pane(id)+` .editor`, "It left our bank today."))
	waitFor(t, "the reply at Meta", func() bool { return slices.Contains(meta.WhatsAppTexts(olga.WaID), "It left our bank today.") })
	sent := meta.WhatsAppSent(olga.WaID)
	if ans, err := meta.Post(ctx, hook, meta.WhatsAppStatus(sent[len(sent)-1].ID, "delivered")); err != nil || ans.Status != 200 {
		t.Fatalf("status webhook answered %+v %v", ans, err)
	}
	steps(t, alice, "the reply shows Delivered", chromedp.WaitVisible(pane(id)+` li.msg.agent .delivery.delivered`))

	meta.CloseWindow(olga.WaID)
	reply(t, alice, id, chromedp.SendKeys(pane(id)+` .editor`, "Anything else?"))
	steps(t, alice, "the late reply shows Not delivered", chromedp.WaitVisible(pane(id)+` li.msg.agent .delivery.failed`))
	if got := textOf(alice, pane(id)+` li.msg.agent .delivery-reason`); !strings.Contains(got, "24 hours") {
		t.Errorf("the failed reply says %q, want the 24-hour window", got)
	}
	screenshot(alice, "console-delivery.png")
	load(t, alice, h.url+"/", `#chats `+row(id))
	steps(t, alice, "after a reload the reports stay",
		chromedp.Click(`#chats `+row(id)),
		chromedp.WaitVisible(pane(id)+` li.msg.agent .delivery.delivered`),
		chromedp.WaitVisible(pane(id)+` li.msg.agent .delivery.failed`))
}
