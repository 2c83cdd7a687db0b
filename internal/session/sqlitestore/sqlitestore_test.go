package sqlitestore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/session/sqlitestore"
)

func openDB(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSQLite(t testing.TB, db *sqlite.DB) *sqlitestore.Store {
	t.Helper()
	return newSQLiteCleaning(t, db, 0)
}

// newSQLiteCleaning returns the store with its cleanup every interval.
func newSQLiteCleaning(t testing.TB, db *sqlite.DB, interval time.Duration) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.New(db, interval, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// conformingStores are the stores that must behave exactly like scs's
// sqlite3store, which is among them as the reference. open returns the
// store with its cleanup every cleanupInterval (0: none), and stop stops
// the cleanup, as a test or a server does when it ends.
var conformingStores = []struct {
	name string
	open func(t testing.TB, db *sqlite.DB, cleanupInterval time.Duration) scs.Store
	stop func(scs.Store)
}{
	{
		"sqlite3store",
		func(t testing.TB, db *sqlite.DB, cleanupInterval time.Duration) scs.Store {
			s := sqlite3store.NewWithConfig(db.Write, sqlite3store.Config{CleanUpInterval: cleanupInterval})
			t.Cleanup(s.StopCleanup)
			return s
		},
		func(s scs.Store) { s.(*sqlite3store.SQLite3Store).StopCleanup() },
	},
	{
		"sqlitestore.Store",
		func(t testing.TB, db *sqlite.DB, cleanupInterval time.Duration) scs.Store {
			return newSQLiteCleaning(t, db, cleanupInterval)
		},
		func(s scs.Store) { s.(*sqlitestore.Store).Close() },
	},
}

// TestSQLiteConformance runs the same checks on sqlitestore.Store and on
// sqlite3store, so the faster store keeps sqlite3store's behaviour. They
// include every case of sqlite3store's own tests (sqlite3store_test.go),
// written in the style of these, and All, which those do not test.
func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	for _, st := range conformingStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
			store := st.open(t, db, 0)
			later := time.Now().Add(time.Hour)

			find := func(token string) ([]byte, bool) {
				t.Helper()
				b, found, err := store.Find(token)
				if err != nil {
					t.Fatalf("Find(%q): %v", token, err)
				}
				return b, found
			}
			commit := func(token, data string, expiry time.Time) {
				t.Helper()
				if err := store.Commit(token, []byte(data), expiry); err != nil {
					t.Fatalf("Commit(%q): %v", token, err)
				}
			}

			t.Run("an unknown token is not found", func(t *testing.T) {
				if b, found := find("unknown"); found || b != nil {
					t.Errorf("got %q, %v; want nil, false", b, found)
				}
			})
			t.Run("a committed session is found with its data", func(t *testing.T) {
				commit("a", "first", later)
				if b, found := find("a"); !found || string(b) != "first" {
					t.Errorf("got %q, %v; want %q, true", b, found, "first")
				}
			})
			t.Run("a second commit replaces the data", func(t *testing.T) {
				commit("b", "first", later)
				commit("b", "second", later)
				if b, found := find("b"); !found || string(b) != "second" {
					t.Errorf("got %q, %v; want %q, true", b, found, "second")
				}
			})
			t.Run("binary data comes back byte for byte", func(t *testing.T) {
				data := string([]byte{0, 1, 2, 0xff, 0, 'x'})
				commit("bin", data, later)
				if b, found := find("bin"); !found || !bytes.Equal(b, []byte(data)) {
					t.Errorf("got %v, %v; want %v, true", b, found, []byte(data))
				}
			})
			t.Run("a session committed with a past expiry is not found", func(t *testing.T) {
				commit("old", "data", time.Now().Add(-time.Second))
				if _, found := find("old"); found {
					t.Error("got found, want not found")
				}
			})
			t.Run("a session expires at its expiry", func(t *testing.T) {
				commit("soon", "data", time.Now().Add(300*time.Millisecond))
				if _, found := find("soon"); !found {
					t.Fatal("got not found before the expiry, want found")
				}
				time.Sleep(400 * time.Millisecond)
				if _, found := find("soon"); found {
					t.Error("got found after the expiry, want not found")
				}
			})
			t.Run("a commit with a later expiry revives an expired session", func(t *testing.T) {
				commit("revived", "old", time.Now().Add(-time.Hour))
				commit("revived", "new", later)
				if b, found := find("revived"); !found || string(b) != "new" {
					t.Errorf("got %q, %v; want %q, true", b, found, "new")
				}
			})
			t.Run("a deleted session is not found", func(t *testing.T) {
				commit("gone", "data", later)
				if err := store.Delete("gone"); err != nil {
					t.Fatal(err)
				}
				if _, found := find("gone"); found {
					t.Error("got found, want not found")
				}
			})
			t.Run("deleting an unknown token is not an error", func(t *testing.T) {
				if err := store.Delete("never-existed"); err != nil {
					t.Errorf("got %v, want nil", err)
				}
			})
			t.Run("the expiry is stored as sqlite3store stores it", func(t *testing.T) {
				expiry := time.Date(2100, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
				commit("when", "data", expiry.In(time.FixedZone("UTC+2", 2*3600)))
				var got string
				err := db.Read.QueryRow(`SELECT strftime('%Y-%m-%dT%H:%M:%f', expiry) FROM sessions WHERE token = 'when'`).Scan(&got)
				if want := "2100-01-02T03:04:05.678"; err != nil || got != want {
					t.Errorf("got %q (%v), want %q", got, err, want)
				}
			})
			// sqlite3store's TestFind: a row that another program wrote,
			// with the expiry as SQLite's datetime() gives it.
			t.Run("a row written directly in the table is found", func(t *testing.T) {
				if _, err := db.Write.Exec(`INSERT INTO sessions VALUES ('direct', 'encoded_data', datetime(current_timestamp, '+1 minute'))`); err != nil {
					t.Fatal(err)
				}
				if b, found := find("direct"); !found || string(b) != "encoded_data" {
					t.Errorf("got %q, %v; want %q, true", b, found, "encoded_data")
				}
			})
			// sqlite3store's TestSaveNew and TestSaveUpdated.
			t.Run("a commit writes the data column as it is", func(t *testing.T) {
				commit("column", "encoded_data", later)
				if got := dataColumn(t, db, "column"); got != "encoded_data" {
					t.Errorf("got %q, want %q", got, "encoded_data")
				}
			})
			t.Run("a commit replaces a row written directly in the table", func(t *testing.T) {
				if _, err := db.Write.Exec(`INSERT INTO sessions VALUES ('updated', 'encoded_data', datetime(current_timestamp, '+1 minute'))`); err != nil {
					t.Fatal(err)
				}
				commit("updated", "new_encoded_data", later)
				if got := dataColumn(t, db, "updated"); got != "new_encoded_data" {
					t.Errorf("got %q, want %q", got, "new_encoded_data")
				}
			})
			t.Run("concurrent commits are all stored", func(t *testing.T) {
				var wg sync.WaitGroup
				for i := range 50 {
					wg.Go(func() {
						if err := store.Commit(fmt.Sprint("c", i), []byte(fmt.Sprint(i)), later); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				for i := range 50 {
					if b, found := find(fmt.Sprint("c", i)); !found || string(b) != fmt.Sprint(i) {
						t.Errorf("c%d: got %q, %v; want %q, true", i, b, found, fmt.Sprint(i))
					}
				}
			})
		})
	}
}

// TestSQLiteConformanceOnAnEmptyStore runs the checks of
// TestSQLiteConformance that need a store of their own: All, the cleanup,
// and stopping it.
func TestSQLiteConformanceOnAnEmptyStore(t *testing.T) {
	t.Parallel()
	for _, st := range conformingStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			fresh := func(t *testing.T, cleanupInterval time.Duration) (*sqlite.DB, scs.Store) {
				db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
				return db, st.open(t, db, cleanupInterval)
			}

			t.Run("All of an empty store is an empty map", func(t *testing.T) {
				_, store := fresh(t, 0)
				all, err := store.(scs.IterableStore).All()
				if err != nil || all == nil || len(all) != 0 {
					t.Errorf("got %v, %v; want an empty map, nil", all, err)
				}
			})
			t.Run("All returns every unexpired session with its data, and no expired one", func(t *testing.T) {
				_, store := fresh(t, 0)
				later := time.Now().Add(time.Hour)
				want := map[string][]byte{"a": []byte("one"), "b": {0, 0xff}, "c": {}}
				for token, data := range want {
					if err := store.Commit(token, data, later); err != nil {
						t.Fatal(err)
					}
				}
				if err := store.Commit("old", []byte("expired"), time.Now().Add(-time.Second)); err != nil {
					t.Fatal(err)
				}
				all, err := store.(scs.IterableStore).All()
				if err != nil {
					t.Fatal(err)
				}
				if !maps.EqualFunc(all, want, bytes.Equal) {
					t.Errorf("got %q, want %q", all, want)
				}
			})
			t.Run("scs's Iterate goes through every session", func(t *testing.T) {
				_, store := fresh(t, 0)
				sm := scs.New()
				sm.Store = store
				sm.HashTokenInStore = true // as the server runs
				want := []string{"ada", "bob", "cy"}
				for _, name := range want {
					ctx, err := sm.Load(context.Background(), "")
					if err != nil {
						t.Fatal(err)
					}
					sm.Put(ctx, "name", name)
					if _, _, err := sm.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				}
				var got []string
				err := sm.Iterate(context.Background(), func(ctx context.Context) error {
					got = append(got, sm.GetString(ctx, "name"))
					return nil
				})
				slices.Sort(got)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("got %q, %v; want %q, nil", got, err, want)
				}
			})
			// sqlite3store's TestCleanup.
			t.Run("the cleanup deletes the expired rows and keeps the others", func(t *testing.T) {
				db, store := fresh(t, 20*time.Millisecond)
				if err := store.Commit("expired", []byte("data"), time.Now().Add(-time.Second)); err != nil {
					t.Fatal(err)
				}
				if err := store.Commit("live", []byte("data"), time.Now().Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				if !waitFor(10*time.Second, func() bool { return !rowExists(t, db, "expired") }) {
					t.Error("the expired row is still in the table")
				}
				if !rowExists(t, db, "live") {
					t.Error("the live row was deleted")
				}
			})
			// sqlite3store's TestStopNilCleanup.
			t.Run("stopping a store without a cleanup returns", func(t *testing.T) {
				_, store := fresh(t, 0)
				stopped := make(chan struct{})
				go func() {
					st.stop(store)
					close(stopped)
				}()
				select {
				case <-stopped:
				case <-time.After(10 * time.Second):
					t.Fatal("stopping the store blocked")
				}
			})
		})
	}
}

