package console

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every route the console serves is described in openapi.yaml, with its method.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	src, err := os.ReadFile("console.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`mux\.Handle(?:Func)?\("(GET|POST|PUT|DELETE) /api/v1(/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in console.go", len(routes))
	}
	for _, r := range routes {
		method, path := strings.ToLower(r[1]), r[2]
		if path == "/openapi.yaml" {
			continue
		}
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("%s %s is not in openapi.yaml", r[1], path)
			continue
		}
		if _, ok := ops[method]; !ok {
			t.Errorf("%s %s: openapi.yaml lacks the %s operation", r[1], path, method)
		}
	}
}
