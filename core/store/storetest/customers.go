package storetest

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/core/store"
)

func testCustomers(t *testing.T, e *env) {
	const ten = "acme"
	before := time.Now().Add(-time.Second)
	var made, given store.Customer
	e.write(func(tx store.Tx) (err error) {
		made, err = tx.CreateCustomer(store.Customer{TenantID: ten, Nickname: "Ann", Email: "ann@x.test"})
		if err != nil {
			return err
		}
		given, err = tx.CreateCustomer(store.Customer{TenantID: ten, ID: "cust-7", FirstName: "Ben",
			LastName: "Bo", Phone: "+4912345", AccountNumber: "A-7", Language: "de", CreatedAt: at(0), UpdatedAt: at(1)})
		return err
	})
	if made.ID == "" || made.CreatedAt.Before(before) || made.UpdatedAt.IsZero() {
		t.Errorf("CreateCustomer: want a fresh id and times set to now, got %+v", made)
	}
	got, err := e.s.Customer(e.ctx, ten, made.ID)
	noErr(t, "Customer", err)
	if got.ID != made.ID || got.Nickname != "Ann" || !got.CreatedAt.Equal(made.CreatedAt) {
		t.Errorf("Customer: got %+v, want %+v", got, made)
	}
	want := store.Customer{TenantID: ten, ID: "cust-7", FirstName: "Ben", LastName: "Bo", Phone: "+4912345",
		AccountNumber: "A-7", Language: "de", CreatedAt: at(0), UpdatedAt: at(1)}
	equal(t, "CreateCustomer with id", given, want)
	got, err = e.s.Customer(e.ctx, ten, "cust-7")
	noErr(t, "Customer", err)
	equal(t, "Customer(cust-7)", got, want)

	err = e.writeErr(func(tx store.Tx) error {
		_, err := tx.CreateCustomer(store.Customer{TenantID: ten, ID: "cust-7"})
		return err
	})
	isErr(t, "CreateCustomer with a taken id", err, store.ErrConflict)

	want.Nickname, want.Email, want.UpdatedAt = "Benny", "ben@x.test", at(50)
	e.write(func(tx store.Tx) error { return tx.UpdateCustomer(want) })
	got, err = e.s.Customer(e.ctx, ten, "cust-7")
	noErr(t, "Customer", err)
	equal(t, "updated customer", got, want)

	err = e.writeErr(func(tx store.Tx) error {
		return tx.UpdateCustomer(store.Customer{TenantID: ten, ID: "ghost"})
	})
	isErr(t, "UpdateCustomer(ghost)", err, store.ErrNotFound)
	_, err = e.s.Customer(e.ctx, ten, "ghost")
	isErr(t, "Customer(ghost)", err, store.ErrNotFound)
}

func testFindCustomerOrder(t *testing.T, e *env) {
	const ten = "acme"
	e.write(func(tx store.Tx) error {
		for _, c := range []store.Customer{
			{TenantID: ten, ID: "by-account", AccountNumber: "ACC-1", Email: "other@x.test", CreatedAt: at(0)},
			{TenantID: ten, ID: "by-email", Email: "Mixed.Case@X.test", Phone: "+100", CreatedAt: at(1)},
			{TenantID: ten, ID: "by-phone", Phone: "+200", CreatedAt: at(2)},
		} {
			if _, err := tx.CreateCustomer(c); err != nil {
				return err
			}
		}
		return nil
	})
	cases := []struct {
		name  string
		match store.CustomerMatch
		want  string // customer id; "" means ErrNotFound
	}{
		{"account first", store.CustomerMatch{AccountNumber: "ACC-1", Email: "mixed.case@x.test", Phone: "+200"}, "by-account"},
		{"email before phone", store.CustomerMatch{Email: "mixed.case@x.test", Phone: "+200"}, "by-email"},
		{"email ignores case", store.CustomerMatch{Email: "MIXED.CASE@x.TEST"}, "by-email"},
		{"unknown account falls through to email", store.CustomerMatch{AccountNumber: "nope", Email: "mixed.case@x.test"}, "by-email"},
		{"unknown email falls through to phone", store.CustomerMatch{Email: "nope@x.test", Phone: "+200"}, "by-phone"},
		{"phone", store.CustomerMatch{Phone: "+100"}, "by-email"},
		{"nothing matches", store.CustomerMatch{AccountNumber: "nope", Email: "nope@x.test", Phone: "+999"}, ""},
		{"empty match", store.CustomerMatch{}, ""},
	}
	for _, tc := range cases {
		c, err := e.s.FindCustomer(e.ctx, ten, tc.match)
		if tc.want == "" {
			isErr(t, tc.name, err, store.ErrNotFound)
			continue
		}
		if err != nil || c.ID != tc.want {
			t.Errorf("%s: FindCustomer(%+v) = %q, %v; want %q", tc.name, tc.match, c.ID, err, tc.want)
		}
	}
}

