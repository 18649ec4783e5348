package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

// testHost is the hub as the plugin sees it, with the refusals this plugin counts.
type testHost struct{ *sdktest.Host }

func newTestHost() *testHost { return &testHost{sdktest.NewHost()} }

// count is how often a webhook was refused for reason.
func (h *testHost) count(reason string) int { return h.Counted("webhooks_refused", reason) }

// line is one configured plugin running in the test's process, its handler on a test server.
type line struct {
	p    *sms
	host *testHost
	srv  *httptest.Server
}

// startLine configures the plugin with cfg (an instance configuration) and runs it until the test
// ends, its handler on a fresh test server.
func startLine(t *testing.T, cfg map[string]any) *line {
	t.Helper()
	srv, mount := swapServer(t)
	return runLine(t, cfg, srv, mount)
}

// swapServer is a test server whose handler is set later, so that its URL can go into the
// configuration of what it will serve.
func swapServer(t *testing.T) (*httptest.Server, func(http.Handler)) {
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if handler := h.Load(); handler != nil {
			(*handler).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not mounted yet", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv, func(handler http.Handler) { h.Store(&handler) }
}

// runLine configures and runs the plugin, its handler mounted on srv.
func runLine(t *testing.T, cfg map[string]any, srv *httptest.Server, mount func(http.Handler)) *line {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := newSMS()
	configured, err := p.Configure(context.Background(), sdk.Config{Instance: "sms-test", Tenant: "acme", JSON: raw})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	host := newTestHost()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx, host); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	<-p.ready
	mount(configured.Handler)
	return &line{p: p, host: host, srv: srv}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// agentMessage is a reply from an agent, as the hub's outbox holds it.
func agentMessage(id, key, text, html string) *sdk.Event {
	return sdk.NewMessage(id, key, sdk.Agent("sam", "Sam"), &sdk.Content{Text: text, Html: html})
}
