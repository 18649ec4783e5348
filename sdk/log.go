package sdk

import (
	"io"
	"log/slog"
	"os"
	"strings"
)

// LogLevelEnv is the variable through which the hub passes its log level to plugins.
const LogLevelEnv = "SWITCHBOARD_LOG_LEVEL"

// newLogger logs JSON lines in the shape go-plugin forwards to the hub (@level, @message,
// @timestamp), so the hub can re-log them with the plugin's level and attributes.
func newLogger(w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv(LogLevelEnv))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.String("@timestamp", a.Value.Time().Format("2006-01-02T15:04:05.000000Z07:00"))
			case slog.LevelKey:
				return slog.String("@level", strings.ToLower(a.Value.String()))
			case slog.MessageKey:
				a.Key = "@message"
			}
			return a
		},
	}))
}
