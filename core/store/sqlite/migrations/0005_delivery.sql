-- What the customer's platform reported about each outbound message: sent, delivered, read or
-- failed (with the reason, such as an opt-out or a closed messaging window).
ALTER TABLE messages ADD COLUMN delivery TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN delivery_reason TEXT NOT NULL DEFAULT '';
