package e2e

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"testing"
	"time"
)

// While another process holds SQLite's write lock (a backup tool, an open
// sqlite3 shell in the middle of a transaction), no session can be saved:
// pages answer 500 once the server's writes have waited out their busy
// timeout (5 s). /healthz must then answer 503, and by itself, within the
// 2 s it allows itself, so that a load balancer or an orchestrator stops
// sending visitors; once the lock is released it answers 200 again, with no
// page visited in between to show that saving works.
func TestHealthzFailsWhileSessionsCannotBeSaved(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	if got := healthzStatus(t, srv.URL); got != http.StatusOK {
		t.Fatalf("GET /healthz before: got %d, want 200", got)
	}
	if got, err := v.tryViewCount(); err != nil || got != 1 {
		t.Fatalf("first visit: got %d, %v; want 1", got, err)
	}

	release := healthHoldWriteLock(t, srv.DBPath)
	if got := healthzStatus(t, srv.URL); got != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz while another process holds the write lock: got %d, want 503", got)
	}
	wantStatus(t, "GET /session-example while the write lock is held", v.get("/session-example"), http.StatusInternalServerError)
	if got := healthzStatus(t, srv.URL); got != http.StatusServiceUnavailable {
		t.Errorf("GET /healthz after a page failed to save its session: got %d, want 503", got)
	}

	release()
	if got := healthzStatus(t, srv.URL); got != http.StatusOK {
		t.Errorf("GET /healthz once the lock is released: got %d, want 200", got)
	}
	if got, err := v.tryViewCount(); err != nil || got != 2 {
		t.Errorf("visit once the lock is released: got %d, %v; want 2", got, err)
	}
}

// healthzStatus asks for /healthz with a client that gives up after a few
// seconds: the check must answer by itself, well before a page's save
// would have waited out the busy timeout.
func healthzStatus(t *testing.T, base string) int {
	t.Helper()
	client := &http.Client{Timeout: 4 * time.Second}
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// healthHoldWriteLock takes SQLite's write lock on the database file, from a
// connection of the test's own as another process would, and returns the
// function that releases it. The test releases it when it ends, if not
// before.
func healthHoldWriteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}
	var released bool
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("release the write lock: %v", err)
		}
		conn.Close()
	}
	t.Cleanup(release)
	return release
}
