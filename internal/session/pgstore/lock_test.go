package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"example.com/gosessions/internal/pgtest"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// Two Stores, each on a pool of its own on one database, stand for two
// server processes sharing one PostgreSQL.

// TestLockExcludesAcrossInstances runs 100 requests of one session at
// once, half on each instance. Each loads a counter from the session,
// and saves it plus one, as a request loads and saves its session.
// Without mutual exclusion, increments get lost.
func TestLockExcludesAcrossInstances(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	instances := []*Store{
		newInstance(t, url, Config{LockWait: time.Minute}),
		newInstance(t, url, Config{LockWait: time.Minute}),
	}
	ctx := context.Background()
	const token, requests = "one-session", 100
	key := session.HashToken(token)
	later := time.Now().Add(time.Hour)

	var mu sync.Mutex
	holders, maxHolders := 0, 0
	var wg sync.WaitGroup
	for i := range requests {
		store := instances[i%len(instances)]
		wg.Go(func() {
			lease, err := store.Lock(ctx, token)
			if err != nil {
				t.Error(err)
				return
			}
			defer lease.Release(false)
			mu.Lock()
			holders++
			maxHolders = max(maxHolders, holders)
			mu.Unlock()
			defer func() {
				mu.Lock()
				holders--
				mu.Unlock()
			}()

			ctx := lock.NewContext(ctx, lease)
			b, _, err := store.FindCtx(ctx, key)
			if err != nil {
				t.Error(err)
				return
			}
			n, _ := strconv.Atoi(string(b)) // 0 for the first request
			if err := lease.Check(ctx); err != nil {
				t.Error(err)
				return
			}
			if err := store.CommitCtx(ctx, key, []byte(strconv.Itoa(n+1)), later); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	b, _, err := instances[0].FindCtx(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != strconv.Itoa(requests) {
		t.Errorf("counter: got %s, want %d (increments were lost)", got, requests)
	}
	if maxHolders != 1 {
		t.Errorf("most holders at once: got %d, want 1", maxHolders)
	}
}

func TestLock(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	ctx := context.Background()
	watcher := newPool(t, url)

	t.Run("different sessions do not wait for each other", func(t *testing.T) {
		store := newInstance(t, url, Config{LockWait: time.Second})
		a := mustLock(t, store, "session-a")
		defer a.Release(false)
		b, err := store.Lock(ctx, "session-b")
		if err != nil {
			t.Fatalf("Lock of another session while one is held: got %v, want nil", err)
		}
		b.Release(false)
	})

	t.Run("a released lock is free at once for another instance", func(t *testing.T) {
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: time.Second})
		mustLock(t, a, "released").Release(false)
		l, err := b.Lock(ctx, "released")
		if err != nil {
			t.Fatalf("Lock after release: got %v, want nil", err)
		}
		if l.(*lease).waited {
			t.Error("a lock that was free counts as waited for")
		}
		l.Release(false)
	})

	t.Run("a waiter gets the lock once the holder releases it", func(t *testing.T) {
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: time.Minute})
		holder := mustLock(t, a, "handed-over")
		got := make(chan error, 1)
		go func() {
			l, err := b.Lock(ctx, "handed-over")
			if err == nil {
				if !l.(*lease).waited {
					err = errors.New("the waiter's lease does not count as waited for")
				}
				l.Release(false)
			}
			got <- err
		}()
		waitLockWaiters(t, watcher, 1)
		holder.Release(false)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("waiting ends with an error that wraps DeadlineExceeded", func(t *testing.T) {
		holderStore := newInstance(t, url, Config{LockWait: 200 * time.Millisecond})
		other := newInstance(t, url, Config{LockWait: 200 * time.Millisecond})
		holder := mustLock(t, holderStore, "busy")
		defer holder.Release(false)
		for _, tc := range []struct {
			name  string
			store *Store
		}{
			{"in PostgreSQL, behind another instance's request", other},
			{"in this process's queue, behind a request of the same instance", holderStore},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tc.store.Lock(ctx, "busy")
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Lock of a held lock: got %v, want an error wrapping context.DeadlineExceeded", err)
				}
			})
		}
	})

	t.Run("the request's own deadline bounds the wait", func(t *testing.T) {
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: time.Hour})
		holder := mustLock(t, a, "request-deadline")
		defer holder.Release(false)
		dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		if _, err := b.Lock(dctx, "request-deadline"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock with a 200ms request deadline: got %v, want DeadlineExceeded", err)
		}
	})

	t.Run("a wait that timed out keeps its connection", func(t *testing.T) {
		// The server ends the wait at lock_timeout and the connection goes
		// back to the pool; a client that gave up by cutting the
		// connection would open a new one for every wait.
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: 50 * time.Millisecond})
		holder := mustLock(t, a, "kept-connection")
		defer holder.Release(false)
		for range 5 {
			if _, err := b.Lock(ctx, "kept-connection"); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lock of a held lock: got %v, want DeadlineExceeded", err)
			}
		}
		if n := b.locks.pool.Stat().NewConnsCount(); n != 1 {
			t.Errorf("connections opened for 5 timed-out waits: got %d, want 1", n)
		}
	})

	t.Run("waiting ends when the request is cancelled", func(t *testing.T) {
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: time.Minute})
		holder := mustLock(t, a, "cancelled")
		defer holder.Release(false)
		cctx, cancel := context.WithCancel(ctx)
		go func() {
			waitLockWaiters(t, watcher, 1)
			cancel()
		}()
		if _, err := b.Lock(cctx, "cancelled"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock with a cancelled context: got %v, want an error wrapping context.Canceled", err)
		}
	})

	t.Run("requests of one instance wait in its queue, on one connection", func(t *testing.T) {
		a := newInstance(t, url, Config{LockWait: time.Second})
		b := newInstance(t, url, Config{LockWait: time.Minute})
		holder := mustLock(t, a, "queued")
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				if l, err := b.Lock(ctx, "queued"); err != nil {
					t.Error(err)
				} else {
					l.Release(false)
				}
			})
		}
		waitLockWaiters(t, watcher, 1)
		time.Sleep(100 * time.Millisecond) // time for the other requests to queue
		if n := b.locks.pool.Stat().AcquiredConns(); n != 1 {
			t.Errorf("lock connections taken by 5 requests waiting for one session: got %d, want 1", n)
		}
		holder.Release(false)
		wg.Wait()
	})

	t.Run("lock connections ask the server to notice a silent client soon", func(t *testing.T) {
		store := newInstance(t, url, Config{})
		le := mustLock(t, store, "keepalive").(*lease)
		defer le.Release(false)
		var idle string
		if err := le.conn.QueryRow(ctx, "SHOW tcp_keepalives_idle").Scan(&idle); err != nil {
			t.Fatal(err)
		}
		if idle != keepalives["tcp_keepalives_idle"] {
			t.Errorf("tcp_keepalives_idle: got %q, want %q", idle, keepalives["tcp_keepalives_idle"])
		}
	})
}

