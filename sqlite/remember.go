package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Remember-me tokens live on the rows of the session index: the device's
// row carries the selector of its remember cookie, the SHA-256 of the
// cookie's secret, and when it expires. See
// migrations/00010_add_account_sessions_remember.sql.

// SetRememberToken gives session id a remember-me token: selector finds
// it, secretHash is the hash of the cookie's secret, and expiresAt is when
// it stops working. The row is kept at least until then, so that the
// device can be signed in again after its session has ended.
func (db *DB) SetRememberToken(ctx context.Context, id, selector, secretHash string, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx, `
		UPDATE account_sessions
		SET remember_selector = ?, remember_hash = ?, remember_expires_at = ?, expires_at = max(expires_at, ?)
		WHERE id = ?`,
		selector, secretHash, formatTime(expiresAt), formatTime(expiresAt), id)
	if err != nil {
		return fmt.Errorf("set remember token: %w", err)
	}
	return oneRow(res)
}

// RememberedSession returns the row whose remember-me token has selector
// and has not expired at now, with the hash of its secret for the caller
// to compare; or ErrNotFound.
func (db *DB) RememberedSession(ctx context.Context, selector string, now time.Time) (s AccountSession, secretHash string, err error) {
	s, err = scanAccountSession(db.Read.QueryRowContext(ctx,
		"SELECT "+accountSessionColumns+", remember_hash FROM account_sessions"+
			" WHERE remember_selector = ? AND remember_expires_at > ?",
		selector, formatTime(now)), &secretHash)
	if errors.Is(err, sql.ErrNoRows) {
		return AccountSession{}, "", ErrNotFound
	}
	return s, secretHash, err
}

// RestoreAccountSession signs the device of row id in again with its
// remember-me token, into a new session: the row moves to the new token's
// hash, the token gets a new secret (secretHash), the row is seen at now
// and lasts until expiresAt (or its remember-me token's expiry, if later).
// It returns ErrNotFound if the row is gone.
func (db *DB) RestoreAccountSession(ctx context.Context, id, tokenHash, secretHash string, now, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx, `
		UPDATE account_sessions
		SET token_hash = ?, remember_hash = ?, last_seen_at = ?, expires_at = max(?, coalesce(remember_expires_at, ''))
		WHERE id = ?`,
		tokenHash, secretHash, formatTime(now), formatTime(expiresAt), id)
	if err != nil {
		return fmt.Errorf("restore account session: %w", err)
	}
	return oneRow(res)
}
