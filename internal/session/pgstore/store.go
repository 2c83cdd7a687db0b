// Package pgstore keeps sessions in PostgreSQL, so that several server
// processes can share them: a session store for scs, built on scs's
// pgxstore, and a per-session lock that holds across every process using
// the same database (see Store.Lock).
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/gosessions/internal/pgpool"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// pgxstore's statements, so that the methods of this store that take a
// context read and write rows exactly as pgxstore's own methods do.
const (
	findSQL   = `SELECT data FROM sessions WHERE token = $1 AND current_timestamp < expiry`
	commitSQL = `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`
	deleteSQL = `DELETE FROM sessions WHERE token = $1`
	allSQL    = `SELECT token, data FROM sessions WHERE current_timestamp < expiry`
)

// checkToken is the key of the row Check commits. No session has it (keys
// are 43 characters of base64url), and it is committed already expired, so
// no Find returns it and the cleanup deletes it.
const checkToken = "(health check)"

// checkTimeout bounds Check, so that /healthz answers even when the
// database does not.
const checkTimeout = 3 * time.Second

// Defaults of Config.
const (
	// DefaultLockWait is how long Lock waits for a busy session before it
	// gives up, so that a stuck session costs a visitor an error page rather
	// than a request that hangs.
	DefaultLockWait = 5 * time.Second
	// DefaultLockConns is the size of the pool that holds the locks.
	DefaultLockConns = 32
)

// Config holds the settings of a Store. The zero value is valid.
type Config struct {
	// CleanupInterval is how often the expired sessions and retired
	// markers are deleted; 0 turns the cleanup off.
	CleanupInterval time.Duration
	// LockWait bounds how long Lock waits for a busy session
	// (DefaultLockWait when 0).
	LockWait time.Duration
	// LockConns is how many connections hold locks, at most: how many
	// requests of different sessions can run at once in this process
	// (DefaultLockConns when 0). A request beyond them waits for one,
	// within LockWait, and then fails as a busy session's does. The
	// server's max_connections must leave room for them, for the data
	// pool, and for every other process.
	LockConns int32
	// Logger receives the cleanup's errors and the releases that failed;
	// nil drops them.
	Logger *slog.Logger
}

// Store keeps sessions in the sessions table, with pgxstore's columns
// (token TEXT PRIMARY KEY, data BYTEA, expiry TIMESTAMPTZ) and statements.
// Its plain methods (Find, Commit, Delete, All) are pgxstore's; scs calls
// the ones with a context, which pgxstore lacks (it predates scs's
// CtxStore): ours run pgxstore's statements under the request's context,
// and CommitCtx and DeleteCtx are fenced by the request's lock.
//
// It also hands out the per-session lock (see Lock), because processes
// that share sessions must share their locks too.
type Store struct {
	*pgxstore.PostgresStore
	pool   *pgxpool.Pool // sessions, markers, Check; the caller's
	locks  *locker
	logger *slog.Logger

	stopCleanup context.CancelFunc
	cleanupDone chan struct{}
	closeOnce   sync.Once
}

// New returns the store on pool, whose database has the migrations of
// migrations/postgres applied; it checks that their tables are there, so
// that a database without them fails at start-up rather than on the first
// request. The store opens a second pool on pool's configuration to hold
// the locks (see Lock). Close closes that pool; pool stays the caller's.
func New(ctx context.Context, pool *pgxpool.Pool, cfg Config) (*Store, error) {
	if _, err := pool.Exec(ctx, `SELECT FROM sessions, sessions_retired LIMIT 0`); err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	if cfg.LockWait <= 0 {
		cfg.LockWait = DefaultLockWait
	}
	if cfg.LockConns <= 0 {
		cfg.LockConns = DefaultLockConns
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	locks, err := newLocker(ctx, pool, cfg.LockConns, cfg.LockWait, logger)
	if err != nil {
		return nil, fmt.Errorf("session lock pool: %w", err)
	}
	cleanupCtx, stop := context.WithCancel(context.Background())
	s := &Store{
		// Its own cleanup is off: see cleanupLoop.
		PostgresStore: pgxstore.NewWithCleanupInterval(pool, 0),
		pool:          pool,
		locks:         locks,
		logger:        logger,
		stopCleanup:   stop,
		cleanupDone:   make(chan struct{}),
	}
	if cfg.CleanupInterval > 0 {
		go s.cleanupLoop(cleanupCtx, cfg.CleanupInterval)
	} else {
		close(s.cleanupDone)
	}
	return s, nil
}

// FindCtx returns the data of an unexpired session.
func (s *Store) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, findSQL, token).Scan(&b)
	if pgpool.ConnLost(err) {
		// A connection the server had ended: a read can be tried again on
		// a live one (see pgpool.WatchRestarts).
		err = s.pool.QueryRow(ctx, findSQL, token).Scan(&b)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitCtx writes a session's data and expiry with pgxstore's statement,
// but only while the request still holds its session's lock: the write
// runs on the connection that holds the lock (see Store.Lock). Without
// that, a request that lost its lock would overwrite what the request that
// took the lock since has saved. Such a commit writes nothing and fails
// with an error wrapping lock.ErrLost. A request without a lease of this
// store in ctx (a new visitor has no lock yet) writes on the pool, as
// pgxstore does.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if le, ok := s.leaseFrom(ctx); ok {
		return le.exec(ctx, commitSQL, token, b, expiry)
	}
	_, err := s.pool.Exec(ctx, commitSQL, token, b, expiry)
	return err
}

