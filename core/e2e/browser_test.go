package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts headless Chromium for one test; it fails in CI and skips loudly elsewhere when
// Chromium is missing.
func browser(t testing.TB) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is missing: `make test` installs it (apt-get install chromium)")
		}
		t.Skip("SKIPPING BROWSER TEST: chromium is not installed; run `make test` as root to install it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	ctx, cancelTimeout := context.WithTimeout(ctx, 180*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestCustomerInBrowser drives the demo customer page in headless Chromium while an agent works
// through the console API: the conversation completes both ways.
func TestCustomerInBrowser(t *testing.T) {
	ctx := browser(t)
	h := startHub(t, hubOptions{})
	a := availableAgent(t, h, "acme", "alice")

	launcher := `[data-switchboard=launcher]`
	prechat := `[data-switchboard=prechat]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(h.url+"/c/webchat/demo"),
		chromedp.WaitVisible(launcher),
		chromedp.Click(launcher),
		chromedp.WaitVisible(prechat+` input[name=nickname]`),
		chromedp.SendKeys(prechat+` input[name=nickname]`, "Dana"),
		chromedp.SendKeys(prechat+` input[name=email]`, "dana@example.com"),
		chromedp.Click(`[data-switchboard=start]`),
	)
	if err != nil {
		t.Fatalf("open the chat on the demo page: %v", err)
	}
	conv := a.waitOffer(ctxTimeout(t, 20*time.Second))
	var view struct {
		Customer struct {
			DisplayName string `json:"display_name"`
			Email       string `json:"email"`
		} `json:"customer"`
	}
	a.must("POST", "/api/v1/conversations/"+conv+"/accept", nil, &view)
	if view.Customer.DisplayName != "Dana" || view.Customer.Email != "dana@example.com" {
		t.Fatalf("the agent sees the pre-chat identity: %+v", view.Customer)
	}

	err = chromedp.Do(ctx,
		chromedp.WaitVisible(`[data-switchboard=input]`),
		chromedp.SendKeys(`[data-switchboard=input]`, "Where is my parcel?"),
		chromedp.Click(`[data-switchboard=send]`),
	)
	if err != nil {
		t.Fatalf("type a message: %v", err)
	}
	if !poll(15*time.Second, func() bool {
		m, _ := a.messages(conv, 0)
		return len(m) == 1 && m[0].Text == "Where is my parcel?"
	}) {
		t.Fatal("the message typed in the browser did not reach the agent")
	}

	reply := `<p>It ships <b>today</b>. <script>alert(1)</script><a href="javascript:alert(2)">track</a></p>`
	if code := a.call("POST", "/api/v1/conversations/"+conv+"/messages",
		map[string]string{"client_id": "r1", "html": reply}, nil); code != 200 {
		t.Fatalf("agent reply: %d", code)
	}
	err = chromedp.Do(ctx, chromedp.WaitVisible(`[data-switchboard=agent]`))
	var html string
	if err == nil {
		html, err = chromedp.Run(ctx, chromedp.InnerHTML(`[data-switchboard=log]`))
	}
	if err != nil {
		t.Fatalf("wait for the agent's reply in the browser: %v", err)
	}
	if !strings.Contains(html, "<b>today</b>") {
		t.Fatalf("the reply's formatting is lost: %s", html)
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "javascript:") {
		t.Fatalf("hostile markup reached the customer's browser: %s", html)
	}
	screenshot(ctx, "customer-chat.png")

	// A page reload keeps the conversation: the history stays and new replies arrive once.
	err = chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(`[data-switchboard=agent]`),
	)
	if err != nil {
		t.Fatalf("reload: %v", err)
	}
	if code := a.call("POST", "/api/v1/conversations/"+conv+"/messages",
		map[string]string{"client_id": "r2", "text": "Anything else?"}, nil); code != 200 {
		t.Fatalf("agent reply after reload: %d", code)
	}
	var count int
	ok := poll(15*time.Second, func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-switchboard=agent]").length`))
		count = n
		return err == nil && n == 2
	})
	// Once the hub has nothing left to deliver, the count is final.
	ok = ok && poll(10*time.Second, func() bool { return h.metric("switchboard_plugin_outbox_depth", `instance="webchat"`) == 0 })
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-switchboard=agent]").length`)); err == nil {
		count = n
	}
	if !ok || count != 2 {
		t.Fatalf("after a reload the widget shows %d agent messages, want the 2 sent", count)
	}
	if mine, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("[data-switchboard=mine]").length`)); err != nil || mine != 1 {
		t.Fatalf("after a reload the customer's own message shows %d times (%v)", mine, err)
	}
}

// screenshot saves the page as a PNG in $SWITCHBOARD_SCREENSHOTS, when set, for people to look at.
func screenshot(ctx context.Context, name string) {
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err == nil {
		os.WriteFile(filepath.Join(dir, name), shot, 0o644)
	}
}
