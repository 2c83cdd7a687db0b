package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/gosessions/internal/redistest"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
	"example.com/gosessions/internal/session/redisstore"
)

// Two Lockers, each on its own connection pool, stand for two server
// processes sharing one Redis.

func TestLockerLetsOneHolderInAcrossProcesses(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	counter := newClient(t, srv)
	lockers := []*redisstore.Locker{
		redisstore.NewLocker(newClient(t, srv), time.Minute, 20*time.Second),
		redisstore.NewLocker(newClient(t, srv), time.Minute, 20*time.Second),
	}

	// Each worker reads the counter, then writes it back plus one, the way
	// a request loads a session and saves it. Without mutual exclusion,
	// increments get lost.
	const perLocker = 25
	var holders, maxHolders atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*perLocker)
	for _, l := range lockers {
		for range perLocker {
			wg.Go(func() {
				lease, err := l.Lock(ctx, "one-session")
				if err != nil {
					errs <- err
					return
				}
				defer lease.Release(false)
				n := holders.Add(1)
				defer holders.Add(-1)
				if n > maxHolders.Load() {
					maxHolders.Store(n)
				}
				v, _ := counter.Get(ctx, "counter").Int()
				time.Sleep(time.Millisecond)
				if err := counter.Set(ctx, "counter", v+1, 0).Err(); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, err := counter.Get(ctx, "counter").Int()
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * perLocker; got != want {
		t.Errorf("counter: got %d, want %d (increments were lost)", got, want)
	}
	if m := maxHolders.Load(); m != 1 {
		t.Errorf("most holders at once: got %d, want 1", m)
	}
}

func TestLocker(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()

	t.Run("different sessions do not wait for each other", func(t *testing.T) {
		l := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		leaseA, err := l.Lock(ctx, "session-a")
		if err != nil {
			t.Fatal(err)
		}
		defer leaseA.Release(false)
		leaseB, err := l.Lock(ctx, "session-b")
		if err != nil {
			t.Fatalf("Lock of another session while one is held: got %v, want nil", err)
		}
		leaseB.Release(false)
	})

	t.Run("a released lock can be taken at once", func(t *testing.T) {
		a := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		b := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		lease, err := a.Lock(ctx, "released")
		if err != nil {
			t.Fatal(err)
		}
		lease.Release(false)
		lease, err = b.Lock(ctx, "released")
		if err != nil {
			t.Fatalf("Lock after release: got %v, want nil", err)
		}
		lease.Release(false)
	})

	t.Run("waiting ends with an error that wraps DeadlineExceeded", func(t *testing.T) {
		holder := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		waiter := redisstore.NewLocker(newClient(t, srv), time.Minute, 200*time.Millisecond)
		lease, err := holder.Lock(ctx, "busy")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		_, err = waiter.Lock(ctx, "busy")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock of a held lock: got %v, want an error wrapping context.DeadlineExceeded", err)
		}
	})

	t.Run("waiting ends when the request is cancelled", func(t *testing.T) {
		holder := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		waiter := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Minute)
		lease, err := holder.Lock(ctx, "cancelled")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err = waiter.Lock(cctx, "cancelled")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock with a cancelled context: got %v, want an error wrapping context.Canceled", err)
		}
	})

	t.Run("a crashed holder's lock expires", func(t *testing.T) {
		// The holder's connection is closed and it never unlocks, as when
		// its process dies.
		crashed := newClient(t, srv)
		if _, err := redisstore.NewLocker(crashed, 300*time.Millisecond, time.Second).Lock(ctx, "crashed"); err != nil {
			t.Fatal(err)
		}
		crashed.Close()
		waiter := redisstore.NewLocker(newClient(t, srv), time.Minute, 10*time.Second)
		lease, err := waiter.Lock(ctx, "crashed")
		if err != nil {
			t.Fatalf("Lock after the holder's lock expired: got %v, want nil", err)
		}
		lease.Release(false)
	})

	t.Run("only the owner releases a lock", func(t *testing.T) {
		// The first holder loses its lock while it still runs (here it is
		// deleted behind its back); a second request takes the lock; then
		// the first one finishes and unlocks. That must not release the
		// second one's lock.
		first := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		second := redisstore.NewLocker(newClient(t, srv), time.Minute, 10*time.Second)
		third := redisstore.NewLocker(newClient(t, srv), time.Minute, 300*time.Millisecond)
		leaseFirst, err := first.Lock(ctx, "owned")
		if err != nil {
			t.Fatal(err)
		}
		if err := newClient(t, srv).Del(ctx, lockKey("owned")).Err(); err != nil {
			t.Fatal(err)
		}
		leaseSecond, err := second.Lock(ctx, "owned")
		if err != nil {
			t.Fatal(err)
		}
		defer leaseSecond.Release(false)
		leaseFirst.Release(false)
		if _, err := third.Lock(ctx, "owned"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock while the second owner holds it, after the first unlocked: got %v, want DeadlineExceeded", err)
		}
	})

	t.Run("lock keys hold the token's hash, never the token", func(t *testing.T) {
		const token = "plain-cookie-token"
		l := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		lease, err := l.Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		keys, err := newClient(t, srv).Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) == 0 {
			t.Fatal("no keys in Redis while a lock is held")
		}
		for _, k := range keys {
			if strings.Contains(k, token) {
				t.Errorf("key %q contains the cookie token", k)
			}
		}
	})
}

