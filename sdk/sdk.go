package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hashicorp/go-plugin"

	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// ProtocolVersion is the version of the plugin contract. The hub refuses plugins built for another.
const ProtocolVersion = 1

// PluginName is the name the single plugin is dispensed under.
const PluginName = "switchboard"

// Handshake is the go-plugin handshake hub and plugins share. A binary started by hand (not by the
// hub) sees no magic cookie and exits with a message instead of hanging.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "SWITCHBOARD_PLUGIN",
		MagicCookieValue: "a3f1c7e2-switchboard-plugin-v1",
	}
}

// Kind says what a plugin connects: customers (channel) or experts (bridge).
type Kind = pb.PluginKind

const (
	KindChannel = pb.PluginKind_PLUGIN_KIND_CHANNEL
	KindBridge  = pb.PluginKind_PLUGIN_KIND_BRIDGE
)

// Description is what a plugin says about itself, independent of configuration.
type Description struct {
	Name         string
	Version      string
	Summary      string
	Capabilities []string
	// ConfigSchema is the JSON Schema of the instance configuration object.
	ConfigSchema string
}

// Config is one instance's configuration as the hub hands it over.
type Config struct {
	Instance string
	Tenant   string
	// JSON is the instance configuration object, secrets resolved.
	JSON []byte
	// PublicURL is where the hub exposes the plugin's HTTP handler, ending in "/"; may be empty.
	PublicURL string
	// ValidateOnly asks the plugin to check the configuration without starting anything.
	ValidateOnly bool
}

// Decode strictly decodes the configuration into v: unknown fields and wrong types become
// FieldErrors with the field's path.
func (c Config) Decode(v any) error {
	data := c.JSON
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return ConfigError{{Path: typeErr.Field, Message: fmt.Sprintf("must be %s, not %s", typeErr.Type, typeErr.Value)}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return ConfigError{{Path: field, Message: "unknown field"}}
		default:
			return ConfigError{{Path: "", Message: err.Error()}}
		}
	}
	return nil
}

// Configured is what a plugin set up for its instance.
type Configured struct {
	// Handler, when not nil, is served on a loopback listener the SDK opens; the hub mounts it
	// under /c/{instance}/ on its public listener (request paths arrive without that prefix).
	Handler http.Handler
}

// FieldError is one problem with one configuration field.
type FieldError struct {
	Path    string
	Message string
}

// ConfigError lists every problem found in an instance configuration.
type ConfigError []FieldError

func (e ConfigError) Error() string {
	parts := make([]string, len(e))
	for i, f := range e {
		parts[i] = f.Path + ": " + f.Message
	}
	return strings.Join(parts, "; ")
}

// Plugin is what a channel or bridge implements.
type Plugin interface {
	// Describe says what the plugin is. It is called before Configure.
	Describe() Description
	// Configure checks and applies the instance configuration. Return a ConfigError for bad fields.
	Configure(ctx context.Context, cfg Config) (*Configured, error)
	// Run does the plugin's work until ctx ends, sending inbound events through host.
	Run(ctx context.Context, host Host) error
	// Deliver hands an outbound event to the platform. Return nil once the platform accepted it,
	// Reject(reason) when it never will, any other error to have the SDK retry with backoff.
	// Deliver is called in order for the events of one conversation; events of different
	// conversations are delivered concurrently. An event may arrive more than once (after a
	// restart): use ev.Id as the idempotency key toward the platform where it has one.
	Deliver(ctx context.Context, ev *Event) error
}

// HealthChecker may be implemented by a Plugin to report problems on the hub's liveness probe.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// Host is the hub as a plugin sees it.
type Host interface {
	// Emit sends an inbound event and waits until the hub stored it (nil), refused it for good
	// (a *RejectedError), or ctx ended. Emit resends on its own while the hub is unreachable, so an
	// event either reaches the hub once (the hub drops duplicates by ev.Id) or Emit returns an error.
	Emit(ctx context.Context, ev *Event) error
	// HasCapacity asks whether an agent could take a chat of the queue now (empty: the default
	// queue), e.g. to offer a chat proactively or to offer to leave a message instead.
	HasCapacity(ctx context.Context, queue string) (bool, error)
	// Count reports a counter increment (e.g. "frames_rejected", "oversized"), exposed by the hub as
	// switchboard_plugin_rejections_total. Keep reasons to a small fixed set.
	Count(name, reason string)
	// Logger logs into the hub's structured log with the plugin and instance attached.
	Logger() *slog.Logger
}

// RejectedError says an event was refused for good, with the reason to show.
type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "rejected: " + e.Reason }

// Reject makes Deliver refuse an event for good.
func Reject(format string, args ...any) error {
	return &RejectedError{Reason: fmt.Sprintf(format, args...)}
}

// IsRejected reports whether err is a refusal, and its reason.
func IsRejected(err error) (string, bool) {
	var r *RejectedError
	if errors.As(err, &r) {
		return r.Reason, true
	}
	return "", false
}