// TestLostLock kills the holder's connection from another one, as an
// administrator's pg_terminate_backend would, or as a cut network ends it:
// the server frees the lock, and the lease must not save anything since.
func TestLostLock(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	ctx := context.Background()
	a := newInstance(t, url, Config{LockWait: time.Second})
	b := newInstance(t, url, Config{LockWait: 10 * time.Second})
	admin := newPool(t, url)
	const token = "killed"
	key := session.HashToken(token)
	later := time.Now().Add(time.Hour)

	lease := mustLock(t, a, token)
	defer lease.Release(false)
	lctx := lock.NewContext(ctx, lease)
	if err := a.CommitCtx(lctx, key, []byte("before"), later); err != nil {
		t.Fatalf("CommitCtx while holding the lock: %v", err)
	}
	terminate(t, admin, holderPID(t, admin, token))

	if err := lease.Check(ctx); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Check after the holder's connection was killed: got %v, want an error wrapping ErrLost", err)
	}
	if err := a.CommitCtx(lctx, key, []byte("after"), later); !errors.Is(err, lock.ErrLost) {
		t.Errorf("CommitCtx: got %v, want an error wrapping ErrLost", err)
	}
	if err := a.DeleteCtx(lctx, key); !errors.Is(err, lock.ErrLost) {
		t.Errorf("DeleteCtx: got %v, want an error wrapping ErrLost", err)
	}
	if b, found, err := a.FindCtx(ctx, key); err != nil || !found || string(b) != "before" {
		t.Errorf("the session after the refused writes: got %q, %v, %v; want %q, true, nil", b, found, err, "before")
	}
	if err := lease.Check(ctx); !errors.Is(err, lock.ErrLost) {
		t.Errorf("Check again: got %v, want ErrLost (a lost lock stays lost)", err)
	}

	// The server freed the lock: another instance takes it, and the lost
	// lease's release leaves it to that one.
	other := mustLock(t, b, token)
	defer other.Release(false)
	if err := b.CommitCtx(lock.NewContext(ctx, other), key, []byte("from b"), later); err != nil {
		t.Fatalf("CommitCtx of the new holder: %v", err)
	}
	lease.Release(false)
	third := newInstance(t, url, Config{LockWait: 200 * time.Millisecond})
	if _, err := third.Lock(ctx, token); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while the new holder holds it, after the lost lease was released: got %v, want DeadlineExceeded", err)
	}
	if n := acquiredConns(a.locks.pool); n != 0 {
		t.Errorf("lock connections still taken after Release: got %d, want 0", n)
	}
}

func TestFencedWritesNeedThisStoresLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newInstance(t, newDatabase(t), Config{})
	b := newInstance(t, newDatabase(t), Config{})
	foreign := mustLock(t, b, "foreign")
	defer foreign.Release(false)
	// A lease of b's would write over b's connection, to b's database.
	if err := a.CommitCtx(lock.NewContext(ctx, foreign), "row", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := a.FindCtx(ctx, "row"); !found {
		t.Error("a commit with another store's lease in ctx is not in this store's database")
	}
	if _, found, _ := b.FindCtx(ctx, "row"); found {
		t.Error("a commit with another store's lease in ctx went to that store's database")
	}
}

func TestRetiredAcrossInstances(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	ctx := context.Background()
	watcher := newPool(t, url)

	for _, retired := range []bool{false, true} {
		t.Run(fmt.Sprintf("a waiter on another instance learns retired=%v", retired), func(t *testing.T) {
			token := fmt.Sprintf("retired-%v", retired)
			holderStore := newInstance(t, url, Config{LockWait: time.Second})
			waiter := newInstance(t, url, Config{LockWait: 10 * time.Second})
			holder := mustLock(t, holderStore, token)
			got := make(chan error, 1)
			go func() {
				w, err := waiter.Lock(ctx, token)
				if err != nil {
					got <- err
					return
				}
				defer w.Release(false)
				r, err := w.Retired(ctx)
				if err == nil && r != retired {
					err = fmt.Errorf("waiter's Retired: got %v, want %v", r, retired)
				}
				got <- err
			}()
			waitLockWaiters(t, watcher, 1)
			holder.Release(retired)
			if err := <-got; err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("a request that did not wait gets no retirement from the marker", func(t *testing.T) {
		const token = "retired-then-late"
		mustLock(t, newInstance(t, url, Config{}), token).Release(true)
		late := mustLock(t, newInstance(t, url, Config{}), token)
		defer late.Release(false)
		if r, err := late.Retired(ctx); err != nil || r {
			t.Errorf("a request that found the lock free: Retired() = %v, %v; want false, nil (its browser may still hold that cookie)", r, err)
		}
	})

	t.Run("the marker holds the token's hash only, and expires after the wait", func(t *testing.T) {
		const token = "plain-retired-token"
		const wait = 3 * time.Second
		mustLock(t, newInstance(t, url, Config{LockWait: wait}), token).Release(true)
		var stored string
		var left time.Duration
		err := watcher.QueryRow(ctx, `SELECT token, expiry - current_timestamp FROM sessions_retired
			WHERE token = $1 OR token = $2`, token, session.HashToken(token)).Scan(&stored, &left)
		if err != nil {
			t.Fatal(err)
		}
		if stored != session.HashToken(token) {
			t.Errorf("marker's token: got %q, want the token's hash", stored)
		}
		if left <= 0 || left > wait+retiredMargin {
			t.Errorf("marker's time left: got %v, want in (0, %v]", left, wait+retiredMargin)
		}
	})
}

// TestServerStopped stops PostgreSQL under a store: every call fails soon
// with an error, none hangs, and once the server is back the same store
// works again.
func TestServerStopped(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	migrate(t, url)
	store := newInstance(t, url, Config{LockWait: time.Minute})
	ctx := context.Background()
	held := mustLock(t, store, "held")
	lctx := lock.NewContext(ctx, held)

	srv.Stop()
	const bound = 10 * time.Second // far above what each should take
	steps := []struct {
		name  string
		check func() error
	}{
		{"the lease's Check reports the lock lost", func() error {
			if err := held.Check(ctx); !errors.Is(err, lock.ErrLost) {
				return fmt.Errorf("got %v, want ErrLost", err)
			}
			return nil
		}},
		{"the lease's commit is refused", func() error {
			if err := store.CommitCtx(lctx, "x", []byte("x"), time.Now().Add(time.Hour)); !errors.Is(err, lock.ErrLost) {
				return fmt.Errorf("got %v, want ErrLost", err)
			}
			return nil
		}},
		{"Release returns", func() error { held.Release(false); return nil }},
		{"the store's Check fails", func() error {
			if err := store.Check(ctx); err == nil {
				return errors.New("got nil, want an error")
			}
			return nil
		}},
		{"Lock fails with PostgreSQL's error, not a timeout", func() error {
			// The server tells "the database is down" (500) from "the
			// session is busy" (503) by this.
			_, err := store.Lock(ctx, "new")
			if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return fmt.Errorf("got %v, want an error that is not a context's", err)
			}
			return nil
		}},
	}
	for _, step := range steps {
		var err error
		if !returnsWithin(bound, func() { err = step.check() }) {
			t.Fatalf("with the server stopped, %s: did not return within %v", step.name, bound)
		}
		if err != nil {
			t.Errorf("with the server stopped, %s: %v", step.name, err)
		}
	}
	if n := acquiredConns(store.locks.pool); n != 0 {
		t.Errorf("lock connections still taken: got %d, want 0", n)
	}

	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	if err := store.Check(ctx); err != nil {
		t.Errorf("Check after the server is back: got %v, want nil", err)
	}
	lease, err := store.Lock(ctx, "held")
	if err != nil {
		t.Fatalf("Lock after the server is back: got %v, want nil", err)
	}
	if err := store.CommitCtx(lock.NewContext(ctx, lease), "x", []byte("x"), time.Now().Add(time.Hour)); err != nil {
		t.Errorf("CommitCtx after the server is back: got %v, want nil", err)
	}
	lease.Release(false)
}

// TestNoConnectionLeak takes and releases locks in every way a request
// can, including failures, and then checks that every connection is back
// in its pool and no lock is left in the server.
func TestNoConnectionLeak(t *testing.T) {
	t.Parallel()
	url := newDatabase(t)
	ctx := context.Background()
	a := newInstance(t, url, Config{LockWait: 10 * time.Second})
	b := newInstance(t, url, Config{LockWait: 10 * time.Second})
	admin := newPool(t, url)
	// Waits that time out end at the request's deadline.
	short := func() context.Context {
		sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		t.Cleanup(cancel)
		return sctx
	}

	for i := range 50 { // held, checked, committed, released (some retired)
		token := fmt.Sprint("cycle-", i%5)
		lease := mustLock(t, a, token)
		lctx := lock.NewContext(ctx, lease)
		if err := lease.Check(lctx); err != nil {
			t.Fatal(err)
		}
		if err := a.CommitCtx(lctx, session.HashToken(token), []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		lease.Release(i%3 == 0)
	}
	holder := mustLock(t, b, "busy")
	for range 5 { // timed out in the server, and in this process's queue
		if _, err := a.Lock(short(), "busy"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
		if _, err := b.Lock(short(), "busy"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Lock(cctx, "busy"); !errors.Is(err, context.Canceled) { // cancelled before it began
		t.Fatalf("got %v, want Canceled", err)
	}
	holder.Release(false)
	for range 3 { // killed under the holder
		lease := mustLock(t, a, "killed")
		terminate(t, admin, holderPID(t, admin, "killed"))
		lease.Release(true)
	}

	for _, s := range []*Store{a, b} {
		if n := acquiredConns(s.locks.pool); n != 0 {
			t.Errorf("lock pool: %d connections taken, want 0", n)
		}
		if n := acquiredConns(s.pool); n != 0 {
			t.Errorf("data pool: %d connections taken, want 0", n)
		}
	}
	var held int
	err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&held)
	if err != nil || held != 0 {
		t.Errorf("advisory locks left in the server: got %d (%v), want 0", held, err)
	}
}

// acquiredConns returns how many of pool's connections are taken, once
// that is 0 or a few seconds have passed: the pool drops a closed
// connection in the background, and counts it as taken until then.
func acquiredConns(pool *pgxpool.Pool) int32 {
	var n int32
	waitFor(10*time.Second, func() bool {
		n = pool.Stat().AcquiredConns()
		return n == 0
	})
	return n
}

func mustLock(t testing.TB, s *Store, token string) lock.Lease {
	t.Helper()
	lease, err := s.Lock(context.Background(), token)
	if err != nil {
		t.Fatalf("Lock(%q): %v", token, err)
	}
	return lease
}

// waitLockWaiters waits until n connections wait for an advisory lock in
// pool's database, which shows that a Lock found its lock taken.
func waitLockWaiters(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	ok := waitFor(10*time.Second, func() bool {
		var waiting int
		err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND NOT granted
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&waiting)
		return err == nil && waiting >= n
	})
	if !ok {
		t.Errorf("no %d waiter(s) for an advisory lock within 10s", n)
	}
}

// holderPID returns the server process that holds the lock of the session
// with this cookie token, as an administrator would find it in pg_locks: a
// bigint key is split into classid (high half) and objid (low half).
func holderPID(t *testing.T, pool *pgxpool.Pool, token string) int32 {
	t.Helper()
	key := uint64(lockKey(session.HashToken(token)))
	var pid int32
	err := pool.QueryRow(context.Background(), `SELECT pid FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 1
		AND classid::bigint = $1 AND objid::bigint = $2
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&pid)
	if err != nil {
		t.Fatalf("find the holder of %q's lock: %v", token, err)
	}
	return pid
}

// terminate ends the server process pid, and waits until it has exited.
func terminate(t *testing.T, pool *pgxpool.Pool, pid int32) {
	t.Helper()
	var ok bool
	if err := pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1, 10000)`, pid).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend(%d): %v, %v", pid, ok, err)
	}
}

// TestLockPoolFullIsBusyNotTaken: when every connection of the lock pool
// holds another session's lock, a request of a free session fails with
// lock.ErrBusy (the server is at capacity), not with the timeout that says
// its own session's lock is held.
func TestLockPoolFullIsBusyNotTaken(t *testing.T) {
	t.Parallel()
	s := newInstance(t, newDatabase(t), Config{LockConns: 1, LockWait: 300 * time.Millisecond})
	held := mustLock(t, s, "token-a")
	defer held.Release(false)

	_, err := s.Lock(context.Background(), "token-b")
	if !errors.Is(err, lock.ErrBusy) {
		t.Fatalf("Lock of a free session with the pool full: got %v, want lock.ErrBusy", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the error says the session's own lock timed out: %v", err)
	}
}
