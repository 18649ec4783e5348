// Command faulty is the echo example with one fault, chosen by its configuration's "fault" field,
// for the kit's own tests: each fault must make the check that guards against it fail.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/switchboardhq/switchboard/sdk"
)

const configSchema = `{"type": "object", "properties": {"fault": {"type": "string"}}}`

type settings struct {
	Fault string `json:"fault"`
}

type faulty struct {
	fault string
	host  sdk.Host
	ready chan struct{}

	mu        sync.Mutex
	delivered map[string][]string
	seen      map[string]bool
}

func (f *faulty) Describe() sdk.Description {
	return sdk.Description{Name: "faulty", Version: "0.0.1", Capabilities: []string{"http"}, ConfigSchema: configSchema}
}

func (f *faulty) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s settings
	_ = json.Unmarshal(cfg.JSON, &s)
	switch err := cfg.Decode(&settings{}); {
	case err != nil && s.Fault == "rpc-config-error":
		return nil, errors.New(err.Error())
	case err != nil && s.Fault != "lax-config":
		return nil, err
	}
	if cfg.ValidateOnly {
		return nil, nil
	}
	f.fault = s.Fault
	mux := http.NewServeMux()
	mux.HandleFunc("POST /conversations/{key}/messages", f.receive)
	mux.HandleFunc("GET /conversations/{key}/messages", f.list)
	return &sdk.Configured{Handler: mux}, nil
}

func (f *faulty) Run(ctx context.Context, host sdk.Host) error {
	f.host = host
	close(f.ready)
	<-ctx.Done()
	return nil
}

func (f *faulty) receive(w http.ResponseWriter, r *http.Request) {
	<-f.ready
	key := r.PathValue("key")
	body, _ := io.ReadAll(r.Body)
	from := &sdk.Participant{Kind: sdk.AsCustomer, Id: key}
	emit := func(ctx context.Context) error {
		if err := f.host.Emit(ctx, sdk.NewConversationStarted("start:"+key, key, &sdk.ConversationStarted{})); err != nil {
			return err
		}
		return f.host.Emit(ctx, sdk.NewMessage("msg:"+key+":"+string(body), key, from, &sdk.Content{Text: string(body)}))
	}
	if f.fault == "early-confirm" {
		go emit(context.Background())
	} else if err := emit(r.Context()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (f *faulty) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	json.NewEncoder(w).Encode(append([]string{}, f.delivered[r.PathValue("key")]...))
}

func (f *faulty) Deliver(_ context.Context, ev *sdk.Event) error {
	switch f.fault {
	case "drop":
		return nil
	case "crash-on-deliver":
		os.Exit(3)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[ev.Id] {
		return nil
	}
	f.seen[ev.Id] = true
	f.delivered[ev.Conversation] = append(f.delivered[ev.Conversation], ev.GetMessage().GetContent().GetText())
	return nil
}

func main() {
	sdk.ServeChannel(&faulty{ready: make(chan struct{}), delivered: map[string][]string{}, seen: map[string]bool{}})
}