func TestLockerWithoutRedisFailsWithoutWaiting(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	l := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Minute)
	srv.Stop()
	_, err := l.Lock(context.Background(), "any")
	if err == nil {
		t.Fatal("Lock with Redis stopped: got nil, want an error")
	}
	// The server tells "Redis is down" (500) from "the session is busy"
	// (503) by this.
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		t.Fatalf("Lock with Redis stopped: got %v, want Redis's own error, not a context error", err)
	}
}

// lockKey is the key of the lock of the session with this cookie token,
// for tests that take a lock away behind its holder's back.
func lockKey(token string) string { return "session-lock:" + session.HashToken(token) }

func TestLeaseKeepsItsLock(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond

	t.Run("a lease held for several TTLs keeps the lock", func(t *testing.T) {
		holder := redisstore.NewLocker(newClient(t, srv), ttl, time.Second)
		lease, err := holder.Lock(ctx, "long-request")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		// The other locker polls for the lock during five of its TTLs: a
		// lock that nobody extends expires in the first.
		other := redisstore.NewLocker(newClient(t, srv), ttl, 5*ttl)
		if l, err := other.Lock(ctx, "long-request"); !errors.Is(err, context.DeadlineExceeded) {
			if err == nil {
				l.Release(false)
			}
			t.Fatalf("Lock while another lease holds the lock for 5 TTLs: got %v, want DeadlineExceeded", err)
		}
		if err := lease.Check(ctx); err != nil {
			t.Errorf("Check after 5 TTLs: got %v, want nil", err)
		}
	})

	t.Run("Check reports a lock that was taken away", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			takeAway func(t *testing.T, token string)
		}{
			{"deleted", func(t *testing.T, token string) {
				if err := newClient(t, srv).Del(ctx, lockKey(token)).Err(); err != nil {
					t.Fatal(err)
				}
			}},
			{"deleted, then taken by another request", func(t *testing.T, token string) {
				if err := newClient(t, srv).Del(ctx, lockKey(token)).Err(); err != nil {
					t.Fatal(err)
				}
				other, err := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second).Lock(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { other.Release(false) })
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				token := "taken-" + strings.ReplaceAll(tc.name, " ", "-")
				lease, err := redisstore.NewLocker(newClient(t, srv), ttl, time.Second).Lock(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				defer lease.Release(false)
				tc.takeAway(t, token)
				if err := lease.Check(ctx); !errors.Is(err, lock.ErrLost) {
					t.Fatalf("Check: got %v, want an error wrapping ErrLost", err)
				}
				// A lost lock stays lost, although the key is gone or another's.
				time.Sleep(ttl)
				if err := lease.Check(ctx); !errors.Is(err, lock.ErrLost) {
					t.Fatalf("Check a TTL later: got %v, want an error wrapping ErrLost", err)
				}
			})
		}
	})

	t.Run("a lock that could not be extended in time is lost", func(t *testing.T) {
		// Its own Redis, stopped under the holder: no refresh gets through,
		// and Check must not take a lock whose key may have expired for held.
		own := redistest.Start(t)
		lease, err := redisstore.NewLocker(newClient(t, own), ttl, time.Second).Lock(ctx, "stranded")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		own.Stop()
		time.Sleep(2 * ttl)
		if err := lease.Check(ctx); !errors.Is(err, lock.ErrLost) {
			t.Fatalf("Check: got %v, want an error wrapping ErrLost", err)
		}
	})
}

