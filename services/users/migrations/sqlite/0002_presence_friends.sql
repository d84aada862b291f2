-- Online/offline transitions, the log behind /api/online-status/stream.
CREATE TABLE presence_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER NOT NULL,
    is_online  BOOLEAN NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE INDEX presence_changes_user ON presence_changes (user_id, seq);

-- Read model of accepted friendships, fed by friend.events (one row per direction).
CREATE TABLE friendships (
    user_id   INTEGER NOT NULL,
    friend_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, friend_id)
);
