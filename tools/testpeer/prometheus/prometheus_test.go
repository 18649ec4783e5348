package prometheus

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The helper starts a real Prometheus that scrapes a target, and reads its answers back.
func TestScrapeAndQuery(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		fmt.Fprintf(w, "# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\ndemo_requests_total{path=\"/a\"} %d\n", n)
	}))
	defer target.Close()
	p := Start(t, "demo", strings.TrimPrefix(target.URL, "http://"), time.Second)
	deadline := time.Now().Add(20 * time.Second)
	var got []Series
	for time.Now().Before(deadline) {
		var err error
		if got, err = p.Query(`demo_requests_total{job="demo"}`, time.Now()); err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Samples[0].Value >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Labels["path"] != "/a" || got[0].Samples[0].Value < 2 {
		t.Fatalf("query answered %+v, want the scraped counter at 2 or more", got)
	}
	values, err := p.LabelValues("path", "demo_requests_total")
	if err != nil || len(values) != 1 || values[0] != "/a" {
		t.Fatalf("label values %v %v", values, err)
	}
	if _, err := p.Query("sum(", time.Now()); err == nil || !strings.Contains(err.Error(), "parse error") {
		t.Fatalf("a malformed query answered %v, want a parse error", err)
	}
	if out, ok := CheckMetrics(t, []byte("# TYPE demo_requests counter\ndemo_requests 1\n")); ok || !strings.Contains(out, "_total") {
		t.Fatalf("promtool passed a counter without _total: %q", out)
	}
}
