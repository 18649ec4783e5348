package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The start-up banner names the console, the demo customer page and the metrics.
func TestBannerAndOpenAPI(t *testing.T) {
	h := startHub(t, hubOptions{})
	for _, want := range []string{"Agent console:   " + h.url + "/", "Customer page:   " + h.url + "/c/webchat/demo", "Metrics:         " + h.url + "/metrics"} {
		if !strings.Contains(h.log.String(), want) {
			t.Fatalf("the banner lacks %q:\n%s", want, h.log.String())
		}
	}
	res, err := http.Get(h.url + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(body, "openapi: 3.1.0") || !strings.Contains(body, "/conversations/{id}/accept") {
		t.Fatalf("openapi.yaml: %d %.200s", res.StatusCode, body)
	}
	res, err = http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics := readAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"go_goroutines ", "process_cpu_seconds_total ", `switchboard_plugin_up{plugin="webchat",plugin_instance="webchat"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
}

// Plugin log lines reach the hub's JSON log with the plugin and instance attached, and SIGTERM
// stops the hub and its plugins cleanly.
func TestLogsAndGracefulShutdown(t *testing.T) {
	h := startHub(t, hubOptions{})
	p, _ := h.plugin("webchat")
	var found bool
	poll(5*time.Second, func() bool {
		for _, line := range strings.Split(h.log.String(), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil {
				continue
			}
			if rec["msg"] == "web chat ready" && rec["plugin"] == "webchat" && rec["instance"] == "webchat" && rec["level"] == "INFO" {
				found = true
			}
		}
		return found
	})
	if !found {
		t.Fatalf("the plugin's own log line is not in the hub's log with plugin and instance:\n%s", h.log.String())
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the hub did not stop within 10s of SIGTERM")
	}
	if code := h.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if !strings.Contains(h.log.String(), `"msg":"stopped"`) {
		t.Fatal("the hub did not log that it stopped")
	}
	if err := syscall.Kill(p.PID, 0); err == nil {
		t.Fatalf("plugin process %d still runs after the hub stopped", p.PID)
	}
}
