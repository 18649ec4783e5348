package hub

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/config"
	"github.com/switchboardhq/switchboard/core/routing"
	"github.com/switchboardhq/switchboard/core/store"
)

// QueueSettings are a queue's routing settings an admin may change at run time. Absent fields
// keep their value. Changes last until the next start: lasting ones belong in the configuration.
type QueueSettings struct {
	OfferTimeout        *string `json:"offer_timeout,omitempty"`
	FirstResponseTarget *string `json:"first_response_target,omitempty"`
	ResponseTarget      *string `json:"response_target,omitempty"`
	WrapUpTimeout       *string `json:"wrap_up_timeout,omitempty"`
	MaxWait             *string `json:"max_wait,omitempty"`
	LanguageWait        *string `json:"language_wait,omitempty"`
	OverflowQueue       *string `json:"overflow_queue,omitempty"`
	Strategy            *string `json:"strategy,omitempty"`
	AutoAccept          *bool   `json:"auto_accept,omitempty"`
	AllowTranslation    *bool   `json:"allow_translation,omitempty"`
	MissedOffersLimit   *int    `json:"missed_offers_limit,omitempty"`
}

// AgentSettings are an agent's routing settings an admin may change at run time. Absent fields
// keep their value; they are stored until the configuration provisions the user again at start.
type AgentSettings struct {
	MaxChats           *int      `json:"max_chats,omitempty"`
	Queues             *[]string `json:"queues,omitempty"`
	PrimaryLanguage    *string   `json:"primary_language,omitempty"`
	SecondaryLanguages *[]string `json:"secondary_languages,omitempty"`
}

func (h *Hub) requireAdmin(ctx context.Context, tenant, userID string) error {
	u, err := h.st.User(ctx, tenant, userID)
	if err != nil {
		return notFound(err)
	}
	if u.Role != store.RoleAdmin {
		return fmt.Errorf("%w: only admins change routing settings", ErrForbidden)
	}
	return nil
}

// SetQueueSettings applies an admin's change of a queue's routing settings.
func (h *Hub) SetQueueSettings(ctx context.Context, tenant, adminID, queueID string, s QueueSettings) error {
	if err := h.requireAdmin(ctx, tenant, adminID); err != nil {
		return err
	}
	t := h.cfg.Tenant(tenant)
	if t == nil || t.Queue(queueID) == nil {
		return fmt.Errorf("%w: no queue %q in this tenant", ErrNotFound, queueID)
	}
	h.mu.Lock()
	q := *h.queues[routing.Key{Tenant: tenant, ID: queueID}]
	h.mu.Unlock()
	durations := []struct {
		name string
		in   *string
		out  *config.Duration
		min  time.Duration
		max  time.Duration
	}{
		{"offer_timeout", s.OfferTimeout, &q.OfferTimeout, 5 * time.Second, 10 * time.Minute},
		{"first_response_target", s.FirstResponseTarget, &q.FirstResponseTarget, time.Second, 24 * time.Hour},
		{"response_target", s.ResponseTarget, &q.ResponseTarget, time.Second, 24 * time.Hour},
		{"wrap_up_timeout", s.WrapUpTimeout, &q.WrapUpTimeout, 0, time.Hour},
		{"max_wait", s.MaxWait, &q.MaxWait, 0, 24 * time.Hour},
		{"language_wait", s.LanguageWait, &q.LanguageWait, 0, 24 * time.Hour},
	}
	for _, d := range durations {
		if d.in == nil {
			continue
		}
		v, err := time.ParseDuration(*d.in)
		if err != nil || v < d.min || v > d.max {
			return fmt.Errorf("%w: %s must be a duration from %s to %s, not %q", ErrInvalid, d.name, d.min, d.max, *d.in)
		}
		d.out.Duration = v
	}
	if s.OverflowQueue != nil {
		if *s.OverflowQueue != "" && (*s.OverflowQueue == queueID || t.Queue(*s.OverflowQueue) == nil) {
			return fmt.Errorf("%w: overflow_queue must name another queue of this tenant", ErrInvalid)
		}
		q.OverflowQueue = *s.OverflowQueue
	}
	if s.Strategy != nil {
		if *s.Strategy != "longest_waiting" && *s.Strategy != "least_busy" {
			return fmt.Errorf("%w: strategy must be longest_waiting or least_busy", ErrInvalid)
		}
		q.Strategy = *s.Strategy
	}
	if s.MissedOffersLimit != nil {
		if *s.MissedOffersLimit < 1 || *s.MissedOffersLimit > 100 {
			return fmt.Errorf("%w: missed_offers_limit must be between 1 and 100", ErrInvalid)
		}
		q.MissedOffersLimit = *s.MissedOffersLimit
	}
	if s.AutoAccept != nil {
		q.AutoAccept = *s.AutoAccept
	}
	if s.AllowTranslation != nil {
		q.AllowTranslation = *s.AllowTranslation
	}
	err := h.decide(ctx, evQueueSettings, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		ds, err := r.SetQueue(queueConfig(tenant, q), now)
		if err == nil {
			h.queues[routing.Key{Tenant: tenant, ID: queueID}] = &q
		}
		return ds, err
	})
	if err != nil {
		return routingError(err)
	}
	h.log.Info("queue settings changed", "tenant", tenant, "queue", queueID, "by", adminID)
	return nil
}

// SetAgentSettings applies an admin's change of an agent's capacity, queues or languages.
func (h *Hub) SetAgentSettings(ctx context.Context, tenant, adminID, username string, s AgentSettings) (UserView, error) {
	if err := h.requireAdmin(ctx, tenant, adminID); err != nil {
		return UserView{}, err
	}
	u, err := h.st.UserByUsername(ctx, tenant, username)
	if err != nil {
		return UserView{}, fmt.Errorf("%w: no user %q in this tenant", ErrNotFound, username)
	}
	t := h.cfg.Tenant(tenant)
	if s.MaxChats != nil {
		u.MaxChats = *s.MaxChats
	}
	if s.Queues != nil {
		for _, q := range *s.Queues {
			if t == nil || t.Queue(q) == nil {
				return UserView{}, fmt.Errorf("%w: no queue %q in this tenant", ErrInvalid, q)
			}
		}
		u.Queues = *s.Queues
	}
	if s.PrimaryLanguage != nil {
		u.PrimaryLanguage = *s.PrimaryLanguage
	}
	if s.SecondaryLanguages != nil {
		u.SecondaryLanguages = *s.SecondaryLanguages
	}
	if u.MaxChats < 1 || u.MaxChats > 6 {
		return UserView{}, fmt.Errorf("%w: max_chats must be between 1 and 6", ErrInvalid)
	}
	// The engine checks first, so a refused change leaves both it and the store as they were.
	err = h.decide(ctx, evAgentSettings, func(r *routing.Router, now time.Time) ([]routing.Decision, error) {
		return r.SetAgent(agentConfig(u), now)
	})
	if err != nil {
		return UserView{}, routingError(err)
	}
	var stored store.User
	err = h.st.Write(ctx, func(tx store.Tx) error {
		u.PasswordHash = "" // keep the password
		var err error
		stored, err = tx.UpsertUser(u)
		return err
	})
	if err != nil {
		return UserView{}, err
	}
	h.log.Info("agent settings changed", "tenant", tenant, "agent", username, "by", adminID)
	return NewUserView(stored), nil
}
