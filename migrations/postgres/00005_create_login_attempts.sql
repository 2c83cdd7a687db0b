-- Recent attempts to sign in, one row per attempt, for the throttle, as in
-- migrations/sqlite/00006_create_login_attempts.sql: an email with too many
-- attempts in a window is refused without checking the password (see
-- login_attempts.go). The rows are in the database, so the limit holds
-- across restarts, and across the instances that share it.
--
-- email is compared whatever the case of its ASCII letters, as
-- users.email is (see 00003_create_users.sql); it need not be an
-- account's, so that the throttle does not tell which emails have one.
-- Rows older than the window are deleted as new attempts come. id lets a
-- delete skip the rows another one is deleting (FOR UPDATE SKIP LOCKED).

-- +goose Up
CREATE TABLE login_attempts (
	id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	email        text        COLLATE "C" NOT NULL,
	attempted_at timestamptz NOT NULL
);

CREATE INDEX login_attempts_email_idx ON login_attempts (lower(email), attempted_at);
CREATE INDEX login_attempts_time_idx ON login_attempts (attempted_at);

-- +goose Down
DROP TABLE login_attempts;
