-- Users as the notifications service knows them, fed by user.events.
CREATE TABLE known_users (
    user_id      BIGINT PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT,
    updated_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE notifications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL,
    -- Position in the user's stream (SSE id): 1, 2, 3 … without gaps.
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    data            TEXT NOT NULL,
    is_read         BOOLEAN NOT NULL DEFAULT FALSE,
    -- The event this notification came from: delivered twice, it still
    -- makes one notification per recipient.
    source_event_id TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    read_at         TIMESTAMPTZ,
    CONSTRAINT notifications_source_unique UNIQUE (source_event_id, user_id),
    CONSTRAINT notifications_seq_unique UNIQUE (user_id, seq)
);
CREATE INDEX notifications_by_user ON notifications (user_id, id);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE NOT is_read;

-- The last seq handed out per user; bumping it in the insert's transaction
-- serialises one user's writers, so commit order is seq order.
CREATE TABLE notification_counters (
    user_id  BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
