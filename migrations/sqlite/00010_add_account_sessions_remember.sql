-- Remember me: a session signed in with "Remember me" gets a second cookie,
-- remember=<selector>.<secret>, that signs its device in again once the
-- session itself has ended. It lives on the device's row of the session
-- index, so that the device keeps one line in "Your sessions" however often
-- it is signed in again, and signing the line out ends both.
--
-- remember_selector finds the row; remember_hash is the SHA-256 of the
-- secret, never the secret, so a copy of the database signs nobody in;
-- remember_expires_at is when the cookie stops working. All three are NULL
-- on a row signed in without "Remember me".

-- +goose Up
ALTER TABLE account_sessions ADD COLUMN remember_selector TEXT;
ALTER TABLE account_sessions ADD COLUMN remember_hash TEXT;
ALTER TABLE account_sessions ADD COLUMN remember_expires_at TEXT;

CREATE UNIQUE INDEX account_sessions_remember_idx ON account_sessions (remember_selector);

-- +goose Down
DROP INDEX account_sessions_remember_idx;
ALTER TABLE account_sessions DROP COLUMN remember_expires_at;
ALTER TABLE account_sessions DROP COLUMN remember_hash;
ALTER TABLE account_sessions DROP COLUMN remember_selector;
