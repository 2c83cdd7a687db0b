package sqlitestore_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkSQLiteStore measures what a returning visitor costs the store:
// Find the session, then Commit it back, from about 64 parallel clients
// each on its own sessions. It runs on sqlite3store too, for comparison.
//
//	go test ./internal/session/sqlitestore -run '^$' -bench SQLiteStore -benchmem
func BenchmarkSQLiteStore(b *testing.B) {
	const sessions = 1000
	data := bytes.Repeat([]byte{0xab}, 120) // about the size of a real session
	for _, st := range conformingStores {
		b.Run(st.name, func(b *testing.B) {
			db := openDB(b, filepath.Join(b.TempDir(), "sessions.db"))
			store := st.open(b, db, 0)
			expiry := time.Now().Add(time.Hour)
			tokens := make([]string, sessions)
			for i := range tokens {
				tokens[i] = sessionstoreToken(i)
				if err := store.Commit(tokens[i], data, expiry); err != nil {
					b.Fatal(err)
				}
			}

			parallelism := max(1, 64/runtime.GOMAXPROCS(0))
			clients := parallelism * runtime.GOMAXPROCS(0)
			b.SetParallelism(parallelism)
			var nextClient atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				c := int(nextClient.Add(1) - 1)
				i := c % sessions
				for pb.Next() {
					if _, found, err := store.Find(tokens[i]); err != nil || !found {
						b.Errorf("Find: got found=%v, err=%v; want found", found, err)
						return
					}
					if err := store.Commit(tokens[i], data, expiry); err != nil {
						b.Error(err)
						return
					}
					if i += clients; i >= sessions {
						i = c % sessions
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "visits/s")
		})
	}
}

// sessionstoreToken returns a token shaped like a hashed scs token.
func sessionstoreToken(i int) string {
	return fmt.Sprintf("%043d", i)
}
