package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// wantSafetyHeaders fails the test unless r carries the headers every
// answer must: a Content-Security-Policy that allows only this site's own
// scripts and styles (no inline script) and no framing, no MIME sniffing,
// and no full URL in the Referer sent to other sites.
func wantSafetyHeaders(t testing.TB, what string, r response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline script or eval", what, csp)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options: got %q, want nosniff", what, got)
	}
	if got := r.Header.Get("Referrer-Policy"); got != "same-origin" {
		t.Errorf("%s: Referrer-Policy: got %q, want same-origin", what, got)
	}
}

// newCartVisitor is a visitor with a session holding 3 × ingredient 2, no
// pending flash message.
func newCartVisitor(t *testing.T, base string) *visitor {
	t.Helper()
	v := newVisitor(t, base)
	r := v.post("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"3"}})
	wantStatus(t, "POST /cart/items", r, http.StatusSeeOther)
	wantStatus(t, "GET /cart", v.get("/cart"), http.StatusOK) // shows, and so clears, the flash
	return v
}

// request builds a request to the visitor's server.
func (v *visitor) request(method, path string, body io.Reader, header http.Header) *http.Request {
	v.t.Helper()
	req, err := http.NewRequest(method, v.base+path, body)
	if err != nil {
		v.t.Fatal(err)
	}
	for k, vals := range header {
		req.Header[k] = vals
	}
	return req
}

func TestCrossSiteFormsAreRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	form := "application/x-www-form-urlencoded"

	refused := []struct {
		name   string
		path   string
		body   string
		header http.Header
	}{
		{"clear the cart from another site's Origin", "/cart/clear", "",
			http.Header{"Origin": {"https://evil.example"}}},
		{"clear the cart with Sec-Fetch-Site: cross-site", "/cart/clear", "",
			http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"add to the cart from another site", "/cart/items", "ingredient_id=1&qty=5",
			http.Header{"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}, "Content-Type": {form}}},
		{"check out from another site", "/checkout", "",
			http.Header{"Origin": {"https://evil.example"}}},
		{"sign in from another site", "/login", "email=m%40evil.example&password=correct+horse+battery",
			http.Header{"Sec-Fetch-Site": {"cross-site"}, "Content-Type": {form}}},
		{"sign out from a sibling site", "/logout", "",
			http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"destroy the session from another site", "/session/destroy", "",
			http.Header{"Origin": {"http://localhost.evil.example"}}},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused with 403 and changes nothing", func(t *testing.T) {
			v := newCartVisitor(t, srv.URL)
			before, beforeDB := v.values(), readDBState(t, db)

			r := v.do(v.request(http.MethodPost, tt.path, strings.NewReader(tt.body), tt.header))
			wantStatus(t, "POST "+tt.path, r, http.StatusForbidden)
			wantSafetyHeaders(t, "403 page", r)
			if c := sessionCookie(r); c != nil {
				t.Errorf("got Set-Cookie %v on a refused request, want none", c)
			}
			wantUnchanged(t, "a refused POST "+tt.path, before, v.values())
			wantDBUnchanged(t, "a refused POST "+tt.path, beforeDB, readDBState(t, db))
		})
	}

	allowed := []struct {
		name   string
		header http.Header
	}{
		{"a same-origin browser form", http.Header{"Origin": {srv.URL}, "Sec-Fetch-Site": {"same-origin"}}},
		{"an older browser sending only Origin", http.Header{"Origin": {srv.URL}}},
		{"curl, which sends neither header", http.Header{}},
	}
	for _, tt := range allowed {
		t.Run(tt.name+" is accepted", func(t *testing.T) {
			v := newCartVisitor(t, srv.URL)
			tt.header.Set("Content-Type", form)
			r := v.do(v.request(http.MethodPost, "/cart/items", strings.NewReader("ingredient_id=1&qty=2"), tt.header))
			redirectsTo(t, "POST /cart/items", r, "/cart")
			if got := v.cart().quantities(); got[1] != 2 || got[2] != 3 {
				t.Errorf("got cart %v, want 2 × ingredient 1 and 3 × ingredient 2", got)
			}
		})
	}
}

