package redisstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/redistest"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/redisstore"
)

// What one request costs in Redis mode, apart from the page itself: the
// lock (SET NX, then the release script), and loading and saving the
// session (GET, then SET). Each is one round trip to a Redis on loopback.
//
//	go test ./internal/session/redisstore -run '^$' -bench .
func BenchmarkRedis(b *testing.B) {
	srv := redistest.Start(b)
	store, err := redisstore.Open(context.Background(), srv.URL, redisstore.DefaultLockTTL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	ctx := context.Background()
	data := make([]byte, 200) // about what the session example stores
	expiry := time.Now().Add(time.Hour)

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
	b.Run("find-commit", func(b *testing.B) {
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
	b.Run("active-100k", func(b *testing.B) {
		// Active walks every key: what it costs grows with the sessions,
		// which is why the server calls it in the background only.
		const sessions = 100_000
		opts, err := goredis.ParseURL(srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		client := goredis.NewClient(opts)
		defer client.Close()
		_, err = client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i := range sessions {
				p.Set(ctx, "scs:session:"+session.HashToken("active-"+strconv.Itoa(i)), data, time.Hour)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if n, err := store.Active(ctx); err != nil || n < sessions {
				b.Fatalf("Active: got %d, %v, want at least %d", n, err, sessions)
			}
		}
	})
}
