package e2e

import (
	"database/sql"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A stored session that cannot be decoded (a damaged row, or one written
// by a later version of the codec) is treated like an unknown token: the
// visitor gets a fresh session instead of a 500 on every page, forever.
func TestUndecodableSessionIsReplacedByAFreshOne(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	tests := []struct {
		name string
		data string // an SQL blob literal
	}{
		{"damaged data", "x'a70199ff00'"},
		{"a later version of the codec", "x'a70200'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			if got, err := v.tryViewCount(); err != nil || got != 1 {
				t.Fatalf("first visit: got %d, %v; want 1", got, err)
			}
			old := v.cookie()
			sessionPathCorrupt(t, srv, old, tt.data)

			r := v.getJSON("/session-example")
			wantStatus(t, "GET /session-example with the undecodable session", r, http.StatusOK)
			if !strings.Contains(r.Body, `"viewCount":1,`) {
				t.Errorf("got %s, want viewCount 1 in a fresh session", r.Body)
			}
			if c := sessionCookie(r); c == nil || c.Value == old {
				t.Errorf("got cookie %v, want a new token", c)
			}
			if dbHasSession(t, db, old) {
				t.Errorf("the undecodable row is still stored, want it deleted")
			}
			if !dbHasSession(t, db, v.cookie()) {
				t.Errorf("the fresh session was not saved")
			}

			id := r.Header.Get("X-Request-Id")
			warned := regexp.MustCompile(`level=WARN msg="stored session cannot be decoded[^"]*".*request_id=` + regexp.QuoteMeta(id))
			// The log reaches the test through a pipe, a moment after the answer.
			if !waitFor(10*time.Second, func() bool { return warned.MatchString(srv.Log()) }) {
				t.Errorf("no warning logged with request_id=%s", id)
			}
			if strings.Contains(srv.Log(), old) || strings.Contains(srv.Log(), storeKey(old)) {
				t.Errorf("the log holds the token or its key")
			}
		})
	}

	t.Run("a visitor with an undecodable session can sign out", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.add(2, "1")
		sessionPathCorrupt(t, srv, v.cookie(), "x'a70199ff00'")
		redirectsTo(t, "POST /logout", v.post("/logout", nil), "/")
		wantText(t, "home after sign-out", v.get("/"), "Signed out.")
	})
}

// sessionPathCorrupt overwrites the stored data of the session with this
// cookie with blob, an SQL blob literal, as a damaged disk or another
// version of the program could.
func sessionPathCorrupt(t *testing.T, srv *server, cookie, blob string) {
	t.Helper()
	db, err := sql.Open("sqlite", srv.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec("UPDATE sessions SET data = "+blob+" WHERE token = ?", storeKey(cookie))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("overwrote %d session rows, want 1", n)
	}
}

// A HEAD asks for a page's headers (link checkers, previews, monitors): it
// must change nothing in the session, not even the idle expiry, and create
// no session for a new visitor.
func TestHeadLeavesTheSessionAsItWas(t *testing.T) {
	t.Parallel()
	srv := startServer(t) // with the default idle timeout, every GET saves
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)
	v.add(4, "2") // and its flash waits for the next page
	cookie := v.cookie()

	pages := []string{"/", "/session-example", "/ingredients", "/ingredients/5", "/cart", "/session", "/login", "/signup"}
	for _, path := range pages {
		t.Run("HEAD "+path+" changes nothing", func(t *testing.T) {
			before := sessionPathRow(t, db, cookie)
			r := sessionPathHead(v, path)
			wantStatus(t, "HEAD "+path, r, http.StatusOK)
			if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("got Set-Cookie %q, want none", c)
			}
			if after := sessionPathRow(t, db, cookie); after != before {
				t.Errorf("the stored session changed: got data %x expiring %v, want %x expiring %v",
					after.Data, after.Expiry, before.Data, before.Expiry)
			}
		})
	}

	t.Run("the flash is still there for the GET that shows it", func(t *testing.T) {
		wantText(t, "GET / after the HEADs", v.get("/"), "Added 2 × Sugar.")
	})

	t.Run("HEAD answers with the headers of GET, but no cookie", func(t *testing.T) {
		for _, path := range pages {
			head, get := sessionPathHead(v, path), v.get(path)
			for name, want := range get.Header {
				switch name {
				case "Date", "X-Request-Id", "Content-Length", "Transfer-Encoding":
					continue // change from one answer to the next, or with the body
				case "Set-Cookie":
					continue // a session that is not saved sends no cookie
				}
				if got := head.Header.Values(name); strings.Join(got, ", ") != strings.Join(want, ", ") {
					t.Errorf("%s: got %s: %q on HEAD, want %q as on GET", path, name, got, want)
				}
			}
		}
	})

	t.Run("HEAD from a new visitor creates no session", func(t *testing.T) {
		rows := dbCount(t, db, "sessions")
		for _, path := range pages {
			r := sessionPathHead(newVisitor(t, srv.URL), path)
			wantStatus(t, "HEAD "+path, r, http.StatusOK)
			if c := r.Header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("HEAD %s: got Set-Cookie %q, want none", path, c)
			}
		}
		if got := dbCount(t, db, "sessions"); got != rows {
			t.Errorf("got %d stored sessions, want %d as before", got, rows)
		}
	})
}

// sessionPathHead sends a HEAD as a browser asking for HTML would.
func sessionPathHead(v *visitor, path string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodHead, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	return v.do(req)
}

// sessionPathStored is what the sessions table holds for one session.
type sessionPathStored struct {
	Data   string
	Expiry float64
}

func sessionPathRow(t *testing.T, db *sql.DB, cookie string) sessionPathStored {
	t.Helper()
	var row sessionPathStored
	err := db.QueryRow("SELECT data, expiry FROM sessions WHERE token = ?", storeKey(cookie)).Scan(&row.Data, &row.Expiry)
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no stored session for the visitor's cookie")
	}
	if err != nil {
		t.Fatal(err)
	}
	return row
}
