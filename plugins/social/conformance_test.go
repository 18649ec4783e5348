package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/plugins/social/metafake"
	"github.com/switchboardhq/switchboard/plugins/social/telegramfake"
	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/sdktest"
)

// TestConformance runs the SDK's conformance kit against the plugin binary, once per adapter,
// each against its fake platform: Telegram by long polling and by webhook, WhatsApp, Messenger.
func TestConformance(t *testing.T) {
	bin := sdktest.Build(t, ".")
	t.Run("telegram polling", func(t *testing.T) {
		fake := telegramfake.New(t)
		cfg, _ := json.Marshal(map[string]any{"adapter": "telegram", "default_queue": "support",
			"telegram": map[string]any{"bot_token": fake.Token, "api_base": fake.URL(), "mode": "polling", "poll_timeout": "2s"}})
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: &telegramDriver{fake: fake}})
	})
	t.Run("telegram webhook", func(t *testing.T) {
		fake := telegramfake.New(t)
		cfg, _ := json.Marshal(map[string]any{"adapter": "telegram", "public_url": "https://hub.example.com/c/sdktest/",
			"telegram": map[string]any{"bot_token": fake.Token, "api_base": fake.URL(), "webhook_secret": "conformance-Secret_1"}})
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: &telegramDriver{fake: fake, secret: "conformance-Secret_1"}})
	})
	t.Run("whatsapp", func(t *testing.T) {
		fake := metafake.New(t)
		cfg, _ := json.Marshal(whatsappConfig(fake, nil))
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: &whatsappDriver{fake: fake}})
	})
	t.Run("messenger", func(t *testing.T) {
		fake := metafake.New(t)
		cfg, _ := json.Marshal(messengerConfig(fake, map[string]any{"state_dir": t.TempDir()}))
		sdktest.Run(t, sdktest.Options{Binary: bin, Kind: sdk.KindChannel, Config: cfg, Driver: &messengerDriver{fake: fake}})
	})
}

// digitsOf turns the kit's conversation name (hex) into a platform id made of digits.
func digitsOf(conv string) string {
	n, _ := strconv.ParseUint(conv[:10], 16, 64)
	return strconv.FormatUint(1_000_000_000_000+n, 10)
}

// telegramDriver plays Telegram users: each conversation is a private chat. By long polling, a
// message counts as received once its update is confirmed (getUpdates with a higher offset); by
// webhook, once the plugin answered 200.
type telegramDriver struct {
	fake   *telegramfake.Server
	secret string // webhook mode when set
}

func (d *telegramDriver) customer(conv string) telegramfake.Customer {
	id, _ := strconv.ParseInt(digitsOf(conv), 10, 64)
	return telegramfake.Customer{ID: id, Username: "user_" + conv[:8], FirstName: "Customer", LastName: conv[:6]}
}

func (d *telegramDriver) Inbound(ctx context.Context, addr, conv, text string) error {
	u := d.fake.Text(d.customer(conv), text)
	if d.secret == "" {
		d.fake.Queue(u)
		if err := d.fake.Wait(ctx, func() bool { return d.fake.Confirmed(u.UpdateID) }); err != nil {
			return fmt.Errorf("update %d was never confirmed: %w", u.UpdateID, err)
		}
		return nil
	}
	body, _ := json.Marshal(u)
	return untilOK(ctx, func() (int, error) {
		return telegramfake.PostRaw(ctx, "http://"+addr+"/telegram/webhook", d.secret, body)
	})
}

func (d *telegramDriver) Delivered(_ context.Context, _, conv string) ([]string, error) {
	return d.fake.Texts(d.customer(conv).ID), nil
}

// whatsappDriver plays WhatsApp users posting through Meta's signed webhooks.
type whatsappDriver struct{ fake *metafake.Server }

func (d *whatsappDriver) Inbound(ctx context.Context, addr, conv, text string) error {
	payload, _ := d.fake.WhatsAppText(metafake.WAUser{WaID: digitsOf(conv), Name: "Customer " + conv[:6]}, text)
	return untilOK(ctx, func() (int, error) {
		a, err := d.fake.Post(ctx, "http://"+addr+"/whatsapp/webhook", payload)
		return a.Status, err
	})
}

func (d *whatsappDriver) Delivered(_ context.Context, _, conv string) ([]string, error) {
	return d.fake.WhatsAppTexts(digitsOf(conv)), nil
}

// messengerDriver plays people writing to the Page through Meta's signed webhooks.
type messengerDriver struct{ fake *metafake.Server }

func (d *messengerDriver) Inbound(ctx context.Context, addr, conv, text string) error {
	payload, _ := d.fake.MessengerText(metafake.FBUser{PSID: digitsOf(conv), FirstName: "Customer", LastName: conv[:6]}, text)
	return untilOK(ctx, func() (int, error) {
		a, err := d.fake.Post(ctx, "http://"+addr+"/messenger/webhook", payload)
		return a.Status, err
	})
}

func (d *messengerDriver) Delivered(_ context.Context, _, conv string) ([]string, error) {
	return d.fake.MessengerTexts(digitsOf(conv)), nil
}

// untilOK posts until the plugin answers 200, as platforms retry: 503 while it starts or cannot
// store, anything else is an error.
func untilOK(ctx context.Context, post func() (int, error)) error {
	for {
		status, err := post()
		switch {
		case err != nil:
			return err
		case status == http.StatusOK:
			return nil
		case status != http.StatusServiceUnavailable:
			return fmt.Errorf("the webhook answered %d", status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the webhook still answers 503: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
