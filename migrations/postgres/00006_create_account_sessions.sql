-- The per-account session index, as in migrations/sqlite/00007, 00010 and
-- 00011: one row per session signed in to an account (one per browser or
-- device), so that /account can list an account's sessions and sign any of
-- them out, without asking the session store about each. It is the
-- authority on who is signed in: a session whose row is gone is a guest at
-- its next request, whatever store holds its data.
--
-- id is a random handle, shown in pages and URLs; its collation "C" sorts
-- it byte by byte, as SQLite does. token_hash is the key the session store
-- uses for the session (the SHA-256 of its token), never the token.
-- expires_at is the latest the sign-in can last; rows past it are not
-- listed and are deleted by DeleteExpiredAccountSessions.
--
-- Remember me: remember_selector finds the row of a remember cookie;
-- remember_hash is the SHA-256 of its secret, never the secret;
-- remember_expires_at is when the cookie stops working. All three are NULL
-- on a row signed in without "Remember me". remember_previous_hash is the
-- SHA-256 of the secret that remember_hash replaced, at
-- remember_rotated_at: both NULL until the first replacement, and again
-- after a new remember-me token.

-- +goose Up
CREATE TABLE account_sessions (
	id                     text        COLLATE "C" PRIMARY KEY,
	user_id                bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	token_hash             text        NOT NULL UNIQUE,
	device                 text        NOT NULL CHECK (length(device) <= 100),
	signed_in_at           timestamptz NOT NULL,
	last_seen_at           timestamptz NOT NULL,
	expires_at             timestamptz NOT NULL,
	remember_selector      text        UNIQUE,
	remember_hash          text,
	remember_expires_at    timestamptz,
	remember_previous_hash text,
	remember_rotated_at    timestamptz
);

CREATE INDEX account_sessions_user_idx ON account_sessions (user_id, expires_at);
CREATE INDEX account_sessions_expires_idx ON account_sessions (expires_at);

-- +goose Down
DROP TABLE account_sessions;
