-- Who has been announced as liking which post (`PostLiked`): a like taken
-- back and given again is not announced twice, so the author is told once.
CREATE TABLE likes_announced (
    post_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (post_id, user_id)
);
