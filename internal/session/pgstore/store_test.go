package pgstore

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for goose
	"github.com/pressly/goose/v3"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/pgtest"
	"example.com/gosessions/internal/session"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Each test gets a database of its own on the shared server, which allows
// 200 connections; the pools stay small so that the tests fit side by side.
const testPoolConns = 4

// newDatabase returns the URL of a new database with the migrations of
// migrations/postgres applied.
func newDatabase(t testing.TB) string {
	t.Helper()
	url := pgtest.NewDatabase(t)
	migrate(t, url)
	return url
}

func migrate(t testing.TB, url string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, gosessions.PostgresMigrations())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// newPool returns a pool on url, closed when the test ends.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = testPoolConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// newStore returns a store on pool, closed when the test ends (before the
// pool is).
func newStore(t testing.TB, pool *pgxpool.Pool, cfg Config) *Store {
	t.Helper()
	if cfg.LockConns == 0 {
		cfg.LockConns = testPoolConns
	}
	s, err := New(context.Background(), pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close waits for every lease: one that was never released would
		// hang the test here.
		if !returnsWithin(10*time.Second, func() { s.Close() }) {
			t.Error("Close did not return: a lock connection was never given back")
		}
	})
	return s
}

// newInstance returns a store on a pool of its own on url: what one server
// process has.
func newInstance(t testing.TB, url string, cfg Config) *Store {
	t.Helper()
	return newStore(t, newPool(t, url), cfg)
}

// ctxMethods is a store seen through its methods that take a context,
// which are the ones scs calls.
type ctxMethods struct{ s *Store }

func (c ctxMethods) Find(token string) ([]byte, bool, error) {
	return c.s.FindCtx(context.Background(), token)
}

func (c ctxMethods) Commit(token string, b []byte, expiry time.Time) error {
	return c.s.CommitCtx(context.Background(), token, b, expiry)
}

func (c ctxMethods) Delete(token string) error { return c.s.DeleteCtx(context.Background(), token) }

func (c ctxMethods) All() (map[string][]byte, error) { return c.s.AllCtx(context.Background()) }

// conformingStores are the stores that must behave exactly like scs's
// pgxstore, which is among them as the reference. open returns the store
// on a database with the migrations applied.
var conformingStores = []struct {
	name string
	open func(t *testing.T, pool *pgxpool.Pool) scs.Store
}{
	{"pgxstore", func(t *testing.T, pool *pgxpool.Pool) scs.Store {
		return pgxstore.NewWithCleanupInterval(pool, 0)
	}},
	{"Store", func(t *testing.T, pool *pgxpool.Pool) scs.Store {
		return newStore(t, pool, Config{})
	}},
	{"Store's methods with a context", func(t *testing.T, pool *pgxpool.Pool) scs.Store {
		return ctxMethods{newStore(t, pool, Config{})}
	}},
}

