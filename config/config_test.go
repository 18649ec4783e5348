package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// problems parses doc and returns its problems as "path: message" lines.
func problems(t *testing.T, doc string, lookup func(string) (string, bool)) []string {
	t.Helper()
	c, err := ParseWithEnv([]byte(doc), "test.yaml", lookup)
	if err == nil {
		if c == nil {
			t.Fatal("nil config without an error")
		}
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	if c != nil {
		t.Error("config returned along with an error")
	}
	var out []string
	for _, fe := range ve.Errors {
		out = append(out, fe.String())
	}
	return out
}

// tenant builds a one-tenant document from flow-style lists.
func tenant(groups, queues, users string) string {
	return "tenants:\n  - id: t\n    groups: " + groups + "\n    queues: " + queues + "\n    users: " + users + "\n"
}

const (
	okGroups = "[{id: g}]"
	okQueues = "[{id: q, group: g}]"
	okUsers  = "[{username: u, group: g}]"
)

func TestProblems(t *testing.T) {
	ok := tenant(okGroups, okQueues, okUsers)
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"empty file", "", nil},
		{"minimal tenant", ok, nil},

		// top level
		{"listen not host:port", "listen: nope", []string{`listen: must be host:port, such as 127.0.0.1:8080 or :8080, not "nope"`}},
		{"listen bad port", "listen: 127.0.0.1:99999", []string{`listen: port must be a number from 0 to 65535, not "99999"`}},
		{"listen empty", `listen: ""`, []string{`listen: required`}},
		{"listen empty with public_url", "listen: ''\npublic_url: https://hub.example", []string{`listen: required`}},
		{"public_url scheme", "public_url: ftp://hub.example", []string{`public_url: must be an http:// or https:// URL with a host, not "ftp://hub.example"`}},
		{"public_url query", "public_url: https://hub.example/?a=1", []string{`public_url: must not contain a query or fragment`}},
		{"public_url credentials", "public_url: https://u:p@hub.example", []string{`public_url: must not contain a user name or password`}},
		{"log level", "log: {level: loud}", []string{`log.level: must be one of debug, info, warn, error, not "loud"`}},
		{"log format", "log: {format: xml}", []string{`log.format: must be one of json, text, not "xml"`}},
		{"store driver", "store: {driver: mysql}", []string{`store.driver: must be one of sqlite, postgres, not "mysql"`}},
		{"postgres without dsn", "store: {driver: postgres}", []string{`store.dsn: required: a postgres:// URL such as postgres://switchboard@db.example.com:5432/switchboard`}},
		{"postgres with a path", "store: {driver: postgres, dsn: data/x.db}", []string{`store.dsn: must be a postgres:// or postgresql:// URL`}},
		{"sqlite empty dsn keeps default", `store: {driver: sqlite, dsn: ""}`, nil},
		{"group commit window", "store: {group_commit_window: 51ms}", []string{`store.group_commit_window: must be between 0s and 50ms`}},
		{"group commit window negative", "store: {group_commit_window: -1ms}", []string{`store.group_commit_window: must be between 0s and 50ms`}},
		{"group commit window zero", "store: {group_commit_window: 0s}", nil},
		{"group commit max low", "store: {group_commit_max: 0}", []string{`store.group_commit_max: must be between 1 and 10000`}},
		{"group commit max high", "store: {group_commit_max: 10001}", []string{`store.group_commit_max: must be between 1 and 10000`}},
		{"synchronous", "store: {synchronous: always}", []string{`store.synchronous: must be full or normal`}},
		{"strategy", "tenants: [{id: t, groups: [{id: g}], queues: [{id: q, group: g, strategy: random}]}]", []string{`tenants[0].queues[0].strategy: must be longest_waiting or least_busy`}},
		{"hours", "tenants: [{id: t, groups: [{id: g}], queues: [{id: q, group: g, business_hours: {time_zone: Mars/Base, days: {mon: 09:00-17:00, tue: 18:00-08:00, fun: 09:00-10:00}}}]}]", []string{`tenants[0].queues[0].business_hours.time_zone: must be an IANA time zone such as Europe/Zurich, not "Mars/Base"`, `tenants[0].queues[0].business_hours.days.tue: must be an opening time before a closing time within the day, not "18:00-08:00"`, `tenants[0].queues[0].business_hours.days.fun: must be one of mon, tue, wed, thu, fri, sat, sun`}},
		{"plugins_dir empty", `plugins_dir: ""`, []string{`plugins_dir: required`}},
		{"session ttl", "console: {session_ttl: 59s}", []string{`console.session_ttl: must be at least 1m`}},
		{"allowed origin path", "console: {allowed_origins: [https://a.example, https://b.example/x]}", []string{`console.allowed_origins[1]: must be an origin (scheme://host[:port]) without a path, not "https://b.example/x"`}},
		{"allowed origin scheme", "console: {allowed_origins: [b.example]}", []string{`console.allowed_origins[0]: must be an http:// or https:// URL with a host, not "b.example"`}},
		{"max body", "limits: {max_body_bytes: 0}", []string{`limits.max_body_bytes: must be greater than 0`}},
		{"max frame is a plugin setting", "limits: {max_frame_bytes: 1}", []string{`limits.max_frame_bytes: unknown field`}},
		{"rate", "limits: {rate_per_second: 0}", []string{`limits.rate_per_second: must be greater than 0`}},
		{"rate nan", "limits: {rate_per_second: .nan}", []string{`limits.rate_per_second: must be greater than 0`}},
		{"burst", "limits: {burst: 0}", []string{`limits.burst: must be at least 1`}},

		// plugins
		{"plugin ok", ok + "plugins: [{instance: web-1, plugin: webchat, tenant: t}]", nil},
		{"plugin by path", ok + "plugins: [{instance: sms, path: /opt/sms, tenant: t, config: {a: 1}}]", nil},
		{"instance missing", ok + "plugins: [{plugin: webchat, tenant: t}]", []string{`plugins[0].instance: required`}},
		{"instance pattern", ok + "plugins: [{instance: Web_Chat, plugin: webchat, tenant: t}]", []string{`plugins[0].instance: ` + instanceRule}},
		{"instance too long", ok + "plugins: [{instance: " + strings.Repeat("a", 33) + ", plugin: webchat, tenant: t}]", []string{`plugins[0].instance: ` + instanceRule}},
		{"instance duplicate", ok + "plugins: [{instance: w, plugin: webchat, tenant: t}, {instance: w, plugin: webchat, tenant: t}]", []string{`plugins[1].instance: duplicate instance "w" (also at plugins[0])`}},
		{"neither plugin nor path", ok + "plugins: [{instance: w, tenant: t}]", []string{`plugins[0]: set plugin (a binary in plugins_dir) or path (a binary anywhere)`}},
		{"plugin and path", ok + "plugins: [{instance: w, plugin: webchat, path: /x, tenant: t}]", []string{`plugins[0]: set plugin or path, not both`}},
		{"plugin name with slash", ok + "plugins: [{instance: w, plugin: ../webchat, tenant: t}]", []string{`plugins[0].plugin: must be a file name inside plugins_dir, not "../webchat"; use path for a binary elsewhere`}},
		{"plugin tenant missing", ok + "plugins: [{instance: w, plugin: webchat}]", []string{`plugins[0].tenant: required`}},
		{"plugin tenant unknown", ok + "plugins: [{instance: w, plugin: webchat, tenant: nope}]", []string{`plugins[0].tenant: no tenant "nope" is configured`}},
		{"plugin config not a mapping", ok + "plugins: [{instance: w, plugin: webchat, tenant: t, config: [1]}]", []string{`plugins[0].config: must be a mapping of keys to values, not a list`}},

		// tenants, groups, queues
		{"tenant id missing", "tenants: [{groups: [{id: g}], queues: [{id: q, group: g}]}]", []string{`tenants[0].id: required`}},
		{"tenant id pattern", "tenants: [{id: Acme, groups: [{id: g}], queues: [{id: q, group: g}]}]", []string{`tenants[0].id: ` + idRule}},
		{"tenant id duplicate", "tenants: [{id: a, groups: [{id: g}], queues: [{id: q, group: g}]}, {id: a, groups: [{id: g}], queues: [{id: q, group: g}]}]", []string{`tenants[1].id: duplicate tenant id "a" (also at tenants[0].id)`}},
		{"tenant without queues", "tenants: [{id: t}]", []string{`tenants[0].queues: at least one queue is required`}},
		{"group id pattern", tenant("[{id: g}, {id: -g}]", okQueues, okUsers), []string{`tenants[0].groups[1].id: ` + idRule}},
		{"group id duplicate", tenant("[{id: g}, {id: g}]", okQueues, okUsers), []string{`tenants[0].groups[1].id: duplicate group id "g" (also at tenants[0].groups[0].id)`}},
		{"queue id duplicate", tenant(okGroups, "[{id: q, group: g}, {id: q, group: g}]", okUsers), []string{`tenants[0].queues[1].id: duplicate queue id "q" (also at tenants[0].queues[0].id)`}},
		{"queue id too long", tenant(okGroups, "[{id: "+strings.Repeat("q", 65)+", group: g}]", "[]"), []string{`tenants[0].queues[0].id: ` + idRule}},
		{"queue group missing", tenant(okGroups, "[{id: q}]", okUsers), []string{`tenants[0].queues[0].group: required`}},
		{"queue group unknown", tenant(okGroups, "[{id: q, group: x}]", okUsers), []string{`tenants[0].queues[0].group: no group "x" in tenant "t"`}},
		{"priority", tenant(okGroups, "[{id: q, group: g, priority: 10}]", okUsers), []string{`tenants[0].queues[0].priority: must be between 0 and 9`}},
		{"offer timeout low", tenant(okGroups, "[{id: q, group: g}, {id: r, group: g, offer_timeout: 4s}]", okUsers), []string{`tenants[0].queues[1].offer_timeout: must be between 5s and 10m`}},
		{"offer timeout high", tenant(okGroups, "[{id: q, group: g, offer_timeout: 11m}]", okUsers), []string{`tenants[0].queues[0].offer_timeout: must be between 5s and 10m`}},
		{"first response target", tenant(okGroups, "[{id: q, group: g, first_response_target: 0s}]", okUsers), []string{`tenants[0].queues[0].first_response_target: must be between 1s and 24h`}},
		{"response target", tenant(okGroups, "[{id: q, group: g, response_target: 25h}]", okUsers), []string{`tenants[0].queues[0].response_target: must be between 1s and 24h`}},
		{"wrap up", tenant(okGroups, "[{id: q, group: g, wrap_up_timeout: 61m}]", okUsers), []string{`tenants[0].queues[0].wrap_up_timeout: must be between 0s and 1h`}},
		{"max wait", tenant(okGroups, "[{id: q, group: g, max_wait: -1s}]", okUsers), []string{`tenants[0].queues[0].max_wait: must not be negative (0 means no limit)`}},
		{"overflow itself", tenant(okGroups, "[{id: q, group: g, overflow_queue: q}]", okUsers), []string{`tenants[0].queues[0].overflow_queue: must name another queue, not the queue itself`}},
		{"overflow unknown", tenant(okGroups, "[{id: q, group: g, overflow_queue: x}]", okUsers), []string{`tenants[0].queues[0].overflow_queue: no queue "x" in tenant "t"`}},
		{"overflow chain", tenant(okGroups, "[{id: a, group: g, overflow_queue: b}, {id: b, group: g, overflow_queue: c}, {id: c, group: g}]", "[]"), nil},
		{"overflow loop", tenant(okGroups, "[{id: a, group: g, overflow_queue: b}, {id: b, group: g, overflow_queue: c}, {id: c, group: g, overflow_queue: a}]", "[]"), []string{`tenants[0].queues[0].overflow_queue: overflow loops back: a -> b -> c -> a`}},
		{"missed offers low", tenant(okGroups, "[{id: q, group: g, missed_offers_limit: 0}]", okUsers), []string{`tenants[0].queues[0].missed_offers_limit: must be between 1 and 100`}},
		{"missed offers high", tenant(okGroups, "[{id: q, group: g, missed_offers_limit: 101}]", okUsers), []string{`tenants[0].queues[0].missed_offers_limit: must be between 1 and 100`}},
		{"queue language", tenant(okGroups, "[{id: q, group: g, languages: [en, english]}]", okUsers), []string{`tenants[0].queues[0].languages[1]: ` + languageRule + `, not "english"`}},
		{"two defaults", tenant(okGroups, "[{id: a, group: g, default: true}, {id: b, group: g}, {id: c, group: g, default: true}]", "[]"), []string{`tenants[0].queues[2].default: only one queue per tenant may be the default (tenants[0].queues[0] already is)`}},

		// users
		{"username missing", tenant(okGroups, okQueues, "[{group: g}]"), []string{`tenants[0].users[0].username: required`}},
		{"username pattern", tenant(okGroups, okQueues, "[{username: Alice, group: g}]"), []string{`tenants[0].users[0].username: ` + idRule}},
		{"username duplicate", tenant(okGroups, okQueues, "[{username: u, group: g}, {username: u, group: g}]"), []string{`tenants[0].users[1].username: duplicate username "u" (also at tenants[0].users[0].username)`}},
		{"role", tenant(okGroups, okQueues, "[{username: u, group: g, role: boss}]"), []string{`tenants[0].users[0].role: must be one of agent, supervisor, admin, not "boss"`}},
		{"agent scope", tenant(okGroups, okQueues, "[{username: u, group: g, scope: tenant}]"), []string{`tenants[0].users[0].scope: only supervisors and admins have a scope`}},
		{"supervisor scope", tenant(okGroups, okQueues, "[{username: u, group: g, role: supervisor, scope: world}]"), []string{`tenants[0].users[0].scope: must be one of group, queues, tenant, not "world"`}},
		{"agent without group", tenant(okGroups, okQueues, "[{username: u}]"), []string{`tenants[0].users[0].group: required`}},
		{"supervisor without group", tenant(okGroups, okQueues, "[{username: u, role: supervisor}]"), []string{`tenants[0].users[0].group: required`}},
		{"admin without group", tenant(okGroups, okQueues, "[{username: u, role: admin}]"), nil},
		{"user group unknown", tenant(okGroups, okQueues, "[{username: u, role: admin, group: x}]"), []string{`tenants[0].users[0].group: no group "x" in tenant "t"`}},
		{"user queue unknown", tenant(okGroups, okQueues, "[{username: u, group: g, queues: [q, x]}]"), []string{`tenants[0].users[0].queues[1]: no queue "x" in tenant "t"`}},
		{"user queue twice", tenant(okGroups, okQueues, "[{username: u, group: g, queues: [q, q]}]"), []string{`tenants[0].users[0].queues[1]: queue "q" is listed twice`}},
		{"max chats high", tenant(okGroups, okQueues, "[{username: u, group: g}, {username: v, group: g, max_chats: 7}]"), []string{`tenants[0].users[1].max_chats: must be between 1 and 6`}},
		{"max chats zero", tenant(okGroups, okQueues, "[{username: u, group: g, max_chats: 0}]"), []string{`tenants[0].users[0].max_chats: must be between 1 and 6`}},
		{"primary language", tenant(okGroups, okQueues, "[{username: u, group: g, primary_language: e}]"), []string{`tenants[0].users[0].primary_language: ` + languageRule + `, not "e"`}},
		{"primary language empty", tenant(okGroups, okQueues, `[{username: u, group: g, primary_language: ""}]`), []string{`tenants[0].users[0].primary_language: ` + languageRule + `, not ""`}},
		{"secondary language", tenant(okGroups, okQueues, "[{username: u, group: g, secondary_languages: [pt-BR, x_y]}]"), []string{`tenants[0].users[0].secondary_languages[1]: ` + languageRule + `, not "x_y"`}},
		{"email", tenant(okGroups, okQueues, "[{username: u, group: g, email: Alice <a@b.example>}]"), []string{`tenants[0].users[0].email: must be a plain address such as alice@example.com, not "Alice <a@b.example>"`}},

		// decoding
		{"unknown top-level field", "listne: 1.2.3.4:80", []string{`listne: unknown field`}},
		{"unknown nested field", tenant(okGroups, "[{id: q, group: g}, {id: r, group: g, max_chat: 2}]", okUsers), []string{`tenants[0].queues[1].max_chat: unknown field`}},
		{"every unknown field", "lisen: x\nlog: {lvl: debug}\nstore: {drv: x}", []string{`lisen: unknown field`, `log.lvl: unknown field`, `store.drv: unknown field`}},
		{"wrong scalar type", tenant(okGroups, "[{id: q, group: g, priority: high}]", okUsers), []string{`tenants[0].queues[0].priority: must be a whole number, not "high"`}},
		{"bad bool", "console: {secure_cookies: maybe}", []string{`console.secure_cookies: must be true or false, not "maybe"`}},
		{"mapping for a string", "listen: {host: x}", []string{`listen: must be a string, not a mapping`}},
		{"scalar for a list", "tenants: acme", []string{`tenants: must be a list, not "acme"`}},
		{"scalar for a struct", "log: verbose", []string{`log: must be a mapping of keys to values, not "verbose"`}},
		{"duration without unit", tenant(okGroups, "[{id: q, group: g, offer_timeout: 30}]", okUsers), []string{`tenants[0].queues[0].offer_timeout: invalid duration "30": write a number with a unit, such as "30s" or "2m"`}},
		{"duration zero", tenant(okGroups, "[{id: q, group: g, max_wait: 0}]", okUsers), nil},
		{"duplicate key", "listen: a:1\nlisten: b:2", []string{`listen: set twice (first on line 1)`}},
		{"not a mapping", "- a\n- b", []string{`must be a mapping of keys to values, not a list`}},
		{"decode error hides its validation", tenant(okGroups, okQueues, "[{username: u, group: g, max_chats: many}]"), []string{`tenants[0].users[0].max_chats: must be a whole number, not "many"`}},
		{"null keeps default", "log: {level: ~}\nlimits:", nil},
		{"merge key", "x-q: &q {group: g, priority: 3}\n", []string{`x-q: unknown field`}},
		{"merge into queue", "tenants:\n  - id: t\n    groups: [{id: g}]\n    queues:\n      - &base {id: a, group: g, priority: 3}\n      - {<<: *base, id: b}\n", nil},

		// environment
		{"env missing", ok + "plugins: [{instance: sms, plugin: sms, tenant: t, config: {auth_token: '${TWILIO_AUTH_TOKEN}'}}]", []string{`plugins[0].config.auth_token: environment variable TWILIO_AUTH_TOKEN is not set`}},
		{"env missing in list", "console: {allowed_origins: [https://a.example, '${ORIGIN}']}", []string{`console.allowed_origins[1]: environment variable ORIGIN is not set`}},
		{"env missing everywhere", "listen: ${A}\npublic_url: ${B}", []string{`listen: environment variable A is not set`, `public_url: environment variable B is not set`}},
		{"env only whole values", "public_url: http://${HOST}", []string{`public_url: must be an http:// or https:// URL with a host, not "http://${HOST}"`}},
		{"env escaped", ok + "plugins: [{instance: w, plugin: webchat, tenant: t, config: {text: '$${LITERAL}'}}]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.doc, noEnv)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n got  %q\n want %q", got, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	doc := "listen: 127.0.0.1:8080\n" +
		"tenants:\n" +
		"  - id: t\n" +
		"    groups: [{id: g}]\n" +
		"    queues: [{id: q, group: g}]\n" +
		"    users:\n" +
		"      - {username: u, group: g}\n" +
		"      - username: v\n" +
		"        group: g\n" +
		"        max_chats: 9\n" +
		"      - username: w\n" +
		"        max_chat: 2\n"
	_, err := ParseWithEnv([]byte(doc), "hub.yaml", noEnv)
	want := "hub.yaml:12: tenants[0].users[2].max_chat: unknown field\n" +
		"hub.yaml:10: tenants[0].users[1].max_chats: must be between 1 and 6\n" +
		"hub.yaml:11: tenants[0].users[2].group: required"
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Source != "hub.yaml" || len(ve.Errors) != 3 {
		t.Fatalf("ValidationError = %#v", ve)
	}
}

func TestSyntaxError(t *testing.T) {
	doc := "listen: 127.0.0.1:8080\nlog:\n  level: info\n   format: json\n"
	_, err := ParseWithEnv([]byte(doc), "hub.yaml", noEnv)
	if err == nil || !strings.HasPrefix(err.Error(), "hub.yaml: invalid YAML: line 4:") {
		t.Errorf("error = %v, want it to name hub.yaml and line 4", err)
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		t.Error("a syntax error should not be a ValidationError")
	}

	_, err = ParseWithEnv([]byte("listen: a:1\n---\nlisten: b:2\n"), "hub.yaml", noEnv)
	if err == nil || !strings.Contains(err.Error(), "more than one YAML document") {
		t.Errorf("two documents: error = %v", err)
	}
}

func TestEnvExpansion(t *testing.T) {
	doc := tenant(okGroups, okQueues, "[{username: u, group: g, password: '${PW}', max_chats: '${MAX}'}]") +
		"store: {driver: postgres, dsn: '${DSN}'}\n" +
		"limits:\n  burst: ${BURST}\n" +
		"plugins: [{instance: sms, plugin: sms, tenant: t, config: {auth_token: '${TOKEN}', port: '${TOKEN}', nested: {list: ['${PW}']}}}]\n"
	env := map[string]string{
		"PW":    "s3cret: #1",
		"MAX":   "5",
		"DSN":   "postgres://u:p@db:5432/sb",
		"BURST": "7",
		"TOKEN": "12345",
	}
	c, err := ParseWithEnv([]byte(doc), "env.yaml", envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Tenant("t").User("u")
	if u.Password != env["PW"] || u.MaxChats != 5 {
		t.Errorf("user = %+v", u)
	}
	if c.Store.DSN != env["DSN"] || c.Limits.Burst != 7 {
		t.Errorf("store dsn %q, burst %d", c.Store.DSN, c.Limits.Burst)
	}
	cfg := c.Plugins[0].Config
	// Values from the environment stay strings in plugin config, even if they look like numbers.
	if cfg["auth_token"] != "12345" || cfg["port"] != "12345" {
		t.Errorf("plugin config = %#v", cfg)
	}
	if l := cfg["nested"].(map[string]any)["list"].([]any); l[0] != env["PW"] {
		t.Errorf("nested = %#v", l)
	}

	// An empty variable is set: it yields an empty value, not an error.
	c, err = ParseWithEnv([]byte("public_url: ${URL}\n"), "env.yaml", envOf(map[string]string{"URL": ""}))
	if err != nil || c.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("empty variable: %v, %+v", err, c)
	}

	t.Setenv("SWITCHBOARD_TEST_LISTEN", "127.0.0.1:9999")
	c, err = Parse([]byte("listen: ${SWITCHBOARD_TEST_LISTEN}\n"), "env.yaml")
	if err != nil || c.Listen != "127.0.0.1:9999" || c.PublicURL != "http://127.0.0.1:9999" {
		t.Errorf("Parse with process environment: %v, %+v", err, c)
	}

	c, err = ParseWithEnv([]byte(tenant(okGroups, okQueues, okUsers)+"plugins: [{instance: w, plugin: webchat, tenant: t, config: {text: '$${LITERAL}'}}]"), "env.yaml", noEnv)
	if err != nil || c.Plugins[0].Config["text"] != "${LITERAL}" {
		t.Errorf("escaped: %v, %#v", err, c)
	}
}

func TestDefaults(t *testing.T) {
	c, err := ParseWithEnv([]byte(tenant(okGroups, okQueues, okUsers)), "d.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Tenants = []Tenant{{
		ID: "t", Name: "t",
		Groups: []Group{{ID: "g", Name: "g"}},
		Queues: []Queue{{
			ID: "q", Name: "q", Group: "g",
			OfferTimeout:        Duration{30 * time.Second},
			FirstResponseTarget: Duration{60 * time.Second},
			ResponseTarget:      Duration{120 * time.Second},
			WrapUpTimeout:       Duration{2 * time.Minute},
			MissedOffersLimit:   3,
			Strategy:            "longest_waiting",
		}},
		Users:        []User{{Username: "u", DisplayName: "u", Role: RoleAgent, Group: "g", MaxChats: 3, PrimaryLanguage: "en"}},
		Dispositions: DefaultDispositions,
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed:\n%+v\nwant:\n%+v", c, want)
	}

	d := Default()
	checks := map[string][2]any{
		"listen":              {d.Listen, "127.0.0.1:8080"},
		"public_url":          {d.PublicURL, "http://127.0.0.1:8080"},
		"log.level":           {d.Log.Level, "info"},
		"log.format":          {d.Log.Format, "json"},
		"store.driver":        {d.Store.Driver, "sqlite"},
		"store.dsn":           {d.Store.DSN, "data/switchboard.db"},
		"group_commit_window": {d.Store.GroupCommitWindow.Duration, 2 * time.Millisecond},
		"group_commit_max":    {d.Store.GroupCommitMax, 256},
		"synchronous":         {d.Store.Synchronous, "full"},
		"plugins_dir":         {d.PluginsDir, "bin"},
		"session_ttl":         {d.Console.SessionTTL.Duration, 12 * time.Hour},
		"max_body_bytes":      {d.Limits.MaxBodyBytes, int64(1 << 20)},
		"rate_per_second":     {d.Limits.RatePerSecond, 50.0},
		"burst":               {d.Limits.Burst, 100},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %v, want %v", name, c[0], c[1])
		}
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}

	for listen, url := range map[string]string{
		":8080":         "http://localhost:8080",
		"0.0.0.0:80":    "http://localhost:80",
		"[::]:80":       "http://localhost:80",
		"10.0.0.5:8080": "http://10.0.0.5:8080",
	} {
		c, err := ParseWithEnv([]byte("listen: '"+listen+"'"), "d.yaml", noEnv)
		if err != nil || c.PublicURL != url {
			t.Errorf("listen %s: public_url %q, err %v; want %s", listen, c.PublicURL, err, url)
		}
	}
	c, err = ParseWithEnv([]byte("public_url: https://hub.example/support/"), "d.yaml", noEnv)
	if err != nil || c.PublicURL != "https://hub.example/support" {
		t.Errorf("trailing slash: %v, %q", err, c.PublicURL)
	}
}

