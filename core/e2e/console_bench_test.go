package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BenchmarkConsoleLoad measures the console's first load in Chromium with an empty cache (a new
// browser profile per load): from navigation to the sign-in form ready for input, and from a
// signed-in reload to the live desk (snapshot over the WebSocket drawn). It reports the
// gzipped size of the JavaScript bundle too.
func BenchmarkConsoleLoad(b *testing.B) {
	h := startHub(b, hubOptions{})
	res, err := http.Get(h.url + "/console.js")
	if err != nil {
		b.Fatal(err)
	}
	js, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(js)
	w.Close()

	root := browser(b)
	if err := chromedp.Do(root); err != nil {
		b.Fatal(err)
	}
	var toForm, toDesk time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		err := chromedp.Do(ctx) // the new profile's empty tab
		start := time.Now()
		if err == nil {
			err = chromedp.Do(ctx, chromedp.Navigate(h.url+"/"), chromedp.WaitVisible(`#login input[name=username]`))
		}
		toForm += time.Since(start)
		if err == nil {
			err = chromedp.Do(ctx,
				chromedp.SendKeys(`#login input[name=username]`, "alice"),
				chromedp.SendKeys(`#login input[name=password]`, password),
				chromedp.SetValue(`#login input[name=tenant]`, "acme"),
				chromedp.Click(`#login button`),
				chromedp.WaitReady(`#connection[data-state=online]`),
			)
		}
		if err == nil {
			start = time.Now()
			err = chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitReady(`#connection[data-state=online]`))
			toDesk += time.Since(start)
		}
		cancel()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(js))/1024, "KiB-js")
	b.ReportMetric(float64(gz.Len())/1024, "KiB-js-gzip")
	b.ReportMetric(float64(toForm.Milliseconds())/float64(b.N), "ms-to-sign-in-form")
	b.ReportMetric(float64(toDesk.Milliseconds())/float64(b.N), "ms-reload-to-live-desk")
}
