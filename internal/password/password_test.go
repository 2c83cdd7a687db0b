package password_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/gosessions/internal/password"
)

// cheap are parameters small enough for tests to hash hundreds of times,
// even under the race detector.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t *testing.T, cfg password.Config) *password.Hasher {
	t.Helper()
	if cfg.Params == (password.Params{}) {
		cfg.Params = cheap
	}
	h, err := password.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func mustHash(t *testing.T, h *password.Hasher, plaintext string) string {
	t.Helper()
	encoded, err := h.Hash(context.Background(), plaintext)
	if err != nil {
		t.Fatalf("Hash(%q): %v", plaintext, err)
	}
	return encoded
}

func TestHashIsAPHCString(t *testing.T) {
	h := newHasher(t, password.Config{Params: password.DefaultParams()})
	encoded := mustHash(t, h, "correct horse")

	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(encoded, prefix) {
		t.Fatalf("got %q, want it to start with %q", encoded, prefix)
	}
	fields := strings.Split(strings.TrimPrefix(encoded, prefix), "$")
	if len(fields) != 2 {
		t.Fatalf("got %q, want salt$hash after the parameters", encoded)
	}
	for i, want := range []int{16, 32} {
		b, err := base64.RawStdEncoding.DecodeString(fields[i])
		if err != nil || len(b) != want {
			t.Errorf("field %d %q: got %d bytes (err %v), want %d in unpadded base64", i, fields[i], len(b), err, want)
		}
	}
	if strings.Contains(encoded, "correct horse") {
		t.Errorf("got %q, which contains the password", encoded)
	}
	if again := mustHash(t, h, "correct horse"); again == encoded {
		t.Errorf("two hashes of one password: both %q, want different salts", encoded)
	}
}

func TestVerify(t *testing.T) {
	h := newHasher(t, password.Config{})
	tests := []struct {
		name, stored, given string
		want                bool
	}{
		{"the right password matches", "correct horse", "correct horse", true},
		{"a wrong password does not", "correct horse", "battery staple", false},
		{"case matters", "correct horse", "Correct horse", false},
		{"a prefix does not match", "correct horse", "correct hors", false},
		{"a trailing space does not match", "correct horse", "correct horse ", false},
		{"an empty password does not match", "correct horse", "", false},
		{"non-ASCII passwords work", "pâté à l'œuf 🥚", "pâté à l'œuf 🥚", true},
		{"a precomposed é is not an e and a combining accent", "caf\u00e9", "cafe\u0301", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, h, tt.stored)
			got, err := h.Verify(context.Background(), tt.given, encoded)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q) of a hash of %q: got %v, want %v", tt.given, tt.stored, got, tt.want)
			}
		})
	}
}

// The reference implementation's own test vectors (phc-winner-argon2,
// src/test.c): hashes made by another implementation verify here, so the
// format and the algorithm are the standard ones.
func TestVerifyReferenceVectors(t *testing.T) {
	h := newHasher(t, password.Config{MaxMemory: 64 * 1024})
	for _, encoded := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		for given, want := range map[string]bool{"password": true, "passwore": false} {
			got, err := h.Verify(context.Background(), given, encoded)
			if err != nil || got != want {
				t.Errorf("Verify(%q, %s): got %v, %v; want %v, nil", given, encoded, got, err, want)
			}
		}
	}
}

