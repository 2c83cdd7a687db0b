// Package sqlite opens the application's SQLite database, applies its
// migrations, and holds the queries for the catalog and for orders.
//
// It uses modernc.org/sqlite, a pure-Go SQLite, so the program builds with
// CGO_ENABLED=0.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DB is the application's database. SQLite lets one connection write at a
// time while, in WAL mode, any number of others read beside it. So writes go
// through a pool of exactly one connection (they queue in Go instead of
// failing with "database is locked"), and reads through a separate read-only
// pool.
//
// The WAL is copied back into the database file (checkpointed) by a
// connection of its own, in the background, rather than by the writer after
// a commit as SQLite does by default. A checkpoint writes pages all over the
// file and syncs it, which takes tens of milliseconds in a large database;
// done by the writer, every commit queued behind it would wait that long.
type DB struct {
	Write *sql.DB
	Read  *sql.DB
	reads *preparedReads // Read's queries of this package, prepared
	path  string
	id    string // app_database.id, read once at Open

	checkpointer *sql.DB
	prober       *sql.DB // Check's write probe
	stopOnce     sync.Once
	stop         chan struct{} // closed by Close
	stopped      chan struct{} // closed when checkpointLoop has returned
}

// checkpointInterval is how often the background checkpoint runs;
// walRestartFrames (4096 pages, 16 MiB) is how large the WAL may grow
// before the checkpoint makes the writer start it over.
// Before a RESTART, up to restartCatchUps PASSIVE checkpoints run until
// one finds fewer than restartLeftover new frames.
const (
	checkpointInterval = 100 * time.Millisecond
	walRestartFrames   = 4096
	restartCatchUps    = 3
	restartLeftover    = 64
)

// Check's write probe waits at most writerWait for the writer connection,
// and at most probeBusyTimeout for SQLite's write lock once it holds it.
// Our own writes take milliseconds; only another process can hold the lock
// longer. Together they stay well under the 2 s /healthz allows itself.
const (
	writerWait       = time.Second
	probeBusyTimeout = 250 * time.Millisecond
)

// Connection settings, applied to every connection by the driver:
//   - WAL journal: readers never block the writer and vice versa;
//   - synchronous=NORMAL: in WAL mode a committed transaction survives a
//     crash of the program; only a power cut can lose the last commits;
//   - busy_timeout: wait, rather than fail, when another process holds a lock;
//   - foreign_keys: SQLite leaves them off unless asked;
//   - txlock=immediate: a write transaction takes the write lock when it
//     begins, so it cannot fail halfway on a lock upgrade.
const dsnParams = "_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=5000&_foreign_keys=1&_txlock=immediate"

// Open opens (creating it if needed) the database file at path, including
// its folder, and applies the migrations found in migrations.
func Open(ctx context.Context, path string, migrations fs.FS) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create database folder: %w", err)
		}
	}
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("database path %q: must not contain '?'", path)
	}

	// The writer never checkpoints: checkpointLoop does.
	write, err := sql.Open("sqlite", path+"?"+dsnParams+"&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)

	// The write connection runs the migrations, and so creates the file and
	// switches it to WAL, before any reader opens it.
	if err := migrate(ctx, write, migrations); err != nil {
		write.Close()
		return nil, err
	}
	var id string
	if err := write.QueryRowContext(ctx, "SELECT id FROM app_database").Scan(&id); err != nil {
		write.Close()
		return nil, fmt.Errorf("read the database id: %w", err)
	}

	read, err := sql.Open("sqlite", path+"?"+dsnParams+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, err
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)

	// A RESTART checkpoint holds back new writes while it waits for
	// readers, so it gives up after 10 ms and tries again next time.
	checkpointer, err := sql.Open("sqlite", path+"?"+strings.Replace(dsnParams, "_busy_timeout=5000", "_busy_timeout=10", 1))
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	checkpointer.SetMaxOpenConns(1)

	prober, err := sql.Open("sqlite", path+"?"+strings.Replace(dsnParams,
		"_busy_timeout=5000", fmt.Sprintf("_busy_timeout=%d", probeBusyTimeout.Milliseconds()), 1))
	if err != nil {
		write.Close()
		read.Close()
		checkpointer.Close()
		return nil, err
	}
	prober.SetMaxOpenConns(1)

	db := &DB{Write: write, Read: read, reads: &preparedReads{pool: read}, path: path, id: id, checkpointer: checkpointer, prober: prober,
		stop: make(chan struct{}), stopped: make(chan struct{})}
	go db.checkpointLoop()
	return db, nil
}

// ID returns the database's own random id, made when the file was created.
// A session signed in here keeps it beside its userId (see
// migrations/sqlite/00008_create_app_database.sql), so that an instance with
// another database file never reads that userId as one of its accounts.
func (db *DB) ID() string { return db.id }

