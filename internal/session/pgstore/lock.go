package pgstore

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/gosessions/internal/pgpool"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// retiredMargin is how much longer than the lock wait a retired marker
// lives: time for a waiter that got the lock at the end of its wait to load
// the session and ask Retired.
const retiredMargin = 5 * time.Second

// serverGrace is how much longer than the server's lock_timeout the client
// waits for the answer to pg_advisory_lock: the server ends the wait, and
// the client cuts the connection only if the server does not answer.
const serverGrace = time.Second

// releaseTimeout bounds the unlock (and the retired marker) at Release.
// A connection whose unlock fails is closed, which frees the lock too.
const releaseTimeout = 2 * time.Second

// keepalives are settings of the server's side of each lock connection. A
// lock is freed when its holder's connection ends; with Linux's defaults,
// the server takes over two hours to notice a client whose machine died or
// whose network dropped silently, and keeps its locks all that time. With
// these, it gives up after about 20 seconds without an answer.
var keepalives = map[string]string{
	"tcp_keepalives_idle":     "5",
	"tcp_keepalives_interval": "5",
	"tcp_keepalives_count":    "3",
}

// locker lets one request at a time run for each session, across every
// process that uses the same database. The lock is PostgreSQL's
// session-level advisory lock (pg_advisory_lock), keyed by 64 bits of the
// token's hash and held, for the whole request, on a connection of the
// locker's own pool.
//
// Why an advisory lock rather than a row lock (SELECT ... FOR UPDATE on
// the session's row): a row lock needs a row, and a new, expired or
// cleaned-up session has none; and it needs a transaction open for the
// whole request, which keeps VACUUM from removing dead rows anywhere in
// the database while it lasts, and which a server's
// idle_in_transaction_session_timeout may end. An advisory lock needs
// neither a row nor a transaction.
//
// The server frees a session-level lock when its connection ends: the
// holder's process died, its connection was cut, or an administrator ran
// pg_terminate_backend. The lease then must not save: the store's fenced
// writes (see Store.CommitCtx) run on the lease's own connection, and a
// live connection still holds its lock (only an unlock would give it up:
// pg_advisory_unlock, pg_advisory_unlock_all or DISCARD ALL, which this
// package sends there only at Release), so a write that reaches the server
// is a write under the lock, and one on a dead connection fails. Check
// pings the connection for the same reason.
//
// Unlike Redis's lock, this one has no time to live: a process that hangs
// keeps its locks while its connections live.
//
// The locks live in a pool apart from the data's. A held lock takes a
// connection for the whole request; on the data pool, under load every
// connection could be holding a lock while its request waits for a
// connection to load its session, and no request would progress. Apart,
// locks wait only for locks, and queries only for queries.
//
// Requests of one process queue in memory first (lock.Local), so that a
// process holds at most one connection per session, however many of its
// requests wait.
type locker struct {
	pool   *pgxpool.Pool // holds the locks
	data   *pgxpool.Pool // the retired markers
	wait   time.Duration
	local  *lock.Local
	logger *slog.Logger
}

