package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"example.com/gosessions/internal/data"
)

// CreateUser adds an account and returns it, or ErrEmailTaken. The caller
// has checked the fields and hashed the password.
func (db *DB) CreateUser(ctx context.Context, name, email, passwordHash string) (data.User, error) {
	u := data.User{Name: name, Email: email, PasswordHash: passwordHash}
	var created string
	// ON CONFLICT DO NOTHING turns a taken email into "no row returned",
	// without depending on the driver's error codes; a conflict on any
	// other constraint is still an error.
	err := db.Write.QueryRowContext(ctx, `
		INSERT INTO users (name, email, password_hash) VALUES (?, ?, ?)
		ON CONFLICT (email) DO NOTHING
		RETURNING id, created_at`,
		name, email, passwordHash).Scan(&u.ID, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.User{}, data.ErrEmailTaken
	}
	if err != nil {
		return data.User{}, fmt.Errorf("create user: %w", err)
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return data.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the account with email, in any case, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (data.User, error) {
	// email's NOCASE collation applies to = and lets the unique index answer.
	return db.user(ctx, selectUser+" WHERE email = ?", email)
}

// UserByID returns the account with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (data.User, error) {
	return db.user(ctx, selectUser+" WHERE id = ?", id)
}

const selectUser = "SELECT id, name, email, password_hash, created_at FROM users"

// user runs query, a selectUser with a WHERE clause, and scans its row.
func (db *DB) user(ctx context.Context, query string, arg any) (data.User, error) {
	var u data.User
	var created string
	err := db.reads.QueryRowContext(ctx, query, arg).Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return data.User{}, data.ErrNotFound
	}
	if err != nil {
		return data.User{}, err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return data.User{}, fmt.Errorf("user %d: %w", u.ID, err)
	}
	return u, nil
}

// SetPasswordHash replaces an account's password hash: on a change of
// password, or to store a hash with new parameters after a sign-in. It
// returns ErrNotFound if there is no account id.
func (db *DB) SetPasswordHash(ctx context.Context, id int64, passwordHash string) error {
	res, err := db.Write.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", passwordHash, id)
	if err != nil {
		return fmt.Errorf("set password hash: %w", err)
	}
	return oneRow(res)
}

// oneRow turns an UPDATE or DELETE that changed no row into ErrNotFound.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return data.ErrNotFound
	}
	return nil
}

// ChangePassword sets the password hash of account userID, moves the row
// keepID of the session that asked for it to newTokenHash (its token is
// renewed), and signs out every other session of the account, in one
// transaction. It returns the token hashes of the sessions signed out, so
// that their data can be deleted from the session store too.
//
// If the row keepID is gone (that session was signed out from another
// device while it hashed the new password), nothing changes and the error
// is ErrNotFound: a signed-out session must not change the password.
func (db *DB) ChangePassword(ctx context.Context, userID int64, keepID, newTokenHash, passwordHash string) ([]string, error) {
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	res, err := tx.ExecContext(ctx,
		"UPDATE account_sessions SET token_hash = ? WHERE id = ? AND user_id = ?", newTokenHash, keepID, userID)
	if err == nil {
		err = oneRow(res)
	}
	if err == nil {
		res, err = tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", passwordHash, userID)
		if err == nil {
			err = oneRow(res)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	rows, err := tx.QueryContext(ctx,
		"DELETE FROM account_sessions WHERE user_id = ? AND id <> ? RETURNING token_hash", userID, keepID)
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	hashes := []string{}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("change password: %w", err)
		}
		hashes = append(hashes, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	return hashes, nil
}
