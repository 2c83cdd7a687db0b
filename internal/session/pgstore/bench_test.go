package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
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

// BenchmarkDeleteExpired is what the cleanup costs the requests that run
// beside it: the table holds expiredRows expired sessions, and while the
// cleanup deletes them, 8 goroutines load and save sessions of their own
// (FindCtx, then CommitCtx), as requests do. "one-statement" is the
// cleanup as it was, a single DELETE of every expired row; "batched" is
// DeleteExpired. Run it alone, once:
//
//	go test ./internal/session/pgstore -run '^$' -bench DeleteExpired -benchtime 1x
func BenchmarkDeleteExpired(b *testing.B) {
	for _, tt := range []struct {
		name  string
		clean func(*Store, context.Context) (int64, error)
	}{
		// The same load for as long as the one DELETE took, deleting
		// nothing: what this machine does to the requests on its own.
		{"none", func(s *Store, ctx context.Context) (int64, error) {
			time.Sleep(4 * time.Second)
			return expiredRows, nil
		}},
		{"one-statement", func(s *Store, ctx context.Context) (int64, error) {
			tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expiry < current_timestamp`)
			return tag.RowsAffected(), err
		}},
		{"batched", (*Store).DeleteExpired},
	} {
		b.Run(tt.name, func(b *testing.B) {
			store := newInstance(b, newDatabase(b), Config{})
			ctx := context.Background()
			if _, err := store.pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry)
				SELECT md5(i::text), decode(repeat('ab', 200), 'hex'), now() - interval '1 day'
				FROM generate_series(1, $1) i`, expiredRows); err != nil {
				b.Fatal(err)
			}
			if _, err := store.pool.Exec(ctx, `VACUUM ANALYZE sessions`); err != nil {
				b.Fatal(err)
			}

			stop := make(chan struct{})
			var wg sync.WaitGroup
			latencies := make([][]time.Duration, 8)
			data := make([]byte, 200)
			for w := range latencies {
				wg.Go(func() {
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						key := session.HashToken(fmt.Sprintf("live-%d-%d", w, i%100))
						start := time.Now()
						if _, _, err := store.FindCtx(ctx, key); err != nil {
							b.Error(err)
							return
						}
						if err := store.CommitCtx(ctx, key, data, time.Now().Add(time.Hour)); err != nil {
							b.Error(err)
							return
						}
						latencies[w] = append(latencies[w], time.Since(start))
					}
				})
			}
			b.ResetTimer()
			start := time.Now()
			n, err := tt.clean(store, ctx)
			took := time.Since(start)
			close(stop)
			wg.Wait()
			if err != nil {
				b.Fatal(err)
			}
			if n != expiredRows {
				b.Fatalf("deleted %d rows, want %d", n, expiredRows)
			}
			all := slices.Sorted(slices.Values(slices.Concat(latencies...)))
			if len(all) == 0 {
				b.Fatal("no request completed")
			}
			fast, _ := slices.BinarySearch(all, 100*time.Millisecond+1)
			ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
			b.ReportMetric(took.Seconds(), "delete-s")
			b.ReportMetric(float64(len(all))/took.Seconds(), "requests/s")
			b.ReportMetric(ms(all[len(all)*99/100]), "p99-ms")
			b.ReportMetric(ms(all[len(all)-1]), "max-ms")
			b.ReportMetric(float64(len(all)-fast), "over100ms")
		})
	}
}

// expiredRows is how many expired sessions BenchmarkDeleteExpired deletes.
const expiredRows = 1_000_000