// TestConformance runs the same checks on Store, through both its plain
// methods and those with a context, and on pgxstore, so that Store keeps
// pgxstore's behaviour. They include every case of pgxstore's own tests
// (pgxstore_test.go), written in the style of these.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, st := range conformingStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			pool := newPool(t, newDatabase(t))
			store := st.open(t, pool)
			ctx := context.Background()
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
			dataColumn := func(token string) string {
				t.Helper()
				var data []byte
				if err := pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token = $1`, token).Scan(&data); err != nil {
					t.Fatalf("read the row of %q: %v", token, err)
				}
				return string(data)
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
			// pgxstore's TestExpiry.
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
			// pgxstore's TestDelete.
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
			t.Run("the expiry is stored as the instant it names, to the microsecond", func(t *testing.T) {
				expiry := time.Date(2100, 1, 2, 3, 4, 5, 678_901_000, time.UTC)
				commit("when", "data", expiry.In(time.FixedZone("UTC+2", 2*3600)))
				var got time.Time
				err := pool.QueryRow(ctx, `SELECT expiry FROM sessions WHERE token = 'when'`).Scan(&got)
				if err != nil || !got.Equal(expiry) {
					t.Errorf("got %v (%v), want %v", got, err, expiry)
				}
			})
			// pgxstore's TestFind and TestFindMissing.
			t.Run("a row written directly in the table is found", func(t *testing.T) {
				if _, err := pool.Exec(ctx, `INSERT INTO sessions VALUES ('direct', 'encoded_data', current_timestamp + interval '1 minute')`); err != nil {
					t.Fatal(err)
				}
				if b, found := find("direct"); !found || string(b) != "encoded_data" {
					t.Errorf("got %q, %v; want %q, true", b, found, "encoded_data")
				}
			})
			// pgxstore's TestSaveNew and TestSaveUpdated.
			t.Run("a commit writes the data column as it is", func(t *testing.T) {
				commit("column", "encoded_data", later)
				if got := dataColumn("column"); got != "encoded_data" {
					t.Errorf("got %q, want %q", got, "encoded_data")
				}
			})
			t.Run("a commit replaces a row written directly in the table", func(t *testing.T) {
				if _, err := pool.Exec(ctx, `INSERT INTO sessions VALUES ('updated', 'encoded_data', current_timestamp + interval '1 minute')`); err != nil {
					t.Fatal(err)
				}
				commit("updated", "new_encoded_data", later)
				if got := dataColumn("updated"); got != "new_encoded_data" {
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

// TestConformanceOnAnEmptyStore runs the checks of TestConformance that
// need a store of their own: All and scs's Iterate.
func TestConformanceOnAnEmptyStore(t *testing.T) {
	t.Parallel()
	for _, st := range conformingStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			fresh := func(t *testing.T) scs.Store { return st.open(t, newPool(t, newDatabase(t))) }

			t.Run("All of an empty store is an empty map", func(t *testing.T) {
				all, err := fresh(t).(scs.IterableStore).All()
				if err != nil || all == nil || len(all) != 0 {
					t.Errorf("got %v, %v; want an empty map, nil", all, err)
				}
			})
			// pgxstore's TestAll.
			t.Run("All returns every unexpired session with its data, and no expired one", func(t *testing.T) {
				store := fresh(t)
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
				sm := scs.New()
				sm.Store = fresh(t)
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
		})
	}
}

func TestNewWithoutMigrationsFails(t *testing.T) {
	t.Parallel()
	pool := newPool(t, pgtest.NewDatabase(t))
	s, err := New(context.Background(), pool, Config{})
	if err == nil {
		s.Close()
		t.Fatal("New on a database without the sessions table: got nil, want an error")
	}
}

// TestCleanup checks the store's own cleanup (pgxstore's is off).
func TestCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("deletes the expired sessions and markers, and keeps the others", func(t *testing.T) {
		pool := newPool(t, newDatabase(t))
		store := newStore(t, pool, Config{CleanupInterval: 20 * time.Millisecond})
		for _, row := range []struct {
			token  string
			expiry time.Time
		}{
			{"expired", time.Now().Add(-time.Second)},
			{"live", time.Now().Add(time.Hour)},
		} {
			if err := store.Commit(row.token, []byte("data"), row.expiry); err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, `INSERT INTO sessions_retired VALUES ($1, $2)`, row.token, row.expiry); err != nil {
				t.Fatal(err)
			}
		}
		if !waitFor(10*time.Second, func() bool {
			return !rowExists(t, pool, "sessions", "expired") && !rowExists(t, pool, "sessions_retired", "expired")
		}) {
			t.Error("an expired row is still there")
		}
		for _, table := range []string{"sessions", "sessions_retired"} {
			if !rowExists(t, pool, table, "live") {
				t.Errorf("the live row of %s was deleted", table)
			}
		}
	})

	t.Run("deletes more expired sessions than one batch holds, and keeps the others", func(t *testing.T) {
		pool := newPool(t, newDatabase(t))
		store := newStore(t, pool, Config{})
		const expired = 2*cleanupBatch + cleanupBatch/2
		if _, err := pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry)
			SELECT 'expired-' || i, 'data', now() - interval '1 minute' FROM generate_series(1, $1 - 1) i`, expired); err != nil {
			t.Fatal(err)
		}
		// One ended by hand, before any date a time.Time can hold.
		if _, err := pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ('ended', 'data', '-infinity')`); err != nil {
			t.Fatal(err)
		}
		if err := store.Commit("live", []byte("data"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		n, err := store.DeleteExpired(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != expired {
			t.Errorf("DeleteExpired: got %d deleted, want %d", n, expired)
		}
		var left int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM sessions`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left != 1 || !rowExists(t, pool, "sessions", "live") {
			t.Errorf("got %d rows left, want only the live one", left)
		}
	})

	t.Run("Close returns, with or without a cleanup", func(t *testing.T) {
		pool := newPool(t, newDatabase(t))
		for _, interval := range []time.Duration{0, time.Millisecond, time.Hour} {
			s, err := New(ctx, pool, Config{CleanupInterval: interval})
			if err != nil {
				t.Fatal(err)
			}
			if !returnsWithin(10*time.Second, func() { s.Close() }) {
				t.Fatalf("Close with a cleanup every %v blocked", interval)
			}
		}
	})
}

