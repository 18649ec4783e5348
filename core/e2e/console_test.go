package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The console's acceptance tests: real Chromium, one browser context (own cookies) per person,
// the hub as its own process, customers on the demo web chat page.

// people starts Chromium and returns a function that opens a fresh browser context for one
// person, with its own cookie jar, as a separate browser profile would.
func people(t *testing.T) func() context.Context {
	t.Helper()
	root := browser(t)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	n := 0
	return func() context.Context {
		var mu sync.Mutex
		var events []string
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
			var line string
			switch e := ev.(type) {
			case *runtime.EventExceptionThrown:
				line = "exception: " + e.ExceptionDetails.Text
				if e.ExceptionDetails.Exception != nil {
					line += " " + e.ExceptionDetails.Exception.Description
				}
			case *runtime.EventConsoleAPICalled:
				line = "console." + string(e.Type)
				for _, a := range e.Args {
					line += " " + string(a.Value) + a.Description
				}
			case *cdplog.EventEntryAdded:
				line = "log: " + e.Entry.Text + " " + e.Entry.URL
			}
			if line != "" {
				mu.Lock()
				events = append(events, line)
				mu.Unlock()
			}
		}))
		n++
		name := fmt.Sprintf("failed-%s-%d.png", t.Name(), n)
		t.Cleanup(func() {
			if t.Failed() {
				mu.Lock()
				t.Logf("%s: the browser said:\n%s", name, strings.Join(events, "\n"))
				mu.Unlock()
				sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
				screenshot(sctx, name) // what the person saw, for whoever debugs it
				scancel()
			}
			cancel()
		})
		return ctx
	}
}

// consoleURL fails the test early when the hub was built without the console's front end.
func consoleURL(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatalf("console page: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("console page: %d: build the front end first (make ui; make test does)", res.StatusCode)
	}
	return base + "/"
}

func signIn(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	load(t, ctx, consoleURL(t, base), `#login input[name=username]`)
	steps(t, ctx, username+" signs in",
		chromedp.SetValue(`#login input[name=tenant]`, "acme"),
		chromedp.SendKeys(`#login input[name=username]`, username),
		chromedp.SendKeys(`#login input[name=password]`, password),
		chromedp.Click(`#login button`),
		chromedp.WaitVisible(`#desk[data-ready]`),
		chromedp.WaitReady(`#connection[data-state=online]`),
	)
}

// load loads a page in a fresh tab and waits for sel. Chromium can load a new tab's first page
// before the driver follows its document; the page is then there but the driver's view of it is
// not, and one reload puts them in step. A page that does not come up after that fails the test.
func load(t *testing.T, ctx context.Context, url, sel string) {
	t.Helper()
	steps(t, ctx, "open "+url, chromedp.Navigate(url))
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := chromedp.Do(wctx, chromedp.WaitVisible(sel))
	cancel()
	if err != nil {
		t.Logf("%s did not show %s in 10 s; reloading once", url, sel)
		steps(t, ctx, "reload "+url, chromedp.Reload(), chromedp.WaitVisible(sel))
	}
}

// chooseState picks a state in the top bar's switcher as a person does.
func chooseState(t *testing.T, ctx context.Context, state string) {
	t.Helper()
	choose(t, ctx, `#state`, state)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`.presence .dot.state-`+state)); err != nil {
		t.Fatalf("state %s: %v", state, err)
	}
}

// choose sets a select's value and fires its change event.
func choose(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
		`(() => { const s = document.querySelector(%q); s.value = %q; return s.dispatchEvent(new Event("change", {bubbles: true})); })()`, sel, value)))
	if err != nil {
		t.Fatalf("choose %s in %s: %v", value, sel, err)
	}
}

func count(ctx context.Context, sel string) int {
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		return -1
	}
	return n
}

