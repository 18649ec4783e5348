// Package mattermost runs a real Mattermost server for tests: built once by
// tools/peers/mattermost.sh, started on a fresh database of the machine's PostgreSQL, with a
// system admin, a personal access token and a team. It is test support only: nothing in the
// product imports it.
package mattermost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// PostgresAddr is where the tests expect the machine's PostgreSQL, with trust authentication.
const PostgresAddr = "127.0.0.1:5432"

// Password is every test user's password.
const Password = "Switchboard-test-1!"

// TeamName is the team Start creates.
const TeamName = "experts"

// Server is one running Mattermost server with its own database.
type Server struct {
	// URL is the server's base address, e.g. http://127.0.0.1:41234.
	URL string
	// Admin is a client signed in as the system admin; AdminToken is the admin's personal
	// access token (what a bridge's admin_token holds).
	Admin      *model.Client4
	AdminToken string
	AdminUser  *model.User
	Team       *model.Team
	// Database is the PostgreSQL database the server uses; it is dropped when the test ends.
	Database string

	cmd    *exec.Cmd
	exited chan struct{}
	log    *tail
}

// User is a person on the server with a client signed in as them.
type User struct {
	*model.User
	Client *model.Client4
	Token  string
}

// Start builds (or finds cached) the server, starts it on a fresh database and prepares the
// admin and the team. Without PostgreSQL or the server build it fails in CI and skips loudly
// elsewhere.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := build(t)
	if err := postgresAnswers(); err != nil {
		unavailable(t, "PostgreSQL does not answer at %s (%v). Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", PostgresAddr, err)
	}
	s := &Server{Database: "switchboard_mm_" + randomHex(8), exited: make(chan struct{}), log: &tail{max: 200}}
	if err := psql(fmt.Sprintf("CREATE DATABASE %s", s.Database)); err != nil {
		t.Fatalf("mattermost: create database %s: %v", s.Database, err)
	}
	t.Cleanup(func() {
		if err := psql(fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", s.Database)); err != nil {
			t.Logf("mattermost: drop database %s: %v", s.Database, err)
		}
	})
	port := testproc.FreePorts(t, 1)[0]
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
	work := t.TempDir()
	cfgPath := filepath.Join(work, "config.json")
	if err := writeConfig(cfgPath, s.URL, port, s.Database, work); err != nil {
		t.Fatalf("mattermost: write config: %v", err)
	}
	s.cmd = exec.Command(filepath.Join(dir, "bin", "mattermost"), "server", "--config", cfgPath)
	s.cmd.Dir = dir // i18n/, templates/ and fonts/ are found relative to it
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.Env = serverEnv()
	s.cmd.SysProcAttr = sysProcAttr()
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("mattermost: start the server: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("mattermost server log (last lines):\n%s", s.log.String())
		}
	})
	if err := s.waitReady(90 * time.Second); err != nil {
		t.Fatalf("mattermost: %v\nserver log:\n%s", err, s.log.String())
	}
	if err := s.setUp(); err != nil {
		t.Fatalf("mattermost: set up admin and team: %v\nserver log:\n%s", err, s.log.String())
	}
	return s
}

// build runs tools/peers/mattermost.sh and returns the directory it prints.
func build(t testing.TB) string {
	t.Helper()
	script := filepath.Join(repoRoot(t), "tools", "peers", "mattermost.sh")
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		unavailable(t, "building the Mattermost server with %s failed: %v\n%s", script, err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	if _, err := os.Stat(filepath.Join(dir, "bin", "mattermost")); err != nil {
		t.Fatalf("mattermost: %s printed %q, which holds no bin/mattermost: %v", script, dir, err)
	}
	return dir
}

func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("mattermost: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// unavailable fails in CI and skips loudly elsewhere: a developer without the peer still gets
// the other tests.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("mattermost: %s", msg)
	}
	t.Skipf("WARNING: SKIPPING a test that needs a real Mattermost server: %s", msg)
}

