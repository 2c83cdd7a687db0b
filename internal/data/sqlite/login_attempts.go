package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"example.com/gosessions/internal/data"
)

// RecordLoginAttempt counts an attempt to sign in as email at now, before
// the password is checked. If email already has limit.Attempts attempts in
// the window ending at now, it records nothing and returns blocked, with
// the time the oldest of those leaves the window: the caller refuses the
// attempt without checking the password and answers 429 with Retry-After.
// An attempt whose password could not be checked (the hasher was busy,
// the request ended, the database failed) is then taken back with
// ForgetLoginAttempt, and a successful sign-in calls ClearLoginAttempts,
// so what stays counted are the failures.
//
// Counting before the check, in one write transaction, makes the limit
// exact: were failures counted after it, a burst of concurrent guesses
// would all pass the check before the first was recorded.
//
// The caller has checked email against the form's limits: every attempt
// is a row until the window has passed, whether or not an account has the
// email.
func (db *DB) RecordLoginAttempt(ctx context.Context, limit data.LoginLimit, email string, now time.Time) (retryAt time.Time, blocked bool, err error) {
	if limit.Attempts < 1 || limit.Window <= 0 {
		return time.Time{}, false, fmt.Errorf("record login attempt: invalid limit %+v", limit)
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, false, err
	}
	defer tx.Rollback() // no-op after Commit

	// Forget every attempt that has left the window, of every email: the
	// table never holds more than one window of attempts.
	if _, err := tx.ExecContext(ctx, "DELETE FROM login_attempts WHERE attempted_at <= ?",
		formatTime(now.Add(-limit.Window))); err != nil {
		return time.Time{}, false, fmt.Errorf("record login attempt: %w", err)
	}

	// The limit-th newest attempt left is the one whose leaving the window
	// lets the next attempt in.
	var oldest string
	err = tx.QueryRowContext(ctx, `
		SELECT attempted_at FROM login_attempts WHERE email = ?
		ORDER BY attempted_at DESC LIMIT 1 OFFSET ?`,
		email, limit.Attempts-1).Scan(&oldest)
	switch {
	case err == nil:
		at, err := parseTime(oldest)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("record login attempt: %w", err)
		}
		return at.Add(limit.Window), true, tx.Commit()
	case !errors.Is(err, sql.ErrNoRows):
		return time.Time{}, false, fmt.Errorf("record login attempt: %w", err)
	}

	// Under the limit. Since no attempt is recorded at the limit, no email
	// ever has more than limit.Attempts rows.
	if _, err := tx.ExecContext(ctx, "INSERT INTO login_attempts (email, attempted_at) VALUES (?, ?)",
		email, formatTime(now)); err != nil {
		return time.Time{}, false, fmt.Errorf("record login attempt: %w", err)
	}
	return time.Time{}, false, tx.Commit()
}

// ForgetLoginAttempt forgets the one attempt of email, in any case, that
// RecordLoginAttempt counted at at: the caller could not check its
// password. Attempts that share email and time are the same but for their
// rowid, so the subquery picks one by it; email's NOCASE collation makes
// the = ignore case, as in the other queries.
func (db *DB) ForgetLoginAttempt(ctx context.Context, email string, at time.Time) error {
	if _, err := db.Write.ExecContext(ctx, `
		DELETE FROM login_attempts WHERE rowid =
			(SELECT rowid FROM login_attempts WHERE email = ? AND attempted_at = ? LIMIT 1)`,
		email, formatTime(at)); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// ClearLoginAttempts forgets email's attempts, in any case: the caller has
// just signed in with it.
func (db *DB) ClearLoginAttempts(ctx context.Context, email string) error {
	if _, err := db.Write.ExecContext(ctx, "DELETE FROM login_attempts WHERE email = ?", email); err != nil {
		return fmt.Errorf("clear login attempts: %w", err)
	}
	return nil
}
