package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/data"
)

// loginAttemptsLock is the first key of the advisory locks that
// RecordLoginAttempt takes, one per email (the second key is a hash of the
// email). The two-key form of the locks has a key space of its own, apart
// from the one-key locks that goose takes; this constant keeps it apart
// from other two-key locks an application might take.
const loginAttemptsLock = 0x6c6f6769 // "logi"

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
// Counting before the check, in one transaction, makes the limit exact
// only if two attempts at one email cannot count at once: under READ
// COMMITTED, both would count four and both insert a fifth. SQLite's write
// lock serialises them; here the transaction first takes a lock of the
// email's own, pg_advisory_xact_lock on a hash of its lowercase, held
// until the commit. The next attempt at the email waits for it, and its
// count then sees the row the first inserted. Attempts at other emails do
// not wait (but for a hash collision, which only makes one wait a moment).
// A row lock would need a row per email to lock before its first attempt.
//
// The caller has checked email against the form's limits: every attempt
// is a row until the window has passed, whether or not an account has the
// email.
func (db *DB) RecordLoginAttempt(ctx context.Context, limit data.LoginLimit, email string, now time.Time) (retryAt time.Time, blocked bool, err error) {
	if limit.Attempts < 1 || limit.Window <= 0 {
		return time.Time{}, false, fmt.Errorf("record login attempt: invalid limit %+v", limit)
	}
	cutoff := ms(now.Add(-limit.Window))
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(lower($2 COLLATE "C")))`,
			loginAttemptsLock, email); err != nil {
			return err
		}

		// Forget every attempt that has left the window, of every email:
		// the table never holds much more than one window of attempts.
		// Rows that another attempt is deleting are skipped, rather than
		// waited for (and two deletes never wait for each other).
		if _, err := tx.Exec(ctx, `
			DELETE FROM login_attempts WHERE id IN
				(SELECT id FROM login_attempts WHERE attempted_at <= $1 FOR UPDATE SKIP LOCKED)`,
			cutoff); err != nil {
			return err
		}

		// The limit-th newest attempt in the window is the one whose
		// leaving it lets the next attempt in. (The window is in the WHERE
		// too, for the rows skipped above.)
		var oldest time.Time
		err := tx.QueryRow(ctx, `
			SELECT attempted_at FROM login_attempts
			WHERE lower(email) = lower($1 COLLATE "C") AND attempted_at > $2
			ORDER BY attempted_at DESC LIMIT 1 OFFSET $3`,
			email, cutoff, limit.Attempts-1).Scan(&oldest)
		if err == nil {
			retryAt, blocked = oldest.UTC().Add(limit.Window), true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}

		// Under the limit. Since no attempt is recorded at the limit, no
		// email ever has more than limit.Attempts rows in the window.
		_, err = tx.Exec(ctx, "INSERT INTO login_attempts (email, attempted_at) VALUES ($1, $2)", email, ms(now))
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("record login attempt: %w", err)
	}
	return retryAt, blocked, nil
}

// ForgetLoginAttempt forgets the one attempt of email, in any case, that
// RecordLoginAttempt counted at at: the caller could not check its
// password. Attempts that share email and time are the same but for their
// id, so the subquery picks one by it. A row that another call is deleting
// is skipped rather than waited for: were two attempts at the same
// millisecond forgotten at once, both would otherwise pick the same row,
// and the second delete would find it gone and leave the other counted.
func (db *DB) ForgetLoginAttempt(ctx context.Context, email string, at time.Time) error {
	if _, err := db.pool.Exec(ctx, `
		DELETE FROM login_attempts WHERE id IN
			(SELECT id FROM login_attempts WHERE lower(email) = lower($1 COLLATE "C") AND attempted_at = $2
			 LIMIT 1 FOR UPDATE SKIP LOCKED)`,
		email, ms(at)); err != nil {
		return fmt.Errorf("forget login attempt: %w", err)
	}
	return nil
}

// ClearLoginAttempts forgets email's attempts, in any case: the caller has
// just signed in with it.
func (db *DB) ClearLoginAttempts(ctx context.Context, email string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM login_attempts WHERE lower(email) = lower($1 COLLATE "C")`, email); err != nil {
		return fmt.Errorf("clear login attempts: %w", err)
	}
	return nil
}
