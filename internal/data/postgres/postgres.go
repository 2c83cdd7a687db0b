// Package postgres keeps the application's data in PostgreSQL: the
// data.Store of a server that several instances of the application share.
//
// It is built on pgx's own pool, pgxpool, rather than on database/sql with
// pgx as its driver. pgx's native interface reads and writes PostgreSQL's
// types as they are (timestamptz, bigint, NULL as a nil pointer) without
// database/sql's conversions, and pgxpool is the pool that scs's pgxstore
// takes: Pool hands it over, so that sessions and data share one pool of
// connections to one server. Only the migrations go through database/sql,
// which goose needs, on a *sql.DB drawn from the same pool.
//
// Every method answers as the sqlite package's does; internal/data/datatest
// is the suite of tests both pass. Where SQLite serialises every write
// behind one lock, the methods here say what holds their answer exact with
// concurrent callers.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"example.com/gosessions/internal/data"

	"example.com/gosessions/internal/pgpool"
)

// DB is the application's database on a PostgreSQL server.
type DB struct {
	pool *pgxpool.Pool
	id   string // app_database.id, read once at Open
}

var _ data.Store = (*DB)(nil)

// connectTimeout bounds Open's first connection, and every later one whose
// URL sets no connect_timeout: a server that never answers (a firewall
// that drops the packets) fails Open in seconds instead of hanging it.
const connectTimeout = 10 * time.Second

// probeTimeout bounds Check: /healthz allows itself 2 s.
const probeTimeout = time.Second

// Open connects to the database at url (postgres://user:password@host:port/database?...,
// or pgx's key=value form), and applies the migrations found in migrations
// (gosessions.PostgresMigrations()). Its errors name the host, port,
// database and user, and never the password.
//
// Several instances may open one database at the same time: the first to
// take the migrations' lock applies them, and the others then find them
// applied.
func Open(ctx context.Context, url string, migrations fs.FS) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, redactedError(url, "postgres: ", err)
	}
	// A host with an @ in it is the rest of a password whose @ was not
	// escaped: it must be neither connected to nor named in a message.
	for _, h := range append([]*pgconn.FallbackConfig{{Host: cfg.ConnConfig.Host}}, cfg.ConnConfig.Fallbacks...) {
		if strings.Contains(h.Host, "@") {
			return nil, &openError{msg: "postgres: cannot parse the URL: an @ in the user name or password must be written %40"}
		}
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	// A restart of the server ends every connection at once; the pool
	// (and the session store's lock pool, made from a copy of this
	// configuration) then checks each one before use.
	pgpool.WatchRestarts(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redactedError(url, "postgres: ", err)
	}

	// pgxpool connects when a connection is first asked for: ask now, so
	// that a server that cannot be reached fails Open, not the first request.
	connectCtx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := pool.Ping(connectCtx); err != nil {
		pool.Close()
		err = connectCause{err}
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("no answer within %v: %w", connectTimeout, err)
		}
		return nil, redactedError(url, "postgres: connect to "+Redact(url)+": ", err)
	}

	if err := migrate(ctx, pool, migrations); err != nil {
		pool.Close()
		return nil, redactedError(url, "postgres: "+Redact(url)+": ", err)
	}
	db := &DB{pool: pool}
	if err := pool.QueryRow(ctx, "SELECT id FROM app_database").Scan(&db.id); err != nil {
		pool.Close()
		return nil, redactedError(url, "postgres: read the database id: ", err)
	}
	return db, nil
}

// connectCause is the error of a failed connection, in one line. pgx's
// ConnectError begins with the user and database, which Open's message
// names already, and joins with newlines the errors of each address and
// TLS mode that it tried, which often are the same.
type connectCause struct{ err error }

func (c connectCause) Unwrap() error { return c.err }

func (c connectCause) Error() string {
	var connectErr *pgconn.ConnectError
	if !errors.As(c.err, &connectErr) {
		return c.err.Error()
	}
	var lines []string
	for _, line := range strings.Split(connectErr.Unwrap().Error(), "\n") {
		if !slices.Contains(lines, line) {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// migrate applies the migrations with goose, under a session-level
// advisory lock so that instances started together apply them once: the
// others wait for the lock (pg_advisory_lock waits without polling) and
// then find nothing left to apply. Without it, two gooses could both
// create their version table, or both apply one migration. goose's own
// session locker would do, but it polls every 5 s.
//
// The lock's id is the one goose's locker uses, so that a goose command run
// by hand against the database waits too.
func migrate(ctx context.Context, pool *pgxpool.Pool, migrations fs.FS) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	// Hijacked, the connection leaves the pool; closing it ends its
	// session, and with it the lock, whatever happens below.
	lockConn := conn.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		lockConn.Close(closeCtx)
	}()
	if _, err := lockConn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID); err != nil {
		return fmt.Errorf("migrations: lock: %w", err)
	}

	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close() // gives its connections back to the pool
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}

// Pool returns the pool of connections, for the session store (scs's
// pgxstore) to share.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// ID returns the database's own random id, made when the database was
// created (see migrations/postgres/00007_create_app_database.sql).
func (db *DB) ID() string { return db.id }

// Check reports whether the database can be written: a connection can be
// had, and a transaction can insert a row, delete it and commit. It backs
// /healthz.
//
// The probe's row is deleted before the commit, so nobody ever sees it, but
// the transaction still writes and flushes the server's WAL. A server that
// refuses writes (a standby, default_transaction_read_only) fails it at the
// insert, which a read would pass; one that cannot flush its WAL (a full
// disk) fails it at the commit, which a write rolled back would pass. It
// gives up after probeTimeout, so that a server that does not answer, or a
// lock that the insert waits for, fails it too.
func (db *DB) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// No form accepts this email: it has no @.
		var id int64
		if err := tx.QueryRow(ctx,
			"INSERT INTO login_attempts (email, attempted_at) VALUES ('(write probe)', now()) RETURNING id",
		).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "DELETE FROM login_attempts WHERE id = $1", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for the connections in use to be given
// back. Closing twice is harmless.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// ms is how times are stored: UTC, to the millisecond, as SQLite stores
// them (timestamptz would keep microseconds).
func ms(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// oneRow turns an UPDATE or DELETE that changed no row into ErrNotFound.
func oneRow(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return data.ErrNotFound
	}
	return nil
}

// notFound turns "no rows" into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return data.ErrNotFound
	}
	return err
}