func textOf(ctx context.Context, sel string) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(e => e.textContent).join("\n")`, sel)))
	return s
}

func attr(ctx context.Context, sel, name string) string {
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, sel, name)))
	return s
}

// webCustomer opens the demo page in its own browser context and starts a chat.
func webCustomer(t *testing.T, ctx context.Context, base, nickname, email string) {
	t.Helper()
	prechat := `[data-switchboard=prechat]`
	load(t, ctx, base+"/c/webchat/demo", `[data-switchboard=launcher]`)
	steps(t, ctx, "customer "+nickname+" starts a chat",
		chromedp.Click(`[data-switchboard=launcher]`),
		chromedp.WaitVisible(prechat+` input[name=nickname]`),
		chromedp.SendKeys(prechat+` input[name=nickname]`, nickname),
		chromedp.SendKeys(prechat+` input[name=email]`, email),
		chromedp.Click(`[data-switchboard=start]`),
		chromedp.WaitVisible(`[data-switchboard=input]`),
	)
}

func customerSays(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	steps(t, ctx, "customer says "+text,
		chromedp.SendKeys(`[data-switchboard=input]`, text),
		chromedp.Click(`[data-switchboard=send]`),
	)
}

// acceptOffer waits for the offer dialog, checks what it tells, accepts, and returns the id.
func acceptOffer(t *testing.T, ctx context.Context, wantCustomer string) string {
	t.Helper()
	card := `#offers .offer-card`
	steps(t, ctx, "offer dialog", chromedp.WaitVisible(card+` [data-action=accept]`))
	id := attr(ctx, card, "data-id")
	if got := textOf(ctx, card+` .offer-customer`); !strings.Contains(got, wantCustomer) {
		t.Errorf("the offer names the customer %q, want %q", got, wantCustomer)
	}
	for _, f := range []string{".offer-channel", ".offer-queue", ".offer-language", ".offer-wait", ".countdown .secs"} {
		if strings.TrimSpace(textOf(ctx, card+" "+f)) == "" {
			t.Errorf("the offer dialog shows no %s", f)
		}
	}
	steps(t, ctx, "accept", chromedp.Click(card+` [data-action=accept]`), chromedp.WaitVisible(pane(id)+` .editor`))
	return id
}

func pane(id string) string { return `.pane[data-id="` + id + `"]` }
func row(id string) string  { return `tr[data-id="` + id + `"]` }

// reply types into a chat's composer and sends with Enter.
func reply(t *testing.T, ctx context.Context, id string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	all := append([]chromedp.Action[chromedp.Void]{chromedp.Click(pane(id) + ` .editor`)}, actions...)
	all = append(all, chromedp.SendKeys(pane(id)+` .editor`, "\r"))
	steps(t, ctx, "reply in "+id, all...)
}

func tool(id, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(pane(id) + ` [data-tool=` + name + `]`)
}

func waitCount(t *testing.T, ctx context.Context, sel string, want int, what string) {
	t.Helper()
	got := -1
	if !poll(15*time.Second, func() bool { got = count(ctx, sel); return got == want }) {
		t.Fatalf("%s: %d of %s, want %d", what, got, sel, want)
	}
}

func waitAttr(t *testing.T, ctx context.Context, sel, name, want, what string) {
	t.Helper()
	got := ""
	if !poll(15*time.Second, func() bool { got = attr(ctx, sel, name); return got == want }) {
		t.Fatalf("%s: %s[%s] = %q, want %q", what, sel, name, got, want)
	}
}

