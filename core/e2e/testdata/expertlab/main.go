// Command expertlab is a bridge whose platform is a small HTTP API, so that tests can play experts
// against the hub's side of the bridge contract without a chat server:
//
//	POST /presence  {"expert","name","state"}                    an expert's presence changes
//	POST /messages  {"id","agent","expert","name","text","html","files":[{"name","type","data"}]}
//	                an expert writes; 200 once the hub stored it, 422 with the reason if refused
//	POST /typing    {"agent","expert","active"}                  an expert types
//	POST /ended     {"id","agent","expert"}                      an expert leaves the chat
//	GET  /agents                                                 the agents' presence as the hub reported it
//	GET  /received                                               every event the hub delivered, in order
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/sdk"
)

type lab struct {
	host  sdk.Host
	ready chan struct{}

	mu       sync.Mutex
	agents   map[string]agentState
	received []received
	seen     map[string]bool
}

type agentState struct {
	Name  string    `json:"name"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// received is one event the hub delivered.
type received struct {
	ID           string `json:"id"`
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	FromKind     string `json:"from_kind,omitempty"`
	From         string `json:"from,omitempty"`
	Text         string `json:"text,omitempty"`
	HTML         string `json:"html,omitempty"`
	Active       bool   `json:"active,omitempty"`
}

func (l *lab) Describe() sdk.Description {
	return sdk.Description{Name: "expertlab", Version: "1.0.0", Summary: "Test bridge: experts over a small HTTP API",
		Capabilities: []string{"http", "presence", "typing", "attachments"},
		ConfigSchema: `{"type": "object", "additionalProperties": false, "properties": {}}`}
}

func (l *lab) Configure(_ context.Context, cfg sdk.Config) (*sdk.Configured, error) {
	var s struct{}
	if err := cfg.Decode(&s); err != nil || cfg.ValidateOnly {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /presence", l.presence)
	mux.HandleFunc("POST /messages", l.message)
	mux.HandleFunc("POST /typing", l.typing)
	mux.HandleFunc("POST /ended", l.ended)
	mux.HandleFunc("GET /agents", func(w http.ResponseWriter, _ *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		_ = json.NewEncoder(w).Encode(l.agents)
	})
	mux.HandleFunc("GET /received", func(w http.ResponseWriter, _ *http.Request) {
		l.mu.Lock()
		defer l.mu.Unlock()
		_ = json.NewEncoder(w).Encode(l.received)
	})
	return &sdk.Configured{Handler: mux}, nil
}

func (l *lab) Run(ctx context.Context, host sdk.Host) error {
	l.host = host
	close(l.ready)
	<-ctx.Done()
	return nil
}

func (l *lab) Deliver(_ context.Context, ev *sdk.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[ev.Id] {
		return nil
	}
	l.seen[ev.Id] = true
	r := received{ID: ev.Id, Conversation: ev.Conversation}
	switch {
	case ev.GetPresence() != nil:
		p := ev.GetPresence()
		l.agents[p.GetSubject().GetId()] = agentState{Name: p.GetSubject().GetDisplayName(), State: p.GetState().String(), Since: time.Now()}
		return nil
	case ev.GetMessage() != nil:
		m := ev.GetMessage()
		r.Type, r.FromKind, r.From, r.Text, r.HTML = "message", m.GetFrom().GetKind().String(), m.GetFrom().GetId(), m.GetContent().GetText(), m.GetContent().GetHtml()
	case ev.GetTyping() != nil:
		r.Type, r.From, r.Active = "typing", ev.GetTyping().GetFrom().GetId(), ev.GetTyping().GetActive()
	case ev.GetConversationStarted() != nil:
		r.Type, r.From = "started", ev.GetConversationStarted().GetInitiator().GetId()
	case ev.GetConversationEnded() != nil:
		r.Type, r.From = "ended", ev.GetConversationEnded().GetBy().GetId()
	default:
		return sdk.Reject("expertlab does not take %T", ev.Payload)
	}
	l.received = append(l.received, r)
	return nil
}

type file struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Data []byte `json:"data"`
}

type post struct {
	ID     string `json:"id"`
	Agent  string `json:"agent"`
	Expert string `json:"expert"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Text   string `json:"text"`
	HTML   string `json:"html"`
	Active bool   `json:"active"`
	Files  []file `json:"files"`
}

// emit hands ev to the hub and answers the platform: 200 once stored, 422 when refused for good.
func (l *lab) emit(w http.ResponseWriter, r *http.Request, ev *sdk.Event) {
	<-l.ready
	err := l.host.Emit(r.Context(), ev)
	if reason, ok := sdk.IsRejected(err); ok {
		http.Error(w, reason, http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func decode(w http.ResponseWriter, r *http.Request) (post, bool) {
	var p post
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return p, false
	}
	return p, true
}

func (l *lab) presence(w http.ResponseWriter, r *http.Request) {
	p, ok := decode(w, r)
	if !ok {
		return
	}
	states := map[string]sdk.PresenceState{"online": sdk.Online, "away": sdk.Away, "offline": sdk.Offline}
	l.emit(w, r, sdk.NewPresence("presence-"+p.Expert+"-"+time.Now().Format(time.RFC3339Nano), sdk.Expert(p.Expert, p.Name), states[p.State], ""))
}

func (l *lab) message(w http.ResponseWriter, r *http.Request) {
	p, ok := decode(w, r)
	if !ok {
		return
	}
	content := &sdk.Content{Text: p.Text, Html: p.HTML}
	for _, f := range p.Files {
		content.Attachments = append(content.Attachments, &sdk.Attachment{Name: f.Name, ContentType: f.Type, Size: int64(len(f.Data)), Data: f.Data})
	}
	l.emit(w, r, sdk.NewMessage(p.ID, sdk.ExpertChatKey(p.Agent, p.Expert), sdk.Expert(p.Expert, p.Name), content))
}

func (l *lab) typing(w http.ResponseWriter, r *http.Request) {
	p, ok := decode(w, r)
	if !ok {
		return
	}
	l.emit(w, r, sdk.NewTyping("typing-"+time.Now().Format(time.RFC3339Nano), sdk.ExpertChatKey(p.Agent, p.Expert), sdk.Expert(p.Expert, p.Name), p.Active))
}

func (l *lab) ended(w http.ResponseWriter, r *http.Request) {
	p, ok := decode(w, r)
	if !ok {
		return
	}
	l.emit(w, r, sdk.NewConversationEnded(p.ID, sdk.ExpertChatKey(p.Agent, p.Expert), sdk.Expert(p.Expert, p.Name), "left"))
}

func main() {
	sdk.ServeBridge(&lab{ready: make(chan struct{}), agents: map[string]agentState{}, seen: map[string]bool{}})
}
