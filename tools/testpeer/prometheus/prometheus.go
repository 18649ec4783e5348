// Package prometheus runs a real Prometheus server (the Debian package's binary, which
// tools/test-deps.sh installs) for tests: its storage in the test's temporary directory, loopback
// only, scraping the targets it is given. It also runs promtool. It is a test helper and never
// part of a product binary.
package prometheus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// Tool finds a Prometheus binary (prometheus or promtool). When it is missing the test is skipped
// with a loud message outside CI and fails in CI, where tools/test-deps.sh must have installed it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not installed (Debian package prometheus; `make test` installs it): %v", name, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED — " + msg)
	return ""
}

// CheckMetrics lints a text exposition with `promtool check metrics`; it returns promtool's
// complaints (empty when the exposition passes).
func CheckMetrics(t testing.TB, exposition []byte) (problems string, ok bool) {
	t.Helper()
	cmd := exec.Command(Tool(t, "promtool"), "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			t.Fatalf("run promtool: %v", err)
		}
		return string(out), false
	}
	return string(out), true
}

// Server is a running Prometheus.
type Server struct {
	// URL is the HTTP API base, e.g. http://127.0.0.1:41234.
	URL string

	t    testing.TB
	cmd  *exec.Cmd
	log  *testproc.Log
	done chan struct{}
}

// Start runs Prometheus scraping target (host:port, path /metrics) as job every interval, and
// waits until it is ready. It is stopped when the test ends.
func Start(t testing.TB, job, target string, interval time.Duration) *Server {
	t.Helper()
	bin := Tool(t, "prometheus")
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: %[2]s
    scrape_interval: %[1]s
    scrape_timeout: %[1]s
    static_configs:
      - targets: [%[3]q]
`, interval, job, target)
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := testproc.FreeAddr(t)
	s := &Server{URL: "http://" + addr, t: t, log: &testproc.Log{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn", "--storage.tsdb.retention.time=1d")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/-/ready")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("prometheus exited while starting:\n%s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready after 30s:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
	if s.t.Failed() {
		s.t.Logf("prometheus log:\n%s", s.log.String())
	}
}

// Sample is one value of a series at a time.
type Sample struct {
	Time  time.Time
	Value float64
}

// Series is one result series of a query: its labels and samples (one for an instant query).
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Query evaluates expr at the given time.
func (s *Server) Query(expr string, at time.Time) ([]Series, error) {
	return s.api("/api/v1/query", url.Values{"query": {expr}, "time": {unix(at)}})
}

// QueryRange evaluates expr at every step from start to end.
func (s *Server) QueryRange(expr string, start, end time.Time, step time.Duration) ([]Series, error) {
	return s.api("/api/v1/query_range", url.Values{"query": {expr}, "start": {unix(start)}, "end": {unix(end)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}})
}

// LabelValues lists the values of label among the series matching the selector.
func (s *Server) LabelValues(label, match string) ([]string, error) {
	res, err := http.Get(s.URL + "/api/v1/label/" + url.PathEscape(label) + "/values?" + url.Values{"match[]": {match}}.Encode())
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct {
		Status string   `json:"status"`
		Error  string   `json:"error"`
		Data   []string `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, err
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("label values %s{%s}: %s", label, match, body.Error)
	}
	return body.Data, nil
}

func (s *Server) api(path string, q url.Values) ([]Series, error) {
	res, err := http.PostForm(s.URL+path, q)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Value  []any             `json:"value"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if body.Status != "success" {
		return nil, fmt.Errorf("%s %q: %s", path, q.Get("query"), body.Error)
	}
	var out []Series
	for _, r := range body.Data.Result {
		se := Series{Labels: r.Metric}
		if r.Value != nil {
			r.Values = append(r.Values, r.Value)
		}
		for _, v := range r.Values {
			sm, err := sample(v)
			if err != nil {
				return nil, fmt.Errorf("%s %q: %w", path, q.Get("query"), err)
			}
			se.Samples = append(se.Samples, sm)
		}
		out = append(out, se)
	}
	return out, nil
}

// sample decodes Prometheus's [unix seconds, "value"] pair.
func sample(v []any) (Sample, error) {
	if len(v) != 2 {
		return Sample{}, fmt.Errorf("sample %v: want [time, value]", v)
	}
	ts, ok1 := v[0].(float64)
	str, ok2 := v[1].(string)
	if !ok1 || !ok2 {
		return Sample{}, fmt.Errorf("sample %v: want [number, string]", v)
	}
	f, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return Sample{}, fmt.Errorf("sample %v: %w", v, err)
	}
	sec, frac := math.Modf(ts)
	return Sample{Time: time.Unix(int64(sec), int64(frac*1e9)), Value: f}, nil
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