func TestSessionTokensAreStoredOnlyAsHashes(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	var cookies []string
	for range 3 {
		v := newCartVisitor(t, srv.URL)
		cookies = append(cookies, v.cookie())
	}
	// Signing in replaces the token; neither the old nor the new may be stored.
	v := newCartVisitor(t, srv.URL)
	cookies = append(cookies, v.cookie())
	v.signUp("Ada", "ada@example.com", "correct horse battery")
	cookies = append(cookies, v.cookie())

	rows := dbSessionRows(t, dbReadOnly(t, srv.DBPath))
	for _, c := range cookies {
		if c == "" {
			t.Fatal("a visitor has no session cookie")
		}
		for key, data := range rows {
			if strings.Contains(key, c) || strings.Contains(string(data), c) {
				t.Errorf("cookie %q appears in the stored session %q", c, key)
			}
		}
	}
	// The live sessions are stored under base64url(sha256(cookie)); the
	// replaced token is gone.
	live := append(cookies[:3:3], cookies[4])
	for _, c := range live {
		if _, ok := rows[storeKey(c)]; !ok {
			t.Errorf("no row under base64url(sha256(%q)) = %q; rows: %d", c, storeKey(c), len(rows))
		}
	}
	if _, ok := rows[storeKey(cookies[3])]; ok {
		t.Errorf("the token replaced at sign-in is still stored")
	}
	if len(rows) != len(live) {
		t.Errorf("got %d stored sessions, want %d", len(rows), len(live))
	}
}

func TestSafetyHeadersOnEveryAnswer(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	tests := []struct {
		name   string
		method string
		path   string
		header http.Header
		want   int
	}{
		{"home page", http.MethodGet, "/", nil, http.StatusOK},
		{"session example", http.MethodGet, "/session-example", nil, http.StatusOK},
		{"cart", http.MethodGet, "/cart", nil, http.StatusOK},
		{"404 page", http.MethodGet, "/no/such/page", nil, http.StatusNotFound},
		{"405 page", http.MethodGet, "/cart/clear", nil, http.StatusMethodNotAllowed},
		{"403 page", http.MethodPost, "/cart/clear", http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"stylesheet", http.MethodGet, "/static/style.css", nil, http.StatusOK},
		{"health check", http.MethodGet, "/healthz", nil, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Accept": {"text/html"}}
			for k, vals := range tt.header {
				h[k] = vals
			}
			r := v.do(v.request(tt.method, tt.path, nil, h))
			wantStatus(t, tt.method+" "+tt.path, r, tt.want)
			wantSafetyHeaders(t, tt.method+" "+tt.path, r)
		})
	}

	// A page showing session data is kept out of every cache, with one
	// plain Cache-Control header (scs's own no-cache="Set-Cookie" folded into
	// it) and nothing that would let a shared cache keep it.
	for _, path := range []string{"/", "/session-example", "/cart", "/session"} {
		t.Run("no-store on "+path, func(t *testing.T) {
			r := v.get(path)
			wantStatus(t, "GET "+path, r, http.StatusOK)
			if got := r.Header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Errorf("Cache-Control: got %q, want exactly [no-store]", got)
			}
			if sessionCookie(r) == nil && path == "/" {
				t.Errorf("GET /: want a Set-Cookie, so the check above covers a page that sets the cookie")
			}
		})
	}
}

var stylesheetRE = regexp.MustCompile(`<link rel="stylesheet" href="(/static/style\.css\?v=([0-9a-f]+))">`)

