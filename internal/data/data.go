// Package data defines what the application keeps in its database: the
// catalog, orders, accounts, sign-in attempts and the index of the sessions
// signed in to each account. Store is the one interface the web layer uses;
// the folders beside it implement it, one per database: sqlite (a file,
// the default) and postgres (a server that several instances share).
package data

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a row asked for by id does not exist.
var ErrNotFound = errors.New("not found")

// Ingredient is one item of the catalog.
type Ingredient struct {
	ID          int64
	Name        string
	Description string
	PriceCents  int64
}

// User is an account.
type User struct {
	ID           int64
	Name         string
	Email        string // as typed at sign-up
	PasswordHash string // an argon2id PHC string: see package password
	CreatedAt    time.Time
}

// ErrEmailTaken is returned by CreateUser when an account already has the
// email, in any case of its letters.
var ErrEmailTaken = errors.New("email already taken")

// AccountSession is one session signed in to an account: a line of "Your
// sessions" on /account.
//
// The index of these rows, not the session store, decides who is signed
// in. On every request of a session that holds a userId, the web layer
// looks up the row of the session's token hash (AccountSessionByTokenHash)
// and, if it is gone or belongs to another account, destroys the session
// and serves the request as a guest's. Signing a session out is then
// deleting its row: it works the same whether the session's data is in
// SQLite, in memory or in Redis, on this instance or on another sharing
// the database, and every request whose check runs after the delete has
// committed is a guest's, even if the session's data is still in a store.
type AccountSession struct {
	// ID is a random handle for pages and URLs. It is neither the token
	// nor its hash, so showing it gives no way into the session.
	ID         string
	UserID     int64
	Device     string // a coarse name from the User-Agent, e.g. "Firefox on Linux"
	SignedInAt time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the latest this sign-in can last

	// RememberExpiresAt is when the device's remember-me cookie stops
	// working, and zero if it was signed in without "Remember me". The
	// row lasts at least as long (see SetRememberToken).
	RememberExpiresAt time.Time
}

// RememberSecrets are the hashes a remember-me cookie's secret is checked
// against.
type RememberSecrets struct {
	Hash string // the SHA-256 of the current secret

	// PreviousHash is the SHA-256 of the secret that Hash replaced at
	// RotatedAt; both are zero until the first replacement.
	PreviousHash string
	RotatedAt    time.Time
}

// LoginLimit is how many attempts to sign in one email may have in a
// sliding window of time: the sign-in form's 5 in 15 minutes. An
// application has one LoginLimit: every call prunes the rows older than
// its Window.
type LoginLimit struct {
	Attempts int
	Window   time.Duration
}

// NewOrder is what CreateOrder records.
type NewOrder struct {
	// Key names the cart being checked out: a random value that the
	// visitor's session keeps with the cart. It is required.
	Key           string
	UserID        int64 // the account placing it, or 0 for a guest
	CustomerName  string
	CustomerEmail string
	Items         []OrderItem
}

// OrderItem is one ingredient CreateOrder is asked to buy.
type OrderItem struct {
	IngredientID int64
	Qty          int
}

// ErrKeyUsed is returned by CreateOrder when its key has already placed an
// order, for other items than the ones asked for now.
var ErrKeyUsed = errors.New("the checkout key has placed an order for other items")

// Order is a completed checkout.
type Order struct {
	ID            int64
	UserID        int64 // the account that placed it; 0 for a guest's order
	CustomerName  string
	CustomerEmail string
	TotalCents    int64
	CreatedAt     string
	Lines         []OrderLine
}

// OrderLine is one ingredient of an order, at the price it was bought for.
type OrderLine struct {
	IngredientID   int64
	Name           string
	Qty            int
	UnitPriceCents int64
}

// LineTotalCents is the line's quantity times its unit price.
func (l OrderLine) LineTotalCents() int64 { return int64(l.Qty) * l.UnitPriceCents }

// OrderSummary is one line of an account's list of orders.
type OrderSummary struct {
	ID         int64
	TotalCents int64
	CreatedAt  time.Time
}

