package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole hub configuration, decoded from one YAML document.
// Relative file paths (store.dsn for SQLite, plugins_dir, plugin paths) are
// taken relative to the hub's working directory.
type Config struct {
	// Listen is the host:port of the one public listener.
	Listen string `yaml:"listen"`
	// PublicURL is how customers and agents reach the hub (behind a proxy it
	// differs from Listen). No trailing slash.
	PublicURL  string           `yaml:"public_url"`
	Log        Log              `yaml:"log"`
	Store      Store            `yaml:"store"`
	PluginsDir string           `yaml:"plugins_dir"`
	Console    Console          `yaml:"console"`
	Limits     Limits           `yaml:"limits"`
	Plugins    []PluginInstance `yaml:"plugins"`
	Tenants    []Tenant         `yaml:"tenants"`
}

// Log configures the hub's log/slog handler.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // json or text
}

// Store selects the database.
type Store struct {
	Driver string `yaml:"driver"` // sqlite or postgres
	// DSN is a file path for SQLite and a postgres:// URL for PostgreSQL.
	DSN string `yaml:"dsn"`
	// GroupCommitWindow bounds how long one transaction keeps taking writes
	// that are already queued before it commits (writes never wait idle for
	// company: those arriving during a commit share the next one).
	GroupCommitWindow Duration `yaml:"group_commit_window"`
	// GroupCommitMax caps the writes sharing one transaction.
	GroupCommitMax int `yaml:"group_commit_max"`
	// Synchronous is SQLite's durability: "full" (default) survives power loss once a write
	// returned; "normal" survives a crash of the hub but may lose the last writes on power loss.
	Synchronous string `yaml:"synchronous"`
}

// Console configures the agent console's sessions and CSRF checks.
type Console struct {
	SessionTTL    Duration `yaml:"session_ttl"`
	SecureCookies bool     `yaml:"secure_cookies"`
	// AllowedOrigins are Origins accepted besides PublicURL's own.
	AllowedOrigins []string `yaml:"allowed_origins"`
}

// Limits protect the public listener's customer routes (/c/...).
type Limits struct {
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RatePerSecond and Burst form a token bucket per client IP.
	RatePerSecond float64 `yaml:"rate_per_second"`
	Burst         int     `yaml:"burst"`
}

// PluginInstance is one running copy of a channel or bridge plugin, mounted
// at /c/{instance}/ on the public listener.
type PluginInstance struct {
	Instance string `yaml:"instance"`
	// Plugin names a binary inside Config.PluginsDir; Path names one
	// anywhere. Exactly one of them is set.
	Plugin string `yaml:"plugin"`
	Path   string `yaml:"path"`
	Tenant string `yaml:"tenant"`
	// Config is handed to the plugin as JSON; the plugin validates it.
	Config   map[string]any `yaml:"config"`
	Disabled bool           `yaml:"disabled"`
}

// Tenant is one isolated company: its own groups, queues and users.
type Tenant struct {
	ID     string  `yaml:"id"`
	Name   string  `yaml:"name"` // defaults to ID
	Groups []Group `yaml:"groups"`
	Queues []Queue `yaml:"queues"`
	Users  []User  `yaml:"users"`
	// Dispositions are the outcomes an agent picks from in post-processing.
	Dispositions []string `yaml:"dispositions"`
}

// DefaultDispositions are offered when a tenant names none.
var DefaultDispositions = []string{"Resolved", "Follow-up needed", "Escalated", "Customer left", "Not for us"}

// Group is a functional group of users (sales, support, ...).
type Group struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"` // defaults to ID
}

// Queue holds waiting customer chats until an agent takes them.
type Queue struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"` // defaults to ID
	Group    string `yaml:"group"`
	Priority int    `yaml:"priority"` // 0-9, higher is served first
	// OfferTimeout is how long an agent has to accept an offered chat.
	OfferTimeout        Duration `yaml:"offer_timeout"`
	FirstResponseTarget Duration `yaml:"first_response_target"`
	ResponseTarget      Duration `yaml:"response_target"`
	WrapUpTimeout       Duration `yaml:"wrap_up_timeout"`
	// MaxWait is how long a chat may wait before it overflows; 0 = no limit.
	MaxWait       Duration `yaml:"max_wait"`
	OverflowQueue string   `yaml:"overflow_queue"`
	AutoAccept    bool     `yaml:"auto_accept"`
	// MissedOffersLimit is how many offers in a row an agent may let time
	// out before being made unavailable.
	MissedOffersLimit int      `yaml:"missed_offers_limit"`
	Languages         []string `yaml:"languages"`
	// Default marks the queue for chats that name none. See Tenant.DefaultQueue.
	Default bool `yaml:"default"`
	// Strategy orders agents of one language tier: longest_waiting (default) or least_busy.
	Strategy string `yaml:"strategy"`
	// AllowTranslation lets agents without the customer's language get chats at once;
	// otherwise they get them only after LanguageWait (0: never).
	AllowTranslation bool     `yaml:"allow_translation"`
	LanguageWait     Duration `yaml:"language_wait"`
	// BusinessHours, when set, closes the queue outside them.
	BusinessHours BusinessHours `yaml:"business_hours"`
}

