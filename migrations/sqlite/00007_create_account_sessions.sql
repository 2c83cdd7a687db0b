-- The per-account session index: one row per session signed in to an
-- account (one per browser or device), so that /account can list an
-- account's sessions and sign any of them out, without asking the session
-- store about each. It is the authority on who is signed in: a session
-- whose row is gone is a guest at its next request, whatever store holds
-- its data (see sqlite/account_sessions.go).
--
-- id is a random handle, shown in pages and URLs. token_hash is the key
-- the session store uses for the session (the SHA-256 of its token), never
-- the token: the token cannot be read back from it, and it is never shown.
-- expires_at is the latest the sign-in can last; rows past it are not
-- listed and are deleted by DeleteExpiredAccountSessions.

-- +goose Up
CREATE TABLE account_sessions (
	id           TEXT    PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash   TEXT    NOT NULL UNIQUE,
	device       TEXT    NOT NULL CHECK (length(device) <= 100),
	signed_in_at TEXT    NOT NULL,
	last_seen_at TEXT    NOT NULL,
	expires_at   TEXT    NOT NULL
);

CREATE INDEX account_sessions_user_idx ON account_sessions (user_id, expires_at);
CREATE INDEX account_sessions_expires_idx ON account_sessions (expires_at);

-- +goose Down
DROP TABLE account_sessions;
