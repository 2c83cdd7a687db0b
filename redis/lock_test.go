package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/gosessions/redis"
	"example.com/gosessions/redis/redistest"
)

// Two Lockers, each on its own connection pool, stand for two server
// processes sharing one Redis.

func TestLockerLetsOneHolderInAcrossProcesses(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	counter := newClient(t, srv)
	lockers := []*redis.Locker{
		redis.NewLocker(newClient(t, srv), time.Minute, 20*time.Second),
		redis.NewLocker(newClient(t, srv), time.Minute, 20*time.Second),
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
		l := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
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
		a := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
		b := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
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
		holder := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
		waiter := redis.NewLocker(newClient(t, srv), time.Minute, 200*time.Millisecond)
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
		holder := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
		waiter := redis.NewLocker(newClient(t, srv), time.Minute, time.Minute)
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
		if _, err := redis.NewLocker(crashed, 300*time.Millisecond, time.Second).Lock(ctx, "crashed"); err != nil {
			t.Fatal(err)
		}
		crashed.Close()
		waiter := redis.NewLocker(newClient(t, srv), time.Minute, 10*time.Second)
		lease, err := waiter.Lock(ctx, "crashed")
		if err != nil {
			t.Fatalf("Lock after the holder's lock expired: got %v, want nil", err)
		}
		lease.Release(false)
	})

	t.Run("only the owner releases a lock", func(t *testing.T) {
		// The first holder's lock expires while it still runs; a second
		// request takes the lock; then the first one finishes and unlocks.
		// That must not release the second one's lock.
		first := redis.NewLocker(newClient(t, srv), 200*time.Millisecond, time.Second)
		second := redis.NewLocker(newClient(t, srv), time.Minute, 10*time.Second)
		third := redis.NewLocker(newClient(t, srv), time.Minute, 300*time.Millisecond)
		leaseFirst, err := first.Lock(ctx, "owned")
		if err != nil {
			t.Fatal(err)
		}
		leaseSecond, err := second.Lock(ctx, "owned") // waits for the expiry
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
		l := redis.NewLocker(newClient(t, srv), time.Minute, time.Second)
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
	l := redis.NewLocker(newClient(t, srv), time.Minute, time.Minute)
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
