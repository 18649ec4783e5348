package dashboards

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const runbookBase = "https://github.com/switchboardhq/switchboard/blob/main/dashboards/README.md#alert-"

// ruleFile is the part of a Prometheus rule file these checks read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// ruleTests is the part of a promtool test file these checks read.
type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			AlertName string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels      map[string]string `yaml:"exp_labels"`
				ExpAnnotations map[string]string `yaml:"exp_annotations"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// promtool finds the promtool binary (Debian package prometheus). Without it the test is skipped
// with a loud message, except in CI, where it fails.
func promtool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("promtool is not installed (%v); CI must run the alert rule tests: install the prometheus package", err)
	}
	t.Skipf("SKIPPED, ALERT RULES NOT TESTED: promtool is not installed (%v); install it (apt-get install prometheus) to run these tests", err)
	return ""
}

func TestAlertRulesPassPromtoolCheck(t *testing.T) {
	out, err := exec.Command(promtool(t), "check", "rules", "alerts.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules alerts.yaml: %v\n%s", err, out)
	}
}

func TestAlertRulesPassTheirUnitTests(t *testing.T) {
	out, err := exec.Command(promtool(t), "test", "rules", "alerts_test.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules alerts_test.yaml: %v\n%s", err, out)
	}
}

func TestAlertRules(t *testing.T) {
	var rules ruleFile
	readYAML(t, "alerts.yaml", &rules)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	known := exportedMetrics()
	want := []string{
		"SwitchboardQueueWaitingTooLong", "SwitchboardSLABreachRate", "SwitchboardPluginDown",
		"SwitchboardPluginFlapping", "SwitchboardOutboxGrowing", "SwitchboardNoAgentsDuringBusinessHours",
		"SwitchboardDown",
	}
	var got []string
	if len(rules.Groups) != 1 || rules.Groups[0].Name != "switchboard" {
		t.Fatalf("alerts.yaml must hold one group named switchboard")
	}
	for _, r := range rules.Groups[0].Rules {
		got = append(got, r.Alert)
		if r.For == "" {
			t.Errorf("%s has no for", r.Alert)
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s has no summary", r.Alert)
		}
		if d := r.Annotations["description"]; !strings.Contains(d, "{{ $labels.") && !strings.Contains(d, "{{ $value") {
			t.Errorf("%s: the description names neither a label nor the value: %q", r.Alert, d)
		}
		if want := runbookBase + strings.ToLower(r.Alert); r.Annotations["runbook"] != want {
			t.Errorf("%s: runbook %q, want %q", r.Alert, r.Annotations["runbook"], want)
		}
		if !strings.Contains(string(readme), "\n### Alert: "+r.Alert+"\n") {
			t.Errorf("README.md has no section \"### Alert: %s\" for the runbook link", r.Alert)
		}
		names, err := selectedMetrics(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", r.Alert, err)
		}
		for _, name := range names {
			if _, ok := family(name, known); !ok {
				t.Errorf("%s uses %s, which the hub does not export", r.Alert, name)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("alerts %v, want %v", got, want)
	}
}

// TestEveryAlertIsTested requires, for every alert, a promtool case where it fires with its
// labels and annotations spelled out, and one where it does not.
func TestEveryAlertIsTested(t *testing.T) {
	var rules ruleFile
	readYAML(t, "alerts.yaml", &rules)
	var tests ruleTests
	readYAML(t, "alerts_test.yaml", &tests)
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yaml"}) {
		t.Errorf("alerts_test.yaml tests %v, want [alerts.yaml]", tests.RuleFiles)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, c := range tc.AlertRuleTest {
			if len(c.ExpAlerts) == 0 {
				silent[c.AlertName] = true
				continue
			}
			for _, a := range c.ExpAlerts {
				if len(a.ExpLabels) == 0 || len(a.ExpAnnotations) == 0 {
					t.Errorf("%s at %s: an expected alert without labels or annotations", c.AlertName, c.EvalTime)
				}
			}
			fires[c.AlertName] = true
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] {
				t.Errorf("alerts_test.yaml has no case where %s fires", r.Alert)
			}
			if !silent[r.Alert] {
				t.Errorf("alerts_test.yaml has no case where %s stays silent", r.Alert)
			}
		}
	}
}
