package hub

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/core/store"
)

// The local CRM: customer records matched to chats by account number, email or phone, cases
// opened from chats, and each customer's past conversations. Every agent of a tenant may read
// and add to it.

// CustomerRecord is a CRM record as the console shows it: the customer's view with what only
// the record has.
type CustomerRecord struct {
	CustomerView
	Language  string    `json:"language,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// CaseView is a CRM case.
type CaseView struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customer_id"`
	ConversationID string    `json:"conversation_id,omitempty"`
	Subject        string    `json:"subject"`
	Notes          string    `json:"notes,omitempty"`
	Status         string    `json:"status"`
	CreatedBy      string    `json:"created_by,omitempty"`
	CreatedAt      time.Time `json:"created_at"`
}

// CustomerCard is the screen pop: the record, its cases and its latest conversations.
type CustomerCard struct {
	Customer      CustomerRecord     `json:"customer"`
	Cases         []CaseView         `json:"cases"`
	Conversations []ConversationView `json:"conversations"`
}

// CustomerFields are what an agent enters for a new customer.
type CustomerFields struct {
	Nickname      string `json:"nickname"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	Email         string `json:"email"`
	Phone         string `json:"phone"`
	AccountNumber string `json:"account_number"`
}

func (f *CustomerFields) clean() error {
	for _, p := range []*string{&f.Nickname, &f.FirstName, &f.LastName, &f.Email, &f.Phone, &f.AccountNumber} {
		*p = strings.TrimSpace(*p)
		if utf8.RuneCountInString(*p) > 200 {
			return fmt.Errorf("%w: customer fields are limited to 200 characters", ErrInvalid)
		}
	}
	if f.Nickname == "" && f.FirstName == "" && f.LastName == "" && f.Email == "" && f.Phone == "" && f.AccountNumber == "" {
		return fmt.Errorf("%w: a customer needs a name, an email, a phone number or an account number", ErrInvalid)
	}
	if f.Email != "" {
		if a, err := mail.ParseAddress(f.Email); err != nil || a.Address != f.Email {
			return fmt.Errorf("%w: %q is not an email address", ErrInvalid, f.Email)
		}
	}
	return nil
}

func customerRecord(c store.Customer) CustomerRecord {
	return CustomerRecord{CustomerView: customerView(c), Language: c.Language, CreatedAt: c.CreatedAt}
}

func caseView(c store.Case) CaseView {
	return CaseView{ID: c.ID, CustomerID: c.CustomerID, ConversationID: c.ConversationID, Subject: c.Subject, Notes: c.Notes,
		Status: string(c.Status), CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt}
}

// Customer returns a customer's card.
func (h *Hub) Customer(ctx context.Context, tenant, userID, customerID string) (CustomerCard, error) {
	if _, err := h.st.User(ctx, tenant, userID); err != nil {
		return CustomerCard{}, notFound(err)
	}
	c, err := h.st.Customer(ctx, tenant, customerID)
	if err != nil {
		return CustomerCard{}, notFound(err)
	}
	card := CustomerCard{Customer: customerRecord(c), Cases: []CaseView{}, Conversations: []ConversationView{}}
	cases, err := h.st.CustomerCases(ctx, tenant, customerID)
	if err != nil {
		return CustomerCard{}, err
	}
	for _, k := range cases {
		card.Cases = append(card.Cases, caseView(k))
	}
	convs, err := h.st.CustomerConversations(ctx, tenant, customerID, 20)
	if err != nil {
		return CustomerCard{}, err
	}
	for _, k := range convs {
		v, err := h.view(ctx, k)
		if err != nil {
			return CustomerCard{}, err
		}
		v.Prechat, v.Notes = nil, ""
		card.Conversations = append(card.Conversations, v)
	}
	return card, nil
}

// CreateCustomer makes a CRM record from the agent's chat and links the chat to it. When the
// details match an existing record (someone created it meanwhile), the chat is linked to that one.
func (h *Hub) CreateCustomer(ctx context.Context, tenant, userID, convID string, f CustomerFields) (CustomerCard, error) {
	if err := f.clean(); err != nil {
		return CustomerCard{}, err
	}
	var id string
	err := h.st.Write(ctx, func(tx store.Tx) error {
		c, err := h.ownConversation(ctx, tx, tenant, userID, convID)
		if err != nil {
			return err
		}
		if c.Kind != store.KindCustomer {
			return fmt.Errorf("%w: only customer chats have a customer", ErrInvalid)
		}
		if c.CustomerID != "" {
			return fmt.Errorf("%w: the chat already has a customer record", ErrConflict)
		}
		m := store.CustomerMatch{AccountNumber: f.AccountNumber, Email: f.Email, Phone: f.Phone}
		found, err := tx.FindCustomer(ctx, tenant, m)
		switch {
		case err == nil && m != (store.CustomerMatch{}):
			id = found.ID
		case err == nil || errors.Is(err, store.ErrNotFound):
			now := h.now()
			created, err := tx.CreateCustomer(store.Customer{TenantID: tenant, Nickname: f.Nickname, FirstName: f.FirstName,
				LastName: f.LastName, Email: f.Email, Phone: f.Phone, AccountNumber: f.AccountNumber, Language: c.Identity.Language,
				CreatedAt: now, UpdatedAt: now})
			if err != nil {
				return err
			}
			id = created.ID
		default:
			return err
		}
		c.CustomerID = id
		return tx.UpdateConversation(c)
	})
	if err != nil {
		return CustomerCard{}, notFound(err)
	}
	return h.Customer(ctx, tenant, userID, id)
}

// CreateCase opens a case for a customer, usually from the chat the agent is in.
func (h *Hub) CreateCase(ctx context.Context, tenant, userID, customerID, convID, subject, notes string) (CaseView, error) {
	subject, notes = strings.TrimSpace(subject), strings.TrimSpace(notes)
	if subject == "" || utf8.RuneCountInString(subject) > 200 || utf8.RuneCountInString(notes) > 10000 {
		return CaseView{}, fmt.Errorf("%w: a case needs a subject of up to 200 characters and notes of up to 10000", ErrInvalid)
	}
	var k store.Case
	err := h.st.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.Customer(ctx, tenant, customerID); err != nil {
			return err
		}
		if convID != "" {
			c, err := tx.Conversation(ctx, tenant, convID)
			if err != nil {
				return err
			}
			if c.CustomerID != customerID {
				return fmt.Errorf("%w: the conversation belongs to another customer", ErrInvalid)
			}
		}
		now := h.now()
		var err error
		k, err = tx.CreateCase(store.Case{TenantID: tenant, CustomerID: customerID, ConversationID: convID, Subject: subject,
			Notes: notes, Status: store.CaseOpen, CreatedBy: userID, CreatedAt: now, UpdatedAt: now})
		return err
	})
	if err != nil {
		return CaseView{}, notFound(err)
	}
	return caseView(k), nil
}
