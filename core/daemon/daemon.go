// Package daemon builds the hub from its configuration and runs it: store, conversation service,
// plugin host, console API, plugin gateway, health and metrics on one public listener. Parts start
// in dependency order and stop in reverse; nothing here holds global state.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/console"
	"github.com/switchboardhq/switchboard/core/gateway"
	"github.com/switchboardhq/switchboard/core/hub"
	"github.com/switchboardhq/switchboard/core/pluginhost"
	"github.com/switchboardhq/switchboard/core/store"
	"github.com/switchboardhq/switchboard/core/store/sqlite"
)

// Daemon is a running hub.
type Daemon struct {
	cfg       *config.Config
	log       *slog.Logger
	reg       *prometheus.Registry
	st        store.Store
	hub       *hub.Hub
	plugins   *pluginhost.Host
	srv       *http.Server
	ln        net.Listener
	cancel    context.CancelFunc
	hubDone   chan struct{}
	passwords map[string]string
}

// Start opens the store, provisions the configured tenants, starts the plugins and serves the
// public listener. On error everything already started is stopped.
func Start(ctx context.Context, cfg *config.Config, log *slog.Logger) (_ *Daemon, err error) {
	d := &Daemon{cfg: cfg, log: log, reg: prometheus.NewRegistry(), hubDone: make(chan struct{})}
	d.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			d.Stop(context.Background())
		}
	}()
	if err := d.openStore(ctx); err != nil {
		return nil, err
	}
	if d.hub, err = hub.New(hub.Options{Config: cfg, Store: d.st, Logger: log.With("component", "hub"), Metrics: hub.NewMetrics(d.reg)}); err != nil {
		return nil, err
	}
	if d.passwords, err = d.hub.Provision(ctx); err != nil {
		return nil, err
	}
	if err := d.hub.Recover(ctx); err != nil {
		return nil, err
	}
	d.plugins = pluginhost.New(pluginhost.Options{
		Store: d.st, Handler: d.hub, Logger: log.With("component", "pluginhost"), Registry: d.reg, LogLevel: cfg.Log.Level,
	})
	d.hub.SetPlugins(d.plugins)

	runCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	specs, err := PluginSpecs(cfg)
	if err != nil {
		return nil, err
	}
	var instances []string
	for _, spec := range specs {
		instances = append(instances, spec.Instance)
	}
	d.plugins.Start(runCtx, specs)
	go func() {
		defer close(d.hubDone)
		d.hub.Run(runCtx)
	}()
	go d.housekeeping(runCtx)

	cons := console.New(console.Options{
		Hub: d.hub, Store: d.st, Logger: log.With("component", "console"), Registry: d.reg, PublicURL: cfg.PublicURL,
		SessionTTL: cfg.Console.SessionTTL.Duration,
		// Behind an https public URL, cookies are Secure whatever the setting says.
		SecureCookies: cfg.Console.SecureCookies || strings.HasPrefix(cfg.PublicURL, "https://"), AllowedOrigins: cfg.Console.AllowedOrigins,
	})
	gw := gateway.New(gateway.Options{
		Plugins: d.plugins, Instances: instances, MaxBodyBytes: cfg.Limits.MaxBodyBytes,
		RatePerSecond: cfg.Limits.RatePerSecond, Burst: cfg.Limits.Burst, Registry: d.reg,
	})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", cons.Handler())
	mux.Handle("/c/", gw)
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.reg, promhttp.HandlerOpts{Registry: d.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", d.ready)
	mux.Handle("/", console.App())

	d.ln, err = net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	d.srv = &http.Server{
		Handler:           securityHeaders(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := d.srv.Serve(d.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("public listener stopped", "error", err)
		}
	}()
	return d, nil
}

// PluginSpecs lists the enabled plugin instances of cfg as the plugin host runs them.
func PluginSpecs(cfg *config.Config) ([]pluginhost.Spec, error) {
	var specs []pluginhost.Spec
	for _, p := range cfg.Plugins {
		if p.Disabled {
			continue
		}
		conf := []byte("{}")
		if p.Config != nil {
			var err error
			if conf, err = json.Marshal(p.Config); err != nil {
				return nil, fmt.Errorf("plugins.%s.config: %w", p.Instance, err)
			}
		}
		name := p.Plugin
		if name == "" {
			name = filepath.Base(p.Path)
		}
		specs = append(specs, pluginhost.Spec{Instance: p.Instance, Plugin: name, Binary: cfg.PluginBinary(p),
			Tenant: p.Tenant, Config: conf, PublicURL: cfg.PublicURL + "/c/" + p.Instance + "/"})
	}
	return specs, nil
}

func (d *Daemon) openStore(ctx context.Context) error {
	switch d.cfg.Store.Driver {
	case "sqlite", "":
		db, err := sqlite.Open(ctx, sqlite.Options{
			Path: d.cfg.Store.DSN, GroupCommitWindow: d.cfg.Store.GroupCommitWindow.Duration,
			GroupCommitMax: d.cfg.Store.GroupCommitMax, Synchronous: d.cfg.Store.Synchronous,
			Logger: d.log.With("component", "store"),
		})
		if err != nil {
			return fmt.Errorf("open store %s: %w", d.cfg.Store.DSN, err)
		}
		d.st = db
		d.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "switchboard_store_commits_total",
				Help: "Transactions the store committed; each holds one or more writes (group commit).",
			}, func() float64 { return float64(db.Stats().Batches) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "switchboard_store_writes_total",
				Help: "Writes the store committed, many per transaction under load.",
			}, func() float64 { return float64(db.Stats().Writes) }),
		)
		return nil
	default:
		return fmt.Errorf("store.driver: %q is not available in this build; use sqlite", d.cfg.Store.Driver)
	}
}

