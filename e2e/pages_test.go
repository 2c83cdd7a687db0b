package e2e

import (
	"database/sql"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPagesCountInWords checks that a count reads as a person would write
// it: one of a thing, two things.
func TestPagesCountInWords(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	wantText(t, "first visit", v.get("/session-example"), "You have viewed this page 1 time.")
	wantText(t, "second visit", v.get("/session-example"), "You have viewed this page 2 times.")

	wantStatus(t, "POST /checkout", v.post("/checkout", nil), http.StatusSeeOther)
	wantText(t, "GET / after one order", v.get("/"), "Bought anything yes, 1 order")
	v.add(2, "1")
	wantStatus(t, "POST /checkout", v.post("/checkout", nil), http.StatusSeeOther)
	wantText(t, "GET / after two orders", v.get("/"), "Bought anything yes, 2 orders")

	// Five failed sign-ins, made to look 14½ minutes old: the email is
	// refused for half a minute more, which the page rounds up.
	wrong := url.Values{"email": {"ada@example.com"}, "password": {"not the password"}}
	for range 5 {
		wantStatus(t, "POST /login", v.post("/login", wrong), http.StatusUnprocessableEntity)
	}
	db, err := sql.Open("sqlite", "file:"+srv.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE login_attempts SET attempted_at = strftime('%Y-%m-%dT%H:%M:%fZ', attempted_at, '-870 seconds')"); err != nil {
		t.Fatalf("age the sign-in attempts: %v", err)
	}
	r := v.post("/login", wrong)
	wantStatus(t, "POST /login", r, http.StatusTooManyRequests)
	wantText(t, "POST /login, refused", r, "Please try again in 1 minute.")
}

// TestPagesNameIngredients checks that a page shows the ingredients the
// session holds by name, where the session itself holds only their ids.
func TestPagesNameIngredients(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	r := v.get("/session-example")
	wantStatus(t, "GET /session-example", r, http.StatusOK)
	_, chosen, _ := strings.Cut(r.Body, `<ul id="chosen">`)
	chosen, _, _ = strings.Cut(chosen, "</ul>")
	if got := pageText(chosen); !strings.HasPrefix(got, "3 × Flour") {
		t.Errorf("the chosen ingredients read %q, want 3 × Flour", got)
	}
	// The JSON is the original's, ids only.
	if got, want := v.getJSON("/session-example").Body, `{"viewCount":2,"chosenIngredients":[{"id":1,"qty":3}]}`; got != want {
		t.Errorf("GET /session-example (JSON): got %s, want %s", got, want)
	}

	v.get("/ingredients/4") // Sugar, viewed and not chosen
	r = v.get("/cart")
	_, viewed, _ := strings.Cut(r.Body, `<ul id="viewed">`)
	viewed, _, _ = strings.Cut(viewed, "</ul>")
	if got := pageText(viewed); got != "Sugar" {
		t.Errorf("viewed but not in the cart reads %q, want Sugar", got)
	}
}

// timeRE finds the times a page shows: each in a <time> element whose
// datetime attribute holds it for programs.
var timeRE = regexp.MustCompile(`<time datetime="([^"]*)">([^<]*)</time>`)

// rawTimeRE matches a time written for programs (2026-12-01T22:15:00Z) or
// in a numeric layout (2026-12-01 22:15) in the text a person reads.
var rawTimeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d[T ]\d\d:\d\d`)

// TestPagesShowTimesInOneFormat checks every page that shows a time: it
// reads "1 Dec 2026, 22:15 UTC", in UTC, and carries RFC 3339 for programs.
func TestPagesShowTimesInOneFormat(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp("Ada", "ada@example.com", adaPassword)
	v.add(1, "2")
	order := v.post("/checkout", nil).Header.Get("Location")
	if !strings.HasPrefix(order, "/orders/") {
		t.Fatalf("POST /checkout led to %q, want an order", order)
	}

	for _, tt := range []struct {
		path  string
		times int // at least: the order's; each session's sign-in and last request, and the order; the expiries
	}{
		{order, 1},
		{"/account", 3},
		{"/session", 3},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := v.get(tt.path)
			wantStatus(t, "GET "+tt.path, r, http.StatusOK)
			found := timeRE.FindAllStringSubmatch(r.Body, -1)
			if len(found) < tt.times {
				t.Errorf("got %d times, want at least %d:\n%s", len(found), tt.times, pageText(r.Body))
			}
			for _, m := range found {
				at, err := time.Parse(time.RFC3339, m[1])
				if err != nil {
					t.Errorf("<time datetime=%q>: %v, want RFC 3339", m[1], err)
					continue
				}
				if want := at.UTC().Format("2 Jan 2006, 15:04 UTC"); html.UnescapeString(m[2]) != want {
					t.Errorf("time %s reads %q, want %q", m[1], m[2], want)
				}
				if d := time.Since(at).Abs(); d > 30*24*time.Hour {
					t.Errorf("time %s is not around now", m[1])
				}
			}
			if raw := rawTimeRE.FindString(pageText(r.Body)); raw != "" {
				t.Errorf("the page shows %q, a time in another format", raw)
			}
		})
	}
}
