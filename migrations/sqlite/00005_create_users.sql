-- Accounts. A session refers to one by id only (the userId key); the name,
-- the email and the password hash stay here.
--
-- email is unique whatever its case: COLLATE NOCASE makes the unique index
-- and every comparison with = ignore the case of ASCII letters, so
-- Ada@Example.com cannot sign up beside ada@example.com, and signs in as
-- her. It is stored as typed, to be shown as typed.
--
-- password_hash is an argon2id PHC string (package password); the password
-- itself is never stored.
--
-- The CHECKs repeat the sign-up form's limits, as a last line behind it.
-- Times are UTC text of fixed width, so that comparing them as text
-- compares them as times.

-- +goose Up
CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	email         TEXT    NOT NULL COLLATE NOCASE UNIQUE CHECK (length(email) BETWEEN 3 AND 254),
	password_hash TEXT    NOT NULL,
	created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- +goose Down
DROP TABLE users;
