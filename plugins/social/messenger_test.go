package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/social/metafake"
	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

var paul = metafake.FBUser{PSID: "6543219876543210", FirstName: "Paul", LastName: "Martin"}

const (
	paulKey  = "messenger:6543219876543210|" + metafake.PageID
	sendPath = "/" + metafake.PageID + "/messages"
)

func messengerConfig(f *metafake.Server, extra map[string]any) map[string]any {
	fb := map[string]any{"page_id": metafake.PageID, "page_access_token": f.PageAccessToken, "app_secret": f.AppSecret,
		"verify_token": "fb-verify", "api_base": f.URL()}
	cfg := map[string]any{"adapter": "messenger", "messenger": fb}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

func TestMessengerText(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, messengerConfig(fake, nil), nil)
	hook := inst.url + "messenger/webhook"
	payload, mid := fake.MessengerText(paul, "Where is my order?")
	post(t, fake, hook, payload)
	post(t, fake, hook, payload)

	events := host.Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want conversation_started and the message once", len(events))
	}
	st := events[0].GetConversationStarted()
	if events[0].GetConversation() != paulKey || st == nil {
		t.Fatalf("first event = %v", events[0])
	}
	if c := st.GetCustomer(); c.GetAddress() != paul.PSID || c.GetFirstName() != "Paul" || c.GetLastName() != "Martin" {
		t.Errorf("customer = %+v, want the PSID and the profile's name", c)
	}
	if st.GetOrigin() != "Messenger" || st.GetChannel() != "messenger" {
		t.Errorf("origin %q channel %q, want Messenger and messenger", st.GetOrigin(), st.GetChannel())
	}
	if msg := events[1]; msg.GetId() != "fb:"+mid || msg.GetMessage().GetFrom().GetDisplayName() != "Paul Martin" {
		t.Errorf("message = %v", msg)
	}
	profiles := fake.Requests(http.MethodGet, "/"+paul.PSID)
	if len(profiles) != 1 || profiles[0].Query.Get("fields") != "first_name,last_name" || profiles[0].Token != fake.PageAccessToken || profiles[0].TokenIn != "header" {
		t.Errorf("profile requests = %+v, want one with fields first_name,last_name and the page token in the header", profiles)
	}

	// An echo of the page's own message is not the customer's.
	echo := fake.MessengerPayload(metafake.PageID, map[string]any{"sender": map[string]string{"id": metafake.PageID},
		"recipient": map[string]string{"id": paul.PSID}, "timestamp": time.Now().UnixMilli(),
		"message": map[string]any{"mid": "m_echo", "text": "page says hi", "is_echo": true}})
	post(t, fake, hook, echo)
	if n := len(host.Messages()); n != 1 {
		t.Errorf("the echo was stored: %d messages", n)
	}
}

func TestMessengerAttachments(t *testing.T) {
	fake := metafake.New(t)
	host := newTestHost()
	inst := startInstance(t, host, messengerConfig(fake, map[string]any{"max_media_bytes": 2048}), nil)
	hook := inst.url + "messenger/webhook"

	img := bytes.Repeat([]byte{0xff, 0xd8}, 600)
	payload, _ := fake.MessengerAttachment(paul, "image", img, "image/jpeg", "photo.jpg")
	post(t, fake, hook, payload)
	ev := host.Await(t, "the image", func(ev *sdk.Event) bool { return len(ev.GetMessage().GetContent().GetAttachments()) > 0 })
	a := ev.GetMessage().GetContent().GetAttachments()[0]
	if a.GetName() != "photo.jpg" || a.GetContentType() != "image/jpeg" || !bytes.Equal(a.GetData(), img) {
		t.Errorf("attachment = %v", a)
	}
	for _, r := range fake.Requests(http.MethodGet, "photo.jpg") {
		if r.Token != "" {
			t.Errorf("the page token went to the CDN: %+v", r)
		}
	}

	payload, _ = fake.MessengerAttachment(paul, "file", bytes.Repeat([]byte("z"), 3000), "application/zip", "logs.zip")
	post(t, fake, hook, payload)
	if host.count("media_refused/oversized") != 1 {
		t.Error("the oversized file was not counted")
	}
	msgs := host.Messages()
	if len(msgs) != 2 || len(msgs[1].GetMessage().GetContent().GetAttachments()) != 0 ||
		!strings.Contains(msgs[1].GetMessage().GetContent().GetText(), "it was left out") {
		t.Errorf("a message with only an oversized file: %d messages, want the file left out with a note for the agent", len(msgs))
	}
}