func TestStaticFilesAreCachedByVersion(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	page := v.get("/")
	m := stylesheetRE.FindStringSubmatch(page.Body)
	if m == nil {
		t.Fatalf("the home page links no versioned stylesheet:\n%s", page.Body)
	}
	href, version := m[1], m[2]

	r := v.get(href)
	wantStatus(t, "GET "+href, r, http.StatusOK)
	if got := r.Header.Get("Cache-Control"); !strings.Contains(got, "max-age=31536000, immutable") {
		t.Errorf("GET %s: Cache-Control %q, want max-age=31536000, immutable", href, got)
	}
	// The version is taken from the content, so a changed file gets a new URL.
	sum := sha256.Sum256([]byte(r.Body))
	if !strings.HasPrefix(hex.EncodeToString(sum[:]), version) {
		t.Errorf("version %q is not a prefix of the content's SHA-256 %x", version, sum)
	}

	for _, path := range []string{"/static/style.css", "/static/style.css?v=0000000000", "/static/style.css?v="} {
		r := v.get(path)
		wantStatus(t, "GET "+path, r, http.StatusOK)
		if got := r.Header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache (a wrong or missing version must not be cached for a year)", path, got)
		}
	}
	wantStatus(t, "GET /static/nope.css", v.get("/static/nope.css"), http.StatusNotFound)
	wantStatus(t, "GET /static/ (no listing)", v.get("/static/"), http.StatusNotFound)
}

// hideLength makes a body be sent chunked, with no Content-Length.
type hideLength struct{ io.Reader }

