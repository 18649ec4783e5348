package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleExpertChat: an agent finds an expert in the console with their presence, chats with
// them, and after signing out finds what the expert sent meanwhile, unread, with the file.
func TestConsoleExpertChat(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{extraPlugins: labPlugin})
	h.waitPlugin("lab", 0)
	lab := expertLab{t: t, base: h.url + "/c/lab"}
	lab.mustPost("/presence", map[string]string{"expert": "@erin:lab", "name": "Erin Expert", "state": "online"})
	lab.mustPost("/presence", map[string]string{"expert": "@fred:lab", "name": "Fred Fixer", "state": "offline"})

	alice := open()
	signIn(t, alice, h.url, "alice")
	steps(t, alice, "the experts in the Team tab",
		chromedp.Click(`#tab-team`),
		chromedp.WaitVisible(`tr.expert-row[data-expert="@erin:lab"] .presence-online`),
		chromedp.WaitVisible(`tr.expert-row[data-expert="@fred:lab"] .presence-offline`),
	)
	screenshot(alice, "console-experts.png")
	steps(t, alice, "Alice starts a chat with Erin",
		chromedp.Click(`tr.expert-row[data-expert="@erin:lab"] [data-action=expert-chat]`),
		chromedp.WaitVisible(`#expert-chats tr`),
	)
	id := attr(alice, `#expert-chats tr`, "data-id")
	if got := textOf(alice, pane(id)+` .titlebar`); !strings.Contains(got, "Erin Expert") || !strings.Contains(got, "Online") {
		t.Errorf("the chat's title bar says %q, want Erin and her presence", got)
	}
	reply(t, alice, id, tool(id, "bold"), chromedp.SendKeys(pane(id)+` .editor`, "Is the recall on?"))
	lab.waitFor("Alice's question", func(evs []labEvent) bool {
		return slices.ContainsFunc(evs, func(e labEvent) bool {
			return e.Type == "message" && e.From == "alice" && strings.Contains(e.HTML, "<b>Is the recall on?</b>")
		})
	})
	lab.mustPost("/messages", map[string]any{"id": "c1", "agent": "alice", "expert": "@erin:lab", "name": "Erin Expert",
		"text": "Yes, since Monday", "html": "<p>Yes, <i>since Monday</i></p>"})
	steps(t, alice, "Erin's answer", chromedp.WaitVisible(pane(id)+` li.msg.expert i`))

	// Signed out, Alice is offline for Erin; what Erin sends waits for her.
	steps(t, alice, "sign out", chromedp.Click(`#logout`), chromedp.WaitVisible(`#login input[name=username]`))
	if !poll(5*time.Second, func() bool { return lab.agentState("alice") == "PRESENCE_STATE_OFFLINE" }) {
		t.Fatal("the bridge still has alice online after she signed out")
	}
	lab.mustPost("/messages", map[string]any{"id": "c2", "agent": "alice", "expert": "@erin:lab", "name": "Erin Expert", "text": "Here is the notice."})
	lab.mustPost("/messages", map[string]any{"id": "c3", "agent": "alice", "expert": "@erin:lab", "name": "Erin Expert", "text": "the notice",
		"files": []map[string]any{{"name": "recall.pdf", "type": "application/pdf", "data": []byte("%PDF-1.4 recall")}}})

	steps(t, alice, "sign in again",
		chromedp.SendKeys(`#login input[name=username]`, "alice"),
		chromedp.SendKeys(`#login input[name=password]`, password),
		chromedp.Click(`#login button`),
		chromedp.WaitVisible(`#expert-chats `+row(id)+` .unread.blink`),
	)
	if got := strings.TrimSpace(textOf(alice, `#expert-chats `+row(id)+` .unread`)); got != "2" {
		t.Errorf("unread count after sign-in %q, want 2", got)
	}
	steps(t, alice, "open the chat",
		chromedp.Click(`#expert-chats `+row(id)),
		chromedp.WaitVisible(pane(id)+` a.attachment`),
	)
	if href := attr(alice, pane(id)+` a.attachment`, "href"); !strings.HasPrefix(href, "/api/v1/files/") {
		t.Errorf("the file links to %q, want the hub's copy", href)
	}
	texts, err := chromedp.Run(alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+pane(id)+` li.msg .body')].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Is the recall on?", "Yes, since Monday", "Here is the notice.", "the notice"}
	if !slices.Equal(texts, want) {
		t.Errorf("the chat shows %q, want %q (each once, in order)", texts, want)
	}
	waitCount(t, alice, `#expert-chats `+row(id)+` .unread`, 0, "opening the chat reads it")
}
