package redis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"example.com/gosessions/redis"
	"example.com/gosessions/redis/redistest"
	"example.com/gosessions/sessionstore"
)

// What one request costs in Redis mode, apart from the page itself: the
// lock (SET NX, then the release script), and loading and saving the
// session (GET, then SET). Each is one round trip to a Redis on loopback.
//
//	go test ./redis -run '^$' -bench .
func BenchmarkRedis(b *testing.B) {
	srv := redistest.Start(b)
	store, err := redis.Open(context.Background(), srv.URL)
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
			key := sessionstore.HashToken("token-" + strconv.Itoa(i%1000))
			if _, _, err := store.FindCtx(ctx, key); err != nil {
				b.Fatal(err)
			}
			if err := store.CommitCtx(ctx, key, data, expiry); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
