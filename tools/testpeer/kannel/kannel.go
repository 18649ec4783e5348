// Package kannel runs a real Kannel SMS gateway for tests: bearerbox, smsbox and Kannel's fake
// SMS center (the Debian packages kannel and kannel-extras) on free loopback ports, with a
// kannel.conf generated in the test's temporary directory. Texts from phones are injected into
// the fake SMS center; what the gateway sends to phones is read back from it. It is a test helper
// and never part of a product binary.
package kannel

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/tools/testpeer/testproc"
)

// Where the Debian packages put the binaries (`dpkg -L kannel kannel-extras`).
var (
	bearerboxPaths = []string{"/usr/sbin/bearerbox"}
	smsboxPaths    = []string{"/usr/sbin/smsbox"}
	fakesmscPaths  = []string{"/usr/lib/kannel/test/fakesmsc"}
)

// startWait bounds how long the gateway may take to come up.
const startWait = 30 * time.Second

// Options configures the gateway.
type Options struct {
	// MOURL is the post-url of the catch-all sms-service: Kannel posts every text from a phone
	// there, with X-Kannel-From (send-sender = true) and X-Kannel-To. Kannel's escapes (%I the
	// message id, %p the sender, %P the receiver...) are filled in.
	MOURL string
}

// Kannel is a running gateway.
type Kannel struct {
	// SendsmsURL is smsbox's sendsms interface; User and Password its sendsms-user.
	SendsmsURL     string
	User, Password string
	// AdminURL is bearerbox's HTTP administration; AdminPassword its password.
	AdminURL, AdminPassword string

	t     testing.TB
	procs []*proc
	smsc  *proc // fakesmsc: its stdin takes texts from phones, its output shows texts to phones

	mu       sync.Mutex
	injected int
}

// proc is one process of the gateway with its output.
type proc struct {
	name  string
	cmd   *exec.Cmd
	out   *testproc.Log
	done  chan struct{}
	stdin io.WriteCloser
}

// binary finds a Kannel binary. When it is missing the test is skipped with a loud message
// outside CI and fails in CI, where tools/test-deps.sh must have installed it.
func binary(t testing.TB, name, pkg string, paths []string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	msg := fmt.Sprintf("%s is not installed (Debian package %s; `make test` installs it)", name, pkg)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIPPED — " + msg)
	return ""
}