// DeleteCtx removes a session. Like CommitCtx, it deletes only while the
// request's lease still holds its lock, so that a sign-out that lost its
// lock does not delete what another request has saved since.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	if le, ok := s.leaseFrom(ctx); ok {
		return le.exec(ctx, deleteSQL, token)
	}
	_, err := s.pool.Exec(ctx, deleteSQL, token)
	return err
}

// leaseFrom returns the lease of this store that ctx carries, if any.
func (s *Store) leaseFrom(ctx context.Context) (*lease, bool) {
	l, ok := lock.FromContext(ctx)
	if !ok {
		return nil, false
	}
	le, ok := l.(*lease)
	return le, ok && le.locker == s.locks
}

// AllCtx returns every unexpired session, as pgxstore's All does. scs's
// Iterate calls it.
//
// With HashTokenInStore on, as the server runs, a key is the hash of the
// session's token, not the token: what Iterate hands its function can be
// read, but a change committed from there would be saved under the hash of
// that hash, as a session that no cookie names.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, allSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sessions := make(map[string][]byte)
	for rows.Next() {
		var token string
		var data []byte
		if err := rows.Scan(&token, &data); err != nil {
			return nil, err
		}
		sessions[token] = data
	}
	return sessions, rows.Err()
}

// Lock takes the lock of the session with this cookie token, shared by
// every process on this database, for at most the configured LockWait.
// See locker for how it works.
func (s *Store) Lock(ctx context.Context, token string) (lock.Lease, error) {
	return s.locks.lock(ctx, token)
}

// Check reports whether PostgreSQL would save a session now, for the
// health check. It commits a row rather than running SELECT 1, because a
// server that refuses writes still answers a read: a hot standby, a
// database set to default_transaction_read_only, a full disk.
func (s *Store) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	if _, err := s.pool.Exec(ctx, commitSQL, checkToken, []byte{}, time.Unix(0, 0)); err != nil {
		return fmt.Errorf("session store: commit: %w", err)
	}
	return nil
}

// Close stops the cleanup, then closes the lock pool, which waits until
// every lease has been released: call it once no request is being served.
// The data pool stays open.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopCleanup()
		<-s.cleanupDone
		s.locks.pool.Close()
	})
	return nil
}

// cleanupLoop deletes the expired rows every interval until ctx is done.
//
// pgxstore has a cleanup of its own, which this store turns off: its stop
// channel is made inside the cleanup goroutine, so a StopCleanup that comes
// before the goroutine has run finds none, returns, and leaves the
// goroutine running for ever; and its DELETE has no context, so a database
// that does not answer holds StopCleanup too.
func (s *Store) cleanupLoop(ctx context.Context, interval time.Duration) {
	defer close(s.cleanupDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		n, err := s.DeleteExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Error("session cleanup", "error", err)
		case n > 0:
			s.logger.Info("session cleanup", "deleted", n)
		}
	}
}

// Cleanup batches. One DELETE of every expired row locks only the rows it
// deletes, so the commits of other sessions go on beside it; but it keeps
// a core busy for as long as it takes, and the requests beside it wait for
// CPU. With 1,000,000 expired rows (BenchmarkDeleteExpired, 2 shared
// cores), it took 2 s, during which the p99 of a load/save rose from 7 ms
// to 31 ms and one took 123 ms. As in sqlitestore, the cleanup deletes in
// batches instead, each its own short statement, and pauses twice as long
// as a batch took, and at least minCleanupPause, so that it takes at most a
// third of a core: 27 s for the same rows, p99 12 ms, none over 100 ms.
const (
	cleanupBatch    = 1000
	minCleanupPause = 10 * time.Millisecond
)

// DeleteExpired deletes the expired sessions in batches of cleanupBatch,
// oldest first, then the expired retired markers, and returns how many
// sessions it deleted. It stops early, with ctx's error, when ctx is done.
//
// Each batch starts where the last one ended (expiry >= from): the rows a
// batch deletes stay in the expiry index until VACUUM, and a batch that
// started from the beginning each time would step over every one the
// batches before it deleted. A batch finds its rows by their place in the
// table (ctid), as the one DELETE did, rather than by token, which would
// look each one up again in the token index. A row saved again since the
// batch found it has a new place, and a new expiry: it is not deleted.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	var from *time.Time // NULL: the first batch has no lower bound, so that an expiry of -infinity goes too
	for {
		start := time.Now()
		var n int64
		var last *time.Time // NULL when the batch deleted nothing
		err := s.pool.QueryRow(ctx, `
			WITH deleted AS (
				DELETE FROM sessions WHERE ctid = ANY (ARRAY (
					SELECT ctid FROM sessions
					WHERE expiry < current_timestamp AND ($1::timestamptz IS NULL OR expiry >= $1)
					ORDER BY expiry LIMIT $2
				)) AND expiry < current_timestamp
				RETURNING expiry
			)
			SELECT count(*), max(expiry) FROM deleted`, from, cleanupBatch).Scan(&n, &last)
		if err != nil {
			return total, err
		}
		total += n
		if n < cleanupBatch {
			break
		}
		from = last
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(max(minCleanupPause, 2*time.Since(start))):
		}
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM sessions_retired WHERE expiry < current_timestamp`); err != nil {
		return total, err
	}
	return total, nil
}

// Row returns the size and expiry of the stored row of the session whose
// cookie holds token, expired or not.
func (s *Store) Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT octet_length(data), expiry FROM sessions WHERE token = $1`,
		session.HashToken(token)).Scan(&size, &expiry)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, err
	}
	return size, expiry.UTC(), true, nil
}

// Active counts the sessions that have not expired, using the index on
// expiry.
func (s *Store) Active(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE expiry > current_timestamp`).Scan(&n)
	return n, err
}
