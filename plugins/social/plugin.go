package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

const version = "1.0.0"

// adapter is one platform: its webhooks, its own work (polling, registering a webhook) and how a
// text reaches a customer.
type adapter interface {
	// kind names the platform: the conversation key's prefix and the webhook's path.
	kind() string
	// self is the instance's own address on the platform: the bot, phone number or page id.
	self() string
	// routes mounts the platform's webhook handlers.
	routes(mux *http.ServeMux)
	// run does the platform work that needs no request (polling, webhook registration) until
	// ctx ends.
	run(ctx context.Context)
	// maxText is the longest text one platform message may carry, in UTF-16 code units.
	maxText() int
	// send sends one text to the customer and returns the platform's message id. It returns
	// errWindowClosed when the platform refused because the customer-service window is closed.
	send(ctx context.Context, to, text, eventID string) (string, error)
}

// windowed is an adapter whose platform allows free-form replies only within 24 hours of the
// customer's last message.
type windowed interface {
	// windowClosed handles a reply written after the window closed: it sends what the platform
	// still allows and returns nil, or refuses with sdk.Reject.
	windowClosed(ctx context.Context, ev *sdk.Event, to string) error
}

// errWindowClosed: the platform refused a message because the customer-service window is closed.
var errWindowClosed = errors.New("the customer-service window is closed")

// social is the plugin: one platform's webhooks and API on one side, the hub on the other.
type social struct {
	cfg      settings
	instance string
	now      func() time.Time // the clock of the 24-hour window; tests move it
	adapter  adapter

	host  sdk.Host
	ready chan struct{} // closed once Run has the host

	convs   *conversations
	windows *windowStore // nil for platforms without a window
	sent    *sentLog
	seen    *sdk.RecentIDs // inbound event ids the hub stored or refused for good
	files   *http.Client

	mu       sync.Mutex
	problems map[string]string // by area: what the hub's liveness probe reports
}

func newSocial() *social {
	return &social{
		now:      time.Now,
		ready:    make(chan struct{}),
		convs:    newConversations(),
		sent:     newSentLog(10000),
		seen:     sdk.NewRecentIDs(8192),
		files:    &http.Client{Timeout: 2 * time.Minute},
		problems: map[string]string{},
	}
}

func (p *social) Describe() sdk.Description {
	return sdk.Description{
		Name:         "social",
		Version:      version,
		Summary:      "Social messaging: Telegram bots, WhatsApp Cloud API and Facebook Messenger",
		Capabilities: []string{"attachments", "delivery_receipts", "http"},
		ConfigSchema: configSchema,
	}
}

func (p *social) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	s, err := decodeSettings(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.check(cfg.PublicURL); err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	p.cfg, p.instance = *s, cfg.Instance
	switch s.Adapter {
	case "telegram":
		p.adapter = newTelegram(p, s.Telegram)
	case "whatsapp":
		p.adapter = newWhatsApp(p, s.WhatsApp)
	case "messenger":
		p.adapter = newMessenger(p, s.Messenger)
	}
	if _, ok := p.adapter.(windowed); ok {
		w, err := openWindowStore(s.StateDir, cfg.Instance)
		if err != nil {
			return nil, sdk.ConfigError{{Path: "state_dir", Message: err.Error()}}
		}
		p.windows = w
	}
	mux := http.NewServeMux()
	p.adapter.routes(mux)
	return &sdk.Configured{Handler: mux}, nil
}

func (p *social) Run(ctx context.Context, host sdk.Host) error {
	p.host = host
	close(p.ready)
	if !p.cfg.enabled {
		p.log().Warn("instance disabled: webhooks are answered 410 Gone, nothing is polled, replies are refused")
		<-ctx.Done()
		return nil
	}
	p.adapter.run(ctx)
	<-ctx.Done()
	return nil
}

