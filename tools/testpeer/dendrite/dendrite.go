// Package dendrite runs a real Matrix homeserver (Dendrite, built and cached by
// tools/peers/dendrite.sh) for tests: SQLite in the test's temporary directory, loopback only,
// one optional application service. It is a test helper and never part of a product binary.
package dendrite

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// ServerName is the homeserver's name: users are @name:localhost.
const ServerName = "localhost"

// Options describe the application service registered with the homeserver. With an empty
// ASToken no application service is registered.
type Options struct {
	// AppserviceURL is where the homeserver pushes transactions (the appservice "url").
	AppserviceURL string
	ASToken       string
	HSToken       string
	// SenderLocalpart is the appservice bot's localpart; "switchboard" when empty.
	SenderLocalpart string
	// UserRegex is the exclusive user namespace, e.g. "@sb_.*:localhost".
	UserRegex string
}

// Server is a running Dendrite.
type Server struct {
	// URL is the client-server API base, e.g. http://127.0.0.1:41234.
	URL string

	t      testing.TB
	bin    string
	dir    string
	config string
	addr   string
	secret string
	log    *testproc.Log

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start builds (or reuses) Dendrite, writes its configuration into a fresh temporary directory
// and starts it on a free loopback port; it is stopped when the test ends. When the binaries
// cannot be built the test is skipped with a loud message outside CI and fails in CI.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := binaries(t)
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, secret: "shared-secret-" + randomHex(8), log: &testproc.Log{}}
	if err := run(filepath.Join(bin, "generate-keys"), "-private-key", filepath.Join(dir, "matrix_key.pem")); err != nil {
		t.Fatalf("dendrite: generate signing key: %v", err)
	}
	appservices := ""
	if opts.ASToken != "" {
		reg := filepath.Join(dir, "appservice.yaml")
		if err := os.WriteFile(reg, []byte(registration(opts)), 0o600); err != nil {
			t.Fatal(err)
		}
		appservices = reg
	}
	s.config = filepath.Join(dir, "dendrite.yaml")
	if err := os.WriteFile(s.config, []byte(configYAML(dir, s.secret, appservices)), 0o600); err != nil {
		t.Fatal(err)
	}
	s.addr = testproc.FreeAddr(t)
	s.URL = "http://" + s.addr
	s.start()
	t.Cleanup(s.stop)
	return s
}

// registration is the appservice registration file the homeserver loads.
func registration(opts Options) string {
	sender := opts.SenderLocalpart
	if sender == "" {
		sender = "switchboard"
	}
	return fmt.Sprintf(`id: switchboard
url: %q
as_token: %q
hs_token: %q
sender_localpart: %q
rate_limited: false
namespaces:
  users:
    - exclusive: true
      regex: %q
  aliases: []
  rooms: []
`, opts.AppserviceURL, opts.ASToken, opts.HSToken, sender, opts.UserRegex)
}

func configYAML(dir, secret, appservice string) string {
	db := func(name string) string {
		return fmt.Sprintf("\n  database:\n    connection_string: file:%s\n", filepath.Join(dir, name+".db"))
	}
	files := "[]"
	if appservice != "" {
		files = fmt.Sprintf("[%q]", appservice)
	}
	return fmt.Sprintf(`version: 2
global:
  server_name: %[1]s
  private_key: %[2]s/matrix_key.pem
  key_validity_period: 168h0m0s
  disable_federation: true
  presence: {enable_inbound: true, enable_outbound: true}
  report_stats: {enabled: false}
  jetstream:
    in_memory: true
    storage_path: %[2]s
    topic_prefix: Dendrite
  metrics: {enabled: false}
  dns_cache: {enabled: false}
app_service_api:
  disable_tls_validation: true
  config_files: %[3]s
client_api:
  registration_disabled: true
  guests_disabled: true
  registration_shared_secret: %[4]q
  rate_limiting: {enabled: false}
federation_api:%[5]s  key_perspectives: []
key_server:%[6]s
media_api:%[7]s  base_path: %[2]s/media_store
  max_file_size_bytes: 52428800
mscs:%[8]s
relay_api:%[9]s
room_server:%[10]s
sync_api:%[11]s  search: {enabled: false}
user_api:
  bcrypt_cost: 4
  account_database:
    connection_string: file:%[2]s/userapi.db
tracing: {enabled: false}
logging:
  - {type: std, level: warn}
`, ServerName, dir, files, secret,
		db("federationapi"), db("keyserver"), db("mediaapi"), db("mscs"), db("relayapi"), db("roomserver"), db("syncapi"))
}

