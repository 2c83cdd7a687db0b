package web

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
)

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"data/sessions.db", "data/sessions.db"},
		{"/tmp/x-1_2.db", "/tmp/x-1_2.db"},
		{"my sessions.db", "'my sessions.db'"},
		{"it's.db", `'it'\''s.db'`},
		{"$(rm -rf).db", "'$(rm -rf).db'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The inspector's command names a row by the start of its key. Base64url
// has '_', which LIKE takes for any character: a LIKE would find a second
// row here, substr finds one.
func TestSQLiteRowCommandFindsOneRow(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sessions.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rest := strings.Repeat("A", 31)
	for _, key := range []string{"ab_defghijkl" + rest, "abXdefghijkl" + rest} {
		if _, err := db.Write.ExecContext(ctx, "INSERT INTO sessions (token, data, expiry) VALUES (?, x'01', julianday('now', '+1 hour'))", key); err != nil {
			t.Fatal(err)
		}
	}

	command := sqliteRowCommand("data/sessions.db", "ab_defghijkl")
	m := regexp.MustCompile(`^sqlite3 data/sessions\.db "(.+)"$`).FindStringSubmatch(command)
	if m == nil {
		t.Fatalf("got %q, want sqlite3 data/sessions.db \"QUERY\"", command)
	}
	count := func(query string) int {
		t.Helper()
		rows, err := db.Read.QueryContext(ctx, query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return n
	}
	if n := count(m[1]); n != 1 {
		t.Errorf("%s found %d rows, want 1", m[1], n)
	}
	if n := count("SELECT 1 FROM sessions WHERE token LIKE 'ab_defghijkl%'"); n != 2 {
		t.Errorf("the LIKE this test warns about found %d rows, want 2 (the test's rows are wrong)", n)
	}
}

// TestSQLiteRowCommandFileIsNoOption: a database file whose name starts
// with "-" is written so that sqlite3 does not read it as an option.
func TestSQLiteRowCommandFileIsNoOption(t *testing.T) {
	got := sqliteRowCommand("-cmd.db", "abc")
	if !strings.HasPrefix(got, "sqlite3 ./-cmd.db ") {
		t.Errorf("got %s, want the file as ./-cmd.db", got)
	}
}
