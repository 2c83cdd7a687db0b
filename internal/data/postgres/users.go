package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/data"
)

// CreateUser adds an account and returns it, or ErrEmailTaken. The caller
// has checked the fields and hashed the password.
func (db *DB) CreateUser(ctx context.Context, name, email, passwordHash string) (data.User, error) {
	u := data.User{Name: name, Email: email, PasswordHash: passwordHash}
	// ON CONFLICT DO NOTHING turns a taken email into "no row returned";
	// a conflict on any other constraint is still an error. The conflict
	// is on the unique index of lower(email) (see
	// migrations/postgres/00003_create_users.sql).
	err := db.pool.QueryRow(ctx, `
		INSERT INTO users (name, email, password_hash) VALUES ($1, $2, $3)
		ON CONFLICT ((lower(email))) DO NOTHING
		RETURNING id, created_at`,
		name, email, passwordHash).Scan(&u.ID, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return data.User{}, data.ErrEmailTaken
	}
	if err != nil {
		return data.User{}, fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// UserByEmail returns the account with email, in any case, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (data.User, error) {
	// lower() under "C" folds A-Z only, as SQLite's NOCASE; the unique
	// index answers.
	return db.user(ctx, selectUser+` WHERE lower(email) = lower($1 COLLATE "C")`, email)
}

// UserByID returns the account with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (data.User, error) {
	return db.user(ctx, selectUser+" WHERE id = $1", id)
}

const selectUser = "SELECT id, name, email, password_hash, created_at FROM users"

// user runs query, a selectUser with a WHERE clause, and scans its row.
func (db *DB) user(ctx context.Context, query string, arg any) (data.User, error) {
	var u data.User
	err := db.pool.QueryRow(ctx, query, arg).Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &u.CreatedAt)
	if err != nil {
		return data.User{}, notFound(err)
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// SetPasswordHash replaces an account's password hash: on a change of
// password, or to store a hash with new parameters after a sign-in. It
// returns ErrNotFound if there is no account id.
func (db *DB) SetPasswordHash(ctx context.Context, id int64, passwordHash string) error {
	if err := oneRow(db.pool.Exec(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", passwordHash, id)); err != nil {
		return fmt.Errorf("set password hash: %w", err)
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
// is ErrNotFound: a signed-out session must not change the password. The
// UPDATE locks the row until the commit: a sign-out of it that comes
// meanwhile waits for the commit, as it would for SQLite's write lock.
func (db *DB) ChangePassword(ctx context.Context, userID int64, keepID, newTokenHash, passwordHash string) ([]string, error) {
	var hashes []string
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := oneRow(tx.Exec(ctx,
			"UPDATE account_sessions SET token_hash = $1 WHERE id = $2 AND user_id = $3", newTokenHash, keepID, userID)); err != nil {
			return err
		}
		if err := oneRow(tx.Exec(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2", passwordHash, userID)); err != nil {
			return err
		}
		rows, err := tx.Query(ctx,
			"DELETE FROM account_sessions WHERE user_id = $1 AND id <> $2 RETURNING token_hash", userID, keepID)
		if err != nil {
			return err
		}
		hashes, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	return hashes, nil
}