// Close stops the checkpoints and closes the pools. The last connection to
// close checkpoints what is left in the WAL. Closing twice is harmless.
func (db *DB) Close() error {
	db.stopOnce.Do(func() { close(db.stop) })
	<-db.stopped
	return errors.Join(db.reads.Close(), db.prober.Close(), db.checkpointer.Close(), db.Read.Close(), db.Write.Close())
}

// checkpointLoop copies the WAL into the database file every
// checkpointInterval. A PASSIVE checkpoint never blocks the writer or the
// readers: it copies what no reader still needs, and the rest next time.
//
// The WAL file is only written again from its start once no reader uses
// it, which under steady reads never happens by itself. So when the WAL has
// grown past walRestartFrames, a RESTART checkpoint copies what was
// committed since the PASSIVE one, syncs, and waits for the readers of the
// moment to finish (each takes well under a millisecond, and it gives up
// after 10 ms), holding back new writes meanwhile, so that the next commit
// starts the WAL over.
//
// It holds them back by taking the writer connection first: writes then
// queue in Go and go on the moment it is done. Otherwise a write would find
// the lock taken and sleep in SQLite's busy handler, in steps of up to 25 ms,
// and under the cleanup's deletes that made some requests wait over 100 ms.
//
// A failed checkpoint is not fatal: every commit stays in the WAL until a
// later one succeeds.
func (db *DB) checkpointLoop() {
	defer close(db.stopped)
	ticker := time.NewTicker(checkpointInterval)
	defer ticker.Stop()
	for {
		select {
		case <-db.stop:
			return
		case <-ticker.C:
		}
		var busy, frames, copied int
		err := db.checkpointer.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		// Only once the PASSIVE one has copied every frame: the RESTART
		// then has little left to copy and sync while it holds back writes.
		if err == nil && frames >= walRestartFrames && copied == frames {
			db.restart(frames)
		}
	}
}

// restart runs a RESTART checkpoint while it holds the writer connection.
// The RESTART copies and syncs, with writes held back, what was committed
// since the last PASSIVE checkpoint, frames ago; so first a few more
// PASSIVE ones catch up, until one finds little new.
func (db *DB) restart(frames int) {
	for range restartCatchUps {
		var busy, now, copied int
		err := db.checkpointer.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &now, &copied)
		if err != nil || copied != now || now < frames {
			return // a reader or a new WAL: next time
		}
		if now-frames < restartLeftover {
			break
		}
		frames = now
	}
	conn, err := db.Write.Conn(context.Background())
	if err != nil {
		return
	}
	defer conn.Close() // gives the connection back to the pool
	db.checkpointer.Exec("PRAGMA wal_checkpoint(RESTART)")
}

// Check reports whether a session can be saved: the file is still in
// place, it can be read, and a write transaction can begin, write and
// commit. It backs /healthz.
//
// The probe inserts a row and deletes it again before it commits, so it
// leaves nothing behind, but the pages it touched are still written to the
// WAL: a file that cannot be written (read-only, immutable, or on a full
// disk) fails it, which a rolled-back write, never written, would not. It runs on a
// connection of its own with a short busy timeout, so that when another
// process holds the write lock it fails in a fraction of a second, where the
// writer would wait out its 5 s. And it first takes the writer connection,
// as restart does: our own commits, which hold the lock for milliseconds,
// then finish before the probe rather than making it wait for the lock, and
// none of them has to wait in SQLite's busy handler behind the probe. A
// writer held for over writerWait means that sessions cannot be saved in
// time either, and the probe fails.
//
// A write of a few pages can still succeed on a disk too full for larger
// ones: the session store reports its own failed commits as well.
func (db *DB) Check(ctx context.Context) error {
	if _, err := os.Stat(db.path); err != nil {
		return err
	}
	var n int
	if err := db.reads.QueryRowContext(ctx, "SELECT count(*) FROM sessions WHERE rowid = 1").Scan(&n); err != nil {
		return err
	}

	waitCtx, cancel := context.WithTimeout(ctx, writerWait)
	defer cancel()
	writer, err := db.Write.Conn(waitCtx)
	if err != nil {
		return fmt.Errorf("write probe: the writer is busy: %w", err)
	}
	defer writer.Close() // gives it back to the pool

	tx, err := db.prober.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	// No session has this token: real ones are hashes of 43 characters.
	for _, q := range []string{
		`REPLACE INTO sessions (token, data, expiry) VALUES ('(write probe)', x'', 0)`,
		`DELETE FROM sessions WHERE token = '(write probe)'`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("write probe: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	provider, err := goose.NewProvider(goose.DialectSQLite3, db, migrations)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	return nil
}
