package lock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// lockWait bounds how long a test waits for a lock that must be free. It
// only keeps a broken lock from hanging the test; nothing is timed.
const lockWait = 10 * time.Second

// mustLock takes the lock of token, failing the test if it is not free.
func mustLock(t *testing.T, l *Local, token string) (unlock func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lockWait)
	defer cancel()
	lease, err := l.Lock(ctx, token)
	if err != nil {
		t.Fatalf("Lock(%q): %v, want the lock", token, err)
	}
	return func() { lease.Release(false) }
}

// refs returns how many requests hold or wait for token's lock, and how
// many tokens have an entry in the map.
func (l *Local) refs(token string) (refs, entries int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lk, ok := l.locks[token]; ok {
		refs = lk.refs
	}
	return refs, len(l.locks)
}

// waitRefs waits until token's lock has want holders and waiters.
func waitRefs(t *testing.T, l *Local, token string, want int) {
	t.Helper()
	deadline := time.Now().Add(lockWait)
	for {
		if got, _ := l.refs(token); got == want {
			return
		}
		if time.Now().After(deadline) {
			got, _ := l.refs(token)
			t.Fatalf("lock %q: got %d holders and waiters, want %d", token, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLocal(t *testing.T) {
	t.Run("different tokens do not block each other", func(t *testing.T) {
		l := NewLocal()
		unlockA := mustLock(t, l, "a")
		unlockB := mustLock(t, l, "b") // fails if it waits for "a"
		unlockB()
		unlockA()
	})

	t.Run("the same token waits until the holder unlocks", func(t *testing.T) {
		l := NewLocal()
		unlock := mustLock(t, l, "a")

		var released atomic.Bool
		acquired := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), lockWait)
			defer cancel()
			lease2, err := l.Lock(ctx, "a")
			if err == nil {
				if !released.Load() {
					err = errors.New("got the lock while another request held it")
				}
				lease2.Release(false)
			}
			acquired <- err
		}()
		waitRefs(t, l, "a", 2) // the second request is waiting
		released.Store(true)
		unlock()
		if err := <-acquired; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("entries are removed when released", func(t *testing.T) {
		l := NewLocal()
		unlockA := mustLock(t, l, "a")
		unlockB := mustLock(t, l, "b")
		if _, entries := l.refs("a"); entries != 2 {
			t.Fatalf("got %d entries while two locks are held, want 2", entries)
		}
		unlockA()
		unlockB()
		if _, entries := l.refs("a"); entries != 0 {
			t.Errorf("got %d entries after every lock was released, want 0", entries)
		}
	})

	t.Run("a waiter whose context is cancelled gives up", func(t *testing.T) {
		l := NewLocal()
		unlock := mustLock(t, l, "a")

		ctx, cancel := context.WithCancel(context.Background())
		gaveUp := make(chan error, 1)
		go func() {
			lease2, err := l.Lock(ctx, "a")
			if err == nil {
				lease2.Release(false)
			}
			gaveUp <- err
		}()
		waitRefs(t, l, "a", 2)
		cancel()
		if err := <-gaveUp; !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
		if refs, _ := l.refs("a"); refs != 1 {
			t.Errorf("got %d holders and waiters after the waiter gave up, want 1 (the holder)", refs)
		}
		unlock()
		if _, entries := l.refs("a"); entries != 0 {
			t.Errorf("got %d entries after release, want 0", entries)
		}
		// The token is free again.
		mustLock(t, l, "a")()
	})

	t.Run("a waiter learns that the holder retired the token", func(t *testing.T) {
		for _, retired := range []bool{false, true} {
			l := NewLocal()
			ctx := context.Background()
			holder, err := l.Lock(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan bool, 1)
			go func() {
				waiter, err := l.Lock(ctx, "a")
				if err != nil {
					t.Error(err)
					got <- false
					return
				}
				defer waiter.Release(false)
				r, _ := waiter.Retired(ctx)
				got <- r
			}()
			waitRefs(t, l, "a", 2)
			holder.Release(retired)
			if r := <-got; r != retired {
				t.Errorf("holder released with retired=%v: waiter's Retired() = %v, want %v", retired, r, retired)
			}
			if err := holder.Check(ctx); err != nil {
				t.Errorf("Check on a local lease: %v, want nil", err)
			}
		}
	})

	// The retirement must be recorded before the lock is free: the waiter
	// asks as soon as it holds the lock. The race is short, so it is run
	// many times.
	t.Run("a waiter that asks at once learns that the holder retired the token", func(t *testing.T) {
		l := NewLocal()
		ctx := context.Background()
		for i := range 500 {
			holder, err := l.Lock(ctx, "a")
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan bool, 1)
			go func() {
				waiter, err := l.Lock(ctx, "a")
				if err != nil {
					t.Error(err)
					got <- true
					return
				}
				defer waiter.Release(false)
				r, _ := waiter.Retired(ctx)
				got <- r
			}()
			waitRefs(t, l, "a", 2)
			holder.Release(true)
			if !<-got {
				t.Fatalf("handover %d: the waiter's Retired() = false, want true", i)
			}
			// The waiter releases after it has answered. Until it has, the
			// count of 2 above could be the next holder and this waiter,
			// not yet gone, instead of the next holder and its waiter.
			waitRefs(t, l, "a", 0)
		}
	})

	t.Run("a lease says whether it had to wait", func(t *testing.T) {
		l := NewLocal()
		ctx := context.Background()
		first, err := l.LockLocal(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if first.Waited() {
			t.Errorf("the first request: Waited() = true, want false")
		}
		second := make(chan *LocalLease, 1)
		go func() {
			le, _ := l.LockLocal(ctx, "a")
			second <- le
		}()
		waitRefs(t, l, "a", 2)
		first.Release(false)
		le := <-second
		if le == nil || !le.Waited() {
			t.Errorf("a request that queued behind another: Waited() = false, want true")
		}
		le.Release(false)
	})
}
