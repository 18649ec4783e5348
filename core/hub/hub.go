// Package hub is the core's conversation service: it applies what plugins report to the store,
// asks routing who gets each waiting conversation, carries agents' actions back out through the
// durable outbox, and pushes live updates to agents' consoles. Every write that must reach a
// plugin goes through the outbox in the same transaction; it never sends to a plugin directly.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/auth"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
	pb "github.com/switchboardhq/switchboard/sdk/proto/switchboard/v1"
)

// Errors the console maps to HTTP statuses.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	ErrInvalid   = errors.New("invalid")
)

// Plugins is what the hub needs of the plugin host.
type Plugins interface {
	// Notify says the instance has new outbox events.
	Notify(instance string)
	// Signal sends an event that is not worth storing (typing) if the instance is connected.
	Signal(instance string, ev *pb.Event) bool
}

// Hub is the conversation service.
type Hub struct {
	cfg     *config.Config
	st      store.Store
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	bus     *bus
	plugins Plugins
	kick    chan struct{}

	mu     sync.Mutex // guards router and queues
	router *routing.Router
	queues map[routing.Key]*config.Queue // current settings of every queue

	carryMu sync.Mutex                  // serializes carrying out decisions; guards the maps below
	offers  map[routing.Key]offer       // pending offer by agent
	parked  map[routing.Key]routing.Key // conversations whose queue was closed, by conversation
	// positions is the place in line each waiting customer was last told.
	positions map[routing.Key]int
	// breaches counts SLA breaches by queue since the hub started.
	breaches map[routing.Key]int

	experts  *experts // connected bridges and the experts they report
	channels channels // customer channels of the connected plugins, for metrics
}

// Options configure a Hub.
type Options struct {
	Config  *config.Config
	Store   store.Store
	Logger  *slog.Logger
	Metrics *Metrics
	Now     func() time.Time
}

// New builds a hub; SetPlugins, Provision and Recover must run before Run.
func New(opts Options) (*Hub, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	router := routing.NewRouter()
	queues := map[routing.Key]*config.Queue{}
	for _, t := range opts.Config.Tenants {
		for _, q := range t.Queues {
			if _, err := router.SetQueue(queueConfig(t.ID, q), now()); err != nil {
				return nil, fmt.Errorf("tenants.%s.queues.%s: %w", t.ID, q.ID, err)
			}
			queues[routing.Key{Tenant: t.ID, ID: q.ID}] = &q
		}
	}
	opts.Metrics.m.prepare(opts.Config)
	h := &Hub{
		cfg:       opts.Config,
		st:        opts.Store,
		log:       opts.Logger,
		metrics:   opts.Metrics.m,
		now:       now,
		bus:       newBus(),
		kick:      make(chan struct{}, 1),
		router:    router,
		queues:    queues,
		offers:    map[routing.Key]offer{},
		parked:    map[routing.Key]routing.Key{},
		positions: map[routing.Key]int{},
		breaches:  map[routing.Key]int{},
		experts:   newExperts(),
	}
	if err := opts.Metrics.reg.Register(liveCollector{h}); err != nil {
		return nil, fmt.Errorf("register routing metrics: %w", err)
	}
	return h, nil
}

// SetPlugins connects the hub to the plugin host (which is built after the hub, as it needs
// the hub as its handler).
func (h *Hub) SetPlugins(p Plugins) { h.plugins = p }