func TestRowAndActive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t, newPool(t, newDatabase(t)), Config{})
	const token = "cookie-token"

	if _, _, found, err := store.Row(ctx, token); err != nil || found {
		t.Fatalf("Row of an unknown token: got found=%v, %v; want false, nil", found, err)
	}
	expiry := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	// scs stores the session under the token's hash; Row takes the token.
	if err := store.CommitCtx(ctx, session.HashToken(token), []byte("12345"), expiry); err != nil {
		t.Fatal(err)
	}
	size, got, found, err := store.Row(ctx, token)
	if err != nil || !found || size != 5 || !got.Equal(expiry) || got.Location() != time.UTC {
		t.Errorf("Row: got %d, %v, %v, %v; want 5, %v (UTC), true, nil", size, got, found, err, expiry)
	}

	if err := store.CommitCtx(ctx, "expired", []byte("x"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(ctx); err != nil { // its row is expired too
		t.Fatal(err)
	}
	if n, err := store.Active(ctx); err != nil || n != 1 {
		t.Errorf("Active: got %d, %v; want 1, nil (the expired rows not counted)", n, err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("its row is never a session", func(t *testing.T) {
		store := newStore(t, newPool(t, newDatabase(t)), Config{})
		if err := store.Check(ctx); err != nil {
			t.Fatalf("Check: got %v, want nil", err)
		}
		if _, found, err := store.FindCtx(ctx, checkToken); err != nil || found {
			t.Errorf("Find of the check's row: got found=%v, %v; want false, nil", found, err)
		}
		if all, err := store.AllCtx(ctx); err != nil || len(all) != 0 {
			t.Errorf("All after Check: got %q, %v; want none", all, err)
		}
	})

	t.Run("fails where sessions cannot be written, though reads work", func(t *testing.T) {
		url := newDatabase(t)
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		// Every transaction of this pool is read-only, as on a hot standby.
		pool := newPool(t, url+sep+"default_transaction_read_only=on")
		store := newStore(t, pool, Config{})
		if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		if err := store.Check(ctx); err == nil {
			t.Error("Check on a read-only connection: got nil, want an error")
		}
	})
}

// rowExists reports whether table holds a row for token, expired or not.
func rowExists(t *testing.T, pool *pgxpool.Pool, table, token string) bool {
	t.Helper()
	var n int
	err := pool.QueryRow(context.Background(), `SELECT count(*) FROM `+table+` WHERE token = $1`, token).Scan(&n)
	if err != nil {
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

// returnsWithin runs f and reports whether it returned within d, a bound
// far above what it should take, only so that a hang fails the test rather
// than stalling it.
func returnsWithin(d time.Duration, f func()) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
