package storetest

import (
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/core/store"
)

func testTenantsGroupsQueues(t *testing.T, e *env) {
	e.write(func(tx store.Tx) error {
		for _, tn := range []store.Tenant{{ID: "t2", Name: "Two"}, {ID: "t1", Name: "One"}} {
			if err := tx.UpsertTenant(tn); err != nil {
				return err
			}
		}
		for _, g := range []store.Group{{TenantID: "t1", ID: "sales", Name: "Sales"}, {TenantID: "t1", ID: "support", Name: "Support"}} {
			if err := tx.UpsertGroup(g); err != nil {
				return err
			}
		}
		return tx.UpsertQueue(store.Queue{TenantID: "t1", ID: "q-sales", Name: "Sales queue", GroupID: "sales"})
	})
	// Upserting again updates in place.
	e.write(func(tx store.Tx) error {
		if err := tx.UpsertTenant(store.Tenant{ID: "t1", Name: "One renamed"}); err != nil {
			return err
		}
		if err := tx.UpsertGroup(store.Group{TenantID: "t1", ID: "sales", Name: "Sales renamed"}); err != nil {
			return err
		}
		return tx.UpsertQueue(store.Queue{TenantID: "t1", ID: "q-sales", Name: "Sales queue 2", GroupID: "support"})
	})

	tn, err := e.s.Tenant(e.ctx, "t1")
	noErr(t, "Tenant", err)
	equal(t, "Tenant", tn, store.Tenant{ID: "t1", Name: "One renamed"})
	_, err = e.s.Tenant(e.ctx, "nope")
	isErr(t, "Tenant(nope)", err, store.ErrNotFound)

	tenants, err := e.s.Tenants(e.ctx)
	noErr(t, "Tenants", err)
	equal(t, "Tenants", sortedBy(tenants, func(x store.Tenant) string { return x.ID }),
		[]store.Tenant{{ID: "t1", Name: "One renamed"}, {ID: "t2", Name: "Two"}})

	groups, err := e.s.Groups(e.ctx, "t1")
	noErr(t, "Groups", err)
	equal(t, "Groups", sortedBy(groups, func(x store.Group) string { return x.ID }), []store.Group{
		{TenantID: "t1", ID: "sales", Name: "Sales renamed"},
		{TenantID: "t1", ID: "support", Name: "Support"},
	})
	queues, err := e.s.Queues(e.ctx, "t1")
	noErr(t, "Queues", err)
	equal(t, "Queues", queues, []store.Queue{{TenantID: "t1", ID: "q-sales", Name: "Sales queue 2", GroupID: "support"}})

	groups, err = e.s.Groups(e.ctx, "t2")
	empty(t, "Groups(t2)", groups, err)
}

