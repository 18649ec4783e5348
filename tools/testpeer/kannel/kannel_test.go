package kannel

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"
)

// callbacks records what Kannel calls on the test's server.
type callbacks struct {
	mu   sync.Mutex
	reqs []*http.Request
	body []string
}

func (c *callbacks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.body = append(c.body, string(body))
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// await waits for a request on path and returns it with its body.
func (c *callbacks) await(t *testing.T, path string, n int) (*http.Request, string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c.mu.Lock()
		seen := 0
		for i, r := range c.reqs {
			if r.URL.Path == path {
				if seen++; seen == n {
					r, b := r, c.body[i]
					c.mu.Unlock()
					return r, b
				}
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("Kannel never called %s (%d times)", path, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestGateway(t *testing.T) {
	cb := &callbacks{}
	srv := httptest.NewServer(cb)
	defer srv.Close()
	k := Start(t, Options{MOURL: srv.URL + "/mo?id=%I&from=%p&to=%P"})

	t.Run("text from a phone reaches the post-url", func(t *testing.T) {
		if err := k.InjectMO("+15550001111", "+15559990000", "Hello  there, café"); err != nil {
			t.Fatal(err)
		}
		r, body := cb.await(t, "/mo", 1)
		if body != "Hello  there, café" {
			t.Errorf("post-url body %q", body)
		}
		for h, want := range map[string]string{"X-Kannel-From": "+15550001111", "X-Kannel-To": "+15559990000", "Content-Type": `text/plain; charset="UTF-8"`} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}
		q := r.URL.Query()
		if q.Get("id") == "" || q.Get("from") != "+15550001111" || q.Get("to") != "+15559990000" {
			t.Errorf("post-url query %v: want id, from and to filled in", q)
		}
	})

	t.Run("sendsms reaches the phone and reports delivery", func(t *testing.T) {
		q := url.Values{"username": {k.User}, "password": {k.Password}, "from": {"+15559990000"}, "to": {"+15550001111"},
			"text": {"Hi, Привет"}, "charset": {"UTF-8"}, "coding": {"2"}, "dlr-mask": {"31"},
			"dlr-url": {srv.URL + "/dlr?status=%d&answer=%A"}}
		resp, err := http.Get(k.SendsmsURL + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(answer) != "0: Accepted for delivery" {
			t.Fatalf("sendsms answered %d %q", resp.StatusCode, answer)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !slices.ContainsFunc(k.MT(), func(m MT) bool { return m.Text == "Hi, Привет" }) {
			if time.Now().After(deadline) {
				t.Fatalf("the fake SMS center never printed the message: %+v", k.MT())
			}
			time.Sleep(10 * time.Millisecond)
		}
		mt := k.MT()[0]
		if mt.From != "+15559990000" || mt.To != "+15550001111" || mt.Type != "ucs-2" {
			t.Errorf("MT %+v", mt)
		}
		// Kannel posts its reports side by side: they may arrive in either order.
		first, _ := cb.await(t, "/dlr", 1)
		second, _ := cb.await(t, "/dlr", 2)
		got := []string{first.URL.Query().Get("status"), second.URL.Query().Get("status")}
		slices.Sort(got)
		if !slices.Equal(got, []string{"1", "8"}) {
			t.Errorf("delivery reports have statuses %v, want 8 (accepted by the SMS center) and 1 (delivered)", got)
		}
	})

	t.Run("a part with a concatenation header", func(t *testing.T) {
		q := url.Values{"username": {k.User}, "password": {k.Password}, "from": {"+15559990000"}, "to": {"+15550002222"},
			"text": {"part one "}, "charset": {"UTF-8"}, "coding": {"0"}, "udh": {"\x05\x00\x03\x2a\x02\x01"}}
		resp, err := http.Get(k.SendsmsURL + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		deadline := time.Now().Add(10 * time.Second)
		for {
			i := slices.IndexFunc(k.MT(), func(m MT) bool { return m.To == "+15550002222" })
			if i >= 0 {
				mt := k.MT()[i]
				if mt.Type != "udh" || string(mt.UDH) != "\x05\x00\x03\x2a\x02\x01" || mt.Text != "part one " {
					t.Errorf("MT %+v", mt)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the fake SMS center never printed the part")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestParseMT(t *testing.T) {
	for _, tc := range []struct {
		line string
		want MT
	}{
		{"+1 +2 text Hello there €", MT{From: "+1", To: "+2", Type: "text", Text: "Hello there €"}},
		{"+1 +2 ucs-2 %04%1F%04%40%00+%D8%3D%DE%00", MT{From: "+1", To: "+2", Type: "ucs-2", Text: "Пр 😀"}},
		{"+1 +2 udh %05%00%03*%02%01 data part+one+%E2%82%AC", MT{From: "+1", To: "+2", Type: "udh", UDH: []byte{5, 0, 3, '*', 2, 1}, Text: "part one €"}},
		{"+1 +2 udh %05%00%03*%02%02 data %04%1F%04%40%00+%00t%00w%00o", MT{From: "+1", To: "+2", Type: "udh", UDH: []byte{5, 0, 3, '*', 2, 2}, Text: "Пр two"}},
	} {
		got, ok := parseMT(tc.line)
		if !ok || got.From != tc.want.From || got.To != tc.want.To || got.Type != tc.want.Type || got.Text != tc.want.Text || string(got.UDH) != string(tc.want.UDH) {
			t.Errorf("parseMT(%q) = %+v, %v; want %+v", tc.line, got, ok, tc.want)
		}
	}
}
