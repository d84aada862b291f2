-- Friend requests and friendships. `user_id_1` asked `user_id_2`; the pair
-- columns hold the two ids in ascending order so that "at most one live
-- friendship per pair, in either direction" is a unique index.
CREATE TABLE friendships (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id_1  INTEGER NOT NULL,
    user_id_2  INTEGER NOT NULL,
    pair_low   INTEGER NOT NULL,
    pair_high  INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
    message    TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX friendships_live_pair ON friendships (pair_low, pair_high)
    WHERE deleted_at IS NULL AND status IN ('pending', 'accepted');
CREATE INDEX friendships_requester ON friendships (user_id_1) WHERE deleted_at IS NULL;
CREATE INDEX friendships_addressee ON friendships (user_id_2) WHERE deleted_at IS NULL;

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL,
    blocked_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- Read model of the users service, fed by user.events and
-- user.online_status. `version` is the time of the last applied event in
-- microseconds, so a stale redelivery never overwrites newer data.
CREATE TABLE users (
    user_id      INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    username     TEXT NOT NULL,
    display_name TEXT,
    last_seen_at TEXT,
    version      INTEGER NOT NULL
);
CREATE INDEX users_username ON users (lower(username));
