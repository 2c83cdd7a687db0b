-- Accounts, as in migrations/sqlite/00005_create_users.sql. A session
-- refers to one by id only (the userId key); the name, the email and the
-- password hash stay here.
--
-- email is unique whatever the case of its ASCII letters, as SQLite's
-- COLLATE NOCASE makes it: Ada@Example.com cannot sign up beside
-- ada@example.com, and signs in as her. The column's collation is "C", and
-- lower() under "C" folds only A-Z, as NOCASE does, whatever the locale of
-- the server: é and É stay two letters. The unique index on lower(email)
-- is what the queries' lower(email) = lower($1 COLLATE "C") reads. The
-- email is stored as typed, to be shown as typed.
--
-- password_hash is an argon2id PHC string (package password); the password
-- itself is never stored.
--
-- The CHECKs repeat the sign-up form's limits, as a last line behind it;
-- length() counts characters, as the form does. Times are to the
-- millisecond, as on SQLite.

-- +goose Up
CREATE TABLE users (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name          text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	email         text        COLLATE "C" NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
	password_hash text        NOT NULL,
	created_at    timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now())
);

CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- +goose Down
DROP TABLE users;