// testUpsertUser checks the documented rules: a user is identified by its username; a new one gets
// u.ID or a fresh id; an existing one keeps its id, and its password when u.PasswordHash is empty;
// queue memberships are replaced by u.Queues; the scope is always written. Agent state is SetAgentState's: a new user with no
// state is logged out, and an upsert with an empty state keeps the stored one.
func testUpsertUser(t *testing.T, e *env) {
	const ten = "acme"
	var first store.User
	e.write(func(tx store.Tx) (err error) {
		first, err = tx.UpsertUser(store.User{TenantID: ten, Username: "bob", DisplayName: "Bob",
			Email: "bob@acme.test", Role: store.RoleAgent, GroupID: "support", Queues: []string{"q1", "q2"},
			MaxChats: 3, PrimaryLanguage: "en", SecondaryLanguages: []string{"fr", "de"}, PasswordHash: "h1",
			Scope: store.ScopeGroup})
		return err
	})
	if first.ID == "" {
		t.Fatalf("UpsertUser: new user got no id: %+v", first)
	}
	want := store.User{TenantID: ten, ID: first.ID, Username: "bob", DisplayName: "Bob",
		Email: "bob@acme.test", Role: store.RoleAgent, GroupID: "support", Queues: []string{"q1", "q2"},
		MaxChats: 3, PrimaryLanguage: "en", SecondaryLanguages: []string{"fr", "de"}, PasswordHash: "h1",
		State: store.StateLoggedOut, Scope: store.ScopeGroup}
	equal(t, "new user", normUser(first), want)
	got, err := e.s.User(e.ctx, ten, first.ID)
	noErr(t, "User", err)
	equal(t, "stored new user", normUser(got), want)

	// Same username, another id, no password: keeps id and password, replaces the rest.
	e.write(func(tx store.Tx) error {
		if err := tx.SetAgentState(ten, first.ID, store.StateOnBreak, "lunch", at(10)); err != nil {
			return err
		}
		u, err := tx.UpsertUser(store.User{TenantID: ten, ID: "other-id", Username: "bob", DisplayName: "Robert",
			Role: store.RoleSupervisor, Queues: []string{"q3", "q1"}, MaxChats: 5, Scope: store.ScopeTenant})
		want = store.User{TenantID: ten, ID: first.ID, Username: "bob", DisplayName: "Robert",
			Role: store.RoleSupervisor, Queues: []string{"q1", "q3"}, MaxChats: 5, PasswordHash: "h1",
			State: store.StateOnBreak, StateReason: "lunch", StateSince: at(10), Scope: store.ScopeTenant}
		equal(t, "updated user", normUser(u), want)
		return err
	})
	got, err = e.s.UserByUsername(e.ctx, ten, "bob")
	noErr(t, "UserByUsername", err)
	equal(t, "stored updated user", normUser(got), want)
	_, err = e.s.User(e.ctx, ten, "other-id")
	isErr(t, "User(other-id)", err, store.ErrNotFound)

	// A new password replaces the old one; no queues clears the memberships, no scope the scope.
	e.write(func(tx store.Tx) error {
		_, err := tx.UpsertUser(store.User{TenantID: ten, Username: "bob", PasswordHash: "h2", State: store.StateAvailable})
		return err
	})
	got, err = e.s.User(e.ctx, ten, first.ID)
	noErr(t, "User", err)
	if got.PasswordHash != "h2" || len(got.Queues) != 0 || got.State != store.StateAvailable || got.Scope != "" {
		t.Errorf("after upsert with password: got %+v, want password h2, no queues, state available, no scope", got)
	}

	// A given id is used for a new user; an id of another user is a conflict.
	var carol store.User
	e.write(func(tx store.Tx) (err error) {
		carol, err = tx.UpsertUser(store.User{TenantID: ten, ID: "carol-id", Username: "carol", Scope: store.ScopeQueues})
		return err
	})
	if carol.ID != "carol-id" {
		t.Errorf("UpsertUser with id: got id %q, want carol-id", carol.ID)
	}
	err = e.writeErr(func(tx store.Tx) error {
		_, err := tx.UpsertUser(store.User{TenantID: ten, ID: "carol-id", Username: "dave"})
		return err
	})
	isErr(t, "UpsertUser with another user's id", err, store.ErrConflict)

	users, err := e.s.Users(e.ctx, ten)
	noErr(t, "Users", err)
	var names []string
	var scopes []store.Scope
	for _, u := range sortedBy(users, func(u store.User) string { return u.Username }) {
		names = append(names, u.Username)
		scopes = append(scopes, u.Scope)
	}
	equal(t, "Users", names, []string{"bob", "carol"})
	equal(t, "scopes of Users", scopes, []store.Scope{"", store.ScopeQueues})

	// Password and state setters.
	e.write(func(tx store.Tx) error {
		if err := tx.SetUserPassword(ten, carol.ID, "h9"); err != nil {
			return err
		}
		return tx.SetAgentState(ten, carol.ID, store.StateWorkOffline, "training", at(20))
	})
	got, err = e.s.User(e.ctx, ten, carol.ID)
	noErr(t, "User", err)
	if got.PasswordHash != "h9" || got.State != store.StateWorkOffline || got.StateReason != "training" || !got.StateSince.Equal(at(20)) {
		t.Errorf("after setters: got %+v", got)
	}
	err = e.writeErr(func(tx store.Tx) error { return tx.SetUserPassword(ten, "ghost", "x") })
	isErr(t, "SetUserPassword(ghost)", err, store.ErrNotFound)
	err = e.writeErr(func(tx store.Tx) error {
		return tx.SetAgentState(ten, "ghost", store.StateAvailable, "", at(0))
	})
	isErr(t, "SetAgentState(ghost)", err, store.ErrNotFound)
	_, err = e.s.UserByUsername(e.ctx, ten, "ghost")
	isErr(t, "UserByUsername(ghost)", err, store.ErrNotFound)
}

// normUser sorts the queues, whose order the interface leaves open.
func normUser(u store.User) store.User {
	u.Queues = slices.Clone(u.Queues)
	slices.Sort(u.Queues)
	if len(u.Queues) == 0 {
		u.Queues = nil
	}
	return u
}
