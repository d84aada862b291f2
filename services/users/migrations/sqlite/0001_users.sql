CREATE TABLE users (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    email            TEXT NOT NULL,
    username         TEXT NOT NULL,
    password_hash    TEXT NOT NULL,
    display_name     TEXT,
    status_message   TEXT,
    image_updated_at TEXT,
    last_seen_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT users_email_unique UNIQUE (email)
);
CREATE UNIQUE INDEX users_username_unique ON users (lower(username));

CREATE TABLE profile_images (
    user_id      INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE signing_keys (
    kid        TEXT PRIMARY KEY,
    pkcs8      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