// BusinessHours is a weekly opening schedule in a time zone; the zero value means always open.
type BusinessHours struct {
	// TimeZone is an IANA name such as Europe/Zurich.
	TimeZone string `yaml:"time_zone"`
	// Days maps mon, tue, wed, thu, fri, sat and sun to "HH:MM-HH:MM"; a day not listed is closed.
	Days map[string]string `yaml:"days"`
}

// Weekdays are the keys of BusinessHours.Days, in time.Weekday order.
var Weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Span parses one day's "HH:MM-HH:MM" into minutes since midnight.
func Span(s string) (open, close int, err error) {
	var oh, om, ch, cm int
	if _, err := fmt.Sscanf(s, "%d:%d-%d:%d", &oh, &om, &ch, &cm); err != nil {
		return 0, 0, fmt.Errorf("must be HH:MM-HH:MM, not %q", s)
	}
	open, close = oh*60+om, ch*60+cm
	if oh < 0 || oh > 24 || om < 0 || om > 59 || ch < 0 || ch > 24 || cm < 0 || cm > 59 || open >= close || close > 24*60 {
		return 0, 0, fmt.Errorf("must be an opening time before a closing time within the day, not %q", s)
	}
	return open, close, nil
}

// Roles a user may have.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// Supervisor scopes.
const (
	ScopeGroup  = "group"
	ScopeQueues = "queues"
	ScopeTenant = "tenant"
)

// User is a person who signs in to the console.
type User struct {
	Username    string `yaml:"username"`
	DisplayName string `yaml:"display_name"` // defaults to Username
	Role        string `yaml:"role"`
	Group       string `yaml:"group"`
	// Scope is what a supervisor oversees in the console: "group" (the queues of their group,
	// the default), "queues" (the queues listed in queues) or "tenant". Admins see the tenant.
	Scope  string   `yaml:"scope"`
	Queues []string `yaml:"queues"`
	// MaxChats is how many customer chats the user handles at once.
	MaxChats           int      `yaml:"max_chats"`
	PrimaryLanguage    string   `yaml:"primary_language"`
	SecondaryLanguages []string `yaml:"secondary_languages"`
	Email              string   `yaml:"email"`
	// Password is the plain password; write ${ENV_VAR} to keep it out of
	// the file. Empty: the hub generates one at start-up and prints it.
	Password string `yaml:"password"`
}

// Duration is a time.Duration written in YAML as a Go duration string
// ("30s", "2m", "1h30m").
type Duration struct {
	time.Duration
}

// UnmarshalYAML accepts a Go duration string; a bare 0 is accepted too.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("must be a duration such as \"30s\" or \"2m\"")
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("invalid duration %q: write a number with a unit, such as \"30s\" or \"2m\"", n.Value)
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the same short form String returns.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// String is time.Duration's form without trailing zero units: "2m", not "2m0s".
func (d Duration) String() string {
	s := d.Duration.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Tenant returns the tenant with the given id, or nil.
func (c *Config) Tenant(id string) *Tenant {
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			return &c.Tenants[i]
		}
	}
	return nil
}

// PluginBinary returns the executable to start for p.
func (c *Config) PluginBinary(p PluginInstance) string {
	if p.Path != "" {
		return p.Path
	}
	return filepath.Join(c.PluginsDir, p.Plugin)
}

// Queue returns the tenant's queue with the given id, or nil.
func (t *Tenant) Queue(id string) *Queue {
	for i := range t.Queues {
		if t.Queues[i].ID == id {
			return &t.Queues[i]
		}
	}
	return nil
}

// DefaultQueue returns the queue marked default, else the first queue, else
// nil (a validated tenant always has one).
func (t *Tenant) DefaultQueue() *Queue {
	for i := range t.Queues {
		if t.Queues[i].Default {
			return &t.Queues[i]
		}
	}
	if len(t.Queues) > 0 {
		return &t.Queues[0]
	}
	return nil
}

// Group returns the tenant's group with the given id, or nil.
func (t *Tenant) Group(id string) *Group {
	for i := range t.Groups {
		if t.Groups[i].ID == id {
			return &t.Groups[i]
		}
	}
	return nil
}

// User returns the tenant's user with the given username, or nil.
func (t *Tenant) User(username string) *User {
	for i := range t.Users {
		if t.Users[i].Username == username {
			return &t.Users[i]
		}
	}
	return nil
}

// Set reports whether a schedule is configured.
func (h BusinessHours) Set() bool { return h.TimeZone != "" || len(h.Days) > 0 }
