-- The database's own id: random, made once when the database is created.
--
-- Several server instances may share one Redis for sessions while each has
-- its own SQLite file. A session's userId then names an account of the file
-- it signed in on; the session keeps this id beside it (accountDb), so that
-- another instance never takes it for the account with the same number in
-- its own file. The CHECK keeps the table at one row.

-- +goose Up
CREATE TABLE app_database (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	id  TEXT    NOT NULL
);

INSERT INTO app_database (one, id) VALUES (1, lower(hex(randomblob(16))));

-- +goose Down
DROP TABLE app_database;
