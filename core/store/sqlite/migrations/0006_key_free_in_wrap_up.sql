-- A channel key names at most one conversation that is waiting or active. Post-processing is the
-- agent's part alone: the customer's next message (same phone number, same Telegram chat) starts
-- a new conversation while the agent still wraps up the previous one.
DROP INDEX conversations_open_key;
CREATE UNIQUE INDEX conversations_open_key ON conversations (tenant_id, instance, external_key)
    WHERE state IN ('queued', 'active') AND instance <> '';