func testCases(t *testing.T, e *env) {
	const ten = "acme"
	before := time.Now().Add(-time.Second)
	var made store.Case
	e.write(func(tx store.Tx) (err error) {
		made, err = tx.CreateCase(store.Case{TenantID: ten, CustomerID: "cust-1", Subject: "no refund yet",
			Status: store.CaseOpen})
		return err
	})
	if made.ID == "" || made.CreatedAt.Before(before) || !made.UpdatedAt.Equal(made.CreatedAt) {
		t.Errorf("CreateCase: want a fresh id and times set to now, got %+v", made)
	}

	full := store.Case{TenantID: ten, ID: "case-7", CustomerID: "cust-1", ConversationID: "conv-3",
		Subject: "broken screen", Notes: "sent a courier", Status: store.CaseClosed, CreatedBy: "agent-1",
		CreatedAt: at(20), UpdatedAt: at(25)}
	var given store.Case
	e.write(func(tx store.Tx) (err error) {
		for _, c := range []store.Case{
			{TenantID: ten, ID: "case-old", CustomerID: "cust-1", Subject: "old", CreatedAt: at(-20)},
			{TenantID: ten, ID: "case-other", CustomerID: "cust-2", Subject: "not Ann's", CreatedAt: at(30)},
		} {
			if _, err := tx.CreateCase(c); err != nil {
				return err
			}
		}
		given, err = tx.CreateCase(full)
		return err
	})
	equal(t, "CreateCase with id", given, full)

	err := e.writeErr(func(tx store.Tx) error {
		_, err := tx.CreateCase(store.Case{TenantID: ten, ID: "case-7", CustomerID: "cust-2"})
		return err
	})
	isErr(t, "CreateCase with a taken id", err, store.ErrConflict)

	// Newest first; the case made now is the oldest, at() lying in the future.
	cases, err := e.s.CustomerCases(e.ctx, ten, "cust-1")
	noErr(t, "CustomerCases", err)
	old := store.Case{TenantID: ten, ID: "case-old", CustomerID: "cust-1", Subject: "old", CreatedAt: at(-20), UpdatedAt: at(-20)}
	var ids []string
	for _, c := range cases {
		ids = append(ids, c.ID)
	}
	equal(t, "CustomerCases", ids, []string{"case-7", "case-old", made.ID})
	if len(cases) == 3 {
		equal(t, "case-7", cases[0], full)
		equal(t, "case-old", cases[1], old)
		if !cases[2].CreatedAt.Equal(made.CreatedAt) || cases[2].Subject != made.Subject || cases[2].Status != store.CaseOpen {
			t.Errorf("case made now: got %+v, want %+v", cases[2], made)
		}
	}
	cases, err = e.s.CustomerCases(e.ctx, ten, "cust-2")
	if err != nil || len(cases) != 1 || cases[0].ID != "case-other" {
		t.Errorf("CustomerCases(cust-2): got %+v, %v; want case-other only", cases, err)
	}
	cases, err = e.s.CustomerCases(e.ctx, ten, "nobody")
	empty(t, "CustomerCases(nobody)", cases, err)
}
