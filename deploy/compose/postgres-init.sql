-- One database per service (SPEC §4), created when the PostgreSQL volume is
-- first initialised (docker-entrypoint-initdb.d). Each service migrates its own.
CREATE DATABASE users;
CREATE DATABASE friends;
CREATE DATABASE chat;
CREATE DATABASE notifications;
CREATE DATABASE posts;
