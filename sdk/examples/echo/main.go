// Command echo is the smallest complete Switchboard channel plugin: copy it to start one. Its
// platform is a tiny HTTP API on the SDK's loopback listener, where a real plugin has webhooks:
//
//	POST /conversations/{key}/messages  a customer writes (body = text; optional Idempotency-Key
//	                                    header); 202 once the hub stored the message
//	GET  /conversations/{key}/messages  the agents' texts delivered so far, as a JSON array
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/switchboardhq/switchboard/sdk"
	"github.com/switchboardhq/switchboard/sdk/richtext"
)

const configSchema = `{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
  "additionalProperties": false, "properties": {
    "queue": {"type": "string", "description": "Queue for new conversations; empty = the tenant's default queue"}}}`

// settings is the instance configuration.
type settings struct {
	Queue string `json:"queue"`
}

type echo struct {
	cfg   settings
	host  sdk.Host
	ready chan struct{} // closed once Run has the host

	mu        sync.Mutex
	started   map[string]bool     // conversations the hub has stored
	delivered map[string][]string // agents' texts per conversation, the platform's state
	seen      map[string]bool     // outbound event ids already delivered
}

func (e *echo) Describe() sdk.Description {
	return sdk.Description{Name: "echo", Version: "1.0.0", Summary: "Example channel: customers and agents meet over a tiny HTTP API",
		Capabilities: []string{"http"}, ConfigSchema: configSchema}
}

func (e *echo) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	if err := cfg.Decode(&s); err != nil {
		return nil, err // field errors name the bad field
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	e.cfg = s
	mux := http.NewServeMux()
	mux.HandleFunc("POST /conversations/{key}/messages", e.receive)
	mux.HandleFunc("GET /conversations/{key}/messages", e.list)
	return &sdk.Configured{Handler: mux}, nil
}

func (e *echo) Run(ctx context.Context, host sdk.Host) error {
	e.host = host
	close(e.ready)
	<-ctx.Done()
	return nil
}

// receive is the platform's webhook. It answers 202 only once the hub stored the message: on any
// other answer the platform sends it again, and its Idempotency-Key lets the hub drop repeats.
func (e *echo) receive(w http.ResponseWriter, r *http.Request) {
	select {
	case <-e.ready:
	default:
		http.Error(w, "starting; send it again", http.StatusServiceUnavailable)
		return
	}
	key := r.PathValue("key")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	text := strings.TrimSpace(string(body))
	if err != nil || text == "" {
		http.Error(w, "the body must be the message text, at most 16 KiB", http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	known := e.started[key]
	e.mu.Unlock()
	if !known {
		started := &sdk.ConversationStarted{Queue: e.cfg.Queue, Customer: &sdk.Customer{Address: key}}
		if !e.emit(w, r, sdk.NewConversationStarted("start:"+key, key, started)) {
			return
		}
		e.mu.Lock()
		e.started[key] = true
		e.mu.Unlock()
	}
	id := r.Header.Get("Idempotency-Key") // the platform's own id collapses its retries
	if id == "" {
		id = rand.Text()
	}
	from := &sdk.Participant{Kind: sdk.AsCustomer, Id: key}
	// Untrusted text becomes safe HTML here, at the edge that receives it.
	content := &sdk.Content{Text: text, Html: richtext.FromText(text)}
	if e.emit(w, r, sdk.NewMessage("msg:"+key+":"+id, key, from, content)) {
		w.WriteHeader(http.StatusAccepted)
	}
}

// emit hands an event to the hub and answers the platform when the hub did not take it.
func (e *echo) emit(w http.ResponseWriter, r *http.Request, ev *sdk.Event) bool {
	err := e.host.Emit(r.Context(), ev)
	if reason, ok := sdk.IsRejected(err); ok {
		http.Error(w, reason, http.StatusUnprocessableEntity)
		return false
	}
	if err != nil {
		http.Error(w, "the hub did not store the message; send it again", http.StatusServiceUnavailable)
		return false
	}
	return true
}

func (e *echo) list(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	texts := append([]string{}, e.delivered[r.PathValue("key")]...)
	e.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(texts)
}

// Deliver is where a real plugin calls its platform's send API, passing ev.Id as the idempotency
// key: the hub resends events it has no ack for.
func (e *echo) Deliver(_ context.Context, ev *sdk.Event) error {
	msg := ev.GetMessage()
	if msg == nil {
		return nil // this platform shows messages only
	}
	text, _ := richtext.Normalize(msg.GetContent().GetText(), msg.GetContent().GetHtml())
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.seen[ev.Id] {
		e.seen[ev.Id] = true
		e.delivered[ev.Conversation] = append(e.delivered[ev.Conversation], text)
	}
	return nil
}

func main() {
	sdk.ServeChannel(&echo{ready: make(chan struct{}), started: map[string]bool{}, delivered: map[string][]string{}, seen: map[string]bool{}})
}
