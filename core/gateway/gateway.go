// Package gateway mounts each plugin instance's HTTP handler under /c/{instance}/ on the hub's
// public listener: a reverse proxy (WebSocket upgrades included) with a body-size limit and a
// per-client rate limit. It never lets a request reach a plugin unbounded.
package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Addresses tells where an instance's handler listens ("" while it is down).
type Addresses interface {
	HTTPAddress(instance string) string
}

// Options configure the gateway.
type Options struct {
	Plugins       Addresses
	Instances     []string // configured instance names
	MaxBodyBytes  int64
	RatePerSecond float64
	Burst         int
	Registry      prometheus.Registerer
}

// Gateway is the /c/ handler.
type Gateway struct {
	opts      Options
	instances map[string]bool
	proxy     *httputil.ReverseProxy
	refused   *prometheus.CounterVec

	mu      sync.Mutex
	clients map[string]*client
	swept   time.Time
}

type client struct {
	limiter *rate.Limiter
	seen    time.Time
}

type ctxKey struct{}

// New builds the gateway.
func New(opts Options) *Gateway {
	g := &Gateway{opts: opts, instances: map[string]bool{}, clients: map[string]*client{}}
	for _, in := range opts.Instances {
		g.instances[in] = true
	}
	g.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_gateway_refused_total",
		Help: "Requests to plugin routes refused by the hub, by reason (unknown_instance, unavailable, rate_limited, too_large).",
	}, []string{"reason"})
	opts.Registry.MustRegister(g.refused)
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			target := pr.In.Context().Value(ctxKey{}).(target)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = target.addr
			pr.Out.URL.Path = target.path
			pr.Out.URL.RawPath = ""
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Forwarded-Prefix", "/c/"+target.instance)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				g.refused.WithLabelValues("too_large").Inc()
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
				return
			}
			g.refused.WithLabelValues("unavailable").Inc()
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the channel is restarting; try again in a moment", http.StatusServiceUnavailable)
		},
		FlushInterval: -1,
	}
	return g
}

type target struct{ instance, addr, path string }

// ServeHTTP proxies /c/{instance}/{rest} to the instance's handler as /{rest}.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/c/")
	instance, path, _ := strings.Cut(rest, "/")
	if !g.instances[instance] {
		g.refused.WithLabelValues("unknown_instance").Inc()
		http.Error(w, "no channel named "+instance, http.StatusNotFound)
		return
	}
	if path == "" && !strings.HasSuffix(r.URL.Path, "/") {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
		return
	}
	if !g.allow(r) {
		g.refused.WithLabelValues("rate_limited").Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many requests; slow down", http.StatusTooManyRequests)
		return
	}
	if r.ContentLength > g.opts.MaxBodyBytes {
		g.refused.WithLabelValues("too_large").Inc()
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return
	}
	addr := g.opts.Plugins.HTTPAddress(instance)
	if addr == "" {
		g.refused.WithLabelValues("unavailable").Inc()
		w.Header().Set("Retry-After", "1")
		http.Error(w, "the channel is restarting; try again in a moment", http.StatusServiceUnavailable)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, g.opts.MaxBodyBytes)
	}
	ctx := r.Context()
	r = r.WithContext(withTarget(ctx, target{instance: instance, addr: addr, path: "/" + path}))
	g.proxy.ServeHTTP(w, r)
}

func (g *Gateway) allow(r *http.Request) bool {
	if g.opts.RatePerSecond <= 0 {
		return true
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.swept) > time.Minute {
		for k, c := range g.clients {
			if now.Sub(c.seen) > 5*time.Minute {
				delete(g.clients, k)
			}
		}
		g.swept = now
	}
	c := g.clients[ip]
	if c == nil {
		c = &client{limiter: rate.NewLimiter(rate.Limit(g.opts.RatePerSecond), g.opts.Burst)}
		g.clients[ip] = c
	}
	c.seen = now
	return c.limiter.AllowN(now, 1)
}

func withTarget(ctx context.Context, t target) context.Context {
	return context.WithValue(ctx, ctxKey{}, t)
}
