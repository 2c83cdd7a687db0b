package memstore_test

import (
	"bytes"
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/memstore"
)

// newMemory returns a memory store that the test closes when it ends.
func newMemory(t *testing.T, cleanupInterval time.Duration) *memstore.Store {
	t.Helper()
	m := memstore.New(cleanupInterval)
	t.Cleanup(func() { m.Close() })
	return m
}

// TestMemory runs the cases of scs's own memstore tests (memstore_test.go)
// on the memory store, which replaces memstore and must behave as it does.
func TestMemory(t *testing.T) {
	t.Parallel()
	later := time.Now().Add(time.Minute)

	t.Run("a committed session is found with its data", func(t *testing.T) {
		m := newMemory(t, 0)
		if err := m.Commit("session_token", []byte("encoded_data"), later); err != nil {
			t.Fatal(err)
		}
		if b, found, err := m.Find("session_token"); err != nil || !found || string(b) != "encoded_data" {
			t.Errorf("got %q, %v, %v; want %q, true, nil", b, found, err, "encoded_data")
		}
	})
	t.Run("an unknown token is not found", func(t *testing.T) {
		m := newMemory(t, 0)
		if b, found, err := m.Find("missing_session_token"); err != nil || found || b != nil {
			t.Errorf("got %q, %v, %v; want nil, false, nil", b, found, err)
		}
	})
	t.Run("a second commit replaces the data", func(t *testing.T) {
		m := newMemory(t, 0)
		for _, data := range []string{"encoded_data", "new_encoded_data"} {
			if err := m.Commit("session_token", []byte(data), later); err != nil {
				t.Fatal(err)
			}
		}
		if b, found, _ := m.Find("session_token"); !found || string(b) != "new_encoded_data" {
			t.Errorf("got %q, %v; want %q, true", b, found, "new_encoded_data")
		}
	})
	t.Run("a session expires at its expiry", func(t *testing.T) {
		m := newMemory(t, 0)
		if err := m.Commit("session_token", []byte("encoded_data"), time.Now().Add(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := m.Find("session_token"); !found {
			t.Fatal("got not found before the expiry, want found")
		}
		time.Sleep(150 * time.Millisecond)
		if _, found, _ := m.Find("session_token"); found {
			t.Error("got found after the expiry, want not found")
		}
	})
	t.Run("a deleted session is not found", func(t *testing.T) {
		m := newMemory(t, 0)
		if err := m.Commit("session_token", []byte("encoded_data"), later); err != nil {
			t.Fatal(err)
		}
		if err := m.Delete("session_token"); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := m.Find("session_token"); found {
			t.Error("got found, want not found")
		}
	})
	t.Run("All returns every unexpired session with its data, and no expired one", func(t *testing.T) {
		m := newMemory(t, 0)
		want := map[string][]byte{"a": []byte("one"), "b": {0, 0xff}}
		for token, data := range want {
			if err := m.Commit(token, data, later); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Commit("old", []byte("expired"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		all, err := m.All()
		if err != nil || !maps.EqualFunc(all, want, bytes.Equal) {
			t.Errorf("got %q, %v; want %q, nil", all, err, want)
		}
		if n, err := m.Active(context.Background()); err != nil || n != len(want) {
			t.Errorf("Active: got %d, %v; want %d, nil", n, err, len(want))
		}
	})
	// memstore's TestCleanupInterval. Row reports a stored entry whether or
	// not it has expired, so it shows when the cleanup has deleted one.
	t.Run("the cleanup deletes the expired sessions and keeps the others", func(t *testing.T) {
		m := newMemory(t, 20*time.Millisecond)
		expired, live := "expired-cookie", "live-cookie"
		if err := m.Commit(session.HashToken(expired), []byte("data"), time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := m.Commit(session.HashToken(live), []byte("data"), later); err != nil {
			t.Fatal(err)
		}
		stored := func(token string) bool {
			_, _, found, _ := m.Row(context.Background(), token)
			return found
		}
		if !waitFor(10*time.Second, func() bool { return !stored(expired) }) {
			t.Error("the expired session is still stored")
		}
		if !stored(live) {
			t.Error("the live session was deleted")
		}
	})
	t.Run("Row tells the size and expiry of the stored entry", func(t *testing.T) {
		m := newMemory(t, 0)
		expiry := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := m.Commit(session.HashToken("cookie"), []byte("12345"), expiry); err != nil {
			t.Fatal(err)
		}
		size, got, found, err := m.Row(context.Background(), "cookie")
		if err != nil || !found || size != 5 || !got.Equal(expiry) {
			t.Errorf("got %d, %v, %v, %v; want 5, %v, true, nil", size, got, found, err, expiry)
		}
	})
}

// TestMemoryClose checks that closing the store stops its cleanup, right
// after it started or later, and that closing again is harmless. With scs
// v2.9.0's memstore, the race detector caught the cleanup goroutine setting
// what StopCleanup reads, and a second StopCleanup blocked forever.
func TestMemoryClose(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		cleanupInterval time.Duration
		closeAfter      time.Duration
	}{
		{"without a cleanup", 0, 0},
		{"right after it started", time.Millisecond, 0},
		{"after a few cleanups", time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := memstore.New(tt.cleanupInterval)
			// Sessions being saved while the cleanup runs.
			var wg sync.WaitGroup
			wg.Go(func() {
				for range 100 {
					m.Commit("token", []byte("data"), time.Now())
				}
			})
			time.Sleep(tt.closeAfter)
			closed := make(chan struct{})
			go func() {
				m.Close()
				m.Close()
				close(closed)
			}()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("closing twice blocked")
			}
			wg.Wait()
		})
	}
}

// waitFor polls cond until it holds or d has passed.
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
