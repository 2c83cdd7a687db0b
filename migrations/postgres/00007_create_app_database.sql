-- The database's own id, as in migrations/sqlite/00008_create_app_database.sql:
-- random, made once when the database is created, 32 hexadecimal digits.
--
-- Several server instances may share one Redis for sessions while each has
-- its own database. A session's userId then names an account of the
-- database it signed in on; the session keeps this id beside it
-- (accountDb), so that another instance never takes it for the account
-- with the same number in its own database. The CHECK keeps the table at
-- one row.

-- +goose Up
CREATE TABLE app_database (
	one integer PRIMARY KEY CHECK (one = 1),
	id  text    NOT NULL
);

-- gen_random_uuid is built in since PostgreSQL 13; without its dashes it
-- is 32 hexadecimal digits, 122 of its bits random.
INSERT INTO app_database (one, id) VALUES (1, replace(gen_random_uuid()::text, '-', ''));

-- +goose Down
DROP TABLE app_database;
