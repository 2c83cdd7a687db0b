package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"example.com/gosessions/internal/data"
)

// Remember-me tokens live on the rows of the session index: the device's
// row carries the selector of its remember cookie, the SHA-256 of the
// cookie's secret, and when it expires; and, once the secret has been
// replaced, the SHA-256 of the one before and when it was replaced. See
// migrations/sqlite/00010_add_account_sessions_remember.sql and 00011.

// SetRememberToken gives session id a new remember-me token: selector finds
// it, secretHash is the hash of the cookie's secret, and expiresAt is when
// it stops working. Any previous secret is forgotten. The row is kept at
// least until expiresAt, so that the device can be signed in again after
// its session has ended.
func (db *DB) SetRememberToken(ctx context.Context, id, selector, secretHash string, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx, `
		UPDATE account_sessions
		SET remember_selector = ?, remember_hash = ?, remember_expires_at = ?, expires_at = max(expires_at, ?),
		    remember_previous_hash = NULL, remember_rotated_at = NULL
		WHERE id = ?`,
		selector, secretHash, formatTime(expiresAt), formatTime(expiresAt), id)
	if err != nil {
		return fmt.Errorf("set remember token: %w", err)
	}
	return oneRow(res)
}

// RememberedSession returns the row whose remember-me token has selector
// and has not expired at now, with the hashes of its secrets for the
// caller to compare; or ErrNotFound.
func (db *DB) RememberedSession(ctx context.Context, selector string, now time.Time) (data.AccountSession, data.RememberSecrets, error) {
	var secrets data.RememberSecrets
	var previous, rotated sql.NullString
	s, err := scanAccountSession(db.reads.QueryRowContext(ctx,
		"SELECT "+accountSessionColumns+", remember_hash, remember_previous_hash, remember_rotated_at"+
			" FROM account_sessions WHERE remember_selector = ? AND remember_expires_at > ?",
		selector, formatTime(now)), &secrets.Hash, &previous, &rotated)
	if errors.Is(err, sql.ErrNoRows) {
		return data.AccountSession{}, data.RememberSecrets{}, data.ErrNotFound
	}
	if err != nil {
		return data.AccountSession{}, data.RememberSecrets{}, err
	}
	if previous.Valid && rotated.Valid {
		secrets.PreviousHash = previous.String
		if secrets.RotatedAt, err = parseTime(rotated.String); err != nil {
			return data.AccountSession{}, data.RememberSecrets{}, fmt.Errorf("account session %s: %w", s.ID, err)
		}
	}
	return s, secrets, nil
}

// RestoreAccountSession signs the device of row id in again with its
// remember-me token, into a new session: the row moves to the new token's
// hash, the token gets a new secret (secretHash) and keeps the hash of the
// one it replaces as the previous, replaced at now; the row is seen at now
// and lasts until expiresAt (or its remember-me token's expiry, if later).
// It returns ErrNotFound if the row is gone.
func (db *DB) RestoreAccountSession(ctx context.Context, id, tokenHash, secretHash string, now, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx, `
		UPDATE account_sessions
		SET token_hash = ?, last_seen_at = ?, expires_at = max(?, coalesce(remember_expires_at, '')),
		    remember_previous_hash = remember_hash, remember_hash = ?, remember_rotated_at = ?
		WHERE id = ?`,
		tokenHash, formatTime(now), formatTime(expiresAt), secretHash, formatTime(now), id)
	if err != nil {
		return fmt.Errorf("restore account session: %w", err)
	}
	return oneRow(res)
}

// RestoreAccountSessionKeepingSecret is RestoreAccountSession without a
// new secret: the row moves to the new session, and its remember-me
// token stays as it is, previous secret and time of replacement included.
// It is for a request that carried the previous secret shortly after the
// replacement, whose browser holds, or is about to hold, the current one.
func (db *DB) RestoreAccountSessionKeepingSecret(ctx context.Context, id, tokenHash string, now, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx, `
		UPDATE account_sessions
		SET token_hash = ?, last_seen_at = ?, expires_at = max(?, coalesce(remember_expires_at, ''))
		WHERE id = ?`,
		tokenHash, formatTime(now), formatTime(expiresAt), id)
	if err != nil {
		return fmt.Errorf("restore account session: %w", err)
	}
	return oneRow(res)
}