// Deliver hands an agent's message to the platform. Other events have nothing to show on these
// platforms; an ended conversation makes the customer's next message start a new one.
func (p *social) Deliver(ctx context.Context, ev *sdk.Event) error {
	select {
	case <-p.ready: // Run has the host, which Deliver may need for receipts and logs
	case <-ctx.Done():
		return ctx.Err()
	}
	if !p.cfg.enabled {
		return sdk.Reject("the %s channel %q is disabled in the hub's configuration", p.platform(), p.instance)
	}
	to, err := p.customerOf(ev.GetConversation())
	if err != nil {
		return err
	}
	switch pl := ev.Payload.(type) {
	case *pb.Event_Message:
		return p.deliverMessage(ctx, ev, to, pl.Message.GetContent())
	case *pb.Event_ConversationEnded:
		p.convs.ended(ev.GetConversation())
	}
	return nil
}

func (p *social) deliverMessage(ctx context.Context, ev *sdk.Event, to string, c *pb.Content) error {
	text := outboundText(c)
	if text == "" {
		return sdk.Reject("the message has no text: %s receives text only from this channel", p.platform())
	}
	if p.sent.templateSent(ev.GetId()) {
		return nil // a resend of an event a template answered
	}
	w, isWindowed := p.adapter.(windowed)
	done := p.sent.parts(ev.GetId())
	if isWindowed && done == 0 {
		if last, known := p.windows.last(ev.GetConversation()); known && !p.windowOpen(last) {
			return w.windowClosed(ctx, ev, to)
		}
	}
	parts := splitText(text, p.adapter.maxText())
	for i := done; i < len(parts); i++ {
		id, err := p.adapter.send(ctx, to, parts[i], ev.GetId())
		if errors.Is(err, errWindowClosed) && isWindowed && i == 0 {
			// The platform knows better than our memory (e.g. after a restart without state_dir).
			return w.windowClosed(ctx, ev, to)
		}
		if err != nil {
			return err
		}
		p.sent.add(ev.GetId(), id)
	}
	return nil
}

// customerWindow is how long after a customer's message the platforms allow free-form replies.
const serviceWindow = 24 * time.Hour

func (p *social) windowOpen(last time.Time) bool { return p.now().Sub(last) < serviceWindow }

// Health reports what keeps the instance from working (a refused token, an unreachable API).
func (p *social) Health(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) == 0 {
		return nil
	}
	var list []string
	for area, problem := range p.problems {
		list = append(list, area+": "+problem)
	}
	sort.Strings(list)
	return errors.New(strings.Join(list, "; "))
}

// problem records (err != nil) or clears what is wrong in an area.
func (p *social) problem(area string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		delete(p.problems, area)
		return
	}
	p.problems[area] = err.Error()
}

// Conversation keys pair the customer's address with the instance's own:
// "telegram:<chat id>|<bot id>", "whatsapp:<wa_id>|<phone number id>", "messenger:<PSID>|<page id>".
func (p *social) keyOf(customer string) string {
	return p.adapter.kind() + ":" + customer + "|" + p.adapter.self()
}

// customerOf returns the customer's address in a conversation key of this instance.
func (p *social) customerOf(key string) (string, error) {
	rest, ok := strings.CutPrefix(key, p.adapter.kind()+":")
	customer, self, ok2 := strings.Cut(rest, "|")
	if !ok || !ok2 || customer == "" {
		return "", sdk.Reject("conversation %q is not a %s conversation", key, p.platform())
	}
	if self != p.adapter.self() {
		return "", sdk.Reject("conversation %q belongs to another %s account than this instance's (%s)", key, p.platform(), p.adapter.self())
	}
	return customer, nil
}

// platform is the platform's name for people.
func (p *social) platform() string {
	switch p.cfg.Adapter {
	case "whatsapp":
		return "WhatsApp"
	case "messenger":
		return "Messenger"
	}
	return "Telegram"
}

func (p *social) log() *slog.Logger {
	if p.host == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.host.Logger().With("adapter", p.cfg.Adapter)
}

// count reports a refusal to the hub's switchboard_plugin_rejections_total.
func (p *social) count(name, reason string) {
	if p.host != nil {
		p.host.Count(name, reason)
	}
}

// wait pauses for d or until ctx ends; it reports whether ctx is still alive.
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// backoff doubles d up to limit.
func backoff(d, limit time.Duration) time.Duration { return min(2*d, limit) }