// Provision writes the configured tenants, groups, queues and users to the store. Users without
// a configured password get a fresh random one, returned so it can be shown at start-up.
func (h *Hub) Provision(ctx context.Context) (generated map[string]string, err error) {
	generated = map[string]string{}
	for _, t := range h.cfg.Tenants {
		type pw struct{ user, hash string }
		var hashes []pw
		for _, u := range t.Users {
			password := u.Password
			if password == "" {
				password = auth.NewPassword()
				generated[t.ID+"/"+u.Username] = password
			}
			hash, err := auth.HashPassword(password)
			if err != nil {
				return nil, err
			}
			hashes = append(hashes, pw{u.Username, hash})
		}
		err := h.st.Write(ctx, func(tx store.Tx) error {
			if err := tx.UpsertTenant(store.Tenant{ID: t.ID, Name: t.Name}); err != nil {
				return err
			}
			for _, g := range t.Groups {
				if err := tx.UpsertGroup(store.Group{TenantID: t.ID, ID: g.ID, Name: g.Name}); err != nil {
					return err
				}
			}
			for _, q := range t.Queues {
				if err := tx.UpsertQueue(store.Queue{TenantID: t.ID, ID: q.ID, Name: q.Name, GroupID: q.Group}); err != nil {
					return err
				}
			}
			for i, u := range t.Users {
				stored, err := tx.UpsertUser(store.User{
					TenantID: t.ID, Username: u.Username, DisplayName: u.DisplayName, Email: u.Email,
					Role: store.Role(u.Role), Scope: store.Scope(u.Scope), GroupID: u.Group, Queues: u.Queues, MaxChats: u.MaxChats,
					PrimaryLanguage: u.PrimaryLanguage, SecondaryLanguages: u.SecondaryLanguages,
				})
				if err != nil {
					return err
				}
				if err := tx.SetUserPassword(t.ID, stored.ID, hashes[i].hash); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("provision tenant %q: %w", t.ID, err)
		}
	}
	return generated, nil
}

// Recover rebuilds routing state from the store after a start: agents with their states,
// assigned chats and waiting conversations (their pending offers are made anew).
func (h *Hub) Recover(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.cfg.Tenants {
		users, err := h.st.Users(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("recover users of %q: %w", t.ID, err)
		}
		for _, u := range users {
			if u.Role == store.RoleAdmin {
				continue
			}
			if err := h.router.RestoreAgent(agentConfig(u), routingState(u.State), u.StateSince, time.Time{}); err != nil {
				return fmt.Errorf("recover agent %s/%s: %w", t.ID, u.Username, err)
			}
		}
		convs, err := h.st.OpenConversations(ctx, t.ID)
		if err != nil {
			return fmt.Errorf("recover conversations of %q: %w", t.ID, err)
		}
		for _, c := range convs {
			conv := routing.Key{Tenant: t.ID, ID: c.ID}
			queue := routing.Key{Tenant: t.ID, ID: c.QueueID}
			switch c.State {
			case store.ConvQueued:
				err = h.router.RestoreWaiting(routing.Arrival{Conversation: conv, Queue: queue, Language: c.Language,
					Channel: c.Channel, Priority: h.priority(t.ID, c.QueueID)}, c.EnteredQueueAt)
			case store.ConvActive, store.ConvWrapUp:
				err = h.router.RestoreChat(routing.StoredChat{Conversation: conv, Queue: queue,
					Agent: routing.Key{Tenant: t.ID, ID: c.AgentID}, Language: c.Language, Channel: c.Channel, Entered: c.EnteredQueueAt,
					Priority: h.priority(t.ID, c.QueueID),
					WrapUp:   c.State == store.ConvWrapUp, WrapUpSince: c.EndedAt, Answered: true})
			}
			if err != nil {
				h.log.Warn("conversation not restored to routing", "conversation", c.ID, "error", err)
			}
		}
	}
	h.kickRouting()
	return nil
}

func (h *Hub) offerView(ctx context.Context, o offer) (*OfferView, error) {
	c, err := h.st.Conversation(ctx, o.Conversation.Tenant, o.Conversation.ID)
	if err != nil {
		return nil, err
	}
	cv, err := h.view(ctx, c)
	if err != nil {
		return nil, err
	}
	now := h.now()
	return &OfferView{Conversation: cv, ExpiresAt: o.Expires, ExpiresInMs: max(0, o.Expires.Sub(now).Milliseconds()),
		WaitedMs: max(0, now.Sub(c.EnteredQueueAt).Milliseconds())}, nil
}

// view builds the console's view of a conversation: the customer as the CRM record has them, or
// as they introduced themselves when no record matched, and the agent's name.
func (h *Hub) view(ctx context.Context, c store.Conversation) (ConversationView, error) {
	parts, err := h.st.Participants(ctx, c.TenantID, c.ID)
	if err != nil {
		return ConversationView{}, err
	}
	return h.viewOf(ctx, c, parts)
}

// viewOf is view with the conversation's participants already loaded.
func (h *Hub) viewOf(ctx context.Context, c store.Conversation, parts []store.Participant) (ConversationView, error) {
	id := c.Identity
	cust := CustomerView{Nickname: id.Nickname, FirstName: id.FirstName, LastName: id.LastName, Email: id.Email,
		Phone: id.Phone, AccountNumber: id.AccountNumber}
	if c.CustomerID != "" {
		rec, err := h.st.Customer(ctx, c.TenantID, c.CustomerID)
		switch {
		case err == nil:
			cust = customerView(rec)
			cust.DisplayName = ""
		case !errors.Is(err, store.ErrNotFound):
			return ConversationView{}, err
		}
	}
	var agentName string
	for _, p := range parts {
		switch {
		case p.Kind == store.PartCustomer && p.DisplayName != "":
			cust.DisplayName = p.DisplayName
		case p.Kind == store.PartAgent && p.RefID == c.AgentID:
			agentName = p.DisplayName
		}
	}
	if cust.DisplayName == "" {
		cust.DisplayName = displayName(cust.Nickname, cust.FirstName, cust.LastName, cust.Email)
	}
	if cust.DisplayName == "" {
		cust.DisplayName = cust.Phone // an SMS customer is known by their number
	}
	if cust.DisplayName == "" && c.Kind == store.KindCustomer {
		// An unknown customer is named by the conversation's transaction id.
		cust.DisplayName = "Transaction " + shortID(c.ID)
	}
	v := conversationView(c, cust)
	v.AgentName = agentName
	return v, nil
}

// withSLA adds whether the customer waits for a reply, and since when. It takes h.mu, so it must
// not run while decisions are carried out (h.carryMu is held then): only request paths call it.
func (h *Hub) withSLA(tenant string, v ConversationView) ConversationView {
	if v.State != string(store.ConvActive) {
		return v
	}
	h.mu.Lock()
	wait, ok := h.router.ResponseWait(routing.Key{Tenant: tenant, ID: v.ID})
	h.mu.Unlock()
	if ok && wait.Waiting {
		v.WaitingSince, v.PastSLA = timePtr(wait.Since), wait.Breached
	}
	return v
}

func displayName(nickname, first, last, email string) string {
	switch {
	case nickname != "":
		return nickname
	case first != "" || last != "":
		if first != "" && last != "" {
			return first + " " + last
		}
		return first + last
	default:
		return email
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// Subscribe registers a console connection for a user's pushes.
func (h *Hub) Subscribe(tenant, userID string) *Subscription { return h.bus.subscribe(tenant, userID) }
