// Package store defines the hub's durable state: tenants, users, customers, conversations,
// messages, the outbound event outbox and console sessions, behind one Store interface that the
// SQLite (embedded) and PostgreSQL (cluster) implementations share with one conformance suite
// (storetest). Every method acts for one tenant and must never return another tenant's rows,
// whatever ids the caller passes.
package store
