-- A post's image (at most one), accepted by kit's upload rules.
-- `image_updated_at` versions the image's URL (set while there is one).
ALTER TABLE posts ADD COLUMN image_updated_at TIMESTAMPTZ;

CREATE TABLE post_images (
    post_id      BIGINT PRIMARY KEY REFERENCES posts (id),
    content_type TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
