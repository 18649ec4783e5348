package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchboardhq/switchboard/sdk"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

// maxBodyBytes bounds a webhook request. Platforms batch events, but a batch of text events stays
// far below this; media travel by reference, never in the webhook.
const maxBodyBytes = 2 << 20

// Counter names and reasons reported with host.Count (switchboard_plugin_rejections_total).
const (
	refusedInbound  = "inbound_refused"  // forged_secret, forged_signature, forged_verify_token, malformed, oversized, unknown_recipient, disabled
	refusedMedia    = "media_refused"    // oversized, unavailable
	refusedMessages = "messages_refused" // hub: the hub refused a customer's message for good
)

// inbound is one customer message, ready for the hub.
type inbound struct {
	key   string // conversation key
	id    string // event id, derived from the platform's message id
	at    time.Time
	text  string
	files []*sdk.Attachment
	// customer says who wrote; it is called once per message (adapters cache what costs a call).
	customer func(ctx context.Context) *pb.Customer
}

// receive hands a customer's message to the hub, starting the conversation first when the
// instance does not know it open. It returns nil once the hub stored the message or refused it
// for good (a platform retry would not help), an error when the platform must send it again.
func (p *social) receive(ctx context.Context, in inbound) error {
	if p.seen.Has(in.id) {
		return nil
	}
	unlock := p.convs.lock(in.key)
	defer unlock()
	if p.seen.Has(in.id) {
		return nil
	}
	if strings.TrimSpace(in.text) == "" && len(in.files) == 0 {
		p.seen.Add(in.id) // only refused media: nothing for the agent
		return nil
	}
	cust := in.customer(ctx)
	started, refused, err := p.start(ctx, in, cust)
	if err != nil || refused {
		return err
	}
	text := strings.TrimSpace(in.text)
	content := &pb.Content{Text: text, Html: richtext.FromText(text), Attachments: in.files}
	msg := sdk.NewMessage(in.id, in.key, &pb.Participant{Kind: sdk.AsCustomer, Id: cust.GetAddress(), DisplayName: displayName(cust)}, content)
	if !in.at.IsZero() {
		msg.Time = timestamppb.New(in.at)
	}
	err = p.host.Emit(ctx, msg)
	if _, again := sdk.IsRejected(err); again && !started {
		// The hub may have closed the conversation without this process hearing of it: start a
		// new one and try once more.
		p.convs.ended(in.key)
		if _, refused, err = p.start(ctx, in, cust); err != nil || refused {
			return err
		}
		err = p.host.Emit(ctx, msg)
	}
	switch reason, refused := sdk.IsRejected(err); {
	case refused:
		p.refusedByHub(in, "message", reason)
	case err != nil:
		return err
	default:
		p.seen.Add(in.id)
	}
	if p.windows != nil {
		// The platform opened the window whatever the hub made of the message.
		p.recordWindow(in.key, in.at)
	}
	return nil
}

