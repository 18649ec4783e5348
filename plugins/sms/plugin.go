package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

const version = "1.0.0"

// recentIDs is how many provider message ids and outbound event ids the plugin remembers.
const recentIDs = 8192

// sentAll marks an outbound event the provider accepted whole.
const sentAll = -1

// adapter is one SMS provider.
type adapter interface {
	// routes mounts the provider's webhooks.
	routes(mux *http.ServeMux)
	// send hands one reply to the provider and returns nil once it accepted it, sdk.Reject when
	// it never will, any other error to be called again.
	send(ctx context.Context, m outbound) error
}

// outbound is one reply to send.
type outbound struct {
	eventID  string
	key      string // conversation key
	customer string
	ours     string
	text     string
}

// sms is the plugin: one SMS line, one provider.
type sms struct {
	cfg      settings
	instance string
	adapter  adapter
	optOuts  *optOuts
	client   *http.Client
	host     sdk.Host
	ready    chan struct{} // closed once Run has the host

	received *sdk.RecentIDs // provider ids of callbacks the hub stored
	sent     *recent[int]   // outbound event id → parts the provider accepted, sentAll once done
	lanes    lanes          // one inbound SMS at a time per conversation

	mu      sync.Mutex
	open    map[string]bool // conversations known to be open at the hub
	problem string          // what the health check reports, "" when healthy
}

func newSMS() *sms {
	return &sms{
		ready:    make(chan struct{}),
		client:   &http.Client{Timeout: 20 * time.Second},
		received: sdk.NewRecentIDs(recentIDs),
		sent:     newRecent[int](recentIDs),
		open:     map[string]bool{},
	}
}

func (p *sms) Describe() sdk.Description {
	return sdk.Description{
		Name:         "sms",
		Version:      version,
		Summary:      "SMS through Twilio or a Kannel gateway: texts in, replies out, delivery reports, STOP/START",
		Capabilities: []string{"http", "attachments", "delivery_receipts"},
		ConfigSchema: configSchema,
	}
}

func (p *sms) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err
	}
	if err := s.check(cfg.Instance, cfg.PublicURL); err != nil {
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	opts, err := loadOptOuts(s.StateDir, cfg.Instance)
	if err != nil {
		return nil, sdk.ConfigError{{Path: "state_dir", Message: strings.TrimPrefix(err.Error(), "state_dir: ")}}
	}
	p.cfg, p.instance, p.optOuts = s, cfg.Instance, opts
	switch s.Adapter {
	case "twilio":
		p.adapter = &twilio{p: p, cfg: s.Twilio}
	case "kannel":
		p.adapter = &kannel{p: p, cfg: s.Kannel, progress: newRecent[*dlrProgress](recentIDs)}
	}
	return &sdk.Configured{Handler: p.routes()}, nil
}

func (p *sms) Run(ctx context.Context, host sdk.Host) error {
	p.host = host
	close(p.ready)
	state := "memory only"
	if p.optOuts.file.Path() != "" {
		state = p.optOuts.file.Path()
	}
	host.Logger().Info("SMS line ready", "adapter", p.cfg.Adapter, "numbers", p.cfg.Numbers, "opt_outs", state, "disabled", p.cfg.Disabled)
	<-ctx.Done()
	return nil
}

// Health reports the last provider refusal that retrying cannot fix (wrong credentials).
func (p *sms) Health(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.problem != "" {
		return errors.New(p.problem)
	}
	return nil
}

func (p *sms) setProblem(problem string) {
	p.mu.Lock()
	p.problem = problem
	p.mu.Unlock()
}

func (p *sms) log() *slog.Logger { return p.host.Logger() }

func (p *sms) routes() http.Handler {
	mux := http.NewServeMux()
	p.adapter.routes(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-p.ready:
			mux.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "the SMS line is starting; send it again", http.StatusServiceUnavailable)
		}
	})
}

// conversationKey names the conversation of a customer with one of our numbers: the same pair
// is the same thread, whatever the provider.
func conversationKey(customer, ours string) string { return "sms:" + customer + "|" + ours }

func parseKey(key string) (customer, ours string, ok bool) {
	rest, found := strings.CutPrefix(key, "sms:")
	if !found {
		return "", "", false
	}
	customer, ours, ok = strings.Cut(rest, "|")
	return customer, ours, ok && customer != "" && ours != ""
}

