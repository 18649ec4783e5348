package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk"
)

// TestStopStart: STOP reaches the agent and ends the conversation; nothing is sent until START.
// With a state_dir the opt-out outlives the process.
func TestStopStart(t *testing.T) {
	dir := t.TempDir()
	l := startTwilio(t, map[string]any{"state_dir": dir})
	key := "sms:" + customerNo + "|" + ourNumber
	ctx := ctxFor(t)
	code, _, params := l.sms(t, customerNo, ourNumber, " Stop ")
	if code != http.StatusOK {
		t.Fatalf("answered %d", code)
	}
	msg := l.host.Await(t, "the STOP message", func(ev *sdk.Event) bool { return ev.GetMessage() != nil })
	if msg.GetMessage().GetContent().GetText() != " Stop " {
		t.Errorf("message %v", msg)
	}
	ended := l.host.Await(t, "the end of the conversation", func(ev *sdk.Event) bool { return ev.GetConversationEnded() != nil })
	if ended.Conversation != key || ended.Id != "stop:"+params.Get("MessageSid") || !strings.Contains(ended.GetConversationEnded().Reason, "opted out with STOP") {
		t.Errorf("ended %v", ended)
	}
	err := l.p.Deliver(ctx, agentMessage("after-stop", key, "Are you sure?", ""))
	if reason, ok := sdk.IsRejected(err); !ok || reason != "the customer opted out with STOP: nothing can be sent until they text START" {
		t.Fatalf("Deliver after STOP: %v", err)
	}
	if n := len(l.fake.Requests()); n != 0 {
		t.Fatalf("%d API requests after STOP", n)
	}
	data, err := os.ReadFile(filepath.Join(dir, "sms-test.json"))
	if err != nil || !strings.Contains(string(data), key) {
		t.Fatalf("state file: %s %v", data, err)
	}

	t.Run("the opt-out outlives a restart", func(t *testing.T) {
		again := startTwilio(t, map[string]any{"state_dir": dir})
		err := again.p.Deliver(ctx, agentMessage("after-restart", key, "hello?", ""))
		if _, ok := sdk.IsRejected(err); !ok {
			t.Fatalf("Deliver after a restart: %v", err)
		}
	})
	t.Run("START opts back in and starts a new conversation", func(t *testing.T) {
		l.sms(t, customerNo, ourNumber, "start")
		starts := 0
		for _, ev := range l.host.Events() {
			if ev.GetConversationStarted() != nil {
				starts++
			}
		}
		if starts != 2 {
			t.Errorf("%d conversation starts, want 2 (the STOP ended the first)", starts)
		}
		if err := l.p.Deliver(ctx, agentMessage("after-start", key, "Welcome back", "")); err != nil {
			t.Fatalf("Deliver after START: %v", err)
		}
		if m := l.fake.Messages(); len(m) != 1 || m[0].Body != "Welcome back" {
			t.Errorf("messages at Twilio %v", m)
		}
		data, _ := os.ReadFile(filepath.Join(dir, "sms-test.json"))
		if strings.Contains(string(data), key) {
			t.Errorf("state file still lists the customer: %s", data)
		}
	})
}

// TestNewConversationAfterEnd: once the agent ended the conversation, the customer's next text
// starts another.
func TestNewConversationAfterEnd(t *testing.T) {
	l := startTwilio(t, nil)
	key := "sms:" + customerNo + "|" + ourNumber
	l.sms(t, customerNo, ourNumber, "first")
	if err := l.p.Deliver(ctxFor(t), sdk.NewConversationEnded("ended:c1", key, sdk.Agent("sam", "Sam"), "the agent ended the chat")); err != nil {
		t.Fatal(err)
	}
	if n := len(l.fake.Requests()); n != 0 {
		t.Errorf("the end sent %d SMS", n)
	}
	l.sms(t, customerNo, ourNumber, "second")
	starts := 0
	for _, ev := range l.host.Events() {
		if ev.GetConversationStarted() != nil {
			starts++
		}
	}
	if starts != 2 {
		t.Errorf("%d starts, want 2", starts)
	}
}

// TestRefusedByHub: a message the hub refuses (the conversation is in wrap-up) is answered 503
// and counted; the next attempt starts the conversation again.
func TestRefusedByHub(t *testing.T) {
	l := startTwilio(t, nil)
	l.sms(t, customerNo, ourNumber, "first")
	l.host.Fail(func(ev *sdk.Event) error {
		if ev.GetMessage() != nil {
			return &sdk.RejectedError{Reason: "the conversation has ended"}
		}
		return nil
	})
	code, _, params := l.sms(t, customerNo, ourNumber, "during wrap-up")
	if code != http.StatusServiceUnavailable || l.host.count(reasonHubRefused) != 1 {
		t.Fatalf("answered %d, counted %d", code, l.host.count(reasonHubRefused))
	}
	l.host.Fail(nil)
	if code, _, _ := l.fake.Post(context.Background(), publicBase+"twilio/sms", params); code != http.StatusOK {
		t.Fatalf("retry answered %d", code)
	}
	starts := 0
	for _, ev := range l.host.Events() {
		if ev.GetConversationStarted() != nil {
			starts++
		}
	}
	if starts != 2 {
		t.Errorf("%d starts, want 2: the retry after a refusal must start again", starts)
	}
}
