package session_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/sqlitestore"
)

// countingStats is the real SQLite store's Stats with a tally of its
// counts. While gate is open (nil or closed), Active counts at once;
// otherwise it waits for it, or for its context to end.
type countingStats struct {
	session.Stats
	counts  atomic.Int64
	gate    chan struct{}
	started chan struct{} // receives a value each time Active is called, if not nil
}

func (c *countingStats) Active(ctx context.Context) (int, error) {
	c.counts.Add(1)
	if c.started != nil {
		select {
		case c.started <- struct{}{}:
		default:
		}
	}
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return c.Stats.Active(ctx)
}

// newCountedSQLite returns a SQLite store holding sessions unexpired
// sessions, and its Stats with a tally of their counts.
func newCountedSQLite(t *testing.T, sessions int) (*sqlitestore.Store, *countingStats) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store, err := sqlitestore.New(db, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	commitSessions(t, store, "s", sessions)
	return store, &countingStats{Stats: store}
}

func commitSessions(t *testing.T, store *sqlitestore.Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		if err := store.Commit(session.HashToken(fmt.Sprint(prefix, i)), []byte("data"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

func newCountedStats(t *testing.T, stats session.Stats, interval time.Duration) *session.CountedStats {
	t.Helper()
	c := session.NewCountedStats(stats, interval, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { c.Close() })
	return c
}

func activeIs(c *session.CountedStats, want int) func() bool {
	return func() bool {
		n, err := c.Active(context.Background())
		return err == nil && n == want
	}
}

func TestCountedStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Active serves the count taken in the background, and follows the store", func(t *testing.T) {
		t.Parallel()
		store, stats := newCountedSQLite(t, 3)
		c := newCountedStats(t, stats, 10*time.Millisecond)
		if !waitFor(10*time.Second, activeIs(c, 3)) {
			n, err := c.Active(ctx)
			t.Fatalf("got %d, %v; want 3, nil", n, err)
		}
		commitSessions(t, store, "more", 2)
		if !waitFor(10*time.Second, activeIs(c, 5)) {
			n, err := c.Active(ctx)
			t.Errorf("after two more sessions: got %d, %v; want 5, nil", n, err)
		}
	})

	t.Run("requests never make the store count", func(t *testing.T) {
		t.Parallel()
		_, stats := newCountedSQLite(t, 3)
		c := newCountedStats(t, stats, time.Hour) // one count, at the start
		if !waitFor(10*time.Second, activeIs(c, 3)) {
			t.Fatal("the first count never came")
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 1000 {
					if _, err := c.Active(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if n := stats.counts.Load(); n != 1 {
			t.Errorf("store counts after 8,000 calls of Active: got %d, want 1", n)
		}
	})

	t.Run("a request does not wait for a count in progress", func(t *testing.T) {
		t.Parallel()
		_, stats := newCountedSQLite(t, 3)
		stats.gate = make(chan struct{}) // the count waits
		stats.started = make(chan struct{}, 1)
		c := newCountedStats(t, stats, time.Hour)
		<-stats.started

		answered := make(chan int, 1)
		go func() {
			n, _ := c.Active(ctx)
			answered <- n
		}()
		select {
		case n := <-answered:
			if n != 0 {
				t.Errorf("before the first count: got %d, want 0", n)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Active waited for the count in progress")
		}
		close(stats.gate)
		if !waitFor(10*time.Second, activeIs(c, 3)) {
			t.Error("the count never came once it could go on")
		}
	})

	t.Run("Close ends a count in progress and stops counting; twice is harmless", func(t *testing.T) {
		t.Parallel()
		_, stats := newCountedSQLite(t, 3)
		stats.gate = make(chan struct{}) // never opened: the count waits until Close
		stats.started = make(chan struct{}, 1)
		c := session.NewCountedStats(stats, time.Millisecond, slog.New(slog.DiscardHandler))
		<-stats.started

		closed := make(chan struct{})
		go func() {
			c.Close()
			c.Close()
			close(closed)
		}()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return")
		}
		// Close has waited for the counting goroutine to return: no count
		// can start after it.
		n := stats.counts.Load()
		time.Sleep(20 * time.Millisecond)
		if got := stats.counts.Load(); got != n {
			t.Errorf("counts after Close: got %d more, want none", got-n)
		}
	})

	t.Run("Row is the store's", func(t *testing.T) {
		t.Parallel()
		store, stats := newCountedSQLite(t, 0)
		c := newCountedStats(t, stats, time.Hour)
		if err := store.Commit(session.HashToken("cookie"), []byte("12345"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		size, expiry, found, err := c.Row(ctx, "cookie")
		wantSize, wantExpiry, _, _ := store.Row(ctx, "cookie")
		if err != nil || !found || size != wantSize || !expiry.Equal(wantExpiry) {
			t.Errorf("got %d, %v, %v, %v; want %d, %v, true, nil", size, expiry, found, err, wantSize, wantExpiry)
		}
	})
}

// waitFor polls cond until it holds or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failingFirstStats fails its first count, slowly, as a database that
// does not answer does; the later ones count the real store.
type failingFirstStats struct {
	session.Stats
	calls chan int
	n     int
}

func (s *failingFirstStats) Active(ctx context.Context) (int, error) {
	s.n++
	s.calls <- s.n
	if s.n == 1 {
		time.Sleep(200 * time.Millisecond)
		return 0, fmt.Errorf("database not answering")
	}
	return s.Stats.Active(ctx)
}

// A failed count does not put the next one off: only a count that worked
// and was slow does.
func TestCountedStatsRetriesAfterASlowFailure(t *testing.T) {
	store, _ := newCountedSQLite(t, 3)
	stats := &failingFirstStats{Stats: store, calls: make(chan int, 10)}
	c := session.NewCountedStats(stats, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	defer c.Close()
	<-stats.calls // the failing count
	select {
	case <-stats.calls:
	case <-time.After(10 * time.Second): // only so that a broken loop fails rather than hangs
		t.Fatal("no count within 10 s of a failed one")
	}
}
