-- Indexes for the periodic pruning of dedupe records and settled outbox rows.
CREATE INDEX seen_events_at ON seen_events (at);
CREATE INDEX outbox_settled ON outbox (settled_at) WHERE state <> 'pending';
