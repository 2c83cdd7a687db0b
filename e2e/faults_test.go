package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The database becomes unwritable: another process takes SQLite's write
// lock and keeps it, as a backup tool or an open sqlite3 shell in the middle
// of a transaction would. File permissions cannot stand in for this here:
// the tests may run as root, which ignores them. The server's writes wait
// out its busy timeout (5s) and fail with "database is locked"; pages then
// answer the 500 page, nothing is half-saved, and once the lock is released
// the server works again without a restart.
func TestUnwritableDatabaseAnswers500AndRecovers(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	if got, err := v.tryViewCount(); err != nil || got != 1 {
		t.Fatalf("first visit: got %d, %v; want 1", got, err)
	}

	other, err := sql.Open("sqlite", srv.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	r := v.get("/session-example")
	wantStatus(t, "GET /session-example while the database is locked", r, http.StatusInternalServerError)
	wantSafetyHeaders(t, "500 page", r)
	id := r.Header.Get("X-Request-Id")
	if id == "" || !strings.Contains(r.Body, id) {
		t.Errorf("the 500 page does not quote its request id %q", id)
	}
	if strings.Contains(r.Body, "locked") {
		t.Errorf("the 500 page shows the error itself; want a generic message")
	}
	logged := regexp.MustCompile(`level=ERROR msg="server error".*request_id=` + regexp.QuoteMeta(id) + `.*database is locked`)
	// The log reaches the test through a pipe, a moment after the answer.
	if !waitFor(10*time.Second, func() bool { return logged.MatchString(srv.Log()) }) {
		t.Errorf("no error logged with request_id=%s and the cause", id)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("release the write lock: %v", err)
	}
	if !srv.running() {
		t.Fatal("the server exited")
	}
	// The failed visit changed nothing: this is the second one saved.
	if got, err := v.tryViewCount(); err != nil || got != 2 {
		t.Errorf("visit after the lock is released: got %d, %v; want 2", got, err)
	}
}

// The database disappears: its folder is moved away while the server runs,
// and moved back. Moving the folder takes the database, its WAL and its
// shared-memory file together, so nothing is torn apart. SQLite goes on
// reading and writing through the files it already has open (so pages may
// still work, their writes landing in the moved files), while opening a new
// connection fails with "unable to open database file"; whether a request
// needs a new connection depends on the pool, so pages may answer either.
// /healthz looks for the file where it should be and answers 503 while it
// is gone. Once it is back, everything works and no answered visit is lost.
func TestDatabaseMovedAwayIsReportedAndRecovered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	srv := startServerOn(t, filepath.Join(data, "sessions.db"))
	v := newVisitor(t, srv.URL)
	if got, err := v.tryViewCount(); err != nil || got != 1 {
		t.Fatalf("first visit: got %d, %v; want 1", got, err)
	}

	if err := os.Rename(data, filepath.Join(dir, "away")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "GET /healthz while the database is away", v.get("/healthz"), http.StatusServiceUnavailable)
	answered := 0
	for range 5 {
		r := v.getJSON("/session-example")
		switch r.Status {
		case http.StatusOK:
			answered++
		case http.StatusInternalServerError:
		default:
			t.Errorf("GET /session-example while the database is away: got status %d, want 200 or 500", r.Status)
		}
	}
	if err := os.Rename(filepath.Join(dir, "away"), data); err != nil {
		t.Fatal(err)
	}

	if !srv.running() {
		t.Fatal("the server exited")
	}
	wantStatus(t, "GET /healthz after the database is back", v.get("/healthz"), http.StatusOK)
	if got, err := v.tryViewCount(); err != nil || got != 2+answered {
		t.Errorf("visit after the database is back: got %d, %v; want %d (1 before, %d answered while away, this one)",
			got, err, 2+answered, answered)
	}
	if !strings.Contains(srv.Log(), `msg="health check failed"`) {
		t.Errorf("the failed health check was not logged")
	}
}
