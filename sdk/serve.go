package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// MaxMessageBytes bounds one gRPC message between hub and plugin (attachments travel inline).
const MaxMessageBytes = 32 << 20

// ServeChannel runs a customer channel plugin. Call it from main; it returns when the hub stops
// the plugin.
func ServeChannel(p Plugin) { serve(p, KindChannel) }

// ServeBridge runs an expert bridge plugin. Call it from main; it returns when the hub stops the
// plugin.
func ServeBridge(p Plugin) { serve(p, KindBridge) }

func serve(p Plugin, kind Kind) {
	hs := Handshake()
	if os.Getenv(hs.MagicCookieKey) != hs.MagicCookieValue {
		desc := p.Describe()
		fmt.Fprintf(os.Stderr, "%s %s is a Switchboard plugin: the hub starts it. Name it under plugins: in the hub's configuration.\n", desc.Name, desc.Version)
		os.Exit(2)
	}
	// The original stderr is what the hub reads log lines from; go-plugin swaps os.Stderr later.
	log := newLogger(os.Stderr)
	s := newServer(p, kind, log)
	go s.watchParent()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         map[string]plugin.Plugin{PluginName: &grpcPlugin{server: s}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))...)
		},
		Logger: hclog.New(&hclog.LoggerOptions{Output: os.Stderr, JSONFormat: true, Level: hclog.Warn}),
	})
	s.shutdown()
}

// grpcPlugin binds the contract to go-plugin on both sides: the plugin serves it, the hub dials it.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	server *server
}

func (g *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterPluginServer(s, g.server)
	return nil
}

func (g *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return pb.NewPluginClient(c), nil
}

// HostPlugins is the plugin set the hub passes to go-plugin to dial a plugin.
func HostPlugins() map[string]plugin.Plugin {
	return map[string]plugin.Plugin{PluginName: &grpcPlugin{}}
}

// Describe implements the gRPC service.
func (s *server) Describe(context.Context, *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	d := s.impl.Describe()
	return &pb.DescribeResponse{
		Name:         d.Name,
		Kind:         s.kind,
		Version:      d.Version,
		Capabilities: d.Capabilities,
		ConfigSchema: d.ConfigSchema,
		Summary:      d.Summary,
	}, nil
}

// Configure implements the gRPC service: it validates, then (unless validate_only) starts the
// instance's HTTP listener and Run.
func (s *server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	cfg := Config{
		Instance:     req.Instance,
		Tenant:       req.Tenant,
		JSON:         req.ConfigJson,
		PublicURL:    req.PublicUrl,
		ValidateOnly: req.ValidateOnly,
	}
	s.mu.Lock()
	already := s.configured
	s.mu.Unlock()
	if already && !cfg.ValidateOnly {
		return nil, errors.New("instance is already configured: restart the plugin to apply another configuration")
	}
	configured, err := s.impl.Configure(ctx, cfg)
	var cerr ConfigError
	if errors.As(err, &cerr) {
		resp := &pb.ConfigureResponse{}
		for _, f := range cerr {
			resp.Errors = append(resp.Errors, &pb.FieldError{Path: f.Path, Message: f.Message})
		}
		return resp, nil
	}
	if err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return &pb.ConfigureResponse{}, nil
	}
	resp := &pb.ConfigureResponse{}
	if configured != nil && configured.Handler != nil {
		addr, err := s.listenHTTP(configured.Handler)
		if err != nil {
			return nil, err
		}
		resp.HttpAddress = addr
	}
	s.mu.Lock()
	s.configured = true
	s.mu.Unlock()
	go s.run()
	return resp, nil
}

func (s *server) listenHTTP(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("listen on loopback: %w", err)
	}
	s.httpServer = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := s.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http listener stopped", "error", err)
		}
	}()
	return ln.Addr().String(), nil
}

func (s *server) run() {
	defer close(s.runDone)
	err := s.impl.Run(s.runCtx, s)
	if s.runCtx.Err() != nil {
		return
	}
	// Run must last as long as the plugin: ending early is a crash the hub restarts.
	s.log.Error("plugin stopped working", "error", err)
	os.Exit(1)
}

// watchParent ends the plugin when the hub dies without stopping it (SIGKILL), so no orphan
// keeps customers' connections or ports.
func (s *server) watchParent() {
	parent := os.Getppid()
	for range time.Tick(500 * time.Millisecond) {
		if os.Getppid() != parent {
			s.log.Warn("hub is gone; stopping")
			s.shutdown()
			os.Exit(1)
		}
	}
}

func (s *server) shutdown() {
	s.stopOnce.Do(func() {
		s.runCancel()
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if s.httpServer != nil {
			if err := s.httpServer.Shutdown(ctx); err != nil {
				s.httpServer.Close()
			}
		}
		s.mu.Lock()
		started := s.configured
		s.mu.Unlock()
		if started {
			select {
			case <-s.runDone:
			case <-ctx.Done():
				s.log.Warn("Run did not return within the shutdown grace period")
			}
		}
	})
}
