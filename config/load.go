package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Default returns the configuration an empty file yields: every default set,
// no plugins, no tenants.
func Default() *Config {
	c := base()
	derive(c)
	return c
}

// base holds the defaults that do not depend on other fields. Decoding writes
// over them, so a value written explicitly (even 0) is kept and validated.
func base() *Config {
	return &Config{
		Listen:     "127.0.0.1:8080",
		Log:        Log{Level: "info", Format: "json"},
		Store:      Store{Driver: "sqlite", GroupCommitWindow: Duration{2 * time.Millisecond}, GroupCommitMax: 256, Synchronous: "full"},
		PluginsDir: "bin",
		Console:    Console{SessionTTL: Duration{12 * time.Hour}},
		Limits:     Limits{MaxBodyBytes: 1 << 20, RatePerSecond: 50, Burst: 100},
	}
}

// setDefaults runs on every queue before its YAML is decoded into it.
func (q *Queue) setDefaults() {
	q.OfferTimeout = Duration{30 * time.Second}
	q.FirstResponseTarget = Duration{60 * time.Second}
	q.ResponseTarget = Duration{120 * time.Second}
	q.WrapUpTimeout = Duration{2 * time.Minute}
	q.MissedOffersLimit = 3
	q.Strategy = "longest_waiting"
}

// setDefaults runs on every user before its YAML is decoded into it.
func (u *User) setDefaults() {
	u.Role = RoleAgent
	u.MaxChats = 3
	u.PrimaryLanguage = "en"
}

type defaulter interface{ setDefaults() }

// derive fills the defaults computed from other fields, once decoding is done.
func derive(c *Config) {
	if c.PublicURL == "" && c.Listen != "" {
		c.PublicURL = "http://" + publicHost(c.Listen)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Store.DSN == "" && c.Store.Driver == "sqlite" {
		c.Store.DSN = "data/switchboard.db"
	}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		if t.Name == "" {
			t.Name = t.ID
		}
		for j := range t.Groups {
			if t.Groups[j].Name == "" {
				t.Groups[j].Name = t.Groups[j].ID
			}
		}
		for j := range t.Queues {
			if t.Queues[j].Name == "" {
				t.Queues[j].Name = t.Queues[j].ID
			}
		}
		if t.Dispositions == nil {
			t.Dispositions = DefaultDispositions
		}
		for j := range t.Users {
			u := &t.Users[j]
			if u.DisplayName == "" {
				u.DisplayName = u.Username
			}
			if u.Scope == "" {
				switch u.Role {
				case RoleSupervisor:
					u.Scope = ScopeGroup
				case RoleAdmin:
					u.Scope = ScopeTenant
				}
			}
		}
	}
}

// publicHost makes a wildcard listen address ("":8080, 0.0.0.0:8080) usable
// in a URL by naming localhost instead.
func publicHost(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0", "::":
		return net.JoinHostPort("localhost", port)
	}
	return listen
}

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path)
}

// Parse parses a configuration document; source names it in errors.
// ${NAME} values are read from the process environment.
func Parse(data []byte, source string) (*Config, error) {
	return ParseWithEnv(data, source, os.LookupEnv)
}

// ParseWithEnv is Parse with the environment lookup supplied by the caller.
//
// Problems in the document (unknown keys, wrong types, unset variables,
// invalid values) are all reported together in a *ValidationError; a YAML
// syntax error is returned alone, with its line number.
func ParseWithEnv(data []byte, source string, lookup func(string) (string, bool)) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: invalid YAML: %s", source, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: more than one YAML document; put the whole configuration in one", source)
	}

	d := &decoder{expanded: map[*yaml.Node]bool{}, lines: map[string]int{}}
	c := base()
	if doc := document(&root); doc != nil {
		d.expand(doc, "", lookup)
		d.decode(doc, reflect.ValueOf(c).Elem(), "")
	}
	derive(c)

	errs := d.errs
	for _, fe := range c.validate() {
		if !coveredBy(fe.Path, d.errs) {
			errs = append(errs, fe)
		}
	}
	if len(errs) == 0 {
		return c, nil
	}
	for i := range errs {
		if errs[i].Line == 0 {
			errs[i].Line = d.lineOf(errs[i].Path)
		}
	}
	return nil, &ValidationError{Source: source, Errors: errs}
}

