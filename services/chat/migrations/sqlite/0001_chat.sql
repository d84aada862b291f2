-- Read models fed by other services' events.
CREATE TABLE chat_users (
    user_id      INTEGER PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE chat_blocks (
    blocker_id INTEGER NOT NULL,
    blocked_id INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Rooms. A direct room stores its pair as (smaller id, larger id); the unique
-- constraint makes get-or-create race-safe (group rooms leave both NULL).
-- `last_seq` counts the room's stream events: bumping it first in every
-- writing transaction serialises writers per room and numbers events 1, 2, 3...
CREATE TABLE chat_rooms (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    room_type        TEXT NOT NULL,
    name             TEXT,
    user_1_id        INTEGER,
    user_2_id        INTEGER,
    created_by       INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    last_activity_us INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_message_id  TEXT,
    CONSTRAINT chat_rooms_direct_pair UNIQUE (user_1_id, user_2_id)
);

CREATE TABLE room_members (
    room_id   INTEGER NOT NULL REFERENCES chat_rooms (id),
    user_id   INTEGER NOT NULL,
    joined_at TEXT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_user ON room_members (user_id, room_id);

CREATE TABLE messages (
    id           TEXT PRIMARY KEY,
    room_id      INTEGER NOT NULL REFERENCES chat_rooms (id),
    user_id      INTEGER NOT NULL,
    content      TEXT NOT NULL,
    message_type TEXT NOT NULL,
    is_deleted   BOOLEAN NOT NULL DEFAULT FALSE,
    is_edited    BOOLEAN NOT NULL DEFAULT FALSE,
    created_seq  INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_by_room ON messages (room_id, created_seq);

CREATE TABLE message_reads (
    message_id TEXT NOT NULL REFERENCES messages (id),
    user_id    INTEGER NOT NULL,
    read_at    TEXT NOT NULL,
    PRIMARY KEY (message_id, user_id)
);

-- The log behind each room's SSE stream: contiguous seq per room.
CREATE TABLE room_events (
    room_id    INTEGER NOT NULL REFERENCES chat_rooms (id),
    seq        INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    message_id TEXT NOT NULL,
    data       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (room_id, seq)
);
CREATE INDEX room_events_by_message ON room_events (message_id);
