// Package sessionstore provides the session stores the server can run on,
// each with the small extras the session inspector reads.
package sessionstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/alexedwards/scs/sqlite3store"

	"example.com/gosessions/sqlite"
)

// SQLite keeps sessions in the sessions table. It is scs's sqlite3store,
// used twice: reads go through the database's read-only pool and writes
// through its single writer connection, so that in WAL mode loading a
// session never waits for another session being saved.
//
// sqlite3store's own cleanup deletes every expired row in one statement,
// which holds the write lock for seconds when there are many. SQLite runs a
// cleanup of its own instead, in small batches.
type SQLite struct {
	reader *sqlite3store.SQLite3Store
	writer *sqlite3store.SQLite3Store
	db     *sqlite.DB
	logger *slog.Logger

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
}

// Cleanup batches: deleting cleanupBatch rows takes about a millisecond,
// and the pause lets waiting requests have the write lock in between.
const (
	cleanupBatch = 500
	cleanupPause = 5 * time.Millisecond
)

// NewSQLite returns the store on db. Every cleanupInterval it deletes the
// expired sessions; an interval of 0 turns the cleanup off.
func NewSQLite(db *sqlite.DB, cleanupInterval time.Duration, logger *slog.Logger) *SQLite {
	s := &SQLite{
		reader: sqlite3store.NewWithConfig(db.Read, sqlite3store.Config{CleanUpInterval: 0}),
		writer: sqlite3store.NewWithConfig(db.Write, sqlite3store.Config{CleanUpInterval: 0}),
		db:     db,
		logger: logger,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	if cleanupInterval > 0 {
		go s.cleanupLoop(cleanupInterval)
	} else {
		close(s.done)
	}
	return s
}

// Find returns the data of an unexpired session.
func (s *SQLite) Find(token string) ([]byte, bool, error) { return s.reader.Find(token) }

// Commit writes a session's data and expiry.
func (s *SQLite) Commit(token string, b []byte, expiry time.Time) error {
	return s.writer.Commit(token, b, expiry)
}

// Delete removes a session.
func (s *SQLite) Delete(token string) error { return s.writer.Delete(token) }

// Close stops the cleanup and waits for a batch in progress to finish.
func (s *SQLite) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	return nil
}

func (s *SQLite) cleanupLoop(interval time.Duration) {
	defer close(s.done)
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
func (s *SQLite) DeleteExpired() (int64, error) {
	var total int64
	for {
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
		case <-time.After(cleanupPause):
		}
	}
}

// Row returns the size and expiry of the stored row of the session whose
// cookie holds token.
func (s *SQLite) Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	var unix float64
	err = s.db.Read.QueryRowContext(ctx,
		`SELECT length(data), (expiry - 2440587.5) * 86400.0 FROM sessions WHERE token = ?`,
		HashToken(token)).Scan(&size, &unix)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, err
	}
	return size, time.UnixMilli(int64(unix * 1000)).UTC(), true, nil
}

// Active counts the sessions that have not expired.
func (s *SQLite) Active(ctx context.Context) (int, error) {
	var n int
	err := s.db.Read.QueryRowContext(ctx,
		`SELECT count(*) FROM sessions WHERE expiry > julianday('now')`).Scan(&n)
	return n, err
}

// HashToken is the key under which scs stores a session when
// HashTokenInStore is on: the SHA-256 of the token, base64url-encoded.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
