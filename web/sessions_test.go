package web_test

import (
	"database/sql"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/session"
)

// storedRow is a session's row in the store: what a request that changes
// nothing must leave exactly as it was.
type storedRow struct {
	data   []byte
	expiry float64
	found  bool
}

func (app *testApp) storedRow(t *testing.T, cookie string) storedRow {
	t.Helper()
	var row storedRow
	err := app.db.Read.QueryRow("SELECT data, expiry FROM sessions WHERE token = ?",
		session.HashToken(cookie)).Scan(&row.data, &row.expiry)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return row
	case err != nil:
		t.Fatal(err)
	}
	row.found = true
	return row
}

func (app *testApp) sessionRows(t *testing.T) int {
	t.Helper()
	var n int
	if err := app.db.Read.QueryRow("SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// cookie returns the session cookie the browser holds, or "".
func (b *browser) cookie() string {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// setCookie returns the session cookie an answer sets, or "".
func (a answer) setCookie() string {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// A HEAD runs the GET handler, which may set session values; none of them
// may be saved, nor the idle expiry moved, nor a session created.
func TestHeadChangesNoSession(t *testing.T) {
	app := newTestApp(t, appOptions{idleTimeout: time.Hour})
	b := newBrowser(t, app.url)
	wantStatus(t, "add to the cart", b.post("/cart/items", url.Values{"ingredient_id": {"1"}}), http.StatusSeeOther)
	// The flash "Added …" waits for the next page.
	cookie := b.cookie()

	for _, path := range []string{"/", "/session-example", "/ingredients", "/ingredients/5", "/cart", "/session", "/login"} {
		t.Run("HEAD "+path+" changes nothing", func(t *testing.T) {
			before := app.storedRow(t, cookie)
			a := b.do(http.MethodHead, path, "text/html", nil)
			wantStatus(t, "HEAD "+path, a, http.StatusOK)
			if c := a.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("got Set-Cookie %q, want none", c)
			}
			after := app.storedRow(t, cookie)
			if string(after.data) != string(before.data) || after.expiry != before.expiry {
				t.Errorf("the stored session changed: got %x expiring %v, want %x expiring %v",
					after.data, after.expiry, before.data, before.expiry)
			}
		})
	}

	t.Run("the flash waits for the GET that shows it", func(t *testing.T) {
		if a := b.get("/"); !strings.Contains(a.body, "Added 1 × Flour") {
			t.Errorf("GET / after HEADs: the flash is gone:\n%s", a.body)
		}
	})

	t.Run("HEAD answers with GET's headers, but no cookie", func(t *testing.T) {
		for _, path := range []string{"/", "/session-example", "/cart"} {
			head := b.do(http.MethodHead, path, "text/html", nil)
			get := b.get(path)
			for name, want := range get.header {
				switch name {
				case "Date", "X-Request-Id", "Set-Cookie", "Content-Length", "Transfer-Encoding":
					continue // differ from one answer to the next, or by design
				}
				if got := head.header.Values(name); strings.Join(got, ", ") != strings.Join(want, ", ") {
					t.Errorf("%s: got %s: %q on HEAD, want %q as on GET", path, name, got, want)
				}
			}
		}
	})

	t.Run("HEAD from a new visitor creates no session", func(t *testing.T) {
		rows := app.sessionRows(t)
		for _, path := range []string{"/", "/session-example", "/ingredients/5"} {
			a := newBrowser(t, app.url).do(http.MethodHead, path, "text/html", nil)
			wantStatus(t, "HEAD "+path, a, http.StatusOK)
			if c := a.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("HEAD %s: got Set-Cookie %q, want none", path, c)
			}
		}
		if got := app.sessionRows(t); got != rows {
			t.Errorf("got %d stored sessions, want %d as before", got, rows)
		}
	})
}

func TestUndecodableSessionStartsAFreshOne(t *testing.T) {
	app := newTestApp(t, appOptions{})
	tests := []struct {
		name string
		data []byte
	}{
		{"damaged data", []byte{0xa7, 0x01, 0x99, 0xff, 0x00}},
		{"a later version of the codec", []byte{0xa7, 0x02, 0x00}},
		{"neither the codec's form nor gob's", []byte("not a session")},
		{"no data at all", []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, app.url)
			wantStatus(t, "first visit", b.getJSON("/session-example"), http.StatusOK)
			old := b.cookie()
			if _, err := app.db.Write.Exec("UPDATE sessions SET data = ? WHERE token = ?",
				tt.data, session.HashToken(old)); err != nil {
				t.Fatal(err)
			}

			a := b.getJSON("/session-example")
			wantStatus(t, "visit with the undecodable session", a, http.StatusOK)
			if !strings.Contains(a.body, `"viewCount":1`) {
				t.Errorf("got %s, want viewCount 1 in a fresh session", a.body)
			}
			if got := a.setCookie(); got == "" || got == old {
				t.Errorf("got Set-Cookie token %q, want a new one", got)
			}
			if app.storedRow(t, old).found {
				t.Errorf("the undecodable row is still stored, want it deleted")
			}
			if !app.storedRow(t, b.cookie()).found {
				t.Errorf("the fresh session was not saved")
			}

			id := a.header.Get("X-Request-Id")
			logs := app.log.String()
			var line string
			for l := range strings.Lines(logs) {
				if strings.Contains(l, "cannot be decoded") && strings.Contains(l, id) {
					line = l
				}
			}
			if id == "" || line == "" {
				t.Fatalf("no warning with request id %q in the log:\n%s", id, logs)
			}
			if !strings.Contains(line, "level=WARN") {
				t.Errorf("got %s, want a warning", line)
			}
			for _, secret := range []string{old, session.HashToken(old)} {
				if strings.Contains(logs, secret) {
					t.Errorf("the log holds the session's token or key %q:\n%s", secret, logs)
				}
			}
		})
	}
}