// newLocker opens the lock pool, of at most conns connections, with data's
// configuration and keepalives.
func newLocker(ctx context.Context, data *pgxpool.Pool, conns int32, wait time.Duration, logger *slog.Logger) (*locker, error) {
	cfg := data.Config() // a copy
	cfg.MaxConns = conns
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	for k, v := range keepalives {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &locker{pool: pool, data: data, wait: wait, local: lock.NewLocal(), logger: logger}, nil
}

// lockKey is the advisory lock key of the session whose token hashes to
// hash: the first 8 bytes of the SHA-256 that HashToken encodes. Two
// sessions whose keys collide would only wait for each other. Advisory
// keys are shared by everything that uses them in the database.
func lockKey(hash string) int64 {
	sum, _ := base64.RawURLEncoding.DecodeString(hash)
	return int64(binary.BigEndian.Uint64(sum))
}

// lock waits until the lock of the session with this cookie token is free,
// takes it, and returns the request's lease, which keeps the lock until
// Release. It gives up when ctx is done or after the locker's wait (which
// includes waiting for a connection of the lock pool), with an error that
// wraps context.DeadlineExceeded or context.Canceled; any other error is
// PostgreSQL's.
func (l *locker) lock(ctx context.Context, token string) (lock.Lease, error) {
	deadline := time.Now().Add(l.wait)
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	hash := session.HashToken(token)
	local, err := l.local.LockLocal(lctx, hash)
	if err != nil {
		return nil, fmt.Errorf("session lock: %w", err)
	}
	key := lockKey(hash)
	var conn *pgxpool.Conn
	var waited bool
	// A connection that the server had ended (it restarted) holds no lock:
	// one more try takes a live one, which the pool now checks first (see
	// pgpool.WatchRestarts).
	for try := 1; ; try++ {
		conn, err = l.pool.Acquire(lctx)
		if err != nil {
			local.Release(false)
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				// Not the session's lock that was taken: the pool's
				// connections all were, by other sessions.
				return nil, fmt.Errorf("%w: %v", lock.ErrBusy, err)
			}
			return nil, fmt.Errorf("session lock: connection: %w", err)
		}
		waited, err = l.take(ctx, lctx, conn, key)
		if err == nil {
			break
		}
		// The connection holds no lock: the statement failed, or its
		// connection is closed, which the pool then drops.
		conn.Release()
		if try == 2 || !pgpool.ConnLost(err) {
			local.Release(false)
			return nil, err
		}
	}
	return &lease{
		locker: l,
		hash:   hash,
		key:    key,
		conn:   conn,
		local:  local,
		waited: waited || local.Waited(),
	}, nil
}

// take takes the lock key on conn, and reports whether it had to wait for
// it. A free lock costs one round trip. A taken one is waited for in
// pg_advisory_lock, which the server ends as soon as the lock is freed, or
// at lock_timeout, set to the time left until lctx's deadline: the server
// then ends the wait itself, the connection stays usable, and no backend
// is left waiting for a client that has given up. (lock_timeout applies to
// advisory locks as to any other lock; SET LOCAL keeps it to this wait.)
// The client waits serverGrace longer than that, under ctx, the request's.
func (l *locker) take(ctx, lctx context.Context, conn *pgxpool.Conn, key int64) (waited bool, err error) {
	var free bool
	if err := conn.QueryRow(lctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&free); err != nil {
		return false, fmt.Errorf("session lock: %w", err)
	}
	if free {
		return false, nil
	}
	deadline, _ := lctx.Deadline()
	left := time.Until(deadline).Milliseconds()
	if left < 1 { // lock_timeout = 0 would wait for ever
		return true, fmt.Errorf("session lock: %w", context.DeadlineExceeded)
	}
	wctx, cancel := context.WithDeadline(ctx, deadline.Add(serverGrace))
	defer cancel()
	// Without arguments, pgx sends both statements in one simple query: one
	// implicit transaction, which SET LOCAL needs. The lock is the
	// session's, so it outlives that transaction.
	_, err = conn.Exec(wctx, fmt.Sprintf(`SET LOCAL lock_timeout = %d; SELECT pg_advisory_lock(%d)`, left, key))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available: lock_timeout ran out
		return true, fmt.Errorf("session lock: held by another request: %w", context.DeadlineExceeded)
	}
	if err != nil {
		return true, fmt.Errorf("session lock: %w", err)
	}
	return true, nil
}

// lease is one request's hold on a session's advisory lock, on the
// connection conn, and on the in-process lock that queued it.
type lease struct {
	locker *locker
	hash   string // the token's hash, which names the marker
	key    int64  // the advisory lock's key
	local  *lock.LocalLease
	waited bool // the lock was taken, here or in another process, when it was asked for

	mu   sync.Mutex // one statement at a time on conn
	conn *pgxpool.Conn
	lost bool      // conn died, and its lock with it
	once sync.Once // Release runs once
}