// TestConsoleWorkflow is the console's main acceptance path: two agents and a supervisor in
// their own browser profiles, a customer on the demo page; offer, accept, formatted messages,
// the blue and red icons, a transfer, the end, post-processing, the transcript download.
func TestConsoleWorkflow(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{
		queueExtra: ", response_target: 3s",
		extraUsers: "      - {username: carl, display_name: Carl Seller, group: sales, queues: [sales], password: " + password + "}\n",
	})
	alice, bob, sam, cust := open(), open(), open(), open()
	signIn(t, alice, h.url, "alice")
	signIn(t, bob, h.url, "bob")
	signIn(t, sam, h.url, "sam")
	chooseState(t, alice, "available")

	webCustomer(t, cust, h.url, "Dana", "dana@example.com")
	customerSays(t, cust, "Where is my parcel?")
	screenshot(alice, "console-offer.png")
	id := acceptOffer(t, alice, "Dana")

	// The title bar names the customer; the customer panel offers to create the record.
	if got := textOf(alice, pane(id)+` .titlebar h3`); !strings.Contains(got, "Dana") || !strings.Contains(got, "dana@example.com") {
		t.Errorf("title bar %q: want nickname and email", got)
	}
	waitCount(t, alice, pane(id)+` li.msg.customer`, 1, "the customer's first message in the chat window")

	// Typing shows both ways: the customer's in the chat window, the agent's in the widget.
	steps(t, cust, "the customer types", chromedp.SendKeys(`[data-switchboard=input]`, "Also"))
	steps(t, alice, "the agent sees the customer typing", chromedp.WaitVisible(pane(id)+` .typing`))
	steps(t, alice, "the agent types", chromedp.Click(pane(id)+` .editor`), chromedp.SendKeys(pane(id)+` .editor`, "Let me check"))
	if !poll(10*time.Second, func() bool { return strings.Contains(textOf(cust, `[data-switchboard=status]`), "typing") }) {
		t.Error("the customer does not see the agent typing")
	}
	if _, err := chromedp.Run(alice, chromedp.Evaluate[bool](`(() => { document.querySelector(".pane .editor").innerHTML = ""; return true; })()`)); err != nil {
		t.Fatal(err)
	}
	steps(t, cust, "clear the customer's draft", chromedp.Clear(`[data-switchboard=input]`))

	// The customer waits for the first reply: blue.
	waitAttr(t, alice, `#chats `+row(id), "data-status", "status-waiting", "blue icon while the customer waits")

	// A formatted reply: bold from the toolbar, then plain text.
	reply(t, alice, id,
		tool(id, "bold"), chromedp.SendKeys(pane(id)+` .editor`, "Today"), tool(id, "bold"),
		chromedp.SendKeys(pane(id)+` .editor`, " it ships."),
	)
	waitAttr(t, alice, `#chats `+row(id), "data-status", "status-ok", "the icon clears after the reply")
	if err := chromedp.Do(cust, chromedp.WaitVisible(`[data-switchboard=agent] b`)); err != nil {
		t.Fatalf("the customer sees the bold reply: %v", err)
	}

	// The customer asks again and the 3 s response target passes: blue, then red.
	customerSays(t, cust, "Which papers do I need?")
	waitAttr(t, alice, `#chats `+row(id), "data-status", "status-waiting", "blue icon for the next question")
	waitAttr(t, alice, `#chats `+row(id), "data-status", "status-late", "red icon past the SLA")
	// Enter in a list adds an item; the button (or Ctrl+Enter) sends.
	err := chromedp.Do(alice,
		chromedp.Click(pane(id)+` .editor`), tool(id, "ul"),
		chromedp.SendKeys(pane(id)+` .editor`, "tracking\rinvoice"),
		chromedp.Click(pane(id)+` button.send`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(cust, chromedp.WaitVisible(`[data-switchboard=agent] ul li`)); err != nil {
		t.Fatalf("the customer sees the list: %v", err)
	}
	if n := count(cust, `[data-switchboard=agent] ul li`); n != 2 {
		t.Errorf("the customer sees %d list items, want 2", n)
	}
	waitAttr(t, alice, `#chats `+row(id), "data-status", "status-ok", "the red icon clears after the reply")

	// Create the customer and a case from the chat.
	steps(t, alice, "create the customer and a case",
		chromedp.WaitVisible(`#customer [data-action=create-customer]`),
		chromedp.SendKeys(`#customer input[name=first_name]`, "Dana"),
		chromedp.SendKeys(`#customer input[name=last_name]`, "Scully"),
		chromedp.Click(`#customer [data-action=create-customer]`),
		chromedp.WaitVisible(`#customer .record`),
		chromedp.Click(`#customer [data-action=new-case]`),
		chromedp.SendKeys(`#customer input[name=subject]`, "Parcel late"),
		chromedp.Click(`#customer [data-action=create-case]`),
		chromedp.WaitVisible(`#cases li.case`),
	)

	// Two more customers: three chats side by side, each in the table.
	var others []string
	for _, name := range []string{"Ravi", "Mia"} {
		c := newCustomer(t, h.url, name, strings.ToLower(name)+"@example.com")
		go c.run(ctxTimeout(t, 150*time.Second))
		c.waitStarted(t)
		c.say(ctxTimeout(t, 10*time.Second), "Hello, "+name+" here. Can you help with my order?")
		others = append(others, acceptOffer(t, alice, name))
	}
	waitCount(t, alice, `#chats tr.chat-row`, 3, "three chats in the table")
	waitCount(t, alice, `.panes .pane`, 3, "three chats open side by side")
	steps(t, alice, "focus Dana's chat", chromedp.Click(`#chats `+row(id)))
	screenshot(alice, "console-agent.png")

	// The pop-out window's page (what "Pop out" opens) shows one chat with its history.
	steps(t, alice, "pop-out page",
		chromedp.Navigate(h.url+"/?pop="+others[0]),
		chromedp.WaitVisible(`.popout `+pane(others[0])+` li.msg.customer`),
	)
	if got := textOf(alice, `.popout li.msg.customer .body`); !strings.Contains(got, "Ravi here") {
		t.Errorf("the pop-out shows %q", got)
	}
	if n := count(alice, `.popout .pane`); n != 1 {
		t.Errorf("the pop-out shows %d chats, want 1", n)
	}
	steps(t, alice, "back to the desk", chromedp.Navigate(h.url+"/"), chromedp.WaitVisible(pane(id)+` [data-action=transfer]`))

	// Transfer to Bob, who accepts in his own console; the chat leaves Alice.
	chooseState(t, bob, "available")
	steps(t, alice, "open the transfer panel", chromedp.Click(pane(id)+` [data-action=transfer]`), chromedp.WaitVisible(pane(id)+` .transfer select`))
	if !poll(10*time.Second, func() bool { return count(alice, pane(id)+` .transfer option[value="agent:bob"]:not([disabled])`) == 1 }) {
		t.Fatal("Bob is not offered as an available transfer target")
	}
	choose(t, alice, pane(id)+` .transfer select`, "agent:bob")
	steps(t, alice, "transfer", chromedp.Click(pane(id)+` .transfer button.primary`))
	if got := acceptOffer(t, bob, "Dana"); got != id {
		t.Fatalf("Bob was offered %s, want %s", got, id)
	}
	waitCount(t, alice, `#chats `+row(id), 0, "the transferred chat leaves Alice's table")
	waitCount(t, bob, pane(id)+` li.msg.customer`, 2, "Bob sees the history")
	steps(t, bob, "Bob's screen pop shows the customer record Alice created", chromedp.WaitVisible(`#customer .record`))
	reply(t, bob, id, chromedp.SendKeys(pane(id)+` .editor`, "Bob here, I have your case."))
	customerSays(t, cust, "Thanks, bye")
	waitCount(t, bob, pane(id)+` li.msg.customer`, 3, "the customer's goodbye")

	// End, save the transcript, post-processing.
	steps(t, bob, "end the chat",
		chromedp.Click(pane(id)+` [data-action=end]`),
		chromedp.WaitVisible(pane(id)+` form.wrapup`),
		chromedp.Click(pane(id)+` [data-action=transcript]`),
	)
	for _, format := range []string{"text", "html"} {
		got := download(t, bob, pane(id)+` a[data-format=`+format+`]`)
		for _, want := range []string{"Dana", "Where is my parcel?", "Today", "it ships", "Which papers do I need?", "tracking", "invoice", "transferred", "Bob here, I have your case.", "Thanks, bye"} {
			if !strings.Contains(got, want) {
				t.Errorf("the %s transcript lacks %q:\n%s", format, want, got)
			}
		}
		if format == "html" && (!strings.Contains(got, "<b>Today</b>") || strings.Contains(got, "<script")) {
			t.Errorf("the HTML transcript keeps formatting and nothing else:\n%s", got)
		}
	}
	choose(t, bob, pane(id)+` select[name=disposition]`, "Resolved")
	steps(t, bob, "end post-processing",
		chromedp.SendKeys(pane(id)+` textarea[name=notes]`, "Parcel re-sent"),
		chromedp.Click(pane(id)+` [data-action=wrapup]`),
		chromedp.WaitNotPresent(`#chats `+row(id)),
	)

	// The supervisor sees the queue's breach, the agents and the finished chat.
	steps(t, sam, "supervisor view",
		chromedp.Click(`#tab-supervisor`),
		chromedp.WaitVisible(`#sup-queues tr[data-queue=support]`),
		chromedp.WaitVisible(`#sup-agents li[data-username=alice]`),
		chromedp.WaitVisible(`#transcripts tr[data-id="`+id+`"]`),
	)
	if got := strings.TrimSpace(textOf(sam, `#sup-queues tr[data-queue=support] .breaches`)); got == "0" || got == "" {
		t.Errorf("the support queue shows %q SLA breaches, want at least 1", got)
	}
	screenshot(sam, "console-supervisor.png")
	steps(t, sam, "open the finished chat's transcript", chromedp.Click(`#transcripts tr[data-id="`+id+`"]`), chromedp.WaitVisible(`#transcript-view li.msg`))
	if got := textOf(sam, `#transcript-view`); !strings.Contains(got, "Thanks, bye") || !strings.Contains(got, "Resolved") {
		t.Errorf("the supervisor's transcript view: %q", got)
	}
	screenshot(sam, "console-transcript.png")
}

// download clicks a download link and returns the file the browser saved.
func download(t *testing.T, ctx context.Context, link string) string {
	t.Helper()
	dir := t.TempDir()
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID,
	})
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(link)); err != nil {
		t.Fatalf("click %s: %v", link, err)
	}
	var data []byte
	if !poll(15*time.Second, func() bool {
		files, _ := filepath.Glob(filepath.Join(dir, "transcript-*"))
		for _, f := range files {
			if !strings.HasSuffix(f, ".crdownload") {
				data, _ = os.ReadFile(f)
				return len(data) > 0
			}
		}
		return false
	}) {
		t.Fatalf("no file downloaded from %s", link)
	}
	return string(data)
}

