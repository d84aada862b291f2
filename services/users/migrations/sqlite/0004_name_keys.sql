-- Usernames are unique, and names are searched, after Unicode normalisation
-- (NFKC, lower case), computed in the domain (crate::domain::name_key) so
-- SQLite and PostgreSQL agree; `username` and `display_name` keep what the
-- user typed, for display. Existing rows get their keys from the service at
-- start (Users::fill_name_keys): SQLite has no NFKC in SQL.
ALTER TABLE users ADD COLUMN username_key TEXT;
ALTER TABLE users ADD COLUMN display_key TEXT;
DROP INDEX users_username_unique;
CREATE UNIQUE INDEX users_username_key_unique ON users (username_key);
