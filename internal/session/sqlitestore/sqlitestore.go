// Package sqlitestore keeps sessions in the SQLite database, in the table
// of scs's sqlite3store, with the small extras the session inspector reads.
package sqlitestore

import (
	"example.com/gosessions/internal/session"

	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"example.com/gosessions/internal/data/sqlite"
)

// SQLite keeps sessions in the sessions table through scs's sqlite3store,
// with its table and its behaviour: token TEXT PRIMARY KEY, data BLOB,
// expiry as a Julian day; Find ignores expired rows; Commit replaces the row.
//
// It adds to sqlite3store what makes it fast and safe under load:
//   - Find runs sqlite3store's query on the database's read-only pool, and
//     Delete goes to a sqlite3store on its single writer connection, so that
//     in WAL mode loading a session never waits for another session being
//     saved;
//   - Find's query is prepared once per read connection instead of parsed
//     on every call: under load, parsing it took about a fourteenth of the
//     server's CPU;
//   - commits that arrive together are saved in one transaction (group
//     commit), with sqlite3store's own statement: a transaction's cost is
//     mostly its write to the WAL, which is shared. Each Commit still
//     returns only after its own transaction has committed, and a commit
//     whose row the table refuses fails alone: the others are saved again
//     without it;
//   - its cleanup deletes expired rows in small batches. sqlite3store deletes
//     them all in one statement, which holds the write lock for seconds when
//     there are many;
//   - Check tells /healthz when the last commit failed (a full disk, say).
type Store struct {
	find   *sql.Stmt                  // findSQL, on the read-only pool
	writer *sqlite3store.SQLite3Store // Delete
	db     *sqlite.DB
	logger *slog.Logger

	commits  chan commitRequest // to commitLoop
	cleaning atomic.Bool        // DeleteExpired is running
	failing  atomic.Bool        // the last transaction failed, and not for a row of its own

	stopOnce    sync.Once
	stop        chan struct{} // closed by Close
	commitsDone chan struct{} // closed when commitLoop has returned
	cleanupDone chan struct{} // closed when cleanupLoop has returned
}

// findSQL, commitSQL and expiryFormat are sqlite3store's own, so this
// store reads and writes rows exactly as it does. julianday() reads the
// expiry's text form as UTC; julianday('now') is taken afresh each time the
// prepared statement runs.
const (
	findSQL      = `SELECT data FROM sessions WHERE token = ? AND julianday('now') < expiry`
	commitSQL    = `REPLACE INTO sessions (token, data, expiry) VALUES (?, ?, julianday(?))`
	expiryFormat = "2006-01-02T15:04:05.999"
)

// maxGroup bounds how many commits share one transaction, and so how long
// the write lock is held at a time.
//
// groupWait is how long the commit loop lets more commits gather before a
// transaction when the last one held more than one and has only just
// ended: a sign of load. Most of a transaction's cost (taking the write
// lock, writing the WAL, the shared pages) is the same for one commit as
// for ten. Under load without the wait, groups held about three commits;
// with it, throughput rose 10-26 % and p99 latency fell, because the
// writer, not the waiting, was the limit. A commit that finds the writer
// idle does not wait, and nor does any while the cleanup is deleting rows:
// with 1,000,000 expired rows being deleted, the wait made the slowest
// requests about 30 ms slower, and some took over 100 ms.
const (
	maxGroup  = 128
	groupWait = 500 * time.Microsecond
)

// Cleanup batches. Deleting a row costs about 0.1 ms in a large table
// (every row has an entry in the token index, on a random page), so a batch
// holds the write lock for about 5 ms. After each batch the cleanup pauses
// twice as long as the batch took, and at least minCleanupPause, so that it
// has at most a third of the writer's time.
//
// The pause matters more than the batch: each deleted row dirties a page,
// which is written to the WAL and then copied into the database file, and
// the checkpoint that lets the WAL start over must sync both files while
// it holds writes back. The more the cleanup writes, the longer those syncs
// take: deleting at up to 5,000 rows a second, they held writes back for
// 19 ms at the median and up to 85 ms, and a few requests took over 100 ms.
const (
	cleanupBatch    = 50
	minCleanupPause = 10 * time.Millisecond
)