// steps runs actions one by one, each within 20 s, and names the one that failed.
func steps(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// The first run opens the profile's tab, which lives as long as the context of that first
	// run: give it the person's long-lived one, not a step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: open the browser tab: %v", what, err)
	}
	for i, a := range actions {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := chromedp.Do(sctx, a)
		cancel()
		if err != nil {
			dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
			screenshot(dctx, "failed-step.png")
			if html, err := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href + " " + document.readyState + " visibility=" + document.visibilityState + " inputs=" + document.querySelectorAll("#login input").length + " text=" + JSON.stringify(document.body.innerText.slice(0, 300))`)); err == nil {
				t.Logf("the page: %s", html)
			} else {
				t.Logf("the page does not answer: %v", err)
			}
			dcancel()
			t.Fatalf("%s, step %d: %v", what, i+1, err)
		}
	}
}

// TestConsoleTeamChat: an agent-to-agent chat arrives without an offer with a blinking unread
// count that reading and replying clear; agents see their own group only, supervisors all.
func TestConsoleTeamChat(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{
		extraUsers: "      - {username: carl, display_name: Carl Seller, group: sales, queues: [sales], password: " + password + "}\n",
	})
	alice, bob, sam := open(), open(), open()
	signIn(t, alice, h.url, "alice")
	signIn(t, bob, h.url, "bob")
	signIn(t, sam, h.url, "sam")

	// Alice sees her group; Carl of sales is not there. Sam, a supervisor, sees him.
	err := chromedp.Do(alice, chromedp.Click(`#tab-team`), chromedp.WaitVisible(`tr.agent-row[data-username=bob]`))
	if err != nil {
		t.Fatalf("Alice's team list: %v", err)
	}
	if n := count(alice, `tr.agent-row[data-username=carl]`); n != 0 {
		t.Error("an agent sees an agent of another group")
	}
	if err := chromedp.Do(sam, chromedp.Click(`#tab-team`), chromedp.WaitVisible(`tr.agent-row[data-username=carl]`)); err != nil {
		t.Fatalf("a supervisor sees every group's agents: %v", err)
	}
	if a := login(t, h.url, "acme", "alice"); a.call("POST", "/api/v1/chats", map[string]string{"username": "carl"}, nil) != 404 {
		t.Error("an agent can start a chat with another group's agent")
	}

	// Bob starts a chat with Alice and writes twice.
	err = chromedp.Do(bob,
		chromedp.Click(`#tab-team`),
		chromedp.Click(`tr.agent-row[data-username=alice] [data-action=start-chat]`),
		chromedp.WaitVisible(`#team-chats tr`),
	)
	if err != nil {
		t.Fatalf("Bob starts a chat: %v", err)
	}
	id := attr(bob, `#team-chats tr`, "data-id")
	reply(t, bob, id, chromedp.SendKeys(pane(id)+` .editor`, "Can you look at order 1234?"))
	reply(t, bob, id, chromedp.SendKeys(pane(id)+` .editor`, "It is urgent."))

	// It arrives at Alice without an offer, with a blinking unread count of 2.
	if err := chromedp.Do(alice, chromedp.Click(`#tab-chats`), chromedp.WaitVisible(`#team-chats `+row(id)+` .unread.blink`)); err != nil {
		t.Fatalf("the chat arrives at Alice: %v", err)
	}
	if count(alice, `#offers`) != 0 {
		t.Error("an agent-to-agent chat came as an offer")
	}
	waitCount(t, alice, `#team-chats `+row(id)+` .unread`, 1, "unread badge")
	if got := strings.TrimSpace(textOf(alice, `#team-chats `+row(id)+` .unread`)); got != "2" {
		t.Errorf("unread count %q, want 2", got)
	}
	// Reading and replying clear it, for good: a reload shows none.
	if err := chromedp.Do(alice, chromedp.Click(`#team-chats `+row(id)), chromedp.WaitVisible(pane(id)+` li.msg`)); err != nil {
		t.Fatal(err)
	}
	reply(t, alice, id, chromedp.SendKeys(pane(id)+` .editor`, "On it."))
	waitCount(t, alice, `#team-chats `+row(id)+` .unread`, 0, "the reply clears the unread count")
	if err := chromedp.Do(bob, chromedp.WaitVisible(pane(id)+` li.msg:not(.mine)`)); err != nil {
		t.Fatalf("Bob gets the answer: %v", err)
	}
	if err := chromedp.Do(alice, chromedp.Reload(), chromedp.WaitVisible(`#team-chats `+row(id))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, alice, `#connection[data-state=online]`, 1, "reconnected after reload")
	if n := count(alice, `#team-chats `+row(id)+` .unread`); n != 0 {
		t.Error("after a reload the read chat shows unread messages again")
	}
	// Either side ends it.
	if err := chromedp.Do(bob, chromedp.Click(pane(id)+` [data-action=end]`)); err != nil {
		t.Fatal(err)
	}
	waitCount(t, alice, `#team-chats `+row(id), 0, "the ended chat leaves Alice's list")
}

// TestConsoleRendersHostileContentHarmlessly: markup a customer types shows as text, and
// hostile HTML from a colleague is stripped; no script runs in the console.
func TestConsoleRendersHostileContentHarmlessly(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{})
	alice, cust := open(), open()
	signIn(t, alice, h.url, "alice")
	chooseState(t, alice, "available")
	webCustomer(t, cust, h.url, "Mallory", "mallory@example.com")
	hostile := `<img src=x onerror="window.pwned=1;document.title='pwned'"><script>window.pwned=2</script><a href="javascript:window.pwned=3">x</a>`
	customerSays(t, cust, hostile)
	id := acceptOffer(t, alice, "Mallory")
	waitCount(t, alice, pane(id)+` li.msg.customer`, 1, "the hostile message")
	if got := textOf(alice, pane(id)+` li.msg.customer .body`); !strings.Contains(got, `<img src=x onerror=`) {
		t.Errorf("the customer's markup is not shown as text: %q", got)
	}

	// A colleague's HTML goes through the hub's sanitizer and the console's.
	bob := login(t, h.url, "acme", "bob")
	var chat struct {
		ID string `json:"id"`
	}
	bob.must("POST", "/api/v1/chats", map[string]string{"username": "alice"}, &chat)
	bob.must("POST", "/api/v1/conversations/"+chat.ID+"/messages", map[string]string{"client_id": "h1",
		"html": `<p><b>bold</b></p>` + hostile + `<iframe src="https://example.com"></iframe><p style="background:url(x)" onclick="window.pwned=4">click</p>`}, nil)
	if err := chromedp.Do(alice, chromedp.WaitVisible(`#team-chats `+row(chat.ID)), chromedp.Click(`#team-chats `+row(chat.ID)), chromedp.WaitVisible(pane(chat.ID)+` li.msg b`)); err != nil {
		t.Fatalf("open the colleague's chat: %v", err)
	}
	for _, sel := range []string{"img", "script", "iframe", "[onerror]", "[onclick]", "[style]", `a[href^="javascript"]`} {
		if n := count(alice, `.messages `+sel); n != 0 {
			t.Errorf("%d %s element(s) in the message list", n, sel)
		}
	}
	// Give a script that slipped through every chance to run, then check it did not.
	if err := chromedp.Do(alice, chromedp.Click(pane(chat.ID)+` li.msg .body`)); err != nil {
		t.Fatal(err)
	}
	pwned, err := chromedp.Run(alice, chromedp.Evaluate[bool](`window.pwned !== undefined || document.title === "pwned"`))
	if err != nil || pwned {
		t.Fatalf("a script from a message ran in the console (%v)", err)
	}
	res, err := http.Get(h.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "default-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
}

// TestConsoleRecoversFromReloadAndDroppedSocket: the connection between Alice's browser and the
// hub is cut mid-conversation; the console reconnects and catches up; every message shows once,
// and again once after a reload.
func TestConsoleRecoversFromReloadAndDroppedSocket(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{})
	p := newCutProxy(t, strings.TrimPrefix(h.url, "http://"))
	base := "http://" + p.addr
	alice := open()
	signIn(t, alice, base, "alice")
	chooseState(t, alice, "available")
	c := newCustomer(t, h.url, "Rita", "rita@example.com")
	go c.run(ctxTimeout(t, 90*time.Second))
	c.waitStarted(t)
	c.say(ctxTimeout(t, 10*time.Second), "first")
	id := acceptOffer(t, alice, "Rita")
	waitCount(t, alice, pane(id)+` li.msg.customer`, 1, "first message")

	for round := 0; round < 2; round++ {
		p.cut()
		if err := chromedp.Do(alice, chromedp.WaitVisible(`#reconnecting`)); err != nil {
			t.Fatalf("the console does not notice the dropped connection: %v", err)
		}
		for i := 0; i < 3; i++ {
			c.say(ctxTimeout(t, 10*time.Second), fmt.Sprintf("while away %d.%d", round, i))
		}
		waitCount(t, alice, `#connection[data-state=online]`, 1, "reconnected")
		waitCount(t, alice, pane(id)+` li.msg.customer`, 1+3*(round+1), "messages after the reconnect")
	}
	reply(t, alice, id, chromedp.SendKeys(pane(id)+` .editor`, "Got all of them."))
	if err := chromedp.Do(alice, chromedp.Reload(), chromedp.WaitVisible(`#desk[data-ready]`), chromedp.Click(`#chats `+row(id)), chromedp.WaitVisible(pane(id)+` li.msg.customer`)); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitCount(t, alice, pane(id)+` li.msg.customer`, 7, "customer messages after the reload")
	waitCount(t, alice, pane(id)+` li.msg.mine`, 1, "the agent's reply after the reload")
	got := textOf(alice, pane(id)+` li.msg.customer .body`)
	want := []string{"first", "while away 0.0", "while away 0.1", "while away 0.2", "while away 1.0", "while away 1.1", "while away 1.2"}
	if got != strings.Join(want, "\n") {
		t.Errorf("messages in the console:\n%s\nwant, in order:\n%s", got, strings.Join(want, "\n"))
	}
	if !poll(10*time.Second, func() bool { _, r, _ := c.snapshot(); return len(r) == 1 }) {
		t.Error("the customer did not get the reply exactly once")
	}
}

