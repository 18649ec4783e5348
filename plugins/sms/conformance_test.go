package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/sms/twiliofake"
	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
	kannelpeer "github.com/switchboardhq/switchboard/tools/testpeer/kannel"
)

// conformanceURL is the public URL the kit's instance is configured with ("sdktest" is the
// instance name the kit uses).
const conformanceURL = "https://hub.example.com/c/sdktest/"

func TestConformance(t *testing.T) {
	bin := sdktest.Build(t, ".")
	t.Run("twilio", func(t *testing.T) {
		fake := twiliofake.New(t, ourNumber)
		phones := &twilioPhones{fake: fake}
		fake.Reach(phones.reach)
		cfg, _ := json.Marshal(map[string]any{"adapter": "twilio", "numbers": []string{ourNumber}, "default_queue": "support",
			"twilio": map[string]any{"account_sid": fake.AccountSID, "auth_token": fake.AuthToken, "public_url": conformanceURL, "api_base": fake.URL}})
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: phones})
	})
	t.Run("kannel", func(t *testing.T) {
		proxy := newPluginProxy(t)
		k := kannelpeer.Start(t, kannelpeer.Options{MOURL: proxy.srv.URL + "/kannel/mo?secret=" + kannelSecret + "&id=%I"})
		cfg, _ := json.Marshal(map[string]any{"adapter": "kannel", "numbers": []string{ourNumber},
			"kannel": map[string]any{"sendsms_url": k.SendsmsURL, "username": k.User, "password": k.Password,
				"callback_secret": kannelSecret, "public_url": proxy.srv.URL + "/"}})
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: &kannelPhones{k: k, proxy: proxy}})
	})
}

// phoneFor is the customer's number in the kit's conversation conv (32 hex digits).
func phoneFor(conv string) string {
	n, _ := strconv.ParseUint(conv[:15], 16, 64)
	return fmt.Sprintf("+4477%08d", n%100_000_000)
}

// twilioPhones plays customers texting through Twilio: the fake account posts signed webhooks to
// the plugin process the kit runs now, and keeps what the plugin sends.
type twilioPhones struct {
	fake *twiliofake.Server

	mu   sync.Mutex
	addr string
}

func (d *twilioPhones) reach(publicURL string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Replace(publicURL, conformanceURL, "http://"+d.addr+"/", 1)
}

func (d *twilioPhones) at(addr string) {
	d.mu.Lock()
	d.addr = addr
	d.mu.Unlock()
}

// Inbound posts the customer's text and returns once the plugin answered 200; a 503 (starting,
// or the hub could not store) is sent again, as Twilio does with retries configured.
func (d *twilioPhones) Inbound(ctx context.Context, addr, conv, text string) error {
	d.at(addr)
	params := d.fake.IncomingParams(phoneFor(conv), ourNumber, text)
	for {
		code, body, err := d.fake.Post(ctx, conformanceURL+"twilio/sms", params)
		switch {
		case err != nil:
			return err
		case code == http.StatusOK:
			return nil
		case code != http.StatusServiceUnavailable:
			return fmt.Errorf("the plugin answered %d: %s", code, body)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *twilioPhones) Delivered(_ context.Context, addr, conv string) ([]string, error) {
	d.at(addr)
	var texts []string
	for _, m := range d.fake.MessagesTo(phoneFor(conv)) {
		if m.From != ourNumber {
			return nil, fmt.Errorf("message %s sent from %s, not %s", m.SID, m.From, ourNumber)
		}
		texts = append(texts, m.Body)
	}
	return texts, nil
}

// kannelPhones plays customers texting through a real Kannel. Kannel calls a proxy that forwards
// to the plugin process the kit runs now: a restarted plugin listens on another port.
type kannelPhones struct {
	k     *kannelpeer.Kannel
	proxy *pluginProxy
}

// Inbound injects the text at the fake SMS center and returns once the plugin answered Kannel's
// post with a 2xx.
func (d *kannelPhones) Inbound(ctx context.Context, addr, conv, text string) error {
	d.proxy.at(addr)
	if err := d.k.InjectMO(phoneFor(conv), ourNumber, text); err != nil {
		return err
	}
	return d.proxy.awaitAnswer(ctx, text)
}

func (d *kannelPhones) Delivered(_ context.Context, addr, conv string) ([]string, error) {
	d.proxy.at(addr)
	var texts []string
	for _, m := range d.k.MT() {
		if m.To == phoneFor(conv) {
			texts = append(texts, m.Text)
		}
	}
	return texts, nil
}

// pluginProxy forwards Kannel's callbacks to the current plugin process and notes how the plugin
// answered each text.
type pluginProxy struct {
	srv *httptest.Server

	mu      sync.Mutex
	addr    string
	answers map[string]int // text → the plugin's last status for it
	news    chan struct{}
}

func newPluginProxy(t *testing.T) *pluginProxy {
	p := &pluginProxy{answers: map[string]int{}, news: make(chan struct{})}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		p.mu.Lock()
		r.Out.URL.Scheme, r.Out.URL.Host = "http", p.addr
		p.mu.Unlock()
	}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(rec, r)
		if r.URL.Path == "/kannel/mo" {
			p.mu.Lock()
			p.answers[string(body)] = rec.status
			close(p.news)
			p.news = make(chan struct{})
			p.mu.Unlock()
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pluginProxy) at(addr string) {
	p.mu.Lock()
	p.addr = addr
	p.mu.Unlock()
}

// awaitAnswer waits until the plugin answered a post of text with a 2xx.
func (p *pluginProxy) awaitAnswer(ctx context.Context, text string) error {
	for {
		p.mu.Lock()
		status, news := p.answers[text], p.news
		p.mu.Unlock()
		if status/100 == 2 {
			return nil
		}
		select {
		case <-news:
		case <-ctx.Done():
			return fmt.Errorf("the plugin never answered Kannel's post of %q with a 2xx (last status %d): %w", text, status, ctx.Err())
		}
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
