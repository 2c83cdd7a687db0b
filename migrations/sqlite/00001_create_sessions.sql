-- The table scs's sqlite3store reads and writes. The token column holds a
-- SHA-256 hash of the cookie's token (HashTokenInStore), never the token itself.
-- expiry is a Julian day number, which is what sqlite3store compares against
-- julianday('now').

-- +goose Up
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BLOB NOT NULL,
	expiry REAL NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