func (p *sms) isOpen(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open[key]
}

func (p *sms) setOpen(key string, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.open[key] = true
	} else {
		delete(p.open, key)
	}
}

// inboundSMS is one text from a customer, as a provider reported it.
type inboundSMS struct {
	id     string // the provider's message id: its retries carry the same
	from   string // the customer
	to     string // our number, as configured
	text   string
	media  []*pb.Attachment
	origin string
}

// receive hands a customer's SMS to the hub and returns nil once the hub stored it. A STOP or
// START is recorded first, whatever the hub says: the customer's choice holds even if the
// message itself has to be sent again.
func (p *sms) receive(ctx context.Context, in inboundSMS) error {
	id := "sms:" + in.id
	if p.received.Has(id) {
		return nil
	}
	key := conversationKey(in.from, in.to)
	defer p.lanes.lock(key)()
	if p.received.Has(id) { // a retry that waited for the first attempt
		return nil
	}
	kw := keywordOf(in.text)
	if kw != noKeyword {
		if err := p.optOuts.set(key, kw == optOutWord, time.Now()); err != nil {
			return err
		}
	}
	customer := &pb.Participant{Kind: sdk.AsCustomer, Id: in.from, DisplayName: in.from}
	if !p.isOpen(key) {
		// The hub ignores a start for a conversation that is still open. The id is fresh each
		// time: a start the hub ignored must not hide the one that opens the next conversation.
		started := &pb.ConversationStarted{
			Customer: &pb.Customer{Address: in.from, Phone: in.from},
			Queue:    p.cfg.queueFor(in.to),
			Origin:   in.origin,
		}
		if err := p.host.Emit(ctx, sdk.NewConversationStarted("start:"+in.id+":"+nonce(), key, started)); err != nil {
			return err
		}
		p.setOpen(key, true)
	}
	content := &pb.Content{Text: in.text, Html: richtext.FromText(in.text), Attachments: in.media}
	if err := p.host.Emit(ctx, sdk.NewMessage(id, key, customer, content)); err != nil {
		if _, refused := sdk.IsRejected(err); refused {
			p.setOpen(key, false) // most likely ended meanwhile: start again next time
		}
		return err
	}
	if kw == optOutWord {
		ended := sdk.NewConversationEnded("stop:"+in.id, key, customer, "the customer opted out with "+strings.ToUpper(strings.TrimSpace(in.text))+": no more messages can be sent to them")
		if err := p.host.Emit(ctx, ended); err != nil {
			if _, refused := sdk.IsRejected(err); !refused {
				return err
			}
		}
		p.setOpen(key, false)
	}
	p.received.Add(id)
	return nil
}

// receipt tells the hub what became of a reply. A receipt for a conversation that is over has
// nobody to tell: it is dropped, not retried.
func (p *sms) receipt(ctx context.Context, id, key, eventID string, status pb.DeliveryStatus, reason string) error {
	if p.received.Has(id) {
		return nil
	}
	err := p.host.Emit(ctx, sdk.NewDeliveryReceipt(id, key, eventID, status, reason))
	if reason, refused := sdk.IsRejected(err); refused {
		p.log().Debug("delivery receipt refused by the hub", "event", eventID, "status", status, "reason", reason)
		err = nil
	}
	if err == nil {
		p.received.Add(id)
	}
	return err
}

