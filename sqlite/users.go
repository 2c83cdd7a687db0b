package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrEmailTaken is returned by CreateUser when an account already has the
// email, in any case of its letters.
var ErrEmailTaken = errors.New("email already taken")

// User is an account.
type User struct {
	ID           int64
	Name         string
	Email        string // as typed at sign-up
	PasswordHash string // an argon2id PHC string: see package password
	CreatedAt    time.Time
}

// CreateUser adds an account and returns it, or ErrEmailTaken. The caller
// has checked the fields and hashed the password.
func (db *DB) CreateUser(ctx context.Context, name, email, passwordHash string) (User, error) {
	u := User{Name: name, Email: email, PasswordHash: passwordHash}
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
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// UserByEmail returns the account with email, in any case, or ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	// email's NOCASE collation applies to = and lets the unique index answer.
	return db.user(ctx, selectUser+" WHERE email = ?", email)
}

// UserByID returns the account with id, or ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	return db.user(ctx, selectUser+" WHERE id = ?", id)
}

const selectUser = "SELECT id, name, email, password_hash, created_at FROM users"

// user runs query, a selectUser with a WHERE clause, and scans its row.
func (db *DB) user(ctx context.Context, query string, arg any) (User, error) {
	var u User
	var created string
	err := db.Read.QueryRowContext(ctx, query, arg).Scan(&u.ID, &u.Name, &u.Email, &u.PasswordHash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	if u.CreatedAt, err = parseTime(created); err != nil {
		return User{}, fmt.Errorf("user %d: %w", u.ID, err)
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
		return ErrNotFound
	}
	return nil
}
