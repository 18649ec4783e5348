// Command switchboard is the hub daemon.
//
//	switchboard [run] [-config FILE]    start the hub
//	switchboard check-config FILE       validate a configuration file and exit
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
	_ "time/tzdata" // business hours work on hosts without a zoneinfo database

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/daemon"
	"github.com/switchboardhq/switchboard/core/pluginhost"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "check-config") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "check-config":
		fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
		fs.SetOutput(stderr)
		skip := fs.Bool("skip-plugins", false, "do not start the plugin binaries to check their configuration")
		if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
			fmt.Fprintln(stderr, "usage: switchboard check-config [-skip-plugins] FILE")
			return 2
		}
		return checkConfig(fs.Arg(0), *skip, stdout, stderr)
	default:
		fs := flag.NewFlagSet("switchboard", flag.ContinueOnError)
		fs.SetOutput(stderr)
		path := fs.String("config", "config/dev.yaml", "configuration file")
		if err := fs.Parse(args); err != nil {
			return 2
		}
		return serve(*path, stdout, stderr)
	}
}

// checkConfig validates the file and, unless skipped, has every enabled plugin validate its
// instance configuration against its own schema.
func checkConfig(path string, skipPlugins bool, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !skipPlugins {
		specs, err := daemon.PluginSpecs(cfg)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		failed := false
		for _, spec := range specs {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			desc, problems, err := pluginhost.Check(ctx, spec, log)
			cancel()
			if err != nil {
				fmt.Fprintf(stderr, "%s: plugins.%s: %v\n", path, spec.Instance, err)
				failed = true
				continue
			}
			for _, p := range problems {
				fmt.Fprintf(stderr, "%s: plugins.%s.config.%s: %s\n", path, spec.Instance, p.Path, p.Message)
				failed = true
			}
			if len(problems) == 0 {
				fmt.Fprintf(stdout, "%s: plugins.%s: ok (%s %s)\n", path, spec.Instance, desc.Name, desc.Version)
			}
		}
		if failed {
			return 1
		}
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}

func serve(path string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	if addr := os.Getenv("SWITCHBOARD_DEBUG_ADDR"); addr != "" {
		// Profiling endpoints (/debug/pprof/) on a separate listener an operator opts into.
		go func() {
			log.Info("debug listener", "addr", addr)
			if err := http.ListenAndServe(addr, nil); err != nil {
				log.Error("debug listener stopped", "error", err)
			}
		}()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	d, err := daemon.Start(ctx, cfg, log)
	if err != nil {
		log.Error("hub did not start", "error", err)
		return 1
	}
	banner(stdout, cfg, d)
	<-ctx.Done()
	log.Info("stopping: draining connections, plugins and the store")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d.Stop(sctx)
	log.Info("stopped")
	return 0
}

func banner(w io.Writer, cfg *config.Config, d *daemon.Daemon) {
	fmt.Fprintf(w, "Switchboard is running on %s\n\n", d.Addr())
	fmt.Fprintf(w, "  Agent console:   %s/\n", cfg.PublicURL)
	for _, p := range cfg.Plugins {
		if p.Plugin == "webchat" && !p.Disabled {
			fmt.Fprintf(w, "  Customer page:   %s/c/%s/demo\n", cfg.PublicURL, p.Instance)
		}
	}
	fmt.Fprintf(w, "  Metrics:         %s/metrics\n", cfg.PublicURL)
	fmt.Fprintf(w, "  Readiness:       %s/readyz\n", cfg.PublicURL)
	fmt.Fprintf(w, "  API description: %s/api/v1/openapi.yaml\n", cfg.PublicURL)
	pw := d.GeneratedPasswords()
	if len(pw) > 0 {
		fmt.Fprintf(w, "\n  Sign-in passwords generated for this run (tenant/username: password):\n")
		keys := make([]string, 0, len(pw))
		for k := range pw {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    %-20s %s\n", k, pw[k])
		}
	}
	fmt.Fprintln(w)
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