func (s *Server) start() {
	t := s.t
	t.Helper()
	cmd := exec.Command(filepath.Join(s.bin, "dendrite"), "-config", s.config, "-http-bind-address", s.addr)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = s.log, s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("dendrite: start: %v", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/_matrix/client/versions")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("dendrite exited during start-up:\n%s", s.log.Tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dendrite did not answer /_matrix/client/versions within 30s (last error %v):\n%s", err, s.log.Tail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
	default:
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	if s.t.Failed() {
		s.t.Logf("dendrite log (last lines):\n%s", s.log.Tail(6000))
	}
}

// Restart stops the homeserver and starts it again on the same address and data. Its in-memory
// message queue (JetStream) starts empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// Log returns the homeserver's output so far.
func (s *Server) Log() string { return s.log.String() }

// CreateUser registers a user with a password through the shared-secret admin API and returns
// the user id and an access token.
func (s *Server) CreateUser(name string) (userID, accessToken string) {
	s.t.Helper()
	userID, accessToken, err := s.register(name, "password-"+name)
	if err != nil {
		s.t.Fatalf("dendrite: create user %s: %v", name, err)
	}
	return userID, accessToken
}

// register follows the shared-secret registration flow (a nonce, then an HMAC of the fields).
func (s *Server) register(name, password string) (string, string, error) {
	var nonce struct {
		Nonce string `json:"nonce"`
	}
	if err := s.call(http.MethodGet, "/_synapse/admin/v1/register", nil, &nonce); err != nil {
		return "", "", err
	}
	mac := hmac.New(sha1.New, []byte(s.secret))
	mac.Write([]byte(nonce.Nonce + "\x00" + name + "\x00" + password + "\x00notadmin"))
	req := map[string]any{"nonce": nonce.Nonce, "username": name, "password": password, "admin": false, "mac": hex.EncodeToString(mac.Sum(nil))}
	var resp struct {
		UserID      string `json:"user_id"`
		AccessToken string `json:"access_token"`
	}
	if err := s.call(http.MethodPost, "/_synapse/admin/v1/register", req, &resp); err != nil {
		return "", "", err
	}
	if resp.AccessToken == "" {
		return "", "", errors.New("the homeserver returned no access token")
	}
	return resp.UserID, resp.AccessToken, nil
}

func (s *Server) call(method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return request(ctx, method, s.URL+path, "", body, out)
}

// ClientCall calls the homeserver's client-server API as a user's chat app does: path is under
// /_matrix/client/v3, token the user's access token. A 200 answer is decoded into out unless out
// is nil; any other status is an error with the homeserver's answer.
func (s *Server) ClientCall(ctx context.Context, token, method, path string, body, out any) error {
	return request(ctx, method, s.URL+"/_matrix/client/v3"+path, token, body, out)
}

func request(ctx context.Context, method, url, token string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// binaries runs tools/peers/dendrite.sh (fast once cached) and returns the binaries' directory.
func binaries(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "peers", "dendrite.sh")
	unavailable := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatalf("dendrite: %s", msg)
		}
		t.Skipf("SKIPPING: the Matrix tests need Dendrite, which is not available here: %s (CI fails instead of skipping)", msg)
	}
	if _, err := exec.LookPath("go"); err != nil {
		unavailable("go is not installed, so %s cannot build it", script)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		unavailable("%s failed: %v\n%s", script, err, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	if _, err := os.Stat(filepath.Join(dir, "dendrite")); err != nil {
		unavailable("%s printed %q, which holds no dendrite binary", script, dir)
	}
	return dir
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", filepath.Base(name), err, out)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
