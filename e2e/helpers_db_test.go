package e2e

// Helpers that read the server's SQLite file directly, to check what is
// stored, and what is not, behind the HTTP answers. They open the file
// read-only, so a test can never change what it checks.

import (
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"maps"
	"slices"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// dbReadOnly opens the server's database file read-only. The "file:" form
// makes SQLite itself honour mode=ro.
func dbReadOnly(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storeKey is what the sessions table's token column must hold for a
// cookie: base64url(sha256(cookie)), written out here rather than taken from
// the application, so the test checks the rule and not the code.
func storeKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// dbSessionRows reads the sessions table: token column → data column.
func dbSessionRows(t testing.TB, db *sql.DB) map[string][]byte {
	t.Helper()
	rows, err := db.Query("SELECT token, data FROM sessions")
	if err != nil {
		t.Fatalf("read sessions: %v", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			t.Fatalf("read sessions: %v", err)
		}
		out[key] = data
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read sessions: %v", err)
	}
	return out
}

// dbHasSession reports whether the sessions table has a row for cookie.
func dbHasSession(t testing.TB, db *sql.DB, cookie string) bool {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM sessions WHERE token = ?", storeKey(cookie)).Scan(&n); err != nil {
		t.Fatalf("read sessions: %v", err)
	}
	return n > 0
}

// dbCount counts the rows of a table.
func dbCount(t testing.TB, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// dbState is what a request that changes nothing must leave as it was:
// which sessions exist and how many orders there are. (A session's values
// are read through the inspector; every row's expiry moves on each request
// while an idle timeout is on.)
type dbState struct {
	sessions []string // token column, sorted
	orders   int
}

func readDBState(t testing.TB, db *sql.DB) dbState {
	t.Helper()
	st := dbState{orders: dbCount(t, db, "orders")}
	st.sessions = slices.Sorted(maps.Keys(dbSessionRows(t, db)))
	return st
}

// wantDBUnchanged fails the test if sessions were added or removed, or
// orders placed, between before and after.
func wantDBUnchanged(t testing.TB, what string, before, after dbState) {
	t.Helper()
	if after.orders != before.orders {
		t.Errorf("%s: got %d orders, want %d as before", what, after.orders, before.orders)
	}
	if !slices.Equal(before.sessions, after.sessions) {
		t.Errorf("%s: got stored sessions %v, want %v as before", what, after.sessions, before.sessions)
	}
}

// waitFor polls cond every 50ms until it holds or limit passes, and reports
// whether it held. The limit is generous: it bounds a failing test, it does
// not measure speed.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