// Store is the application's database, as the web layer and the server
// use it. internal/data/sqlite and internal/data/postgres implement it, and
// internal/data/datatest holds the one suite of tests both must pass.
//
// Times are stored to the millisecond. ErrNotFound means the row asked for
// does not exist (or has expired).
type Store interface {
	// The catalog.

	// Ingredients returns the whole catalog, ordered by id.
	Ingredients(ctx context.Context) ([]Ingredient, error)
	// Ingredient returns one ingredient, or ErrNotFound.
	Ingredient(ctx context.Context, id int64) (Ingredient, error)

	// Orders.

	// CreateOrder records an order in one transaction, pricing each line from
	// the catalog, and returns its id with created true. Either the whole order
	// is written or nothing is.
	//
	// A key places at most one order. If o.Key has placed one already for the
	// same items (a checkout tried again because its answer never arrived),
	// CreateOrder writes nothing and returns that order's id with created false.
	// If that order holds other items, it returns the order's id, created false,
	// and ErrKeyUsed: the cart changed after the earlier checkout went through.
	CreateOrder(ctx context.Context, o NewOrder) (id int64, created bool, err error)
	// OrderIDByKey returns the id of the order that checkout key placed, or
	// ErrNotFound.
	OrderIDByKey(ctx context.Context, key string) (int64, error)
	// Order returns one order with its lines, or ErrNotFound.
	Order(ctx context.Context, id int64) (Order, error)
	// OrdersOfUser returns the latest limit orders of account userID, the
	// newest first.
	OrdersOfUser(ctx context.Context, userID int64, limit int) ([]OrderSummary, error)

	// Accounts.

	// CreateUser adds an account and returns it, or ErrEmailTaken. The caller
	// has checked the fields and hashed the password.
	CreateUser(ctx context.Context, name, email, passwordHash string) (User, error)
	// UserByEmail returns the account with email, in any case, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByID returns the account with id, or ErrNotFound.
	UserByID(ctx context.Context, id int64) (User, error)
	// SetPasswordHash replaces an account's password hash: on a change of
	// password, or to store a hash with new parameters after a sign-in. It
	// returns ErrNotFound if there is no account id.
	SetPasswordHash(ctx context.Context, id int64, passwordHash string) error
	// ChangePassword sets the password hash of account userID, moves the row
	// keepID of the session that asked for it to newTokenHash (its token is
	// renewed), and signs out every other session of the account, in one
	// transaction. It returns the token hashes of the sessions signed out, so
	// that their data can be deleted from the session store too.
	//
	// If the row keepID is gone (that session was signed out from another
	// device while it hashed the new password), nothing changes and the error
	// is ErrNotFound: a signed-out session must not change the password.
	ChangePassword(ctx context.Context, userID int64, keepID, newTokenHash, passwordHash string) ([]string, error)
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
	RecordLoginAttempt(ctx context.Context, limit LoginLimit, email string, now time.Time) (retryAt time.Time, blocked bool, err error)
	// ForgetLoginAttempt forgets the one attempt of email, in any case, that
	// RecordLoginAttempt counted at at: the caller could not check its
	// password, so it was no guess. If several attempts of email share that
	// time, one of them is forgotten; if none has it (it has left the window
	// already), nothing is, and that is no error.
	ForgetLoginAttempt(ctx context.Context, email string, at time.Time) error
	// ClearLoginAttempts forgets email's attempts, in any case: the caller has
	// just signed in with it.
	ClearLoginAttempts(ctx context.Context, email string) error

	// The index of the sessions signed in to each account.

	// AddAccountSession records that the session whose token hashes to
	// tokenHash (session.HashToken of the token the session has after
	// RenewToken) signed in to account userID at now, and returns the new row.
	//
	// expiresAt must never be earlier than the session can really last in its
	// store, or the index would sign out a session still in use; see
	// TouchAccountSession.
	AddAccountSession(ctx context.Context, userID int64, tokenHash, device string, now, expiresAt time.Time) (AccountSession, error)
	// AccountSessionByTokenHash returns the row of the session whose token
	// hashes to tokenHash, if it has not expired at now, or ErrNotFound: the
	// check every signed-in request makes first.
	AccountSessionByTokenHash(ctx context.Context, tokenHash string, now time.Time) (AccountSession, error)
	// AccountSessionWithUser is AccountSessionByTokenHash with the name and
	// email of the account, in the same indexed read: what a signed-in
	// request needs to be served, and to show whose it is. The User has no
	// PasswordHash: no page needs it.
	AccountSessionWithUser(ctx context.Context, tokenHash string, now time.Time) (AccountSession, User, error)
	// AccountSessionByID returns session id of account userID, if it has not
	// expired at now, or ErrNotFound: an id of another account's session is
	// not found either.
	AccountSessionByID(ctx context.Context, userID int64, id string, now time.Time) (AccountSession, error)
	// AccountSessions returns the sessions of account userID that have not
	// expired at now, the most recently seen first. Sessions signed out, or
	// expired, are not in it: the index is all it reads.
	AccountSessions(ctx context.Context, userID int64, now time.Time) ([]AccountSession, error)
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
	TouchAccountSession(ctx context.Context, id string, now, expiresAt time.Time) error
	// DeleteAccountSession signs session id of account userID out, and
	// returns its token hash: the key of the session's data in the store,
	// for the caller to delete it there too. It returns ErrNotFound if the id
	// is not one of the account's sessions active at now (the page answers
	// 404).
	DeleteAccountSession(ctx context.Context, userID int64, id string, now time.Time) (tokenHash string, err error)
	// DeleteOtherAccountSessions signs out every session of account userID
	// but keepID (the current one), and returns the token hashes of those it
	// deleted, for the caller to delete their data from the store. An empty
	// keepID keeps none.
	DeleteOtherAccountSessions(ctx context.Context, userID int64, keepID string) ([]string, error)
	// DeleteUnrememberedAccountSessions deletes every row without a
	// remember-me token that still works at now, and returns how many. A
	// server whose sessions live in its memory calls it at start-up: the
	// sessions the rows name are gone. A remembered device keeps its row: the
	// token hash on it names a session that no longer exists, so no session
	// is signed in by it, until the device's remember-me cookie signs it in
	// again into a new session on that row.
	DeleteUnrememberedAccountSessions(ctx context.Context, now time.Time) (int64, error)
	// DeleteExpiredAccountSessions deletes the rows that expired by now, and
	// returns how many: expired rows are never read, but would otherwise stay
	// forever. The session stores' cleanup is the time to call it.
	DeleteExpiredAccountSessions(ctx context.Context, now time.Time) (int64, error)

	// Remember me.

	// SetRememberToken gives session id a new remember-me token: selector finds
	// it, secretHash is the hash of the cookie's secret, and expiresAt is when
	// it stops working. Any previous secret is forgotten. The row is kept at
	// least until expiresAt, so that the device can be signed in again after
	// its session has ended.
	SetRememberToken(ctx context.Context, id, selector, secretHash string, expiresAt time.Time) error
	// RememberedSession returns the row whose remember-me token has selector
	// and has not expired at now, with the hashes of its secrets for the
	// caller to compare; or ErrNotFound.
	RememberedSession(ctx context.Context, selector string, now time.Time) (AccountSession, RememberSecrets, error)
	// RestoreAccountSession signs the device of row id in again with its
	// remember-me token, into a new session: the row moves to the new token's
	// hash, the token gets a new secret (secretHash) and keeps the hash of the
	// one it replaces as the previous, replaced at now; the row is seen at now
	// and lasts until expiresAt (or its remember-me token's expiry, if later).
	// It returns ErrNotFound if the row is gone.
	RestoreAccountSession(ctx context.Context, id, tokenHash, secretHash string, now, expiresAt time.Time) error
	// RestoreAccountSessionKeepingSecret is RestoreAccountSession without a
	// new secret: the row moves to the new session, and its remember-me
	// token stays as it is, previous secret and time of replacement included.
	// It is for a request that carried the previous secret shortly after the
	// replacement, whose browser holds, or is about to hold, the current one.
	RestoreAccountSessionKeepingSecret(ctx context.Context, id, tokenHash string, now, expiresAt time.Time) error

	// The database itself.

	// ID returns the database's own random id, made when it was created.
	// A session signed in here keeps it beside its userId (accountDb), so
	// that an instance with another database never reads that userId as
	// one of its accounts: two SQLite files share no accounts, while every
	// instance on one PostgreSQL database has the same id.
	ID() string
	// Check reports whether a session can be saved: a write transaction
	// can begin, write, and commit, within a short time. It backs /healthz.
	Check(ctx context.Context) error
	// Close closes the database. Closing twice is harmless.
	Close() error
}
