package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"example.com/gosessions/internal/data"
)

// AddAccountSession records that the session whose token hashes to
// tokenHash (session.HashToken of the token the session has after
// RenewToken) signed in to account userID at now, and returns the new row.
//
// expiresAt must never be earlier than the session can really last in its
// store, or the index would sign out a session still in use; see
// TouchAccountSession.
func (db *DB) AddAccountSession(ctx context.Context, userID int64, tokenHash, device string, now, expiresAt time.Time) (data.AccountSession, error) {
	s := data.AccountSession{
		ID:         rand.Text(),
		UserID:     userID,
		Device:     device,
		SignedInAt: now.UTC().Truncate(time.Millisecond),
		LastSeenAt: now.UTC().Truncate(time.Millisecond),
		ExpiresAt:  expiresAt.UTC().Truncate(time.Millisecond),
	}
	_, err := db.Write.ExecContext(ctx, `
		INSERT INTO account_sessions (id, user_id, token_hash, device, signed_in_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.ID, userID, tokenHash, device, formatTime(now), formatTime(now), formatTime(expiresAt))
	if err != nil {
		return data.AccountSession{}, fmt.Errorf("add account session: %w", err)
	}
	return s, nil
}

// AccountSessionByTokenHash returns the row of the session whose token
// hashes to tokenHash, if it has not expired at now, or ErrNotFound: the
// check every signed-in request makes first.
func (db *DB) AccountSessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (data.AccountSession, error) {
	return db.accountSession(ctx, selectAccountSession+" WHERE token_hash = ? AND expires_at > ?",
		tokenHash, formatTime(now))
}

// AccountSessionWithUser is AccountSessionByTokenHash with the name and
// email of the account, in the same indexed read: what a signed-in
// request needs to be served, and to show whose it is. The User has no
// PasswordHash: no page needs it.
func (db *DB) AccountSessionWithUser(ctx context.Context, tokenHash string, now time.Time) (data.AccountSession, data.User, error) {
	var u data.User
	s, err := scanAccountSession(db.reads.QueryRowContext(ctx, `
		SELECT s.id, s.user_id, s.device, s.signed_in_at, s.last_seen_at, s.expires_at, s.remember_expires_at,
		       u.name, u.email
		FROM account_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ?`, tokenHash, formatTime(now)),
		&u.Name, &u.Email)
	if errors.Is(err, sql.ErrNoRows) {
		return data.AccountSession{}, data.User{}, data.ErrNotFound
	}
	if err != nil {
		return data.AccountSession{}, data.User{}, err
	}
	u.ID = s.UserID
	return s, u, nil
}

// AccountSessionByID returns session id of account userID, if it has not
// expired at now, or ErrNotFound: an id of another account's session is
// not found either.
func (db *DB) AccountSessionByID(ctx context.Context, userID int64, id string, now time.Time) (data.AccountSession, error) {
	return db.accountSession(ctx, selectAccountSession+" WHERE id = ? AND user_id = ? AND expires_at > ?",
		id, userID, formatTime(now))
}

// AccountSessions returns the sessions of account userID that have not
// expired at now, the most recently seen first. Sessions signed out, or
// expired, are not in it: the index is all it reads.
func (db *DB) AccountSessions(ctx context.Context, userID int64, now time.Time) ([]data.AccountSession, error) {
	rows, err := db.reads.QueryContext(ctx,
		selectAccountSession+" WHERE user_id = ? AND expires_at > ? ORDER BY last_seen_at DESC, signed_in_at DESC, id",
		userID, formatTime(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []data.AccountSession
	for rows.Next() {
		s, err := scanAccountSession(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, rows.Err()
}

// TouchAccountSession records that session id was seen at now, and moves
// its expiry to expiresAt; it returns ErrNotFound if the session has been
// signed out or has expired.
//
// Each touch is a write, so the caller touches a session only when its
// LastSeenAt is older than some interval (a minute, say), not on every
// request. With an idle timeout, the session may then live in its store
// until its last request plus the idle timeout, up to an interval after
// the last touch: expiresAt must allow for that (now + idle timeout +
// interval, capped by the session's lifetime), so that the index never
// ends a session before its store does. A row with a remember-me token
// keeps at least that token's expiry.
func (db *DB) TouchAccountSession(ctx context.Context, id string, now, expiresAt time.Time) error {
	res, err := db.Write.ExecContext(ctx,
		`UPDATE account_sessions SET last_seen_at = ?, expires_at = max(?, coalesce(remember_expires_at, ''))
		 WHERE id = ? AND expires_at > ?`,
		formatTime(now), formatTime(expiresAt), id, formatTime(now))
	if err != nil {
		return fmt.Errorf("touch account session: %w", err)
	}
	return oneRow(res)
}

// DeleteAccountSession signs session id of account userID out, and
// returns its token hash: the key of the session's data in the store,
// for the caller to delete it there too. It returns ErrNotFound if the id
// is not one of the account's sessions active at now (the page answers
// 404).
func (db *DB) DeleteAccountSession(ctx context.Context, userID int64, id string, now time.Time) (tokenHash string, err error) {
	err = db.Write.QueryRowContext(ctx,
		"DELETE FROM account_sessions WHERE id = ? AND user_id = ? AND expires_at > ? RETURNING token_hash",
		id, userID, formatTime(now)).Scan(&tokenHash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", data.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("delete account session: %w", err)
	}
	return tokenHash, nil
}

// DeleteOtherAccountSessions signs out every session of account userID
// but keepID (the current one), and returns the token hashes of those it
// deleted, for the caller to delete their data from the store. An empty
// keepID keeps none.
func (db *DB) DeleteOtherAccountSessions(ctx context.Context, userID int64, keepID string) ([]string, error) {
	rows, err := db.Write.QueryContext(ctx,
		"DELETE FROM account_sessions WHERE user_id = ? AND id <> ? RETURNING token_hash", userID, keepID)
	if err != nil {
		return nil, fmt.Errorf("delete other account sessions: %w", err)
	}
	defer rows.Close()
	hashes := []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("delete other account sessions: %w", err)
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("delete other account sessions: %w", err)
	}
	return hashes, nil
}

// DeleteUnrememberedAccountSessions deletes every row without a
// remember-me token that still works at now, and returns how many. A
// server whose sessions live in its memory calls it at start-up: the
// sessions the rows name are gone. A remembered device keeps its row: the
// token hash on it names a session that no longer exists, so no session
// is signed in by it, until the device's remember-me cookie signs it in
// again into a new session on that row.
func (db *DB) DeleteUnrememberedAccountSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.Write.ExecContext(ctx,
		"DELETE FROM account_sessions WHERE remember_expires_at IS NULL OR remember_expires_at <= ?",
		formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("delete unremembered account sessions: %w", err)
	}
	return res.RowsAffected()
}

// DeleteExpiredAccountSessions deletes the rows that expired by now, and
// returns how many: expired rows are never read, but would otherwise stay
// forever. The session stores' cleanup is the time to call it.
func (db *DB) DeleteExpiredAccountSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.Write.ExecContext(ctx,
		"DELETE FROM account_sessions WHERE expires_at <= ?", formatTime(now))
	if err != nil {
		return 0, fmt.Errorf("delete expired account sessions: %w", err)
	}
	return res.RowsAffected()
}

const (
	accountSessionColumns = "id, user_id, device, signed_in_at, last_seen_at, expires_at, remember_expires_at"
	selectAccountSession  = "SELECT " + accountSessionColumns + " FROM account_sessions"
)

// accountSession runs query, a selectAccountSession with a WHERE clause,
// and scans its row.
func (db *DB) accountSession(ctx context.Context, query string, args ...any) (data.AccountSession, error) {
	s, err := scanAccountSession(db.reads.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return data.AccountSession{}, data.ErrNotFound
	}
	return s, err
}

// scanAccountSession scans the columns of selectAccountSession, and then
// into extra those the query selects after them.
func scanAccountSession(row interface{ Scan(...any) error }, extra ...any) (data.AccountSession, error) {
	var s data.AccountSession
	var signedIn, lastSeen, expires string
	var remember sql.NullString
	dest := append([]any{&s.ID, &s.UserID, &s.Device, &signedIn, &lastSeen, &expires, &remember}, extra...)
	if err := row.Scan(dest...); err != nil {
		return data.AccountSession{}, err
	}
	var errs [4]error
	s.SignedInAt, errs[0] = parseTime(signedIn)
	s.LastSeenAt, errs[1] = parseTime(lastSeen)
	s.ExpiresAt, errs[2] = parseTime(expires)
	if remember.Valid {
		s.RememberExpiresAt, errs[3] = parseTime(remember.String)
	}
	if err := errors.Join(errs[:]...); err != nil {
		return data.AccountSession{}, fmt.Errorf("account session %s: %w", s.ID, err)
	}
	return s, nil
}
