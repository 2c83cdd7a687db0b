package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/session/memstore"
	"example.com/gosessions/internal/session/sqlitestore"
	"example.com/gosessions/web"
)

// benchVisitors is how many returning visitors the benchmarks spread their
// requests over.
const benchVisitors = 1000

// BenchmarkSessionExample serves /session-example through the whole handler
// stack (routes, middleware, the session manager the program uses) to
// returning visitors: every request loads a session, changes it and saves
// it. Each parallel client uses its own visitors' cookies, so clients never
// wait on each other's session lock, only on the store.
//
//	go test ./web -run '^$' -bench SessionExample -benchmem
func BenchmarkSessionExample(b *testing.B) {
	stores := []struct {
		name  string
		store func(b *testing.B, db *sqlite.DB) scs.Store
		codec scs.Codec // nil: the one NewSessionManager sets
	}{
		{"sqlite", sqliteStore, nil},
		{"sqlite/gob", sqliteStore, scs.GobCodec{}},
		{"sqlite3store/gob", func(b *testing.B, db *sqlite.DB) scs.Store {
			return splitStore{
				read:  sqlite3store.NewWithConfig(db.Read, sqlite3store.Config{}),
				write: sqlite3store.NewWithConfig(db.Write, sqlite3store.Config{}),
			}
		}, scs.GobCodec{}},
		{"memory", func(b *testing.B, _ *sqlite.DB) scs.Store {
			s := memstore.New(time.Minute)
			b.Cleanup(func() { s.Close() })
			return s
		}, nil},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			srv, cookieName := newBenchServer(b, st.store, st.codec)
			benchmarkReturningVisitors(b, srv, cookieName)
		})
	}
}

// BenchmarkSessionPanel is BenchmarkSessionExample with the session panel
// (panel.go) off and on, in the same run: what the panel costs a page.
//
//	go test ./web -run '^$' -bench SessionPanel -benchmem
func BenchmarkSessionPanel(b *testing.B) {
	stores := []struct {
		name  string
		store func(b *testing.B, db *sqlite.DB) scs.Store
	}{
		{"memory", func(b *testing.B, _ *sqlite.DB) scs.Store {
			s := memstore.New(time.Minute)
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"sqlite", sqliteStore},
	}
	for _, st := range stores {
		for _, panel := range []string{"off", "on"} {
			b.Run(st.name+"/panel-"+panel, func(b *testing.B) {
				srv, cookieName := newBenchServer(b, st.store, nil)
				if panel == "off" {
					web.TurnPanelOff(srv)
				}
				benchmarkReturningVisitors(b, srv, cookieName)
			})
		}
	}
}

// newBenchServer builds the program's server on a new SQLite file and the
// given store, with codec instead of the one NewSessionManager sets unless
// it is nil. It returns the session cookie's name with it.
func newBenchServer(b *testing.B, store func(b *testing.B, db *sqlite.DB) scs.Store, codec scs.Codec) (*web.Server, string) {
	b.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "sessions.db"), gosessions.SQLiteMigrations())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })

	sm := web.NewSessionManager(store(b, db), web.SessionOptions{Lifetime: 24 * time.Hour, IdleTimeout: 2 * time.Hour})
	if codec != nil {
		sm.Codec = codec
	}
	srv, err := web.New(web.Config{
		DB:        db,
		Sessions:  sm,
		Logger:    slog.New(slog.DiscardHandler),
		Templates: gosessions.Templates(),
		Static:    gosessions.Static(),
		Passwords: testHasher(b),
	})
	if err != nil {
		b.Fatal(err)
	}
	return srv, sm.Cookie.Name
}

func sqliteStore(b *testing.B, db *sqlite.DB) scs.Store {
	s, err := sqlitestore.New(db, 0, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// splitStore is scs's own sqlite3store on the same two pools, reads on the
// read-only pool and writes on the writer: the baseline that
// sqlitestore.Store is measured against.
type splitStore struct{ read, write *sqlite3store.SQLite3Store }

func (s splitStore) Find(token string) ([]byte, bool, error) { return s.read.Find(token) }
func (s splitStore) Delete(token string) error               { return s.write.Delete(token) }
func (s splitStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.write.Commit(token, b, expiry)
}

// benchmarkReturningVisitors creates benchVisitors sessions, then sends
// GET /session-example from 64 parallel clients, each with its own cookies.
func benchmarkReturningVisitors(b *testing.B, h http.Handler, cookieName string) {
	b.Helper()
	cookies := make([]*http.Cookie, benchVisitors)
	for i := range cookies {
		rec := serve(h, nil)
		if rec.Code != http.StatusOK {
			b.Fatalf("new visitor: got status %d, want 200", rec.Code)
		}
		for _, c := range rec.Result().Cookies() {
			if c.Name == cookieName {
				cookies[i] = c
			}
		}
		if cookies[i] == nil {
			b.Fatalf("new visitor: got no %q cookie", cookieName)
		}
	}

	// RunParallel starts parallelism × GOMAXPROCS goroutines: about 64.
	parallelism := max(1, 64/runtime.GOMAXPROCS(0))
	clients := parallelism * runtime.GOMAXPROCS(0)
	b.SetParallelism(parallelism)
	var (
		nextClient atomic.Int64
		failures   atomic.Int64
	)
	b.ReportAllocs()
	b.ResetTimer()
	start, startCPU := time.Now(), cpuTime(b)
	b.RunParallel(func(pb *testing.PB) {
		// Client c takes visitors c, c+clients, c+2*clients, ...
		c := int(nextClient.Add(1) - 1)
		i := c % len(cookies)
		for pb.Next() {
			if rec := serve(h, cookies[i]); rec.Code != http.StatusOK {
				failures.Add(1)
			}
			i += clients
			if i >= len(cookies) {
				i = c % len(cookies)
			}
		}
	})
	elapsed, cpu := time.Since(start), cpuTime(b)-startCPU
	b.StopTimer()
	if n := failures.Load(); n > 0 {
		b.Fatalf("got %d answers other than 200, want none", n)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// CPU time per request does not depend on what else runs on the
	// machine, as throughput does.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/req")
}

// cpuTime returns the CPU time this process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func serve(h http.Handler, cookie *http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/session-example", nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	io.Copy(io.Discard, rec.Body)
	return rec
}
