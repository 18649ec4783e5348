-- What the agent and supervisor consoles keep: a supervisor's scope, who a customer said they are,
-- how far each participant has read, and the customers' cases.

ALTER TABLE users ADD COLUMN scope TEXT NOT NULL DEFAULT '';
-- A JSON object of store.Identity; '{}' when the customer gave nothing.
ALTER TABLE conversations ADD COLUMN identity TEXT NOT NULL DEFAULT '{}';
ALTER TABLE participants ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;

CREATE TABLE cases (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    customer_id     TEXT    NOT NULL DEFAULT '',
    conversation_id TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL DEFAULT '',
    notes           TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT '',
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX cases_customer ON cases (tenant_id, customer_id, created_at);

-- The history of closed conversations is read newest first, a page at a time; id settles ties so
-- that the index alone gives the order.
CREATE INDEX conversations_closed ON conversations (tenant_id, closed_at, id) WHERE state = 'closed';