// TestSQLiteCommitIsDurable checks that a commit is in the file when Commit
// returns: a new process opening the database finds it.
func TestSQLiteCommitIsDurable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlitestore.New(db, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Commit("kept", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A second, independent connection sees the committed row while the
	// first is still open: it is in the database, not in a buffer.
	other := openDB(t, path)
	if b, found, err := newSQLite(t, other).Find("kept"); err != nil || !found || string(b) != "data" {
		t.Errorf("other connection: got %q, %v, %v; want %q, true, nil", b, found, err, "data")
	}
	store.Close()
	db.Close()

	reopened := openDB(t, path)
	if b, found, err := newSQLite(t, reopened).Find("kept"); err != nil || !found || string(b) != "data" {
		t.Errorf("after reopening: got %q, %v, %v; want %q, true, nil", b, found, err, "data")
	}
}

// TestSQLiteDeleteExpired checks that the batched cleanup removes every
// expired row, however many batches that takes, and no live one.
func TestSQLiteDeleteExpired(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
	store := newSQLite(t, db)

	// More expired rows than one batch holds.
	const expired, live = 1234, 10
	_, err := db.Write.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO sessions (token, data, expiry) SELECT 'expired' || i, x'00', julianday('now') - 1 FROM n`, expired)
	if err != nil {
		t.Fatal(err)
	}
	for i := range live {
		if err := store.Commit(fmt.Sprint("live", i), []byte("data"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	n, err := store.DeleteExpired()
	if err != nil {
		t.Fatal(err)
	}
	if n != expired {
		t.Errorf("deleted: got %d, want %d", n, expired)
	}
	var left int
	if err := db.Read.QueryRow(`SELECT count(*) FROM sessions`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != live {
		t.Errorf("rows left: got %d, want %d (the live ones)", left, live)
	}
}

// TestSQLiteCommitAfterClose checks that a Commit after Close fails at once
// rather than waiting forever for a commit loop that has stopped.
func TestSQLiteCommitAfterClose(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
	store, err := sqlitestore.New(db, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit("late", []byte("data"), time.Now().Add(time.Hour)); !errors.Is(err, sqlitestore.ErrClosed) {
		t.Errorf("got %v, want ErrClosed", err)
	}
}

// TestSQLiteCommitFailure checks that a commit whose transaction fails
// returns the error: nothing is acknowledged that was not saved.
func TestSQLiteCommitFailure(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
	store := newSQLite(t, db)
	if _, err := db.Write.Exec(`DROP TABLE sessions`); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit("lost", []byte("data"), time.Now().Add(time.Hour)); err == nil {
		t.Error("got no error with the table gone, want one")
	}
}

// TestNewSQLiteNeedsTheTable checks that a database without the sessions
// table is refused at start-up, not on the first request.
func TestNewSQLiteNeedsTheTable(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
	if _, err := db.Write.Exec(`DROP TABLE sessions`); err != nil {
		t.Fatal(err)
	}
	if store, err := sqlitestore.New(db, 0, slog.New(slog.DiscardHandler)); err == nil {
		store.Close()
		t.Error("got no error without the sessions table, want one")
	}
}

// TestSQLiteBadRowFailsOnlyItsOwnCommit checks that a commit whose row the
// table refuses fails alone, while the commits saved in the same
// transaction as it (group commit) succeed.
func TestSQLiteBadRowFailsOnlyItsOwnCommit(t *testing.T) {
	t.Parallel()
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name   string
		setup  string    // SQL run first
		expiry time.Time // the bad commit's
	}{
		{
			name:   "a trigger refuses the row",
			setup:  `CREATE TRIGGER refuse_bad BEFORE INSERT ON sessions WHEN NEW.token = 'bad' BEGIN SELECT RAISE(ABORT, 'bad row'); END`,
			expiry: later,
		},
		{
			// julianday() cannot read a five-digit year and gives NULL,
			// which the NOT NULL column refuses.
			name:   "an expiry SQLite cannot read",
			expiry: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
			store := newSQLite(t, db)
			if tt.setup != "" {
				if _, err := db.Write.Exec(tt.setup); err != nil {
					t.Fatal(err)
				}
			}

			const good = 300
			for round := range 3 {
				// Hold the writer connection, so that the commits queue
				// up and go into the same transactions once it is free.
				conn, err := db.Write.Conn(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				goodErrs := make([]error, good)
				for i := range good {
					wg.Go(func() {
						goodErrs[i] = store.Commit(fmt.Sprint("good", round, "-", i), []byte("data"), later)
					})
				}
				var badErr error
				wg.Go(func() { badErr = store.Commit("bad", []byte("data"), tt.expiry) })
				time.Sleep(100 * time.Millisecond) // for the commits to queue up
				conn.Close()
				wg.Wait()

				if badErr == nil {
					t.Errorf("round %d: the bad commit: got nil, want its error", round)
				}
				failed := 0
				for i, err := range goodErrs {
					if err != nil {
						failed++
						if failed == 1 {
							t.Errorf("round %d: good commit %d: got %v, want nil", round, i, err)
						}
					}
				}
				if failed > 0 {
					t.Errorf("round %d: got %d of %d good commits failed, want none", round, failed, good)
				}
				for i := range good {
					if _, found, err := store.Find(fmt.Sprint("good", round, "-", i)); err != nil || !found {
						t.Fatalf("round %d: good commit %d: got found %v, %v; want it stored", round, i, found, err)
					}
				}
			}
			if rowExists(t, db, "bad") {
				t.Error("the bad row was stored")
			}
			if err := store.Check(context.Background()); err != nil {
				t.Errorf("Check after a bad row: got %v, want nil (the database is fine)", err)
			}
		})
	}
}

// TestSQLiteCheckReportsAFailedCommit checks that Check reports a commit
// that failed for the database's sake, which the database's own rolled-back
// write probe cannot see (a full disk), and that it stops once a commit
// succeeds again. The writer connection turned read-only stands in for the
// full disk: every commit fails, while a probe on another connection would
// pass.
func TestSQLiteCheckReportsAFailedCommit(t *testing.T) {
	t.Parallel()
	db := openDB(t, filepath.Join(t.TempDir(), "sessions.db"))
	store := newSQLite(t, db)
	ctx := context.Background()
	if err := store.Check(ctx); err != nil {
		t.Fatalf("Check of a new store: got %v, want nil", err)
	}

	if _, err := db.Write.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if err := store.Commit("lost", []byte("data"), time.Now().Add(time.Hour)); err == nil {
		t.Fatal("Commit on a read-only writer: got nil, want an error")
	}
	if err := store.Check(ctx); err == nil {
		t.Error("Check after a failed commit, with commits still failing: got nil, want an error")
	}

	if _, err := db.Write.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(ctx); err != nil {
		t.Errorf("Check once commits work again: got %v, want nil", err)
	}
	// What Check wrote is not a session anyone can see.
	if all, err := store.All(); err != nil || len(all) != 0 {
		t.Errorf("All after Check: got %q, %v; want no session", all, err)
	}
	if n, err := store.Active(ctx); err != nil || n != 0 {
		t.Errorf("Active after Check: got %d, %v; want 0", n, err)
	}
}

// dataColumn reads the data column of the row of token as it is stored.
func dataColumn(t *testing.T, db *sqlite.DB, token string) string {
	t.Helper()
	var data []byte
	if err := db.Read.QueryRow(`SELECT data FROM sessions WHERE token = ?`, token).Scan(&data); err != nil {
		t.Fatalf("read the row of %q: %v", token, err)
	}
	return string(data)
}

// rowExists reports whether the table holds a row for token, expired or not.
func rowExists(t *testing.T, db *sqlite.DB, token string) bool {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE token = ?`, token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// waitFor polls cond until it holds or d has passed, and reports whether
// it held.
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