// Retention of the records that only exist to make retries and sessions safe.
const (
	seenRetention   = 14 * 24 * time.Hour // platforms retry webhooks for days, never for weeks
	outboxRetention = 7 * 24 * time.Hour
	housekeepEvery  = time.Hour
)

// housekeeping removes expired sessions, old dedupe records and settled outbox rows, at start
// and then every hour, so the database does not grow with traffic that is long done.
func (d *Daemon) housekeeping(ctx context.Context) {
	tick := time.NewTicker(housekeepEvery)
	defer tick.Stop()
	for {
		now := time.Now()
		var sessions, seen, outbox int
		err := d.st.Write(ctx, func(tx store.Tx) (err error) {
			if sessions, err = tx.DeleteExpiredSessions(now); err != nil {
				return err
			}
			if seen, err = tx.PruneSeen(now.Add(-seenRetention)); err != nil {
				return err
			}
			outbox, err = tx.PruneOutbox(now.Add(-outboxRetention))
			return err
		})
		if err != nil && ctx.Err() == nil {
			d.log.Error("housekeeping failed", "error", err)
		} else if err == nil {
			d.log.Debug("housekeeping", "expired_sessions", sessions, "seen_events", seen, "outbox_rows", outbox)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// Addr is the public listener's address.
func (d *Daemon) Addr() string { return d.ln.Addr().String() }

// GeneratedPasswords are the passwords made at start-up for users configured without one, by
// "tenant/username".
func (d *Daemon) GeneratedPasswords() map[string]string { return d.passwords }

// Plugins reports every plugin instance.
func (d *Daemon) Plugins() []pluginhost.Status { return d.plugins.Status() }

// Stop drains the listener, lets plugins acknowledge what is in flight, stops them and flushes
// the store, within ctx.
func (d *Daemon) Stop(ctx context.Context) {
	if d.srv != nil {
		if err := d.srv.Shutdown(ctx); err != nil {
			d.srv.Close()
		}
	}
	if d.plugins != nil {
		d.plugins.Stop(ctx)
	}
	if d.cancel != nil {
		d.cancel()
		<-d.hubDone
	}
	if d.st != nil {
		if err := d.st.Close(); err != nil {
			d.log.Error("close store", "error", err)
		}
	}
}

// readiness is the body of /readyz.
type readiness struct {
	Status  string              `json:"status"` // ready, degraded, not_ready
	Store   string              `json:"store"`
	Plugins []pluginhost.Status `json:"plugins"`
}

// ready answers 200 when the store works (status "degraded" while a plugin is down) and 503 when
// it does not; ?strict=1 also answers 503 while any plugin is down.
func (d *Daemon) ready(w http.ResponseWriter, r *http.Request) {
	res := readiness{Status: "ready", Store: "ok", Plugins: d.plugins.Status()}
	code := http.StatusOK
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := d.st.Tenants(ctx); err != nil {
		res.Status, res.Store, code = "not_ready", err.Error(), http.StatusServiceUnavailable
	}
	for _, p := range res.Plugins {
		if p.State != pluginhost.StateUp && res.Status == "ready" {
			res.Status = "degraded"
			if r.URL.Query().Get("strict") != "" {
				code = http.StatusServiceUnavailable
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(res)
}

// securityHeaders sets the headers every hub response carries. Plugin routes (/c/) set their own
// Content-Security-Policy since the widget is embedded in customers' sites.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if len(r.URL.Path) < 3 || r.URL.Path[:3] != "/c/" {
			h.Set("X-Frame-Options", "DENY")
			h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		}
		next.ServeHTTP(w, r)
	})
}
