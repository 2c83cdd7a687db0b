package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/redistest"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
	"example.com/gosessions/internal/session/redisstore"
)

// newClient connects to srv, and closes the connection when the test ends.
func newClient(t *testing.T, srv *redistest.Server) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	return client
}

func TestStore(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	store, err := redisstore.Open(ctx, srv.URL, redisstore.DefaultLockTTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	// scs hands the store hashed tokens; Row and the lock get the cookie's.
	const cookieToken = "cookie-token-1"
	hashed := session.HashToken(cookieToken)

	t.Run("finds nothing for an unknown token", func(t *testing.T) {
		_, found, err := store.Find(session.HashToken("nobody"))
		if err != nil || found {
			t.Fatalf("Find: got found=%v err=%v, want found=false err=nil", found, err)
		}
	})

	t.Run("finds what was committed, until deleted", func(t *testing.T) {
		want := []byte("session data")
		if err := store.Commit(hashed, want, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, found, err := store.Find(hashed)
		if err != nil || !found || !bytes.Equal(got, want) {
			t.Fatalf("Find: got %q found=%v err=%v, want %q found=true", got, found, err, want)
		}
		if err := store.Delete(hashed); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := store.Find(hashed); found {
			t.Fatal("Find after Delete: got found=true, want false")
		}
	})

	t.Run("stores each session under the hash of its token, never the token", func(t *testing.T) {
		if err := store.Commit(hashed, []byte("x"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		keys, err := newClient(t, srv).Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || !strings.HasSuffix(keys[0], hashed) {
			t.Fatalf("keys: got %q, want one key ending in %q", keys, hashed)
		}
		store.Delete(hashed)
	})

	t.Run("Redis expires a session at its expiry", func(t *testing.T) {
		if err := store.Commit(hashed, []byte("short"), time.Now().Add(150*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, found, err := store.Find(hashed)
			if err != nil {
				t.Fatal(err)
			}
			if !found {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("session still found 5s after its expiry")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("a commit with an expiry already past deletes the session", func(t *testing.T) {
		if err := store.Commit(hashed, []byte("live"), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := store.Commit(hashed, []byte("late"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := store.Find(hashed); found {
			t.Fatal("Find: got found=true, want false (a past expiry must not store the session for ever)")
		}
	})

	t.Run("Row tells size and expiry by cookie token", func(t *testing.T) {
		data := []byte("twelve bytes")
		expiry := time.Now().Add(time.Hour)
		if err := store.Commit(hashed, data, expiry); err != nil {
			t.Fatal(err)
		}
		size, gotExpiry, found, err := store.Row(ctx, cookieToken)
		if err != nil || !found {
			t.Fatalf("Row: got found=%v err=%v, want found=true", found, err)
		}
		if size != len(data) {
			t.Errorf("Row size: got %d, want %d", size, len(data))
		}
		if d := gotExpiry.Sub(expiry).Abs(); d > 2*time.Second {
			t.Errorf("Row expiry: got %v, want within 2s of %v", gotExpiry, expiry)
		}
		store.Delete(hashed)
		if _, _, found, err := store.Row(ctx, cookieToken); err != nil || found {
			t.Fatalf("Row after Delete: got found=%v err=%v, want found=false", found, err)
		}
	})

	t.Run("Active counts sessions and not locks", func(t *testing.T) {
		for _, tok := range []string{"a", "b", "c"} {
			if err := store.Commit(session.HashToken(tok), []byte(tok), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		lease, err := store.Lock(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		defer lease.Release(false)
		n, err := store.Active(ctx)
		if err != nil || n != 3 {
			t.Fatalf("Active: got %d, %v, want 3", n, err)
		}
	})

	t.Run("Check answers while Redis does", func(t *testing.T) {
		if err := store.Check(ctx); err != nil {
			t.Fatalf("Check: got %v, want nil", err)
		}
	})
}

func TestStoreWithoutRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	store, err := redisstore.Open(ctx, srv.URL, redisstore.DefaultLockTTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv.Stop()

	t.Run("Check fails", func(t *testing.T) {
		if err := store.Check(ctx); err == nil {
			t.Fatal("Check with Redis stopped: got nil, want an error")
		}
	})
	t.Run("Find fails rather than reporting no session", func(t *testing.T) {
		if _, _, err := store.Find(session.HashToken("x")); err == nil {
			t.Fatal("Find with Redis stopped: got nil error, want an error")
		}
	})
	t.Run("Open fails", func(t *testing.T) {
		if s, err := redisstore.Open(ctx, srv.URL, redisstore.DefaultLockTTL); err == nil {
			s.Close()
			t.Fatal("Open with Redis stopped: got nil error, want an error")
		}
	})
}

func TestStoreCommitsOnlyUnderItsLock(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	ctx := context.Background()
	store, err := redisstore.Open(ctx, srv.URL, redisstore.DefaultLockTTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	expiry := time.Now().Add(time.Hour)

	// lockedCtx takes the lock of token and returns a request context
	// carrying the lease, as the web layer's would.
	lockedCtx := func(t *testing.T, token string) context.Context {
		t.Helper()
		lease, err := store.Lock(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lease.Release(false) })
		return lock.NewContext(ctx, lease)
	}
	takeAway := func(t *testing.T, token string) {
		t.Helper()
		if err := newClient(t, srv).Del(ctx, lockKey(token)).Err(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("a commit under a held lock is saved", func(t *testing.T) {
		const token = "held"
		rctx := lockedCtx(t, token)
		if err := store.CommitCtx(rctx, session.HashToken(token), []byte("saved"), expiry); err != nil {
			t.Fatalf("CommitCtx: got %v, want nil", err)
		}
		if got, found, err := store.Find(session.HashToken(token)); err != nil || string(got) != "saved" {
			t.Fatalf("Find: got %q found=%v err=%v, want %q", got, found, err, "saved")
		}
	})

	t.Run("a commit after the lock was lost is refused and writes nothing", func(t *testing.T) {
		const token = "lost-commit"
		hashed := session.HashToken(token)
		rctx := lockedCtx(t, token)
		takeAway(t, token)
		// The new token that a sign-in would save under is fenced by the
		// old token's lock as well.
		for _, key := range []string{hashed, session.HashToken("renewed")} {
			if err := store.CommitCtx(rctx, key, []byte("late"), expiry); !errors.Is(err, lock.ErrLost) {
				t.Fatalf("CommitCtx: got %v, want an error wrapping ErrLost", err)
			}
			if _, found, err := store.Find(key); err != nil || found {
				t.Fatalf("Find after a refused commit: got found=%v err=%v, want found=false", found, err)
			}
		}
	})

	t.Run("a delete after the lock was lost is refused", func(t *testing.T) {
		const token = "lost-delete"
		hashed := session.HashToken(token)
		if err := store.Commit(hashed, []byte("kept"), expiry); err != nil {
			t.Fatal(err)
		}
		rctx := lockedCtx(t, token)
		takeAway(t, token)
		if err := store.DeleteCtx(rctx, hashed); !errors.Is(err, lock.ErrLost) {
			t.Fatalf("DeleteCtx: got %v, want an error wrapping ErrLost", err)
		}
		if got, _, _ := store.Find(hashed); string(got) != "kept" {
			t.Fatalf("Find after a refused delete: got %q, want %q", got, "kept")
		}
	})

	t.Run("a fenced commit keeps goredisstore's key and expiry", func(t *testing.T) {
		const token = "format"
		hashed := session.HashToken(token)
		rctx := lockedCtx(t, token)
		if err := store.CommitCtx(rctx, hashed, []byte("x"), expiry); err != nil {
			t.Fatal(err)
		}
		ttl, err := newClient(t, srv).PTTL(ctx, "scs:session:"+hashed).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d := (time.Until(expiry) - ttl).Abs(); d > 2*time.Second {
			t.Errorf("time to live of scs:session:<hash>: got %v, want about %v", ttl, time.Until(expiry))
		}
	})
}

func TestStoreCheckProbesAWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		// refuseWrites makes a Redis that answers PING but refuses writes,
		// from srv or next to it, and returns its URL and how to undo it.
		refuseWrites func(t *testing.T, srv *redistest.Server) (url string, undo func())
	}{
		{"out of memory under noeviction", func(t *testing.T, srv *redistest.Server) (string, func()) {
			admin := newClient(t, srv)
			for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
				if err := admin.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
					t.Fatal(err)
				}
			}
			return srv.URL, func() {
				if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"a read-only replica", func(t *testing.T, srv *redistest.Server) (string, func()) {
			host, port, _ := strings.Cut(srv.Addr, ":")
			replica := redistest.Start(t, "--replicaof", host, port)
			admin := newClient(t, replica)
			return replica.URL, func() {
				if err := admin.Do(ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redistest.Start(t)
			url, undo := tc.refuseWrites(t, srv)
			store, err := redisstore.Open(ctx, url, redisstore.DefaultLockTTL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			if err := store.Check(ctx); err == nil {
				t.Fatal("Check on a Redis that refuses writes: got nil, want an error")
			}
			undo()
			if err := store.Check(ctx); err != nil {
				t.Fatalf("Check once writes are accepted again: got %v, want nil", err)
			}
		})
	}
}

// A Redis that stops answering (here its process is paused) fails Check
// when the caller's deadline comes, not when the client's read timeout
// (set to a minute here) would end the call.
func TestStoreCheckKeepsTheCallersDeadline(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	store, err := redisstore.Open(context.Background(), srv.URL+"?read_timeout=1m", redisstore.DefaultLockTTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv.Pause()
	defer srv.Resume()

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- store.Check(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Check on a paused Redis: got nil, want an error")
		}
	case <-time.After(20 * time.Second): // only keeps a broken client from hanging the test
		t.Fatal("Check on a paused Redis had not returned 20s after its 200ms deadline")
	}
}

func TestStoreActiveStopsWithItsContext(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	store, err := redisstore.Open(context.Background(), srv.URL, redisstore.DefaultLockTTL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := store.Active(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Active with a cancelled context: got %d, %v, want an error wrapping context.Canceled", n, err)
	}
}
