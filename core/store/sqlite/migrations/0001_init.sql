-- Every table leads its primary key (or a unique key) with tenant_id, and every query filters on
-- it. Times are INTEGER unix nanoseconds, 0 for "not set". Optional text is '' rather than NULL.

CREATE TABLE tenants (
    tenant_id TEXT NOT NULL PRIMARY KEY,
    name      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE groups (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE queues (
    tenant_id TEXT NOT NULL,
    id        TEXT NOT NULL,
    name      TEXT NOT NULL DEFAULT '',
    group_id  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE users (
    tenant_id           TEXT    NOT NULL,
    id                  TEXT    NOT NULL,
    username            TEXT    NOT NULL,
    display_name        TEXT    NOT NULL DEFAULT '',
    email               TEXT    NOT NULL DEFAULT '',
    role                TEXT    NOT NULL DEFAULT '',
    group_id            TEXT    NOT NULL DEFAULT '',
    max_chats           INTEGER NOT NULL DEFAULT 0,
    primary_language    TEXT    NOT NULL DEFAULT '',
    secondary_languages TEXT    NOT NULL DEFAULT '[]',
    password_hash       TEXT    NOT NULL DEFAULT '',
    state               TEXT    NOT NULL DEFAULT '',
    state_reason        TEXT    NOT NULL DEFAULT '',
    state_since         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, username)
);

CREATE TABLE queue_members (
    tenant_id TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    queue_id  TEXT    NOT NULL,
    position  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, user_id, queue_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX queue_members_queue ON queue_members (tenant_id, queue_id);

CREATE TABLE customers (
    tenant_id      TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    nickname       TEXT    NOT NULL DEFAULT '',
    first_name     TEXT    NOT NULL DEFAULT '',
    last_name      TEXT    NOT NULL DEFAULT '',
    email          TEXT    NOT NULL DEFAULT '',
    phone          TEXT    NOT NULL DEFAULT '',
    account_number TEXT    NOT NULL DEFAULT '',
    language       TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);

CREATE INDEX customers_account_number ON customers (tenant_id, account_number);
CREATE INDEX customers_email ON customers (tenant_id, lower(email));
CREATE INDEX customers_phone ON customers (tenant_id, phone);

CREATE TABLE conversations (
    tenant_id        TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    kind             TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL DEFAULT '',
    instance         TEXT    NOT NULL DEFAULT '',
    channel          TEXT    NOT NULL DEFAULT '',
    external_key     TEXT    NOT NULL DEFAULT '',
    queue_id         TEXT    NOT NULL DEFAULT '',
    customer_id      TEXT    NOT NULL DEFAULT '',
    agent_id         TEXT    NOT NULL DEFAULT '',
    language         TEXT    NOT NULL DEFAULT '',
    origin           TEXT    NOT NULL DEFAULT '',
    prechat          TEXT    NOT NULL DEFAULT '[]',
    created_at       INTEGER NOT NULL DEFAULT 0,
    entered_queue_at INTEGER NOT NULL DEFAULT 0,
    assigned_at      INTEGER NOT NULL DEFAULT 0,
    ended_at         INTEGER NOT NULL DEFAULT 0,
    closed_at        INTEGER NOT NULL DEFAULT 0,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    disposition      TEXT    NOT NULL DEFAULT '',
    notes            TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id)
);

-- A channel key names at most one conversation that is not closed.
CREATE UNIQUE INDEX conversations_open_key ON conversations (tenant_id, instance, external_key)
    WHERE state <> 'closed' AND instance <> '';
CREATE INDEX conversations_open ON conversations (tenant_id, created_at) WHERE state <> 'closed';
CREATE INDEX conversations_customer ON conversations (tenant_id, customer_id, created_at);

CREATE TABLE participants (
    tenant_id       TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    ref_id          TEXT    NOT NULL,
    display_name    TEXT    NOT NULL DEFAULT '',
    joined_at       INTEGER NOT NULL DEFAULT 0,
    left_at         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, conversation_id, kind, ref_id, joined_at),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);

-- Someone who is in a conversation cannot join it a second time before leaving.
CREATE UNIQUE INDEX participants_present ON participants (tenant_id, conversation_id, kind, ref_id)
    WHERE left_at = 0;

CREATE TABLE messages (
    tenant_id       TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    id              TEXT    NOT NULL,
    event_id        TEXT    NOT NULL DEFAULT '',
    sender_kind     TEXT    NOT NULL DEFAULT '',
    sender_id       TEXT    NOT NULL DEFAULT '',
    sender_name     TEXT    NOT NULL DEFAULT '',
    text            TEXT    NOT NULL DEFAULT '',
    html            TEXT    NOT NULL DEFAULT '',
    attachments     TEXT    NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, conversation_id, seq),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id)
);

CREATE UNIQUE INDEX messages_id ON messages (tenant_id, id);
CREATE UNIQUE INDEX messages_event ON messages (tenant_id, event_id) WHERE event_id <> '';

CREATE TABLE seen_events (
    tenant_id TEXT    NOT NULL,
    source    TEXT    NOT NULL,
    event_id  TEXT    NOT NULL,
    at        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source, event_id)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id       TEXT    NOT NULL,
    instance        TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL DEFAULT '',
    payload         BLOB    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending',
    reason          TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL DEFAULT 0,
    settled_at      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (tenant_id, instance, event_id)
);

CREATE INDEX outbox_pending ON outbox (tenant_id, instance, id) WHERE state = 'pending';

CREATE TABLE sessions (
    tenant_id  TEXT    NOT NULL,
    token_hash TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    csrf_token TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, token_hash)
);

-- The expiry sweep is the one query that spans tenants.
CREATE INDEX sessions_expiry ON sessions (expires_at);
