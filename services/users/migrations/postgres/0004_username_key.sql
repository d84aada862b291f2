-- Usernames are unique after Unicode normalisation (NFKC, lower case),
-- computed in the domain (crate::domain::username_key) so SQLite and
-- PostgreSQL agree; `username` keeps what the user typed, for display.
-- Existing rows are filled by the service at start (SqlUserStore::
-- fill_username_keys): SQL has no NFKC on SQLite.
ALTER TABLE users ADD COLUMN username_key TEXT;
DROP INDEX users_username_unique;
CREATE UNIQUE INDEX users_username_key_unique ON users (username_key);