// Start runs bearerbox, the fake SMS center and smsbox, and waits until the gateway is up with
// the SMS center and smsbox connected. Everything is stopped when the test ends.
func Start(t testing.TB, opts Options) *Kannel {
	t.Helper()
	bearerbox := binary(t, "bearerbox", "kannel", bearerboxPaths)
	smsbox := binary(t, "smsbox", "kannel", smsboxPaths)
	fakesmsc := binary(t, "fakesmsc", "kannel-extras", fakesmscPaths)
	if opts.MOURL == "" {
		t.Fatal("kannel.Start: Options.MOURL is empty: the gateway needs somewhere to post texts from phones")
	}
	dir := t.TempDir()
	ports := testproc.FreePorts(t, 4)
	admin, boxPort, smscPort, sendsmsPort := ports[0], ports[1], ports[2], ports[3]
	k := &Kannel{
		SendsmsURL:    fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", sendsmsPort),
		User:          "switchboard",
		Password:      "sendsms-" + fmt.Sprint(time.Now().UnixNano()),
		AdminURL:      fmt.Sprintf("http://127.0.0.1:%d", admin),
		AdminPassword: "admin-" + fmt.Sprint(time.Now().UnixNano()),
		t:             t,
	}
	conf := filepath.Join(dir, "kannel.conf")
	if err := os.WriteFile(conf, []byte(k.config(opts, admin, boxPort, smscPort, sendsmsPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.stop)

	// bearerbox first; smsbox panics when bearerbox's box port is not open yet.
	k.start("bearerbox", false, bearerbox, "-v", "0", conf)
	k.waitPort(boxPort)
	k.waitPort(smscPort)
	k.smsc = k.start("fakesmsc", true, fakesmsc, "-H", "127.0.0.1", "-r", fmt.Sprint(smscPort), "-i", "0", "-m", "-1")
	k.start("smsbox", false, smsbox, "-v", "0", conf)
	k.waitPort(sendsmsPort)
	k.waitReady()
	return k
}

func (k *Kannel) config(opts Options, admin, boxPort, smscPort, sendsmsPort int) string {
	return fmt.Sprintf(`group = core
admin-port = %d
admin-password = %q
status-password = %q
admin-allow-ip = "127.0.0.1"
admin-deny-ip = "*.*.*.*"
smsbox-port = %d
box-allow-ip = "127.0.0.1"
box-deny-ip = "*.*.*.*"
log-level = 0
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
our-host = 127.0.0.1
port = %d
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = %d
sendsms-interface = 127.0.0.1
mo-recode = true
http-request-retry = 5
http-queue-delay = 1
log-level = 0

group = sendsms-user
username = %q
password = %q
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
catch-all = true
max-messages = 0
omit-empty = true
send-sender = true
post-url = %q
`, admin, k.AdminPassword, k.AdminPassword, boxPort, smscPort, sendsmsPort, k.User, k.Password, opts.MOURL)
}

// start runs one process of the gateway; withStdin gives it a pipe to write to.
func (k *Kannel) start(name string, withStdin bool, bin string, args ...string) *proc {
	k.t.Helper()
	p := &proc{name: name, out: &testproc.Log{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if withStdin {
		w, err := p.cmd.StdinPipe()
		if err != nil {
			k.t.Fatal(err)
		}
		p.stdin = w
	}
	if err := p.cmd.Start(); err != nil {
		k.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	k.procs = append(k.procs, p)
	return p
}

// waitPort waits until something listens on the loopback port, failing when a process of the
// gateway exited meanwhile.
func (k *Kannel) waitPort(port int) {
	k.t.Helper()
	k.waitFor(fmt.Sprintf("port %d to open", port), func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// waitReady waits until bearerbox reports the fake SMS center online and smsbox connected.
func (k *Kannel) waitReady() {
	k.t.Helper()
	k.waitFor("the SMS center and smsbox to connect", func() bool {
		status, err := k.Status()
		return err == nil && strings.Contains(status, "fake[fake]") && strings.Contains(status, "(online") &&
			smsboxOnline.MatchString(status)
	})
}

func (k *Kannel) waitFor(what string, cond func() bool) {
	k.t.Helper()
	deadline := time.Now().Add(startWait)
	for !cond() {
		for _, p := range k.procs {
			select {
			case <-p.done:
				k.t.Fatalf("kannel: %s exited while waiting for %s:\n%s", p.name, what, k.logs())
			default:
			}
		}
		if time.Now().After(deadline) {
			k.t.Fatalf("kannel: no %s after %s:\n%s", what, startWait, k.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Status is bearerbox's status page (status.txt).
func (k *Kannel) Status() (string, error) {
	resp, err := http.Get(k.AdminURL + "/status.txt?password=" + url.QueryEscape(k.AdminPassword))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// injectWait bounds how long the fake SMS center may take to pass on one text.
const injectWait = 10 * time.Second

// InjectMO has a phone (from) text our number (to): the fake SMS center passes it to bearerbox,
// smsbox posts it to Options.MOURL. It returns once the SMS center sent it on, not once the post
// was answered. The text must be one line. It may be called from any goroutine.
func (k *Kannel) InjectMO(from, to, text string) error {
	if from == "" || to == "" || strings.ContainsAny(from+to, " \n") || strings.Contains(text, "\n") {
		return fmt.Errorf("kannel: InjectMO(%q, %q, %q): numbers without spaces and a one-line text", from, to, text)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// fakesmsc reads one line per wake-up of its input: write one and wait until it is sent.
	if _, err := fmt.Fprintf(k.smsc.stdin, "%s %s text %s\n", from, to, text); err != nil {
		return fmt.Errorf("kannel: write to fakesmsc: %w\n%s", err, k.logs())
	}
	k.injected++
	want := fmt.Sprintf("fakesmsc: sent message %d", k.injected)
	deadline := time.Now().Add(injectWait)
	for !strings.Contains(k.smsc.out.String(), want) {
		if time.Now().After(deadline) {
			return fmt.Errorf("kannel: fakesmsc did not send the injected text within %s:\n%s", injectWait, k.logs())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// MT is one message the gateway sent to a phone, as the fake SMS center printed it.
type MT struct {
	From, To string
	// Type is how the SMS center printed the payload: "text", "data" (URL-encoded bytes),
	// "ucs-2" (URL-encoded UTF-16BE) or "udh" (a user data header, then the payload).
	Type string
	UDH  []byte
	Data []byte // the payload as sent
	// Text is the payload decoded: UTF-16BE for "ucs-2", else UTF-8. The SMS center does not
	// say how a payload with a UDH is coded: it is read as UTF-16BE when it is not readable
	// UTF-8 text.
	Text string
}

var (
	gotMessage   = regexp.MustCompile(`Got message \d+: <(.*)>$`)
	smsboxOnline = regexp.MustCompile(`smsbox:.*on-line`)
)

// MT returns the messages the gateway sent to phones so far, in order.
func (k *Kannel) MT() []MT {
	var out []MT
	sc := bufio.NewScanner(strings.NewReader(k.smsc.out.String()))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := gotMessage.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if mt, ok := parseMT(m[1]); ok {
			out = append(out, mt)
		}
	}
	return out
}

// parseMT reads "from to type payload" or "from to udh <udh> <type> <payload>".
func parseMT(line string) (MT, bool) {
	f := strings.SplitN(line, " ", 4)
	if len(f) < 3 {
		return MT{}, false
	}
	mt := MT{From: f[0], To: f[1], Type: f[2]}
	rest := ""
	if len(f) == 4 {
		rest = f[3]
	}
	switch mt.Type {
	case "text":
		mt.Data, mt.Text = []byte(rest), rest
		return mt, true
	case "data", "ucs-2":
		mt.Data = unescape(rest)
	case "udh":
		g := strings.SplitN(rest, " ", 3)
		mt.UDH = unescape(g[0])
		if len(g) == 3 {
			mt.Data = unescape(g[2])
		} else if len(g) == 2 {
			mt.Data = unescape(g[1])
		}
	default:
		return MT{}, false
	}
	if mt.Type == "ucs-2" || !readable(mt.Data) {
		mt.Text = fromUTF16BE(mt.Data)
	} else {
		mt.Text = string(mt.Data)
	}
	return mt, true
}

func unescape(s string) []byte {
	u, err := url.QueryUnescape(s)
	if err != nil {
		return []byte(s)
	}
	return []byte(u)
}

// readable reports whether b is UTF-8 text without control characters other than line breaks
// and tabs.
func readable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
			return false
		}
	}
	return true
}

func fromUTF16BE(b []byte) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(units))
}

// stop ends the gateway: bearerbox shuts down on SIGTERM and takes its boxes with it; whatever
// is left after a grace period is killed.
func (k *Kannel) stop() {
	if k.smsc != nil && k.smsc.stdin != nil {
		k.smsc.stdin.Close()
	}
	for i := len(k.procs) - 1; i >= 0; i-- {
		k.procs[i].cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(5 * time.Second)
	for _, p := range k.procs {
		select {
		case <-p.done:
		case <-deadline:
			p.cmd.Process.Kill()
			<-p.done
		}
	}
	if k.t.Failed() {
		k.t.Logf("kannel logs:\n%s", k.logs())
	}
}

// logs is the last lines of every process's output.
func (k *Kannel) logs() string {
	var b strings.Builder
	for _, p := range k.procs {
		lines := strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", p.name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}
