package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// sessionExample visits /session-example asking for JSON and returns the
// answer. The visit counts, as any other does.
func (v *visitor) sessionExample() sessionExample {
	v.t.Helper()
	r := v.getJSON("/session-example")
	if r.Status != http.StatusOK {
		v.t.Fatalf("GET /session-example: status %d, want 200\n%s", r.Status, r.Body)
	}
	var got sessionExample
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		v.t.Fatalf("GET /session-example: %v\n%s", err, r.Body)
	}
	return got
}

type sessionExample struct {
	ViewCount         int `json:"viewCount"`
	ChosenIngredients []struct {
		ID  int `json:"id"`
		Qty int `json:"qty"`
	} `json:"chosenIngredients"`
}

func TestSessionExampleCounts(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	t.Run("one visitor's count goes 1, 2, 3", func(t *testing.T) {
		alice := newVisitor(t, srv.URL)
		for want := 1; want <= 3; want++ {
			got := alice.sessionExample()
			if got.ViewCount != want {
				t.Fatalf("visit %d: got viewCount %d, want %d", want, got.ViewCount, want)
			}
			if len(got.ChosenIngredients) != 1 || got.ChosenIngredients[0].ID != 1 || got.ChosenIngredients[0].Qty != 3 {
				t.Errorf("visit %d: got chosenIngredients %+v, want [{id:1 qty:3}]", want, got.ChosenIngredients)
			}
		}
	})

	t.Run("two visitors count independently", func(t *testing.T) {
		alice, bob := newVisitor(t, srv.URL), newVisitor(t, srv.URL)
		alice.sessionExample()
		alice.sessionExample()
		if got := bob.sessionExample().ViewCount; got != 1 {
			t.Errorf("bob's first visit: got viewCount %d, want 1", got)
		}
		if got := alice.sessionExample().ViewCount; got != 3 {
			t.Errorf("alice's third visit: got viewCount %d, want 3", got)
		}
		if alice.cookie() == bob.cookie() {
			t.Errorf("alice and bob got the same session token")
		}
	})

	t.Run("JSON answer has the original's shape and Content-Type", func(t *testing.T) {
		r := newVisitor(t, srv.URL).getJSON("/session-example")
		wantStatus(t, "GET /session-example", r, http.StatusOK)
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", got)
		}
		want := `{"viewCount":1,"chosenIngredients":[{"id":1,"qty":3}]}`
		if got := r.Body; got != want {
			t.Errorf("got body %s, want %s", got, want)
		}
	})

	t.Run("HTML page says All good and the count", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		r := v.get("/session-example")
		wantStatus(t, "GET /session-example", r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("got Content-Type %q, want text/html", ct)
		}
		wantText(t, "first visit", r, "All good", "You have viewed this page 1 time.")
		wantText(t, "second visit", v.get("/session-example"), "You have viewed this page 2 times")
		third := v.get("/session-example")
		wantText(t, "third visit", third, "You have viewed this page 3 times")
		// The sentence stands in the HTML as it reads, so that a script can
		// find it there too.
		if !strings.Contains(third.Body, "You have viewed this page 3 times.") {
			t.Errorf("the HTML does not hold the sentence %q as one piece of text", "You have viewed this page 3 times.")
		}
	})

	t.Run("the example replaces the cart, as the original does", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.add(2, "5")
		v.sessionExample()
		if got := v.cart().quantities(); len(got) != 1 || got[1] != 3 {
			t.Errorf("got cart %v, want only ingredient 1 × 3", got)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		flags      []string
		wantSecure bool
	}{
		{"by default HttpOnly, SameSite=Lax, Path=/, persistent, not Secure", nil, false},
		{"with -secure-cookie also Secure", []string{"-secure-cookie"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, tt.flags...)
			r := newVisitor(t, srv.URL).get("/session-example")
			wantStatus(t, "GET /session-example", r, http.StatusOK)
			c := sessionCookie(r)
			if c == nil {
				t.Fatalf("got no session cookie; Set-Cookie: %q", r.Header.Values("Set-Cookie"))
			}
			if !c.HttpOnly {
				t.Errorf("HttpOnly: got false, want true")
			}
			if c.SameSite != http.SameSiteLaxMode {
				t.Errorf("SameSite: got %v, want Lax", c.SameSite)
			}
			if c.Path != "/" {
				t.Errorf("Path: got %q, want /", c.Path)
			}
			if c.MaxAge <= 0 || c.RawExpires == "" {
				t.Errorf("got Max-Age %d, Expires %q; want both set, so the cookie outlives the browser", c.MaxAge, c.RawExpires)
			}
			if c.Secure != tt.wantSecure {
				t.Errorf("Secure: got %t, want %t", c.Secure, tt.wantSecure)
			}
			if len(c.Value) < 32 {
				t.Errorf("token %q: got %d characters, want a long random one", c.Value, len(c.Value))
			}
		})
	}
}

func TestBadSessionCookieGetsAFreshSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	u, _ := url.Parse(srv.URL)
	tests := []struct{ name, token string }{
		{"garbage", "not-a-token!!"},
		{"well-formed but unknown", "a4escHpQuFRgr17QD_92XiOwDuRz-lhJI-7op_xhAC0"},
		{"very long", strings.Repeat("x", 3000)},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			v.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: tt.token, Path: "/"}})
			r := v.getJSON("/session-example")
			wantStatus(t, "GET /session-example", r, http.StatusOK)
			if !strings.Contains(r.Body, `"viewCount":1,`) {
				t.Errorf("got %s, want viewCount 1", r.Body)
			}
			c := sessionCookie(r)
			if c == nil || c.Value == tt.token || c.Value == "" {
				t.Errorf("got cookie %v, want a new token", c)
			}
		})
		t.Run(tt.name+" on a form", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			v.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: tt.token, Path: "/"}})
			v.add(3, "2")
			if got := v.cart().quantities(); len(got) != 1 || got[3] != 2 {
				t.Errorf("got cart %v, want a fresh one with ingredient 3 × 2", got)
			}
		})
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	alice := newVisitor(t, srv.URL)
	alice.sessionExample()
	alice.sessionExample()

	srv.restart() // SIGTERM, then the same binary on the same database
	alice.base = srv.URL

	if got := alice.sessionExample().ViewCount; got != 3 {
		t.Errorf("after restart: got viewCount %d, want 3", got)
	}
}

func TestMemoryStoreForgetsSessionsOnRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-store", "memory")
	alice := newVisitor(t, srv.URL)
	alice.sessionExample()
	alice.sessionExample()

	srv.restart()
	alice.base = srv.URL

	if got := alice.sessionExample().ViewCount; got != 1 {
		t.Errorf("after restart with -store memory: got viewCount %d, want 1 (a new session)", got)
	}
}

func TestSIGTERMExitsWithStatusZero(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).sessionExample() // a session to save, a connection to close

	srv.stop() // sends SIGTERM and fails the test unless the exit status is 0
	if srv.running() {
		t.Fatal("server still running after stop")
	}
	if srv.err != nil {
		t.Errorf("got exit error %v, want exit status 0", srv.err)
	}
	if log := srv.Log(); !strings.Contains(log, "msg=stopped") {
		t.Errorf("log does not say the server stopped cleanly:\n%s", log)
	}
}

func TestPagesAndErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	t.Run("home page answers 200", func(t *testing.T) {
		r := v.get("/")
		wantStatus(t, "GET /", r, http.StatusOK)
		wantText(t, "GET /", r, "Pages viewed in this session", "Signed in no", "Bought anything not yet")
	})

	t.Run("healthz answers ok", func(t *testing.T) {
		r := v.get("/healthz")
		wantStatus(t, "GET /healthz", r, http.StatusOK)
		if strings.TrimSpace(r.Body) != "ok" {
			t.Errorf("got body %q, want ok", r.Body)
		}
	})

	t.Run("an unknown path gets the styled 404 page", func(t *testing.T) {
		r := v.get("/no/such/page")
		wantStatus(t, "GET /no/such/page", r, http.StatusNotFound)
		if !strings.Contains(r.Body, `rel="stylesheet"`) {
			t.Errorf("404 page is not the site's layout:\n%s", r.Body)
		}
		wantText(t, "404 page", r, "Not Found", "There is nothing at this address.")
	})

	t.Run("a wrong method gets 405", func(t *testing.T) {
		wantStatus(t, "POST /", v.post("/", nil), http.StatusMethodNotAllowed)
	})

	t.Run("a form from another site is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/cart/clear", nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		wantStatus(t, "cross-site POST /cart/clear", v.do(req), http.StatusForbidden)
	})

	// Static files and the health check run without the session
	// middleware: no session is loaded, and no cookie is set.
	for _, path := range []string{"/static/style.css", "/healthz"} {
		t.Run(path+" sets no cookie, even for a visitor with a session", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			v.sessionExample()
			r := v.get(path)
			wantStatus(t, "GET "+path, r, http.StatusOK)
			if sc := r.Header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("got Set-Cookie %q, want none", sc)
			}
		})
	}
}