// cutProxy forwards TCP to the hub and can cut every open connection, as a network does.
type cutProxy struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestConsoleShowsWhyTheSystemChangedTheState: an offer left to time out puts the agent On
// Break; the console shows the new state and why, and alerts can be turned off for good.
func TestConsoleShowsWhyTheSystemChangedTheState(t *testing.T) {
	open := people(t)
	h := startHub(t, hubOptions{offerTimeout: "5s", queueExtra: ", missed_offers_limit: 1"})
	alice, cust := open(), open()
	signIn(t, alice, h.url, "alice")
	steps(t, alice, "turn alerts off", chromedp.Click(`#alerts`), chromedp.WaitReady(`#alerts[aria-pressed=false]`))
	chooseState(t, alice, "available")
	webCustomer(t, cust, h.url, "Otto", "otto@example.com")
	steps(t, alice, "the offer arrives and times out",
		chromedp.WaitVisible(`#offers .offer-card`),
		chromedp.WaitNotPresent(`#offers`),
		chromedp.WaitVisible(`.presence .dot.state-on_break`),
		chromedp.WaitVisible(`#state-reason[data-reason=missed_offers_limit]`),
	)
	if got := textOf(alice, `#state-reason`); !strings.Contains(got, "missed offers") {
		t.Errorf("the reason reads %q", got)
	}
	if v, _ := chromedp.Run(alice, chromedp.Value(`#state`)); v != "on_break" {
		t.Errorf("the state switcher shows %q, want on_break", v)
	}
	if title, _ := chromedp.Run(alice, chromedp.Title()); strings.Contains(title, "●") {
		t.Errorf("the title blinks with alerts off: %q", title)
	}
	steps(t, alice, "alerts stay off after a reload", chromedp.Reload(), chromedp.WaitReady(`#alerts[aria-pressed=false]`))

	// Signing out ends the session and logs the agent out for routing.
	steps(t, alice, "sign out", chromedp.Click(`#logout`), chromedp.WaitVisible(`#login input[name=username]`))
	// Loaded again (load reloads once if the driver loses track of the page), it stays signed out.
	load(t, alice, consoleURL(t, h.url), `#login input[name=username]`)
	var agents struct {
		Agents []struct{ Username, State string } `json:"agents"`
	}
	login(t, h.url, "acme", "bob").must("GET", "/api/v1/agents", nil, &agents)
	for _, a := range agents.Agents {
		if a.Username == "alice" && a.State != "logged_out" {
			t.Errorf("after signing out Alice is %s, want logged_out", a.State)
		}
	}
}