func postgresAnswers() error {
	conn, err := net.DialTimeout("tcp", PostgresAddr, 3*time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	if _, err := exec.LookPath("psql"); err != nil {
		return errors.New("the psql client is not installed (Debian package postgresql-client)")
	}
	return psql("SELECT 1")
}

func psql(sql string) error {
	host, port, _ := net.SplitHostPort(PostgresAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "psql", "-h", host, "-p", port, "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-X", "-q", "-c", sql).CombinedOutput()
	if err != nil {
		return fmt.Errorf("psql %q: %v: %s", sql, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeConfig writes a configuration for a private, offline test server: no plugins, no
// telemetry, no rate limit, open sign-up, personal access tokens on.
func writeConfig(path, siteURL string, port int, database, work string) error {
	cfg := map[string]any{
		"ServiceSettings": map[string]any{
			"SiteURL":                                  siteURL,
			"ListenAddress":                            fmt.Sprintf("127.0.0.1:%d", port),
			"EnableUserAccessTokens":                   true,
			"EnableBotAccountCreation":                 true,
			"EnableLocalMode":                          false,
			"EnableSecurityFixAlert":                   false,
			"EnableDeveloper":                          false,
			"EnableOnboardingFlow":                     false,
			"EnableAPITeamDeletion":                    true,
			"EnableAPIUserDeletion":                    true,
			"EnableInsecureOutgoingConnections":        false,
			"SessionLengthWebInHours":                  24,
			"EnableLinkPreviews":                       false,
			"EnablePermalinkPreviews":                  false,
			"EnableCustomEmoji":                        false,
			"EnableGifPicker":                          false,
			"EnableOutgoingWebhooks":                   false,
			"EnableIncomingWebhooks":                   false,
			"EnableCommands":                           false,
			"EnablePostUsernameOverride":               false,
			"EnablePostIconOverride":                   false,
			"ExperimentalEnableAuthenticationTransfer": false,
		},
		"TeamSettings": map[string]any{
			"EnableOpenServer":   true,
			"EnableUserCreation": true,
			"MaxUsersPerTeam":    1000,
		},
		"SqlSettings": map[string]any{
			"DriverName":   "postgres",
			"DataSource":   fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=10", PostgresAddr, database),
			"MaxIdleConns": 4,
			"MaxOpenConns": 20,
		},
		"PasswordSettings": map[string]any{"MinimumLength": 8},
		"EmailSettings": map[string]any{
			"SendEmailNotifications":   false,
			"RequireEmailVerification": false,
			"EnableSignUpWithEmail":    true,
			"EnableSignInWithEmail":    true,
			"EnableSignInWithUsername": true,
			"EnablePreviewModeBanner":  false,
		},
		"RateLimitSettings": map[string]any{"Enable": false},
		"FileSettings": map[string]any{
			"DriverName":  "local",
			"Directory":   filepath.Join(work, "data") + "/",
			"MaxFileSize": 100 << 20,
		},
		"PluginSettings": map[string]any{
			"Enable":                      false,
			"EnableUploads":               false,
			"EnableMarketplace":           false,
			"EnableRemoteMarketplace":     false,
			"AutomaticPrepackagedPlugins": false,
			"Directory":                   filepath.Join(work, "plugins"),
			"ClientDirectory":             filepath.Join(work, "client-plugins"),
		},
		"LogSettings": map[string]any{
			"EnableConsole":     true,
			"ConsoleLevel":      "WARN",
			"ConsoleJson":       false,
			"EnableFile":        false,
			"FileLocation":      work,
			"EnableDiagnostics": false,
		},
		"NotificationLogSettings": map[string]any{
			"EnableConsole": false,
			"EnableFile":    false,
			"FileLocation":  work,
		},
		"ExperimentalAuditSettings": map[string]any{"FileEnabled": false},
		"AnnouncementSettings": map[string]any{
			"AdminNoticesEnabled": false,
			"UserNoticesEnabled":  false,
		},
		"MetricsSettings":       map[string]any{"Enable": false},
		"ClusterSettings":       map[string]any{"Enable": false},
		"ElasticsearchSettings": map[string]any{"EnableIndexing": false},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}

// serverEnv passes the environment without MM_ variables, which would override the file.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MM_") {
			env = append(env, kv)
		}
	}
	return append(env, "MM_LOGSETTINGS_ENABLEDIAGNOSTICS=false")
}

func (s *Server) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		resp, err := client.Get(s.URL + "/api/v4/system/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited while starting: %v", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("the server did not answer /api/v4/system/ping within %s (last error: %v)", limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// setUp creates the first user, who becomes system admin, the admin's personal access token and
// the team.
func (s *Server) setUp() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	anon := model.NewAPIv4Client(s.URL)
	admin, _, err := anon.CreateUser(ctx, &model.User{Username: "sysadmin", Email: "sysadmin@example.test", Password: Password})
	if err != nil {
		return fmt.Errorf("create the first user: %w", err)
	}
	if _, _, err := anon.Login(ctx, admin.Username, Password); err != nil {
		return fmt.Errorf("sign in as admin: %w", err)
	}
	if !admin.IsSystemAdmin() {
		if admin, _, err = anon.GetMe(ctx, ""); err != nil || !admin.IsSystemAdmin() {
			return fmt.Errorf("the first user is not a system admin (roles %q, %v)", admin.Roles, err)
		}
	}
	tok, _, err := anon.CreateUserAccessToken(ctx, admin.Id, "switchboard tests")
	if err != nil {
		return fmt.Errorf("create the admin's access token: %w", err)
	}
	s.AdminUser = admin
	s.AdminToken = tok.Token
	s.Admin = model.NewAPIv4Client(s.URL)
	s.Admin.SetToken(tok.Token)
	team, _, err := s.Admin.CreateTeam(ctx, &model.Team{Name: TeamName, DisplayName: "Experts", Type: model.TeamOpen})
	if err != nil {
		return fmt.Errorf("create team %s: %w", TeamName, err)
	}
	s.Team = team
	return nil
}

// CreateUser creates a regular user (an expert) in the team and signs them in; it fails the
// test on error, so call it from the test's goroutine.
func (s *Server) CreateUser(t testing.TB, username, first, last string) *User {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := s.NewUser(ctx, username, first, last)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// NewUser is CreateUser for any goroutine: it returns the error.
func (s *Server) NewUser(ctx context.Context, username, first, last string) (*User, error) {
	u, _, err := s.Admin.CreateUser(ctx, &model.User{
		Username: username, Email: username + "@example.test", Password: Password,
		FirstName: first, LastName: last,
	})
	if err != nil {
		return nil, fmt.Errorf("mattermost: create user %s: %w", username, err)
	}
	if _, _, err := s.Admin.AddTeamMember(ctx, s.Team.Id, u.Id); err != nil {
		return nil, fmt.Errorf("mattermost: add %s to team %s: %w", username, s.Team.Name, err)
	}
	c := model.NewAPIv4Client(s.URL)
	if _, _, err := c.Login(ctx, username, Password); err != nil {
		return nil, fmt.Errorf("mattermost: sign in as %s: %w", username, err)
	}
	return &User{User: u, Client: c, Token: c.AuthToken}, nil
}

// Log returns the last lines the server logged.
func (s *Server) Log() string { return s.log.String() }

func (s *Server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	// A graceful stop takes the server about ten seconds; its database is dropped next anyway.
	_ = s.cmd.Process.Kill()
	<-s.exited
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tail keeps the last lines of the server's output.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  []byte
}

func (l *tail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.part[:i]))
		l.part = l.part[i+1:]
	}
	if over := len(l.lines) - l.max; over > 0 {
		l.lines = append(l.lines[:0], l.lines[over:]...)
	}
	return len(p), nil
}

func (l *tail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
