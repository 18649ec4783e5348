// Package pluginhost runs channel and bridge plugins as supervised child processes: it starts
// each configured instance with go-plugin, keeps one event stream to it, stores what it sends
// before acknowledging it, delivers the durable outbox to it, and restarts it with backoff when
// it crashes or hangs. A plugin must never be able to take the hub down or lose an event.
package pluginhost