// exec runs sql on the lease's connection, so only while the lock is held.
// Once the connection has died, exec and every later call fail with an
// error wrapping lock.ErrLost.
func (le *lease) exec(ctx context.Context, sql string, args ...any) error {
	le.mu.Lock()
	defer le.mu.Unlock()
	if le.lost || le.conn == nil {
		return fmt.Errorf("session lock: %w", lock.ErrLost)
	}
	_, err := le.conn.Exec(ctx, sql, args...)
	if err != nil && le.conn.Conn().IsClosed() {
		le.lost = true
		return fmt.Errorf("session lock: %w: %w", lock.ErrLost, err)
	}
	return err
}

// Check asks the server, on the lease's connection, whether the
// connection and so its lock are still alive. It returns an error wrapping
// lock.ErrLost once they are not; a lost lock stays lost.
func (le *lease) Check(ctx context.Context) error {
	return le.exec(ctx, "-- ping") // what pgx's Ping sends: an empty query
}

// Retired reports whether a request that held this lock before, in this
// process or another, renewed or destroyed the token while this one
// waited. Another process's holder leaves a marker in the sessions_retired
// table, which lives for the lock wait and retiredMargin: long enough for
// every request that was waiting then.
func (le *lease) Retired(ctx context.Context) (bool, error) {
	if retired, _ := le.local.Retired(ctx); retired {
		return true, nil
	}
	// The marker outlives the requests that waited for it. One that came
	// later, when the lock was free, carries a token that its browser may
	// still hold (the answer with the new cookie lost): it gets a fresh
	// session, as with the in-process lock, rather than a redirect to the
	// same page until the marker expires.
	if !le.waited {
		return false, nil
	}
	var retired bool
	err := le.locker.data.QueryRow(ctx,
		`SELECT EXISTS (SELECT FROM sessions_retired WHERE token = $1 AND expiry > current_timestamp)`,
		le.hash).Scan(&retired)
	if err != nil {
		return false, fmt.Errorf("session lock: %w", err)
	}
	return retired, nil
}

// Release gives up the lock and gives the connection back to the pool,
// or closes it when the unlock fails (which frees the lock too), so that
// no connection is kept even when the server is gone. With retired, it
// first leaves the marker for the requests waiting in other processes.
// Releasing twice is harmless.
func (le *lease) Release(retired bool) {
	le.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
		defer cancel()
		if retired {
			le.locker.markRetired(ctx, le.hash)
		}
		le.mu.Lock()
		conn := le.conn
		le.conn = nil
		lost := le.lost
		le.mu.Unlock()
		if !lost {
			le.locker.unlock(ctx, conn, le.key)
		}
		conn.Release() // drops a closed connection
		le.local.Release(retired)
	})
}

// markRetired leaves the marker that tells the requests waiting with this
// token's hash, in any process, that the token was renewed or destroyed.
// It is set before the lock is freed, so that the next holder finds it.
func (l *locker) markRetired(ctx context.Context, hash string) {
	_, err := l.data.Exec(ctx, `INSERT INTO sessions_retired (token, expiry)
		VALUES ($1, current_timestamp + $2 * interval '1 millisecond')
		ON CONFLICT (token) DO UPDATE SET expiry = EXCLUDED.expiry`,
		hash, (l.wait + retiredMargin).Milliseconds())
	if err != nil {
		// The waiters then start a fresh session with the old token, as
		// they would without the marker.
		l.logger.Warn("session lock: retired marker not saved", "error", err)
	}
}

// unlock frees the lock key held on conn. If that fails, or finds the lock
// not held, it closes conn: the server then frees whatever it holds.
func (l *locker) unlock(ctx context.Context, conn *pgxpool.Conn, key int64) {
	var held bool
	err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&held)
	if err == nil && held {
		return
	}
	if err == nil {
		err = errors.New("the lock was not held")
	}
	if !conn.Conn().IsClosed() {
		l.logger.Warn("session lock: unlock failed; connection closed", "error", err)
		_ = conn.Conn().Close(ctx) // the pool's Release then drops it
	}
}