func TestMessengerDeliverWindowAndReceipts(t *testing.T) {
	fake := metafake.New(t)
	clk := newClock()
	fake.Now = clk.Now
	host := newTestHost()
	inst := startInstance(t, host, messengerConfig(fake, nil), clk)
	hook := inst.url + "messenger/webhook"
	t0 := clk.Now()
	payload, _ := fake.MessengerText(paul, "hello")
	post(t, fake, hook, payload)
	host.Await(t, "the customer's message", withText("hello"))

	clk.set(t0.Add(23*time.Hour + 59*time.Minute))
	if err := deliver(inst.p, paulKey, "out-1", "Your order ships today."); err != nil {
		t.Fatalf("at 23h59: %v", err)
	}
	sends := fake.Requests(http.MethodPost, sendPath)
	if len(sends) != 1 || sends[0].Token != fake.PageAccessToken || sends[0].TokenIn != "header" {
		t.Fatalf("sends = %+v, want one with the page token in the header", sends)
	}
	var body map[string]any
	json.Unmarshal(sends[0].Body, &body)
	want := map[string]any{"messaging_type": "RESPONSE", "message": map[string]any{"text": "Your order ships today."}, "recipient": map[string]any{"id": paul.PSID}}
	if !jsonEqual(body, want) {
		t.Errorf("send body = %v\nwant %v", body, want)
	}
	mid := fake.MessengerSent(paul.PSID)[0].ID
	post(t, fake, hook, fake.MessengerDelivery(paul.PSID, mid))
	r := host.Await(t, "the delivery receipt", func(ev *sdk.Event) bool { return ev.GetDeliveryReceipt() != nil })
	if dr := r.GetDeliveryReceipt(); dr.GetMessageEventId() != "out-1" || dr.GetStatus() != pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED || r.GetConversation() != paulKey {
		t.Errorf("receipt = %v on %q", dr, r.GetConversation())
	}

	clk.set(t0.Add(24*time.Hour + time.Minute))
	reason := rejected(t, deliver(inst.p, paulKey, "out-2", "still there?"))
	if reason != messengerWindowClosed || !strings.Contains(reason, "HUMAN_AGENT") {
		t.Errorf("reason = %q", reason)
	}
	if n := len(fake.Requests(http.MethodPost, sendPath)); n != 1 {
		t.Errorf("the refused reply was sent anyway (%d sends)", n)
	}

	// A fresh process does not know the window: Messenger's own refusal gives the same reason.
	inst.stop()
	second := startInstance(t, host, messengerConfig(fake, nil), clk)
	if reason := rejected(t, deliver(second.p, paulKey, "out-3", "hello?")); reason != messengerWindowClosed {
		t.Errorf("after a restart: %q", reason)
	}

	// The person cannot be reached any more.
	payload, _ = fake.MessengerText(paul, "back again")
	post(t, fake, second.url+"messenger/webhook", payload)
	host.Await(t, "the customer's new message", withText("back again"))
	fake.MakeUnavailable(paul.PSID)
	if reason := rejected(t, deliver(second.p, paulKey, "out-4", "welcome back")); !strings.Contains(reason, "isn't available") {
		t.Errorf("unavailable: %q", reason)
	}
}
