package password_test

import (
	"context"
	"testing"
	"time"

	"example.com/gosessions/internal/password"
)

// BenchmarkHash measures one hash with DefaultParams and with the other
// settings RFC 9106 and OWASP list:
//
//	go test ./internal/password -run '^$' -bench Hash -benchmem
//
// B/op is the memory one hash holds while it runs.
func BenchmarkHash(b *testing.B) {
	for _, bm := range []struct {
		name   string
		params password.Params
	}{
		{"default m=19MiB,t=2,p=1", password.DefaultParams()},
		{"OWASP m=46MiB,t=1,p=1", password.Params{Memory: 46 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"OWASP m=12MiB,t=3,p=1", password.Params{Memory: 12 * 1024, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"OWASP m=9MiB,t=4,p=1", password.Params{Memory: 9 * 1024, Time: 4, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"RFC9106 m=64MiB,t=3,p=4", password.Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			h, err := password.New(password.Config{Params: bm.params, Concurrency: 1})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := h.Hash(context.Background(), "correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyParallel is sign-in under load: many requests verify at
// once, at most DefaultConcurrency at a time. ns/op is then the time per
// sign-in of the whole machine, the inverse of its sign-in throughput.
//
//	go test ./internal/password -run '^$' -bench VerifyParallel -cpu 2,8
func BenchmarkVerifyParallel(b *testing.B) {
	h, err := password.New(password.Config{Params: password.DefaultParams(), MaxWait: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	encoded, err := h.Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8) // more callers than slots, as under a flood
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Verify(context.Background(), "correct horse battery staple", encoded); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