// document returns the top node of a parsed file, nil for an empty one.
func document(root *yaml.Node) *yaml.Node {
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		return root.Content[0]
	}
	return nil
}

// coveredBy reports whether a problem at path was already reported, at the
// same place or above it, while decoding: a field that failed to decode is
// left at its zero value, and validating it again would only add noise.
func coveredBy(path string, decodeErrs []FieldError) bool {
	for _, fe := range decodeErrs {
		p := fe.Path
		if p == "" || path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[") {
			return true
		}
	}
	return false
}

// decoder maps a yaml.Node tree onto the config structs by hand, rather than
// with yaml's own Decode, so that every problem carries its field path and
// one bad field does not hide the others.
type decoder struct {
	errs     []FieldError
	expanded map[*yaml.Node]bool // scalars whose value came from ${NAME}
	lines    map[string]int      // field path -> line in the file
}

func (d *decoder) fail(path string, n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...), Line: n.Line})
}

// lineOf finds the line of path, or of its nearest ancestor that is in the
// file (a defaulted field has no line of its own).
func (d *decoder) lineOf(path string) int {
	for path != "" {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

var envRef = regexp.MustCompile(`^(\$?)\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// expand replaces every string scalar whose whole value is ${NAME} with the
// environment variable NAME. $${NAME} stands for the literal text ${NAME}.
// Aliases are not followed: their anchor is expanded where it is defined.
func (d *decoder) expand(n *yaml.Node, path string, lookup func(string) (string, bool)) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.expand(n.Content[i+1], join(path, n.Content[i].Value), lookup)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.expand(c, index(path, i), lookup)
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" {
			return
		}
		m := envRef.FindStringSubmatch(n.Value)
		if m == nil {
			return
		}
		if m[1] == "$" {
			n.Value = n.Value[1:]
			return
		}
		v, ok := lookup(m[2])
		if !ok {
			d.fail(path, n, "environment variable %s is not set", m[2])
			return
		}
		n.Value, n.Tag = v, "!!str"
		d.expanded[n] = true
	}
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // keep the default
	}
	if v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.fail(path, n, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n, "must be a mapping of keys to values, not %s", describe(n))
			return
		}
		d.mapping(n, v, path, map[string]int{})
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(path, n, "must be a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			p := index(path, i)
			d.lines[p] = c.Line
			if def, ok := s.Index(i).Addr().Interface().(defaulter); ok {
				def.setDefaults()
			}
			d.decode(c, s.Index(i), p)
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(path, n, "must be a mapping of keys to values, not %s", describe(n))
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(path, n, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
	default:
		d.scalar(n, v, path)
	}
}

// mapping decodes a YAML mapping into a struct; seen tracks keys already set
// so a repeated key is reported (keys brought in by a merge key "<<" may be
// overridden).
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string, seen map[string]int) {
	fields := yamlFields(v.Type())
	// Merged mappings first, so the mapping's own keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(path, k, "keys must be plain names, not %s", describe(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			continue
		}
		p := join(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(p, k, "unknown field")
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(p, k, "set twice (first on line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[p] = k.Line
		d.decode(val, v.Field(idx), p)
	}
}

func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch n.Kind {
	case yaml.MappingNode:
		d.mapping(n, v, path, map[string]int{})
	case yaml.SequenceNode:
		// Earlier mappings in a merge list win: apply them last.
		for i := len(n.Content) - 1; i >= 0; i-- {
			d.merge(n.Content[i], v, path)
		}
	default:
		d.fail(path, n, "a merge key (<<) must refer to a mapping")
	}
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	var want string
	switch v.Kind() {
	case reflect.String:
		want = "a string"
	case reflect.Bool:
		want = "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want = "a whole number"
	case reflect.Float32, reflect.Float64:
		want = "a number"
	default:
		want = v.Type().String()
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(path, n, "must be %s, not %s", want, describe(n))
		return
	}
	src := n
	if d.expanded[n] && v.Kind() != reflect.String {
		// A value from the environment is a string; let YAML read it as the
		// field's type, so ${PORT} works for a number too.
		c := *n
		c.Tag, c.Style = "", 0
		src = &c
	}
	if err := src.Decode(v.Addr().Interface()); err != nil {
		d.fail(path, n, "must be %s, not %q", want, n.Value)
	}
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "this value"
}

// yamlFields maps yaml key names to struct field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		m[name] = i
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string {
	return fmt.Sprintf("%s[%d]", path, i)
}