// Deliver sends agents' messages as SMS. Everything else the hub says (typing, assignment, queue
// position) is not sent: each would cost the customer a text.
func (p *sms) Deliver(ctx context.Context, ev *sdk.Event) error {
	select { // the SDK may deliver before Run has the host
	case <-p.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	switch pl := ev.Payload.(type) {
	case *pb.Event_Message:
		return p.deliverMessage(ctx, ev, pl.Message)
	case *pb.Event_ConversationEnded:
		p.setOpen(ev.Conversation, false)
	}
	return nil
}

func (p *sms) deliverMessage(ctx context.Context, ev *sdk.Event, msg *pb.Message) error {
	customer, ours, ok := parseKey(ev.Conversation)
	switch {
	case !ok:
		return sdk.Reject("%q is not an SMS conversation of this plugin", ev.Conversation)
	case p.cfg.Disabled:
		return sdk.Reject("this SMS line is disabled: the message was not sent")
	case p.cfg.ourNumber(ours) == "":
		return sdk.Reject("%s is no longer a number of this SMS line: the message was not sent", ours)
	case p.optOuts.has(ev.Conversation):
		return sdk.Reject("the customer opted out with STOP: nothing can be sent until they text START")
	}
	if n, ok := p.sent.get(ev.Id); ok && n == sentAll {
		return nil // the provider has it already
	}
	text, err := smsText(msg.GetContent())
	if err != nil {
		return err
	}
	if _, parts := segment(text); len(parts) > p.cfg.MaxSegments {
		return sdk.Reject("the reply needs %d SMS segments; this line sends at most %d (max_segments): shorten it", len(parts), p.cfg.MaxSegments)
	}
	err = p.adapter.send(ctx, outbound{eventID: ev.Id, key: ev.Conversation, customer: customer, ours: p.cfg.ourNumber(ours), text: text})
	if err == nil {
		p.sent.put(ev.Id, sentAll)
	}
	return err
}

// smsText is a message as an SMS shows it: plain text with links as "text (url)", and files as
// links. A file the hub holds no URL for cannot travel by SMS.
func smsText(c *pb.Content) (string, error) {
	text := c.GetText()
	if !richtext.IsEmpty("", c.GetHtml()) {
		text = richtext.ToText(c.GetHtml())
	}
	lines := []string{strings.TrimSpace(text)}
	for _, a := range c.GetAttachments() {
		switch {
		case a.GetUrl() == "":
			return "", sdk.Reject("the file %q cannot be sent by SMS: share a link to it instead", a.GetName())
		case a.GetName() == "":
			lines = append(lines, a.GetUrl())
		default:
			lines = append(lines, a.GetName()+" ("+a.GetUrl()+")")
		}
	}
	text = strings.TrimSpace(strings.Join(lines, "\n"))
	if text == "" {
		return "", sdk.Reject("the message is empty")
	}
	return text, nil
}

// refusal is why a webhook is refused: the status to answer and the reason to count.
type refusal struct {
	status  int
	reason  string // one of a small fixed set, counted as webhooks_refused
	message string
}

func refuse(status int, reason, format string, args ...any) *refusal {
	return &refusal{status: status, reason: reason, message: fmt.Sprintf(format, args...)}
}

// Reasons a webhook is refused, counted by the hub as switchboard_plugin_rejections_total.
const (
	reasonForged      = "forged_signature"
	reasonMalformed   = "malformed"
	reasonOversized   = "oversized"
	reasonUnknownNum  = "unknown_number"
	reasonDisabled    = "disabled"
	reasonUnsupported = "unsupported"
	reasonHubRefused  = "hub_refused"
)

func (p *sms) refuse(w http.ResponseWriter, r *http.Request, ref *refusal) {
	p.host.Count("webhooks_refused", ref.reason)
	p.log().Warn("SMS webhook refused", "path", r.URL.Path, "status", ref.status, "reason", ref.reason, "detail", ref.message)
	http.Error(w, ref.message, ref.status)
}

// failed answers a webhook the hub could not take: 503, so the provider sends it again.
func (p *sms) failed(w http.ResponseWriter, r *http.Request, err error) {
	if reason, refused := sdk.IsRejected(err); refused {
		p.refuse(w, r, refuse(http.StatusServiceUnavailable, reasonHubRefused, "the hub refused the message: %s", reason))
		return
	}
	p.log().Warn("SMS webhook not stored; the provider will send it again", "path", r.URL.Path, "error", err)
	w.Header().Set("Retry-After", "5")
	http.Error(w, "the message could not be stored now; send it again", http.StatusServiceUnavailable)
}

// maxWebhookBytes bounds a provider's callback: an SMS of 1600 characters and its fields fit
// many times over.
const maxWebhookBytes = 64 << 10

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *refusal) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, refuse(http.StatusRequestEntityTooLarge, reasonOversized, "the request body is over %s", sdk.SizeText(maxWebhookBytes))
	case err != nil:
		return nil, refuse(http.StatusBadRequest, reasonMalformed, "the request body could not be read: %v", err)
	}
	return body, nil
}

// nonce is 8 random hex digits.
func nonce() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}
