-- Instances that start at once on an empty database each stored a key of
-- their own (INSERT ... WHERE NOT EXISTS does not see an uncommitted row) and
-- signed with it, so another service trusted one instance's tokens and not
-- the other's. A key created from now on takes slot 1, which only one row can
-- hold: the second insert waits for the first and then does nothing. Rows
-- stored before keep no slot; the oldest key is still the one used.
ALTER TABLE signing_keys ADD COLUMN slot SMALLINT;
CREATE UNIQUE INDEX signing_keys_one_slot ON signing_keys (slot);
