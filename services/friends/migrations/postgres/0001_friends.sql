-- Friend requests and friendships. `user_id_1` asked `user_id_2`; the pair
-- columns hold the two ids in ascending order so that "at most one live
-- friendship per pair, in either direction" is a unique index.
CREATE TABLE friendships (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id_1  BIGINT NOT NULL,
    user_id_2  BIGINT NOT NULL,
    pair_low   BIGINT NOT NULL,
    pair_high  BIGINT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    message    TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);
CREATE UNIQUE INDEX friendships_live_pair ON friendships (pair_low, pair_high)
    WHERE deleted_at IS NULL AND status IN ('pending', 'accepted');
CREATE INDEX friendships_requester ON friendships (user_id_1) WHERE deleted_at IS NULL;
CREATE INDEX friendships_addressee ON friendships (user_id_2) WHERE deleted_at IS NULL;

CREATE TABLE blocks (
    blocker_id BIGINT NOT NULL,
    blocked_id BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- Read model of the users service, fed by user.events and
-- user.online_status. `version` is the time of the last applied event in
-- microseconds, so a stale redelivery never overwrites newer data.
CREATE TABLE users (
    user_id      BIGINT PRIMARY KEY,
    email        TEXT NOT NULL,
    username     TEXT NOT NULL,
    display_name TEXT,
    last_seen_at TIMESTAMPTZ,
    version      BIGINT NOT NULL
);
CREATE INDEX users_username ON users (lower(username));