// start emits conversation_started when the conversation is not known open. It reports whether
// it started one, whether the hub refused it for good (the message is then done), or an error
// to have the platform send the message again.
func (p *social) start(ctx context.Context, in inbound, cust *pb.Customer) (started, refused bool, err error) {
	if p.convs.isOpen(in.key) {
		return false, false, nil
	}
	ev := sdk.NewConversationStarted("start:"+in.id, in.key, &pb.ConversationStarted{
		Customer: cust, Queue: p.cfg.DefaultQueue, Origin: p.platform(), Channel: p.cfg.Adapter})
	err = p.host.Emit(ctx, ev)
	if reason, ok := sdk.IsRejected(err); ok {
		p.refusedByHub(in, "conversation", reason)
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	p.convs.opened(in.key)
	return true, false, nil
}

func (p *social) refusedByHub(in inbound, what, reason string) {
	p.seen.Add(in.id)
	p.count(refusedMessages, "hub")
	p.log().Error("the hub refused a customer's "+what+"; the platform is told it arrived, since sending it again would not help",
		"event", in.id, "conversation", in.key, "reason", reason)
}

// recordWindow remembers when the customer last wrote: the platform's time of the message, or
// now if that is later than our clock (a skewed clock must not stretch the window).
func (p *social) recordWindow(key string, at time.Time) {
	now := p.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	if err := p.windows.wrote(key, at); err != nil {
		p.log().Error("the customer's last message time was not saved: after a restart the platform decides on the 24-hour window", "error", err)
		p.problem("state_dir", err)
		return
	}
	p.problem("state_dir", nil)
}

// receipt reports what the platform did with one of our messages.
func (p *social) receipt(ctx context.Context, key, id, eventID string, status pb.DeliveryStatus, reason string) error {
	if p.seen.Has(id) {
		return nil
	}
	err := p.host.Emit(ctx, sdk.NewDeliveryReceipt(id, key, eventID, status, reason))
	if _, refused := sdk.IsRejected(err); refused {
		p.seen.Add(id) // e.g. the conversation is closed: nobody to show it to
		return nil
	}
	if err != nil {
		return err
	}
	p.seen.Add(id)
	return nil
}

func displayName(c *pb.Customer) string {
	if name := strings.TrimSpace(c.GetFirstName() + " " + c.GetLastName()); name != "" {
		return name
	}
	if c.GetNickname() != "" {
		return c.GetNickname()
	}
	return c.GetAddress()
}

// refusal is why a webhook request is refused: the status, the counter reason, the message.
type refusal struct {
	status  int
	reason  string
	message string
}

func (r *refusal) Error() string { return r.message }

func refuse(status int, reason, message string) *refusal {
	return &refusal{status: status, reason: reason, message: message}
}

// webhook wraps a platform's handler: 503 until Run has the host, 410 when the instance is
// disabled, and a refusal answered with its status and counted.
func (p *social) webhook(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-p.ready:
		default:
			http.Error(w, "starting; send it again", http.StatusServiceUnavailable)
			return
		}
		if !p.cfg.enabled {
			p.refuse(w, refuse(http.StatusGone, "disabled", "this channel is disabled"))
			return
		}
		err := h(w, r)
		var ref *refusal
		switch {
		case err == nil:
		case errors.As(err, &ref):
			p.refuse(w, ref)
		default:
			// Not stored: the platform sends it again.
			p.log().Warn("webhook not handled; the platform will send it again", "error", err)
			http.Error(w, "the update could not be handled now; send it again", http.StatusServiceUnavailable)
		}
	}
}

func (p *social) refuse(w http.ResponseWriter, r *refusal) {
	p.count(refusedInbound, r.reason)
	p.log().Warn("webhook refused", "reason", r.reason, "detail", r.message)
	http.Error(w, r.message, r.status)
}

// readBody reads a webhook body, refusing it past maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, refuse(http.StatusRequestEntityTooLarge, "oversized", "the body is over 2 MiB")
	}
	if err != nil {
		return nil, refuse(http.StatusBadRequest, "malformed", "the body could not be read")
	}
	return body, nil
}

// conversations knows which conversations are open (as far as this process heard) and serializes
// the handling of each conversation's messages.
type conversations struct {
	mu    sync.Mutex
	open  map[string]bool
	locks map[string]*keyLock
}

type keyLock struct {
	mu    sync.Mutex
	users int
}

func newConversations() *conversations {
	return &conversations{open: map[string]bool{}, locks: map[string]*keyLock{}}
}

// lock holds the conversation's lane until the returned function is called.
func (c *conversations) lock(key string) (unlock func()) {
	c.mu.Lock()
	l := c.locks[key]
	if l == nil {
		l = &keyLock{}
		c.locks[key] = l
	}
	l.users++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		if l.users--; l.users == 0 {
			delete(c.locks, key)
		}
		c.mu.Unlock()
	}
}

func (c *conversations) isOpen(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open[key]
}

func (c *conversations) opened(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open[key] = true
}

func (c *conversations) ended(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.open, key)
}
