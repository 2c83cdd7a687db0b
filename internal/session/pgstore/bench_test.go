package pgstore

import (
	"context"
	"strconv"
	"testing"
	"time"

	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// What one request costs in PostgreSQL mode, apart from the page itself,
// on a server on loopback:
//
//	go test ./internal/session/pgstore -run '^$' -bench .
//
// BenchmarkLock is the lock alone: pg_try_advisory_lock, then
// pg_advisory_unlock, each one round trip on a connection of the lock pool.
func BenchmarkLock(b *testing.B) {
	url := newDatabase(b)
	store := newInstance(b, url, Config{})
	ctx := context.Background()

	b.Run("lock-unlock", func(b *testing.B) {
		i := 0
		for b.Loop() {
			lease, err := store.Lock(ctx, "token-"+strconv.Itoa(i%1000))
			if err != nil {
				b.Fatal(err)
			}
			lease.Release(false)
			i++
		}
	})
	b.Run("handover", func(b *testing.B) {
		// Two instances take turns on one session: each Lock waits in
		// pg_advisory_lock until the other's Release.
		a, other := store, newInstance(b, url, Config{})
		held := mustLock(b, a, "handover")
		for b.Loop() {
			got := make(chan lock.Lease, 1)
			go func() {
				l, err := other.Lock(ctx, "handover")
				if err != nil {
					b.Error(err)
				}
				got <- l
			}()
			held.Release(false)
			l := <-got
			if l == nil {
				b.FailNow()
			}
			held = l
			a, other = other, a
		}
		held.Release(false)
	})
}

// BenchmarkFindCommit is loading and saving a session: without a lock (a
// new visitor), with the commit fenced by a lease held across the loop, and
// a whole request (Lock, FindCtx, Check, CommitCtx, Release).
func BenchmarkFindCommit(b *testing.B) {
	store := newInstance(b, newDatabase(b), Config{})
	ctx := context.Background()
	data := make([]byte, 200) // about what the session example stores
	expiry := time.Now().Add(time.Hour)

	b.Run("unfenced", func(b *testing.B) {
		i := 0
		for b.Loop() {
			key := session.HashToken("token-" + strconv.Itoa(i%1000))
			if _, _, err := store.FindCtx(ctx, key); err != nil {
				b.Fatal(err)
			}
			if err := store.CommitCtx(ctx, key, data, expiry); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("fenced", func(b *testing.B) {
		lease := mustLock(b, store, "fenced")
		defer lease.Release(false)
		lctx := lock.NewContext(ctx, lease)
		key := session.HashToken("fenced")
		for b.Loop() {
			if _, _, err := store.FindCtx(lctx, key); err != nil {
				b.Fatal(err)
			}
			if err := store.CommitCtx(lctx, key, data, expiry); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("request", func(b *testing.B) {
		i := 0
		for b.Loop() {
			token := "token-" + strconv.Itoa(i%1000)
			lease, err := store.Lock(ctx, token)
			if err != nil {
				b.Fatal(err)
			}
			lctx := lock.NewContext(ctx, lease)
			key := session.HashToken(token)
			if _, _, err := store.FindCtx(lctx, key); err != nil {
				b.Fatal(err)
			}
			if err := lease.Check(lctx); err != nil {
				b.Fatal(err)
			}
			if err := store.CommitCtx(lctx, key, data, expiry); err != nil {
				b.Fatal(err)
			}
			lease.Release(false)
			i++
		}
	})
}