func TestVerifyRefusesWhatItCannotCheck(t *testing.T) {
	h := newHasher(t, password.Config{})
	good := mustHash(t, h, "password") // $argon2id$v=19$m=64,t=1,p=1$salt$hash
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	phc := func(alg, version, costs, salt, key string) string {
		return strings.Join([]string{"", alg, version, costs, salt, key}, "$")
	}

	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"a plaintext password", "password"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i instead of argon2id", phc("argon2i", "v=19", "m=64,t=1,p=1", salt, key)},
		{"an older version of argon2", phc("argon2id", "v=16", "m=64,t=1,p=1", salt, key)},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"an extra field", good + "$x"},
		{"parameters out of order", phc("argon2id", "v=19", "t=1,m=64,p=1", salt, key)},
		{"a missing parameter", phc("argon2id", "v=19", "m=64,t=1", salt, key)},
		{"an extra parameter", phc("argon2id", "v=19", "m=64,t=1,p=1,k=2", salt, key)},
		{"a negative parameter", phc("argon2id", "v=19", "m=64,t=-1,p=1", salt, key)},
		{"zero passes, which argon2 panics on", phc("argon2id", "v=19", "m=64,t=0,p=1", salt, key)},
		{"zero threads, which argon2 panics on", phc("argon2id", "v=19", "m=64,t=1,p=0", salt, key)},
		{"more threads than a byte holds", phc("argon2id", "v=19", "m=4096,t=1,p=256", salt, key)},
		{"less than 8 KiB per thread", phc("argon2id", "v=19", "m=15,t=1,p=2", salt, key)},
		{"more memory than MaxMemory", phc("argon2id", "v=19", "m=65,t=1,p=1", salt, key)},
		{"m beyond 32 bits", phc("argon2id", "v=19", "m=4294967296,t=1,p=1", salt, key)},
		{"padded base64", phc("argon2id", "v=19", "m=64,t=1,p=1", salt+"==", key)},
		{"a salt that is not base64", phc("argon2id", "v=19", "m=64,t=1,p=1", "not*base64", key)},
		{"a salt under 8 bytes", phc("argon2id", "v=19", "m=64,t=1,p=1", "c2FsdA", key)},
		{"no hash", phc("argon2id", "v=19", "m=64,t=1,p=1", salt, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(context.Background(), "password", tt.encoded)
			if ok || !errors.Is(err, password.ErrInvalidHash) {
				t.Errorf("Verify(%q): got %v, %v; want false, ErrInvalidHash", tt.encoded, ok, err)
			}
			if !h.NeedsRehash(tt.encoded) {
				t.Errorf("NeedsRehash(%q): got false, want true", tt.encoded)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	current := newHasher(t, password.Config{MaxMemory: 1024})
	tests := []struct {
		name   string
		params password.Params
		want   bool
	}{
		{"same parameters", cheap, false},
		{"more memory", password.Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"more passes", password.Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{"more threads", password.Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}, true},
		{"a longer salt", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32}, true},
		{"a shorter hash", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, newHasher(t, password.Config{Params: tt.params}), "password")
			if got := current.NeedsRehash(encoded); got != tt.want {
				t.Errorf("NeedsRehash(%s): got %v, want %v", encoded, got, tt.want)
			}
			// Whatever its parameters, the old hash still verifies.
			if ok, err := current.Verify(context.Background(), "password", encoded); !ok || err != nil {
				t.Errorf("Verify(%s): got %v, %v; want true, nil", encoded, ok, err)
			}
		})
	}
}

func TestDummyVerify(t *testing.T) {
	h := newHasher(t, password.Config{})

	t.Run("fails quietly, for any password", func(t *testing.T) {
		for _, given := range []string{"", "password", h.Dummy()} {
			if err := h.DummyVerify(context.Background(), given); err != nil {
				t.Errorf("DummyVerify(%q): got %v, want nil", given, err)
			}
		}
	})

	t.Run("checks a hash made with the current parameters", func(t *testing.T) {
		// So it costs what checking a current account's password costs.
		if h.NeedsRehash(h.Dummy()) {
			t.Errorf("dummy hash %s: made with other parameters than %+v", h.Dummy(), cheap)
		}
	})

	t.Run("waits for a slot like Verify", func(t *testing.T) {
		h := newHasher(t, password.Config{Concurrency: 1, MaxWait: time.Millisecond})
		release := h.HoldSlot()
		defer release()
		if err := h.DummyVerify(context.Background(), "password"); !errors.Is(err, password.ErrBusy) {
			t.Errorf("got %v, want ErrBusy", err)
		}
	})
}

