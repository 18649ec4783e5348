-- Files that arrived with messages (an expert's image or document), kept by the hub so that an
-- agent can download them later, whatever happened to the platform's copy.
CREATE TABLE files (
    tenant_id       TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    conversation_id TEXT    NOT NULL,
    name            TEXT    NOT NULL DEFAULT '',
    content_type    TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    data            BLOB    NOT NULL,
    created_at      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
