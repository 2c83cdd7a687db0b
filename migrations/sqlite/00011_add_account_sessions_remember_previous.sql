-- Remember me, tabs reopened together: each use of a remember-me cookie
-- replaces its secret, and a tab whose request left before the answer
-- with the new secret arrived still carries the previous one. That
-- request must not look like a stolen cookie, so the previous secret
-- keeps working for a short while after it was replaced (see
-- web/remember.go).
--
-- remember_previous_hash is the SHA-256 of the secret that
-- remember_hash replaced, never the secret; remember_rotated_at is when.
-- Both are NULL until the first replacement, and again after a new
-- remember-me token (a sign-in, a change of password).

-- +goose Up
ALTER TABLE account_sessions ADD COLUMN remember_previous_hash TEXT;
ALTER TABLE account_sessions ADD COLUMN remember_rotated_at TEXT;

-- +goose Down
ALTER TABLE account_sessions DROP COLUMN remember_rotated_at;
ALTER TABLE account_sessions DROP COLUMN remember_previous_hash;
