package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	kannelpeer "github.com/switchboardhq/switchboard/tools/testpeer/kannel"
)

// TestRealKannel runs the Kannel adapter against a real Kannel gateway and its fake SMS center: a
// text from a phone reaches the hub, the agent's reply reaches the phone, and the delivery report
// marks it delivered.
func TestRealKannel(t *testing.T) {
	srv, mount := swapServer(t)
	k := kannelpeer.Start(t, kannelpeer.Options{MOURL: srv.URL + "/kannel/mo?secret=" + kannelSecret + "&id=%I"})
	l := runLine(t, map[string]any{"adapter": "kannel", "numbers": []string{ourNumber}, "default_queue": "support",
		"kannel": map[string]any{"sendsms_url": k.SendsmsURL, "username": k.User, "password": k.Password,
			"callback_secret": kannelSecret, "public_url": srv.URL + "/"}}, srv, mount)
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)

	if err := k.InjectMO(customerNo, ourNumber, "Hello from a real phone, café"); err != nil {
		t.Fatal(err)
	}
	msg := l.host.Await(t, "the customer's text", func(ev *sdk.Event) bool {
		return ev.GetMessage().GetContent().GetText() == "Hello from a real phone, café"
	})
	if msg.Conversation != key || !strings.HasPrefix(msg.Id, "sms:kannel:") || msg.GetMessage().GetFrom().GetId() != customerNo {
		t.Errorf("message %v", msg)
	}
	started := l.host.Await(t, "the start", func(ev *sdk.Event) bool { return ev.GetConversationStarted() != nil })
	if c := started.GetConversationStarted().GetCustomer(); started.Conversation != key || c.GetPhone() != customerNo {
		t.Errorf("start %v", started)
	}

	reply := agentMessage("agent:sam:1", key, "Thanks, we are on it", "")
	if err := l.p.Deliver(ctx, reply); err != nil {
		t.Fatalf("Deliver through Kannel: %v", err)
	}
	mt := awaitMT(t, k, func(mts []kannelpeer.MT) bool {
		return slices.ContainsFunc(mts, func(m kannelpeer.MT) bool { return m.Text == "Thanks, we are on it" })
	})
	if m := mt[0]; m.From != ourNumber || m.To != customerNo || m.Type != "text" {
		t.Errorf("the SMS center got %+v", m)
	}
	receipt := func(eventID string, status pb.DeliveryStatus) func(*sdk.Event) bool {
		return func(ev *sdk.Event) bool {
			r := ev.GetDeliveryReceipt()
			return r != nil && r.MessageEventId == eventID && r.Status == status && ev.Conversation == key
		}
	}
	// The fake SMS center reports delivery at once, before or after the SMSC's acceptance: the
	// receipt that counts is DELIVERED (a SENT arriving after it is not reported).
	l.host.Await(t, "the reply's DELIVERED receipt", receipt("agent:sam:1", pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED))

	t.Run("a long UCS-2 reply arrives in concatenated parts", func(t *testing.T) {
		text := strings.Repeat("Спасибо за ожидание. ", 6) + "https://shop.example.com/t/42"
		if err := l.p.Deliver(ctx, agentMessage("agent:sam:2", key, text, "")); err != nil {
			t.Fatal(err)
		}
		var parts []kannelpeer.MT
		awaitMT(t, k, func(mts []kannelpeer.MT) bool {
			parts = slices.DeleteFunc(slices.Clone(mts), func(m kannelpeer.MT) bool { return m.Type != "udh" })
			return len(parts) >= 2 && len(parts) == int(parts[0].UDH[4])
		})
		slices.SortFunc(parts, func(a, b kannelpeer.MT) int { return int(a.UDH[5]) - int(b.UDH[5]) })
		var joined string
		for _, p := range parts {
			joined += p.Text
		}
		if joined != text {
			t.Errorf("the phone reassembles %q, want %q", joined, text)
		}
		l.host.Await(t, "the long reply's DELIVERED receipt", receipt("agent:sam:2", pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED))
	})
	t.Run("STOP from the phone stops replies", func(t *testing.T) {
		if err := k.InjectMO(customerNo, ourNumber, "STOP"); err != nil {
			t.Fatal(err)
		}
		l.host.Await(t, "the end after STOP", func(ev *sdk.Event) bool { return ev.GetConversationEnded() != nil })
		before := len(k.MT())
		err := l.p.Deliver(ctx, agentMessage("agent:sam:3", key, "Are you sure?", ""))
		if _, rejected := sdk.IsRejected(err); !rejected {
			t.Fatalf("Deliver after STOP: %v", err)
		}
		if n := len(k.MT()); n != before {
			t.Errorf("%d messages reached the SMS center after STOP", n-before)
		}
	})
}

// awaitMT polls the SMS center until ok holds for what it received.
func awaitMT(t *testing.T, k *kannelpeer.Kannel, ok func([]kannelpeer.MT) bool) []kannelpeer.MT {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mts := k.MT()
		if ok(mts) {
			return mts
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMS center did not get what was expected; it got %+v", mts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