func TestBadInputGetsA4xxAndChangesNothing(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	big := strings.Repeat("a", 10<<20)
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		want   int
	}{
		{"form over 64 KiB", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=1&pad=" + strings.Repeat("a", 70<<10)), 413},
		{"10 MB field", "POST", "/login", strings.NewReader("email=a%40b.example&name=" + big), 413},
		{"10 MB body without a length", "POST", "/cart/items", hideLength{strings.NewReader("ingredient_id=1&qty=1&pad=" + big)}, 413},
		{"10 MB body to a form without fields", "POST", "/cart/clear", strings.NewReader(big), 413},
		{"invalid percent-encoding", "POST", "/cart/items", strings.NewReader("ingredient_id=%zz&qty=1"), 400},
		{"truncated percent-encoding", "POST", "/login", strings.NewReader("name=%&email=a%40b.example"), 400},
		{"GET of a form action", "GET", "/cart/clear", nil, 405},
		{"DELETE /cart", "DELETE", "/cart", nil, 405},
		{"PUT /cart/items", "PUT", "/cart/items", strings.NewReader("ingredient_id=1"), 405},
		{"non-numeric ingredient id", "GET", "/ingredients/abc", nil, 404},
		{"negative ingredient id", "GET", "/ingredients/-1", nil, 404},
		{"ingredient id beyond int64", "GET", "/ingredients/99999999999999999999", nil, 404},
		{"non-numeric order id", "GET", "/orders/abc", nil, 404},
		{"non-numeric id in a cart form action", "POST", "/cart/items/abc", strings.NewReader("qty=1"), 404},
		{"non-ASCII digit qty ٣", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=" + url.QueryEscape("٣")), 422},
		{"exponent qty 1e2", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=1e2"), 422},
		{"signed qty +5", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=%2B5"), 422},
		{"negative qty", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=-1"), 422},
		{"qty over 99", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=100"), 422},
		{"huge qty", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=99999999999999999999"), 422},
		{"qty 0 on add", "POST", "/cart/items", strings.NewReader("ingredient_id=1&qty=0"), 422},
		{"non-ASCII qty on set", "POST", "/cart/items/2", strings.NewReader("qty=" + url.QueryEscape("٣")), 422},
		{"non-numeric ingredient_id", "POST", "/cart/items", strings.NewReader("ingredient_id=abc&qty=1"), 422},
		{"unknown ingredient_id", "POST", "/cart/items", strings.NewReader("ingredient_id=999999&qty=1"), 422},
		{"empty name", "POST", "/signup", strings.NewReader("name=+&email=a%40b.example&password=correct+horse"), 422},
		{"name of 101 characters", "POST", "/signup", strings.NewReader("name=" + strings.Repeat("é", 101) + "&email=a%40b.example&password=correct+horse"), 422},
		{"name not UTF-8", "POST", "/signup", strings.NewReader("name=%FF%FE&email=a%40b.example&password=correct+horse"), 422},
		{"invalid email at sign-up", "POST", "/signup", strings.NewReader("name=Ada&email=not-an-address&password=correct+horse"), 422},
		{"password of 7 characters", "POST", "/signup", strings.NewReader("name=Ada&email=a%40b.example&password=1234567"), 422},
		{"invalid email at sign-in", "POST", "/login", strings.NewReader("email=not-an-address&password=correct+horse"), 422},
		{"sign-in without a password", "POST", "/login", strings.NewReader("email=a%40b.example"), 422},
	}
	for _, tt := range tests {
		t.Run(tt.name+" gets "+http.StatusText(tt.want), func(t *testing.T) {
			v := newCartVisitor(t, srv.URL)
			before, beforeDB := v.values(), readDBState(t, db)

			h := http.Header{"Accept": {"text/html"}}
			if tt.body != nil {
				h["Content-Type"] = form["Content-Type"]
			}
			r := v.do(v.request(tt.method, tt.path, tt.body, h))
			wantStatus(t, tt.method+" "+tt.path, r, tt.want)
			wantSafetyHeaders(t, "error page", r)

			wantUnchanged(t, tt.name, before, v.values())
			wantDBUnchanged(t, tt.name, beforeDB, readDBState(t, db))
		})
	}
}

func TestBadSessionCookiesGetAFreshSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)

	// A session that was signed out: its token is known to the visitor, and
	// no longer to the server.
	gone := newCartVisitor(t, srv.URL)
	signedOut := gone.cookie()
	wantStatus(t, "POST /logout", gone.post("/logout", nil), http.StatusSeeOther)

	tests := []struct{ name, cookie string }{
		{"garbage", `<script>!!`},
		{"4 KB long", strings.Repeat("A", 4096)},
		{"well-formed but never issued", "q5zcbJ1bR4Hw0v6Rr4Y8Wfb3sX0m9gKqTnVh2o1PzuE"},
		{"of a signed-out session", signedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			victim := newCartVisitor(t, srv.URL)
			before := victim.values()

			stranger := newVisitor(t, srv.URL)
			r := stranger.do(stranger.request(http.MethodGet, "/session-example", nil,
				http.Header{"Accept": {"application/json"}, "Cookie": {"session=" + tt.cookie}}))
			wantStatus(t, "GET /session-example", r, http.StatusOK)
			if !strings.Contains(r.Body, `"viewCount":1,`) {
				t.Errorf("got %s, want a fresh session with viewCount 1", r.Body)
			}
			c := sessionCookie(r)
			if c == nil || c.Value == tt.cookie {
				t.Fatalf("got cookie %v, want a new token", c)
			}
			// The token the client made up is never adopted.
			if dbHasSession(t, db, tt.cookie) {
				t.Errorf("the server stored a session under the client's token %q", tt.cookie)
			}
			if !dbHasSession(t, db, c.Value) {
				t.Errorf("the new session is not stored")
			}
			wantUnchanged(t, "another visitor's bad cookie", before, victim.values())
		})
	}
}

// A name with HTML in it is shown as text, on every page that shows it.
func TestHTMLInNamesIsEscaped(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const name = `<script>alert(1)</script>`
	const escaped = `&lt;script&gt;alert(1)&lt;/script&gt;`

	v := newVisitor(t, srv.URL)
	r := v.post("/signup", url.Values{"name": {name}, "email": {"bad address"}, "password": {"correct horse battery"}})
	wantStatus(t, "POST /signup with a bad email", r, http.StatusUnprocessableEntity)
	if strings.Contains(r.Body, name) || !strings.Contains(r.Body, escaped) {
		t.Errorf("the re-shown form: want the name escaped as %s", escaped)
	}

	v.signUp(name, "ada@example.com", "correct horse battery")
	for _, path := range []string{"/", "/session", "/login", "/account"} {
		r := v.get(path)
		wantStatus(t, "GET "+path, r, http.StatusOK)
		if strings.Contains(r.Body, name) {
			t.Errorf("GET %s: the name appears unescaped", path)
		}
		if !strings.Contains(r.Body, escaped) {
			t.Errorf("GET %s: want the name shown escaped as %s", path, escaped)
		}
	}
}
