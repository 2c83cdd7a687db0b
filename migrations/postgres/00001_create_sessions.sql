-- The table scs's pgxstore reads and writes. The token column holds the
-- SHA-256 hash of the cookie's token, base64url-encoded (scs's
-- HashTokenInStore; see session.HashToken), never the token itself, so a
-- look at the table hands out no live session.

-- +goose Up
CREATE TABLE sessions (
	token  TEXT PRIMARY KEY,
	data   BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- The retired markers of the per-session lock (see pgstore's Lock): a
-- request that renewed or destroyed its token leaves one, under the token's
-- hash, for the requests of any server process that were waiting with that
-- token. A marker lives for seconds, so losing them all in a crash costs
-- nothing: UNLOGGED spares their writes to the write-ahead log.
CREATE UNLOGGED TABLE sessions_retired (
	token  TEXT PRIMARY KEY,
	expiry TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sessions_retired;
DROP TABLE sessions;
