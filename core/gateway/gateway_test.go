package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type addrs map[string]string

func (a addrs) HTTPAddress(instance string) string { return a[instance] }

func TestGateway(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Write([]byte(r.URL.Path + "|" + r.Header.Get("X-Forwarded-Prefix") + "|" + string(body)))
	}))
	defer backend.Close()
	plugins := addrs{"webchat": strings.TrimPrefix(backend.URL, "http://"), "sms": ""}
	g := New(Options{Plugins: plugins, Instances: []string{"webchat", "sms"}, MaxBodyBytes: 10,
		RatePerSecond: 1, Burst: 3, Registry: prometheus.NewRegistry()})

	do := func(method, path, body, ip string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, body := do("POST", "/c/webchat/hook/x", "hello", "10.0.0.1"); code != 200 || body != "/hook/x|/c/webchat|hello" {
		t.Fatalf("proxied request: %d %q", code, body)
	}
	if code, _ := do("GET", "/c/nope/x", "", "10.0.0.1"); code != http.StatusNotFound {
		t.Fatalf("unknown instance: %d", code)
	}
	if code, _ := do("GET", "/c/sms/x", "", "10.0.0.1"); code != http.StatusServiceUnavailable {
		t.Fatalf("instance down: %d", code)
	}
	if code, _ := do("POST", "/c/webchat/x", strings.Repeat("a", 11), "10.0.0.2"); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized body: %d", code)
	}
	// A body without a declared length is cut at the limit too.
	req := httptest.NewRequest("POST", "/c/webchat/x", io.MultiReader(strings.NewReader(strings.Repeat("b", 20))))
	req.ContentLength = -1
	req.RemoteAddr = "10.0.0.5:1"
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked body: %d %s", rec.Code, rec.Body)
	}
	// 10.0.0.3 has a burst of 3; the fourth request in the same instant is refused, others' are not.
	for i := 0; i < 3; i++ {
		if code, _ := do("GET", "/c/webchat/x", "", "10.0.0.3"); code != 200 {
			t.Fatalf("request %d within the burst: %d", i, code)
		}
	}
	if code, _ := do("GET", "/c/webchat/x", "", "10.0.0.3"); code != http.StatusTooManyRequests {
		t.Fatalf("over the rate: %d", code)
	}
	if code, _ := do("GET", "/c/webchat/x", "", "10.0.0.4"); code != 200 {
		t.Fatalf("another client is not limited: %d", code)
	}
	for reason, want := range map[string]float64{"unknown_instance": 1, "unavailable": 1, "too_large": 2, "rate_limited": 1} {
		if got := testutil.ToFloat64(g.refused.WithLabelValues(reason)); got != want {
			t.Fatalf("refused{%s} = %v, want %v", reason, got, want)
		}
	}
}
