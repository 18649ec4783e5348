package sdktest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

// TestKitFindsFaults runs the kit against plugins with one fault each, in a child test process
// (a failing kit must fail the plugin's test, not this one), and wants the check that guards
// against the fault to say so.
func TestKitFindsFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin and runs the kit once per fault")
	}
	bin := sdktest.Build(t, "./testdata/faulty")
	cases := []struct {
		name, fault string
		kind        sdk.Kind
		want        string
	}{
		{"wrong kind", "", sdk.KindBridge, "Describe: kind is PLUGIN_KIND_CHANNEL, want PLUGIN_KIND_BRIDGE"},
		{"lax config", "lax-config", sdk.KindChannel, `Configure accepted the unknown field "sdktest_unknown_field"`},
		{"config error as RPC error", "rpc-config-error", sdk.KindChannel, "answered with an RPC error"},
		{"confirms before the hub stored", "early-confirm", sdk.KindChannel, "only once Emit returned"},
		{"acks without delivering", "drop", sdk.KindChannel, "but the platform never showed"},
		{"crashes on delivery", "crash-on-deliver", sdk.KindChannel, "has exited (its log follows the checks)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFaultyPlugin$", "-test.v")
			cmd.Env = append(os.Environ(), "SDKTEST_FAULTY="+bin, "SDKTEST_FAULT="+c.fault, fmt.Sprintf("SDKTEST_KIND=%d", c.kind))
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the kit passed a plugin with fault %q:\n%s", c.fault, out)
			}
			if !strings.Contains(string(out), c.want) {
				t.Errorf("the kit failed the plugin with fault %q without saying %q:\n%s", c.fault, c.want, out)
			}
		})
	}
}

// TestFaultyPlugin is the child TestKitFindsFaults starts; on its own it skips.
func TestFaultyPlugin(t *testing.T) {
	bin := os.Getenv("SDKTEST_FAULTY")
	if bin == "" {
		t.Skip("started by TestKitFindsFaults")
	}
	var kind int32
	fmt.Sscan(os.Getenv("SDKTEST_KIND"), &kind)
	config, _ := json.Marshal(map[string]string{"fault": os.Getenv("SDKTEST_FAULT")})
	sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.Kind(kind), Config: config, Driver: httpPlatform{}, Timeout: 3 * time.Second})
}

// httpPlatform drives the faulty plugin's HTTP API, the echo example's.
type httpPlatform struct{}

func (httpPlatform) Inbound(ctx context.Context, addr, conversation, text string) error {
	resp, err := do(ctx, http.MethodPost, addr, conversation, text)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST: %s", resp.Status)
	}
	return nil
}

func (httpPlatform) Delivered(ctx context.Context, addr, conversation string) ([]string, error) {
	resp, err := do(ctx, http.MethodGet, addr, conversation, "")
	if err != nil {
		return nil, err
	}
	var texts []string
	return texts, json.Unmarshal(resp.body, &texts)
}

type response struct {
	*http.Response
	body []byte
}

func do(ctx context.Context, method, addr, conversation, body string) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+"/conversations/"+conversation+"/messages", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return &response{resp, data}, err
}
