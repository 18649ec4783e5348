// Command testplugin is a channel plugin whose misbehaviour the plugin host's tests choose through
// its configuration: it emits listed events at start, records deliveries in a file, can crash once
// while delivering, and can stop answering the liveness probe.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

type settings struct {
	Emit []struct {
		ID           string `json:"id"`
		Conversation string `json:"conversation"`
		Text         string `json:"text"`
	} `json:"emit"`
	DeliveredFile string `json:"delivered_file"`
	CrashOnceFile string `json:"crash_once_file"`
	Hang          bool   `json:"hang"`
}

type plugin struct{ cfg settings }

func (p *plugin) Describe() sdk.Description {
	return sdk.Description{Name: "testplugin", Version: "0.0.1", ConfigSchema: `{"type":"object"}`}
}

func (p *plugin) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	return nil, cfg.Decode(&p.cfg)
}

func (p *plugin) Run(ctx context.Context, host sdk.Host) error {
	for _, e := range p.cfg.Emit {
		ev := sdk.NewMessage(e.ID, e.Conversation, &pb.Participant{Kind: sdk.AsCustomer}, &pb.Content{Text: e.Text})
		if err := host.Emit(ctx, ev); err != nil {
			host.Logger().Error("emit", "error", err)
		}
	}
	<-ctx.Done()
	return nil
}

func (p *plugin) Deliver(_ context.Context, ev *sdk.Event) error {
	f, err := os.OpenFile(p.cfg.DeliveredFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, ev.Id)
	f.Close()
	if p.cfg.CrashOnceFile != "" {
		if _, err := os.Stat(p.cfg.CrashOnceFile); os.IsNotExist(err) {
			os.WriteFile(p.cfg.CrashOnceFile, nil, 0o644)
			os.Exit(3) // crash after the platform took it, before the hub heard back
		}
	}
	return nil
}

func (p *plugin) Health(ctx context.Context) error {
	if p.cfg.Hang {
		select {} // a plugin stuck for good
	}
	return nil
}

func main() { sdk.ServeChannel(&plugin{}) }