func TestConcurrencyIsBounded(t *testing.T) {
	// MaxWait is short so that the calls that must give up do so quickly;
	// the calls that must succeed find a slot free and never wait.
	h := newHasher(t, password.Config{Concurrency: 2, MaxWait: 10 * time.Millisecond})
	encoded := mustHash(t, h, "password")
	calls := []struct {
		name string
		call func(ctx context.Context, h *password.Hasher) error
	}{
		{"Hash", func(ctx context.Context, h *password.Hasher) error { _, err := h.Hash(ctx, "password"); return err }},
		{"Verify", func(ctx context.Context, h *password.Hasher) error {
			_, err := h.Verify(ctx, "password", encoded)
			return err
		}},
		{"DummyVerify", func(ctx context.Context, h *password.Hasher) error { return h.DummyVerify(ctx, "password") }},
	}

	for _, c := range calls {
		t.Run(c.name+" runs beside one other hash", func(t *testing.T) {
			release := h.HoldSlot()
			defer release()
			if err := c.call(context.Background(), h); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})

		t.Run(c.name+" gives up with ErrBusy when Concurrency hashes are running", func(t *testing.T) {
			release1, release2 := h.HoldSlot(), h.HoldSlot()
			defer release1()
			defer release2()
			if err := c.call(context.Background(), h); !errors.Is(err, password.ErrBusy) {
				t.Errorf("got %v, want ErrBusy", err)
			}
		})

		t.Run(c.name+" stops waiting when its context ends", func(t *testing.T) {
			h := newHasher(t, password.Config{Concurrency: 1, MaxWait: time.Hour})
			release := h.HoldSlot()
			defer release()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if err := c.call(ctx, h); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v, want context.DeadlineExceeded", err)
			}
		})

		t.Run(c.name+" does not start with a cancelled context, even with a slot free", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := c.call(ctx, h); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
		})
	}

	t.Run("every call gives its slot back", func(t *testing.T) {
		// With one slot, the second call of each pair would find it taken.
		h := newHasher(t, password.Config{Concurrency: 1, MaxWait: time.Millisecond})
		encoded := mustHash(t, h, "password")
		for i := range 3 {
			if _, err := h.Hash(context.Background(), "password"); err != nil {
				t.Fatalf("Hash %d: %v", i, err)
			}
			if _, err := h.Verify(context.Background(), "wrong", encoded); err != nil {
				t.Fatalf("Verify %d: %v", i, err)
			}
			if _, err := h.Verify(context.Background(), "password", "garbage"); !errors.Is(err, password.ErrInvalidHash) {
				t.Fatalf("Verify of garbage %d: %v", i, err)
			}
			if err := h.DummyVerify(context.Background(), "password"); err != nil {
				t.Fatalf("DummyVerify %d: %v", i, err)
			}
		}
	})

	t.Run("is safe for concurrent use", func(t *testing.T) {
		h := newHasher(t, password.Config{Concurrency: 2, MaxWait: time.Minute})
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				plaintext := strings.Repeat("x", i+1)
				encoded, err := h.Hash(context.Background(), plaintext)
				if err != nil {
					t.Errorf("Hash: %v", err)
					return
				}
				if ok, err := h.Verify(context.Background(), plaintext, encoded); !ok || err != nil {
					t.Errorf("Verify: got %v, %v; want true, nil", ok, err)
				}
			})
		}
		wg.Wait()
	})
}

// By default a Hasher runs one hash per core but one, and at least one,
// so that a flood of sign-ins leaves a core to the pages.
func TestDefaultConcurrencyLeavesACore(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	tests := []struct{ procs, want int }{
		{1, 1},
		{2, 1},
		{4, 3},
		{8, 7},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", tt.procs), func(t *testing.T) {
			runtime.GOMAXPROCS(tt.procs)
			if got := password.DefaultConcurrency(); got != tt.want {
				t.Errorf("DefaultConcurrency: got %d, want %d", got, tt.want)
			}
			// A Hasher with Concurrency 0 has that many slots: with them
			// all taken, the next hash gives up.
			h := newHasher(t, password.Config{MaxWait: time.Millisecond})
			for range tt.want {
				defer h.HoldSlot()()
			}
			if _, err := h.Hash(context.Background(), "password"); !errors.Is(err, password.ErrBusy) {
				t.Errorf("Hash with %d slots taken: got %v, want ErrBusy", tt.want, err)
			}
		})
	}
}

func TestNewRefusesUnsafeSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  password.Config
	}{
		{"no parameters", password.Config{}},
		{"zero passes", password.Config{Params: password.Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}}},
		{"zero threads", password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}}},
		{"less than 8 KiB per thread", password.Config{Params: password.Params{Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}}},
		{"a salt under 16 bytes", password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}}},
		{"a hash under 16 bytes", password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}}},
		{"negative concurrency", password.Config{Params: cheap, Concurrency: -1}},
		{"negative wait", password.Config{Params: cheap, MaxWait: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := password.New(tt.cfg); err == nil {
				t.Errorf("New(%+v): got %v, nil; want an error", tt.cfg, h)
			}
		})
	}
}

// TestNewHashesNothing: building a Hasher must not run argon2, which
// allocates its whole memory parameter (19 MiB by default): a server that
// never signs anyone in should never hold it.
func TestNewHashesNothing(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := password.New(password.Config{Params: password.DefaultParams()}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("New allocated %d bytes, want less than 1 MiB (no hash)", got)
	}
}
