-- Read models fed by other services' events.
CREATE TABLE posts_users (
    user_id      INTEGER PRIMARY KEY,
    username     TEXT NOT NULL,
    display_name TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE posts_blocks (
    blocker_id INTEGER NOT NULL,
    blocked_id INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

-- Posts. Ids grow with creation, so "newest first" is "highest id first" and
-- an id is a stable cursor. `tags` is the normalised tags joined by spaces
-- (a tag has none). `fanned_out` records how the post reaches followers:
-- written into their timelines, or read from here when they read theirs.
CREATE TABLE posts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    author_id     INTEGER NOT NULL,
    text          TEXT NOT NULL,
    tags          TEXT NOT NULL,
    like_count    INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    fanned_out    BOOLEAN NOT NULL,
    is_edited     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
);
CREATE INDEX posts_by_author ON posts (author_id, id);
CREATE INDEX posts_pulled_by_author ON posts (author_id, id) WHERE fanned_out = FALSE;

-- Comments; a reply names its top-level comment (one level only).
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id     INTEGER NOT NULL REFERENCES posts (id),
    author_id   INTEGER NOT NULL,
    parent_id   INTEGER REFERENCES comments (id),
    text        TEXT NOT NULL,
    reply_count INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX comments_by_post ON comments (post_id, parent_id, id);

CREATE TABLE likes (
    post_id    INTEGER NOT NULL REFERENCES posts (id),
    user_id    INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);

-- Who follows whom; the id orders the lists (newest first) and pages them.
CREATE TABLE follows (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    follower_id INTEGER NOT NULL,
    followee_id INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT follows_pair UNIQUE (follower_id, followee_id)
);
CREATE INDEX follows_by_follower ON follows (follower_id, id);
CREATE INDEX follows_by_followee ON follows (followee_id, id);

-- Home timelines written on post (fan-out on write): one row per reader and
-- post of an ordinary author, and every author's own posts.
CREATE TABLE timeline_entries (
    user_id   INTEGER NOT NULL,
    post_id   INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, post_id)
);
CREATE INDEX timeline_entries_by_author ON timeline_entries (user_id, author_id);
CREATE INDEX timeline_entries_by_post ON timeline_entries (post_id);