func TestValidateBuiltInGo(t *testing.T) {
	c := Default()
	c.Limits.Burst = 0
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) || ve.Error() != "limits.burst: must be at least 1" {
		t.Errorf("Validate() = %v", err)
	}
}

func TestAccessors(t *testing.T) {
	c, err := ParseWithEnv([]byte(`
plugins_dir: /opt/sb
plugins:
  - {instance: web, plugin: webchat, tenant: a}
  - {instance: sms, path: /usr/local/bin/sms, tenant: b}
tenants:
  - id: a
    groups: [{id: g, name: G}]
    queues: [{id: q1, group: g}, {id: q2, group: g, default: true}]
    users: [{username: u, group: g}]
  - id: b
    groups: [{id: g}]
    queues: [{id: first, group: g}, {id: second, group: g}]
`), "a.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Tenant("a")
	if a == nil || c.Tenant("zz") != nil {
		t.Fatal("Tenant lookup")
	}
	if q := a.DefaultQueue(); q == nil || q.ID != "q2" {
		t.Errorf("marked default queue = %+v", q)
	}
	if q := c.Tenant("b").DefaultQueue(); q == nil || q.ID != "first" {
		t.Errorf("unmarked default queue = %+v", q)
	}
	if (&Tenant{}).DefaultQueue() != nil {
		t.Error("tenant without queues has a default queue")
	}
	if q := a.Queue("q1"); q == nil || q.ID != "q1" || a.Queue("x") != nil {
		t.Error("Queue lookup")
	}
	if g := a.Group("g"); g == nil || g.Name != "G" || a.Group("x") != nil {
		t.Error("Group lookup")
	}
	if u := a.User("u"); u == nil || a.User("x") != nil {
		t.Error("User lookup")
	}
	// Lookups point into the config, not at copies.
	a.Queue("q1").Priority = 7
	if c.Tenants[0].Queues[0].Priority != 7 {
		t.Error("Queue returned a copy")
	}
	if got := c.PluginBinary(c.Plugins[0]); got != filepath.Join("/opt/sb", "webchat") {
		t.Errorf("PluginBinary(plugin) = %q", got)
	}
	if got := c.PluginBinary(c.Plugins[1]); got != "/usr/local/bin/sms" {
		t.Errorf("PluginBinary(path) = %q", got)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Minute:                       "2m",
		time.Hour:                             "1h",
		90 * time.Minute:                      "1h30m",
		time.Hour + time.Second:               "1h0m1s",
		2 * time.Millisecond:                  "2ms",
		0:                                     "0s",
		12*time.Hour + 30*time.Second:         "12h0m30s",
		10*time.Minute + 500*time.Millisecond: "10m0.5s",
	} {
		if got := (Duration{d}).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		v, _ := Duration{d}.MarshalYAML()
		if back, err := time.ParseDuration(v.(string)); err != nil || back != d {
			t.Errorf("MarshalYAML(%v) = %v does not parse back: %v", d, v, err)
		}
	}
}

func TestExampleFiles(t *testing.T) {
	for _, name := range []string{"switchboard.example.yaml", "dev.yaml"} {
		t.Run(name, func(t *testing.T) {
			// An empty environment: the examples must not depend on
			// variables set on the machine running the tests.
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseWithEnv(data, name, noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Tenants) == 0 || len(c.Plugins) == 0 {
				t.Fatalf("no tenants or plugins: %+v", c)
			}
		})
	}

	c, err := Load("dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Store.Driver != "sqlite" || c.Store.DSN != "data/switchboard.db" ||
		c.PluginsDir != "bin" || c.Log.Format != "text" {
		t.Errorf("dev.yaml top level = %+v", c)
	}
	p := c.Plugins[0]
	if p.Instance != "webchat" || p.Plugin != "webchat" || p.Tenant != "demo" ||
		p.Config["title"] != "Demo Company support" || p.Config["default_queue"] != "support" {
		t.Errorf("dev.yaml plugin = %+v", p)
	}
	demo := c.Tenant("demo")
	if demo == nil || demo.Name != "Demo Company" || demo.Group("sales") == nil || demo.Group("support") == nil {
		t.Fatalf("dev.yaml tenant = %+v", demo)
	}
	if q := demo.DefaultQueue(); q.ID != "support" || q.Group != "support" || demo.Queue("sales").Group != "sales" {
		t.Errorf("dev.yaml queues = %+v", demo.Queues)
	}
	users := []User{
		{Username: "alice", Role: RoleAgent, Group: "support", Queues: []string{"support"}, MaxChats: 3, PrimaryLanguage: "en", SecondaryLanguages: []string{"de"}},
		{Username: "bob", Role: RoleAgent, Group: "support", Queues: []string{"support", "sales"}, MaxChats: 2, PrimaryLanguage: "de", SecondaryLanguages: []string{"en"}},
		{Username: "carol", Role: RoleAgent, Group: "sales", Queues: []string{"sales"}, MaxChats: 6, PrimaryLanguage: "en"},
		{Username: "sam", Role: RoleSupervisor, Group: "support", Scope: ScopeTenant, Queues: []string{"support", "sales"}, MaxChats: 3, PrimaryLanguage: "en"},
	}
	if len(demo.Users) != len(users) {
		t.Fatalf("dev.yaml has %d users, want %d", len(demo.Users), len(users))
	}
	for i, want := range users {
		got := demo.Users[i]
		got.DisplayName = ""
		if !reflect.DeepEqual(got, want) {
			t.Errorf("dev.yaml user %d = %+v, want %+v", i, got, want)
		}
		if demo.Users[i].Password != "" {
			t.Errorf("dev.yaml user %s has a password", want.Username)
		}
	}

	if _, err := Load("does-not-exist.yaml"); err == nil || !strings.Contains(err.Error(), "does-not-exist.yaml") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestMergeKeys(t *testing.T) {
	doc := `
tenants:
  - id: t
    groups: [{id: g}]
    queues:
      - &base {id: a, group: g, priority: 3, offer_timeout: 45s}
      - {<<: *base, id: b, priority: 5}
`
	c, err := ParseWithEnv([]byte(doc), "m.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Tenant("t").Queue("b")
	if b.Group != "g" || b.Priority != 5 || b.OfferTimeout.Duration != 45*time.Second {
		t.Errorf("merged queue = %+v", b)
	}
}
