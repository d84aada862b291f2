-- Tokens revoked by logout, kept until they would have expired anyway, so a
-- logout survives a restart; loaded into every process's denylist at start.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    -- The token's `exp`, in Unix seconds.
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expiry ON revoked_tokens (expires_at);