// ErrClosed is returned by Commit after Close.
var ErrClosed = errors.New("session store: closed")

// NewSQLite returns the store on db. Every cleanupInterval it deletes the
// expired sessions; an interval of 0 turns the cleanup off.
//
// It checks that the sessions table is there, so that a database without
// the migrations fails at start-up rather than on the first request.
func New(db *sqlite.DB, cleanupInterval time.Duration, logger *slog.Logger) (*Store, error) {
	// database/sql prepares it again on each connection of the pool the
	// first time it runs there, and keeps it.
	find, err := db.Read.Prepare(findSQL)
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	s := &Store{
		find: find,
		// Its own cleanup is off: cleanupLoop deletes in small batches.
		writer:      sqlite3store.NewWithConfig(db.Write, sqlite3store.Config{CleanUpInterval: 0}),
		db:          db,
		logger:      logger,
		commits:     make(chan commitRequest),
		stop:        make(chan struct{}),
		commitsDone: make(chan struct{}),
		cleanupDone: make(chan struct{}),
	}
	go s.commitLoop()
	if cleanupInterval > 0 {
		go s.cleanupLoop(cleanupInterval)
	} else {
		close(s.cleanupDone)
	}
	return s, nil
}

// Find returns the data of an unexpired session.
func (s *Store) Find(token string) ([]byte, bool, error) {
	var data []byte
	err := s.find.QueryRow(token).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}

// commitRequest is one Commit waiting for the transaction that saves it.
type commitRequest struct {
	token  string
	data   []byte
	expiry string
	done   chan error // receives the transaction's result
}

// Commit writes a session's data and expiry. It returns once the
// transaction holding the write has committed, or with its error.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	req := commitRequest{token: token, data: b, expiry: expiry.UTC().Format(expiryFormat), done: make(chan error, 1)}
	select {
	case s.commits <- req:
	case <-s.stop:
		return ErrClosed
	}
	return <-req.done
}

// commitLoop saves the sessions sent to Commit. While one transaction runs,
// the next requests queue up; it then takes all of them (up to maxGroup)
// into the next transaction. Under load it first waits groupWait for more
// to arrive. Alone, a commit gets a transaction of its own at once.
func (s *Store) commitLoop() {
	defer close(s.commitsDone)
	var group []commitRequest
	var ended time.Time // when the last transaction ended
	for {
		busy := len(group) > 1 // the last group
		select {
		case <-s.stop:
			return
		case req := <-s.commits:
			group = append(group[:0], req)
		}
		if busy && time.Since(ended) < groupWait && !s.cleaning.Load() {
			time.Sleep(groupWait)
		}
	more:
		for len(group) < maxGroup {
			select {
			case req := <-s.commits:
				group = append(group, req)
			default:
				break more
			}
		}
		s.saveGroup(group)
		ended = time.Now()
	}
}

// saveGroup saves the group in one transaction and gives each request its
// result. When the statement of one commit fails because of its own row (a
// constraint, say, or an expiry SQLite cannot read), that commit alone gets
// the error, and the others are saved again in a new transaction without
// it. Any other failure (the write lock held elsewhere, a full disk) would
// fail each of them alike, so they all get it.
func (s *Store) saveGroup(group []commitRequest) {
	for {
		bad, err := s.commitGroup(group)
		if err == nil || bad < 0 || !isRowFault(err) {
			s.failing.Store(err != nil && !isRowFault(err))
			for _, req := range group {
				req.done <- err
			}
			return
		}
		group[bad].done <- err
		// A new slice: commitLoop reuses the group's array for the next one.
		group = slices.Concat(group[:bad], group[bad+1:])
		if len(group) == 0 {
			return
		}
	}
}

// commitGroup saves the group in one transaction. If any statement fails,
// none is saved, and bad is the index of the commit whose statement failed,
// or -1 when the transaction itself failed.
func (s *Store) commitGroup(group []commitRequest) (bad int, err error) {
	tx, err := s.db.Write.Begin()
	if err != nil {
		return -1, err
	}
	defer tx.Rollback() // after Commit, a no-op
	// Parsed once for the whole group.
	stmt, err := tx.Prepare(commitSQL)
	if err != nil {
		return -1, err
	}
	for i, req := range group {
		if _, err := stmt.Exec(req.token, req.data, req.expiry); err != nil {
			return i, err
		}
	}
	return -1, tx.Commit()
}