// TestReleaseEndsTheRefresh holds a few leases, releases them, and then
// looks at every goroutine's stack: none may still run this package's code.
// It runs on its own (not in parallel) so that no other test's lease is
// in the count.
func TestReleaseEndsTheRefresh(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	l := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
	var leases []lock.Lease
	for _, token := range []string{"a", "b", "c"} {
		lease, err := l.Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		leases = append(leases, lease)
	}
	if got := waitGoroutinesInPackage(t, func(n int) bool { return n >= len(leases) }); got < len(leases) {
		t.Fatalf("goroutines running the redis package with %d leases held: got %d, want at least %d (one refresh each)",
			len(leases), got, len(leases))
	}
	for _, lease := range leases {
		lease.Release(false)
	}
	if got := waitGoroutinesInPackage(t, func(n int) bool { return n == 0 }); got != 0 {
		t.Fatalf("goroutines running the redis package after every lease was released: got %d, want 0\n%s",
			got, goroutinesInPackage())
	}
}

// waitGoroutinesInPackage waits, for a few seconds at most, until the number
// of goroutines running this package's code satisfies ok, and returns the
// last number seen.
func waitGoroutinesInPackage(t *testing.T, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := len(goroutinesInPackage())
		if ok(n) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// goroutinesInPackage returns the stacks of the goroutines that have a
// frame in package redis (its tests, package redis_test, do not count).
func goroutinesInPackage() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for line := range strings.Lines(g) {
			if strings.HasPrefix(line, "example.com/gosessions/internal/session/redisstore.") {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

func TestRetiredAcrossProcesses(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	for _, retired := range []bool{false, true} {
		t.Run(fmt.Sprintf("a waiter on another process learns retired=%v", retired), func(t *testing.T) {
			token := fmt.Sprintf("retired-%v", retired)
			holder := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
			waiter := redisstore.NewLocker(newClient(t, srv), time.Minute, 10*time.Second)
			lease, err := holder.Lock(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			tries := setCalls(t, srv)
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
			waitSetCalls(t, srv, tries+1) // the waiter found the lock taken
			lease.Release(retired)
			if err := <-got; err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("a request that did not wait gets no retirement from the marker", func(t *testing.T) {
		const token = "retired-then-late"
		holder := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second)
		lease, err := holder.Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		lease.Release(true)
		late, err := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second).Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		defer late.Release(false)
		if r, err := late.Retired(ctx); err != nil || r {
			t.Errorf("a request that found the lock free: Retired() = %v, %v; want false, nil (its browser may still hold that cookie)", r, err)
		}
	})

	t.Run("the marker holds the token's hash only, and expires", func(t *testing.T) {
		const token = "plain-retired-token"
		lease, err := redisstore.NewLocker(newClient(t, srv), time.Minute, time.Second).Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		lease.Release(true)
		client := newClient(t, srv)
		keys, err := client.Keys(ctx, "*"+session.HashToken(token)+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("keys named after the token's hash after a retiring release: got %q, want one marker", keys)
		}
		all, _ := client.Keys(ctx, "*").Result()
		for _, k := range all {
			if strings.Contains(k, token) {
				t.Errorf("key %q contains the cookie token", k)
			}
		}
		if ttl, err := client.PTTL(ctx, keys[0]).Result(); err != nil || ttl <= 0 {
			t.Errorf("marker %s: time to live %v, %v; want a positive one", keys[0], ttl, err)
		}
	})
}

// setCalls returns how many SET commands (SET NX takes a lock) srv has run.
func setCalls(t *testing.T, srv *redistest.Server) int {
	t.Helper()
	info, err := newClient(t, srv).Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_set:calls="); ok {
			n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
			return n
		}
	}
	return 0
}

// waitSetCalls waits until srv has run at least n SET commands.
func waitSetCalls(t *testing.T, srv *redistest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for setCalls(t, srv) < n {
		if time.Now().After(deadline) {
			t.Fatalf("Redis ran fewer than %d SET commands in 10s", n)
		}
		time.Sleep(time.Millisecond)
	}
}
