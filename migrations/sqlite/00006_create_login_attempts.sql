-- Recent attempts to sign in, one row per attempt, for the throttle: an
-- email with too many attempts in a window is refused without checking the
-- password (see sqlite/login_attempts.go). The rows are in the database,
-- not in memory, so the limit holds across restarts, and across instances
-- that share the database.
--
-- email is compared whatever its case, as users.email is; it need not be
-- an account's, so that the throttle does not tell which emails have one.
-- Rows older than the window are deleted as new attempts come, so the
-- table holds only the attempts of the last window.

-- +goose Up
CREATE TABLE login_attempts (
	email        TEXT NOT NULL COLLATE NOCASE,
	attempted_at TEXT NOT NULL
);

CREATE INDEX login_attempts_email_idx ON login_attempts (email, attempted_at);
CREATE INDEX login_attempts_time_idx ON login_attempts (attempted_at);

-- +goose Down
DROP TABLE login_attempts;