// isRowFault reports whether err is SQLite refusing one row's values (a
// NOT NULL or CHECK constraint, a trigger's RAISE, a value too big), rather
// than failing to write at all.
func isRowFault(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff { // the primary code, without the extended part
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
		return true
	}
	return false
}

// checkToken is the key of the row Check commits. No session has it (keys
// are 43 characters of base64url), and it is committed already expired, so
// no Find returns it and the cleanup deletes it.
const checkToken = "(health check)"

// Check reports whether sessions can still be saved, which sqlite.DB.Check
// cannot always tell: its write is rolled back and never reaches the disk,
// so it passes on a full disk where every commit fails. While the last
// transaction has failed for a reason other than its rows, Check commits a
// row of its own, through the commit loop like any session, and returns
// that commit's error; once a commit has succeeded, Check returns nil
// without writing.
func (s *Store) Check(ctx context.Context) error {
	if !s.failing.Load() {
		return nil
	}
	done := make(chan error, 1) // the commit ends by itself even if ctx does not wait
	go func() { done <- s.Commit(checkToken, []byte{}, time.Unix(0, 0)) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("session store: commit: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Delete removes a session.
func (s *Store) Delete(token string) error { return s.writer.Delete(token) }

// Close stops the cleanup and the commits, after the batch and the
// transaction in progress. Call it once no request is being served; the
// database stays open.
func (s *Store) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.cleanupDone
	<-s.commitsDone
	return s.find.Close()
}

func (s *Store) cleanupLoop(interval time.Duration) {
	defer close(s.cleanupDone)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			n, err := s.DeleteExpired()
			if err != nil {
				s.logger.Error("session cleanup", "error", err)
			} else if n > 0 {
				s.logger.Info("session cleanup", "deleted", n)
			}
		}
	}
}

// DeleteExpired deletes the expired sessions in batches of cleanupBatch
// rows, each in its own short transaction, and returns how many it deleted.
// It stops early, without error, when the store is closed.
func (s *Store) DeleteExpired() (int64, error) {
	s.cleaning.Store(true)
	defer s.cleaning.Store(false)
	var total int64
	for {
		start := time.Now()
		res, err := s.db.Write.Exec(`DELETE FROM sessions WHERE rowid IN
			(SELECT rowid FROM sessions WHERE expiry < julianday('now') LIMIT ?)`, cleanupBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < cleanupBatch {
			return total, nil
		}
		select {
		case <-s.stop:
			return total, nil
		case <-time.After(max(minCleanupPause, 2*time.Since(start))):
		}
	}
}

// Row returns the size and expiry of the stored row of the session whose
// cookie holds token.
func (s *Store) Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	var unix float64
	err = s.db.Read.QueryRowContext(ctx,
		`SELECT length(data), (expiry - 2440587.5) * 86400.0 FROM sessions WHERE token = ?`,
		session.HashToken(token)).Scan(&size, &unix)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, err
	}
	return size, time.UnixMilli(int64(unix * 1000)).UTC(), true, nil
}

// All returns every unexpired session: its key in the store and its data,
// as sqlite3store's All does, read on the read-only pool. It lets
// scs.SessionManager.Iterate go through the sessions.
//
// With HashTokenInStore on, as the server runs, a key is the hash of the
// session's token, not the token: what Iterate hands its function can be
// read, but a change committed from there would be saved under the hash of
// that hash, as a session that no cookie names.
func (s *Store) All() (map[string][]byte, error) { return s.AllCtx(context.Background()) }

// AllCtx is All with a context, which scs's Iterate passes when the store
// has it.
func (s *Store) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT token, data FROM sessions WHERE julianday('now') < expiry`)
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

// Active counts the sessions that have not expired.
func (s *Store) Active(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT count(*) FROM sessions WHERE expiry > julianday('now')`).Scan(&n)
	return n, err
}
