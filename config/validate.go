package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FieldError is one problem with one field. Path uses the YAML key names and
// list indexes, e.g. "tenants[0].queues[1].offer_timeout".
type FieldError struct {
	Path    string
	Message string
	// Line is the line in the file of the field or of its nearest parent
	// that is written there; 0 when unknown (a Config built in Go).
	Line int
}

func (fe FieldError) String() string {
	if fe.Path == "" {
		return fe.Message
	}
	return fe.Path + ": " + fe.Message
}

// ValidationError holds every problem found in one configuration.
type ValidationError struct {
	Source string // file name, may be empty
	Errors []FieldError
}

// Error prints one problem per line as "source:line: path: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		if e.Source != "" {
			b.WriteString(e.Source)
			if fe.Line > 0 {
				b.WriteString(":" + strconv.Itoa(fe.Line))
			}
			b.WriteString(": ")
		}
		b.WriteString(fe.String())
	}
	return b.String()
}

// Validate checks a Config built or changed in Go; Load and Parse already
// call it. It returns a *ValidationError or nil.
func (c *Config) Validate() error {
	if errs := c.validate(); len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

var (
	idPattern       = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
	instancePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	languagePattern = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$`)
	binaryPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

const (
	idRule       = "must be 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
	instanceRule = "must be 1-32 characters of a-z, 0-9, '-', starting with a letter or digit (it is the URL path segment /c/{instance}/)"
	languageRule = "must be a language tag such as \"en\" or \"pt-BR\""
)

type validator struct{ errs []FieldError }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(path, got string, allowed ...string) {
	for _, a := range allowed {
		if got == a {
			return
		}
	}
	v.add(path, "must be one of %s, not %q", strings.Join(allowed, ", "), got)
}

func (v *validator) intRange(path string, got, lo, hi int64) {
	if got < lo || got > hi {
		v.add(path, "must be between %d and %d", lo, hi)
	}
}

func (v *validator) durRange(path string, got Duration, lo, hi time.Duration) {
	if got.Duration < lo || got.Duration > hi {
		v.add(path, "must be between %s and %s", Duration{lo}, Duration{hi})
	}
}

// id checks an identifier and that it is unique among seen (its scope).
func (v *validator) id(path, id, what string, seen map[string]string) {
	switch {
	case id == "":
		v.add(path, "required")
	case !idPattern.MatchString(id):
		v.add(path, "%s", idRule)
	case seen[id] != "":
		v.add(path, "duplicate %s %q (also at %s)", what, id, seen[id])
	default:
		seen[id] = path
	}
}

func (v *validator) language(path, tag string) {
	if !languagePattern.MatchString(tag) {
		v.add(path, "%s, not %q", languageRule, tag)
	}
}

func (c *Config) validate() []FieldError {
	v := &validator{}
	v.listen(c.Listen)
	switch {
	case c.PublicURL != "":
		v.httpURL("public_url", c.PublicURL, true)
	case c.Listen != "": // otherwise derived from listen, reported above
		v.add("public_url", "required")
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "json", "text")
	v.store(c.Store)
	if c.PluginsDir == "" {
		v.add("plugins_dir", "required")
	}
	if c.Console.SessionTTL.Duration < time.Minute {
		v.add("console.session_ttl", "must be at least 1m")
	}
	for i, o := range c.Console.AllowedOrigins {
		v.httpURL(index("console.allowed_origins", i), o, false)
	}
	v.limits(c.Limits)

	tenantIDs := map[string]string{}
	for i := range c.Tenants {
		v.tenant(index("tenants", i), &c.Tenants[i], tenantIDs)
	}
	instances := map[string]string{}
	for i := range c.Plugins {
		v.plugin(index("plugins", i), c.Plugins[i], c, instances)
	}
	return v.errs
}

func (v *validator) listen(addr string) {
	if addr == "" {
		v.add("listen", "required")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.add("listen", "must be host:port, such as 127.0.0.1:8080 or :8080, not %q", addr)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		v.add("listen", "port must be a number from 0 to 65535, not %q", port)
	}
}

// httpURL checks an http(s) URL. A base URL may carry a path prefix (the hub
// behind a proxy under /support); an origin is scheme and host only.
func (v *validator) httpURL(path, raw string, base bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "must be an http:// or https:// URL with a host, not %q", raw)
		return
	}
	switch {
	case u.User != nil:
		v.add(path, "must not contain a user name or password")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "#"):
		v.add(path, "must not contain a query or fragment")
	case !base && u.Path != "":
		v.add(path, "must be an origin (scheme://host[:port]) without a path, not %q", raw)
	}
}

func (v *validator) store(s Store) {
	v.oneOf("store.driver", s.Driver, "sqlite", "postgres")
	switch s.Driver {
	case "sqlite":
		if s.DSN == "" {
			v.add("store.dsn", "required: the SQLite database file")
		}
	case "postgres":
		if s.DSN == "" {
			v.add("store.dsn", "required: a postgres:// URL such as postgres://switchboard@db.example.com:5432/switchboard")
			break
		}
		u, err := url.Parse(s.DSN)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// Do not echo the DSN: it may hold a password.
			v.add("store.dsn", "must be a postgres:// or postgresql:// URL")
		}
	}
	v.durRange("store.group_commit_window", s.GroupCommitWindow, 0, 50*time.Millisecond)
	v.intRange("store.group_commit_max", int64(s.GroupCommitMax), 1, 10000)
	if s.Synchronous != "full" && s.Synchronous != "normal" {
		v.add("store.synchronous", "must be full or normal")
	}
}

func (v *validator) limits(l Limits) {
	if l.MaxBodyBytes <= 0 {
		v.add("limits.max_body_bytes", "must be greater than 0")
	}
	if !(l.RatePerSecond > 0) || math.IsInf(l.RatePerSecond, 0) {
		v.add("limits.rate_per_second", "must be greater than 0")
	}
	if l.Burst < 1 {
		v.add("limits.burst", "must be at least 1")
	}
}

func (v *validator) plugin(path string, p PluginInstance, c *Config, instances map[string]string) {
	switch {
	case p.Instance == "":
		v.add(path+".instance", "required")
	case !instancePattern.MatchString(p.Instance):
		v.add(path+".instance", "%s", instanceRule)
	case instances[p.Instance] != "":
		v.add(path+".instance", "duplicate instance %q (also at %s)", p.Instance, instances[p.Instance])
	default:
		instances[p.Instance] = path
	}
	switch {
	case p.Plugin == "" && p.Path == "":
		v.add(path, "set plugin (a binary in plugins_dir) or path (a binary anywhere)")
	case p.Plugin != "" && p.Path != "":
		v.add(path, "set plugin or path, not both")
	case p.Plugin != "" && (!binaryPattern.MatchString(p.Plugin) || strings.Contains(p.Plugin, "..")):
		v.add(path+".plugin", "must be a file name inside plugins_dir, not %q; use path for a binary elsewhere", p.Plugin)
	}
	switch {
	case p.Tenant == "":
		v.add(path+".tenant", "required")
	case c.Tenant(p.Tenant) == nil:
		v.add(path+".tenant", "no tenant %q is configured", p.Tenant)
	}
}

func (v *validator) tenant(path string, t *Tenant, ids map[string]string) {
	v.id(path+".id", t.ID, "tenant id", ids)

	groups := map[string]string{}
	for i, g := range t.Groups {
		v.id(index(path+".groups", i)+".id", g.ID, "group id", groups)
	}

	if len(t.Queues) == 0 {
		v.add(path+".queues", "at least one queue is required")
	}
	queues := map[string]string{}
	defaultAt := ""
	for i := range t.Queues {
		q := &t.Queues[i]
		qp := index(path+".queues", i)
		v.id(qp+".id", q.ID, "queue id", queues)
		v.queue(qp, q, t)
		if q.Default {
			if defaultAt != "" {
				v.add(qp+".default", "only one queue per tenant may be the default (%s already is)", defaultAt)
			} else {
				defaultAt = qp
			}
		}
	}
	v.overflowLoops(path, t)

	users := map[string]string{}
	for i := range t.Users {
		up := index(path+".users", i)
		v.id(up+".username", t.Users[i].Username, "username", users)
		v.user(up, &t.Users[i], t)
	}
}

func (v *validator) queue(path string, q *Queue, t *Tenant) {
	v.groupRef(path+".group", q.Group, t, true)
	v.intRange(path+".priority", int64(q.Priority), 0, 9)
	v.durRange(path+".offer_timeout", q.OfferTimeout, 5*time.Second, 10*time.Minute)
	v.durRange(path+".first_response_target", q.FirstResponseTarget, time.Second, 24*time.Hour)
	v.durRange(path+".response_target", q.ResponseTarget, time.Second, 24*time.Hour)
	v.durRange(path+".wrap_up_timeout", q.WrapUpTimeout, 0, time.Hour)
	if q.MaxWait.Duration < 0 {
		v.add(path+".max_wait", "must not be negative (0 means no limit)")
	}
	switch {
	case q.OverflowQueue == "":
	case q.OverflowQueue == q.ID:
		v.add(path+".overflow_queue", "must name another queue, not the queue itself")
	case t.Queue(q.OverflowQueue) == nil:
		v.add(path+".overflow_queue", "no queue %q in tenant %q", q.OverflowQueue, t.ID)
	}
	v.intRange(path+".missed_offers_limit", int64(q.MissedOffersLimit), 1, 100)
	if q.Strategy != "longest_waiting" && q.Strategy != "least_busy" {
		v.add(path+".strategy", "must be longest_waiting or least_busy")
	}
	v.durRange(path+".language_wait", q.LanguageWait, 0, 24*time.Hour)
	if h := q.BusinessHours; h.Set() {
		if _, err := time.LoadLocation(h.TimeZone); err != nil || h.TimeZone == "" {
			v.add(path+".business_hours.time_zone", "must be an IANA time zone such as Europe/Zurich, not %q", h.TimeZone)
		}
		// Problems come in a fixed order: the week's days, then names that are not days.
		for _, day := range Weekdays {
			if span, ok := h.Days[day]; ok {
				if _, _, err := Span(span); err != nil {
					v.add(path+".business_hours.days."+day, "%s", err.Error())
				}
			}
		}
		for _, day := range slices.Sorted(maps.Keys(h.Days)) {
			if !slices.Contains(Weekdays[:], day) {
				v.add(path+".business_hours.days."+day, "must be one of mon, tue, wed, thu, fri, sat, sun")
			}
		}
	}
	for i, l := range q.Languages {
		v.language(index(path+".languages", i), l)
	}
}

// overflowLoops reports overflow chains that come back to where they started:
// a chat would move between those queues for ever.
func (v *validator) overflowLoops(path string, t *Tenant) {
	reported := map[string]bool{}
	for i := range t.Queues {
		start := &t.Queues[i]
		if reported[start.ID] {
			continue
		}
		chain := []string{start.ID}
		seen := map[string]bool{start.ID: true}
		for q := t.Queue(start.OverflowQueue); q != nil; q = t.Queue(q.OverflowQueue) {
			if q.ID == start.ID {
				if len(chain) > 1 { // a queue naming itself is reported on its own
					for _, id := range chain {
						reported[id] = true
					}
					chain = append(chain, start.ID)
					v.add(index(path+".queues", i)+".overflow_queue", "overflow loops back: %s", strings.Join(chain, " -> "))
				}
				break
			}
			if seen[q.ID] {
				break // a loop further on, reported from one of its own queues
			}
			seen[q.ID] = true
			chain = append(chain, q.ID)
		}
	}
}

func (v *validator) user(path string, u *User, t *Tenant) {
	v.oneOf(path+".role", u.Role, RoleAgent, RoleSupervisor, RoleAdmin)
	v.groupRef(path+".group", u.Group, t, u.Role == RoleAgent || u.Role == RoleSupervisor)
	switch {
	case u.Role == RoleAgent && u.Scope != "":
		v.add(path+".scope", "only supervisors and admins have a scope")
	case u.Role == RoleSupervisor || u.Role == RoleAdmin:
		v.oneOf(path+".scope", u.Scope, ScopeGroup, ScopeQueues, ScopeTenant)
	}
	seen := map[string]bool{}
	for i, q := range u.Queues {
		qp := index(path+".queues", i)
		switch {
		case t.Queue(q) == nil:
			v.add(qp, "no queue %q in tenant %q", q, t.ID)
		case seen[q]:
			v.add(qp, "queue %q is listed twice", q)
		}
		seen[q] = true
	}
	v.intRange(path+".max_chats", int64(u.MaxChats), 1, 6)
	v.language(path+".primary_language", u.PrimaryLanguage)
	for i, l := range u.SecondaryLanguages {
		v.language(index(path+".secondary_languages", i), l)
	}
	if u.Email != "" {
		if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
			v.add(path+".email", "must be a plain address such as alice@example.com, not %q", u.Email)
		}
	}
}

func (v *validator) groupRef(path, id string, t *Tenant, required bool) {
	switch {
	case id == "" && required:
		v.add(path, "required")
	case id != "" && t.Group(id) == nil:
		v.add(path, "no group %q in tenant %q", id, t.ID)
	}
}
