package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

func TestConformance(t *testing.T) {
	sdktest.Run(t, sdktest.Options{
		Binary: sdktest.Build(t, "."),
		Kind:   sdk.KindChannel,
		Config: []byte(`{"queue": "support"}`),
		Driver: platform{},
	})
}

// platform drives echo's HTTP API as the messaging platform would.
type platform struct{}

func (platform) Inbound(ctx context.Context, addr, conversation, text string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, messagesURL(addr, conversation), strings.NewReader(text))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		body, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s: %s", req.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func (platform) Delivered(ctx context.Context, addr, conversation string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, messagesURL(addr, conversation), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	var texts []string
	if err := json.NewDecoder(resp.Body).Decode(&texts); err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return texts, nil
}

func messagesURL(addr, conversation string) string {
	return "http://" + addr + "/conversations/" + conversation + "/messages"
}
