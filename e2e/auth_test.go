package e2e

// Signing in with an email and a password, and signing out. The account
// itself (sign-up, /account, its sessions) is in accounts_test.go.

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)
	v := newVisitor(t, srv.URL)

	t.Run("the form asks for email, password and remember me", func(t *testing.T) {
		r := v.get("/login")
		wantStatus(t, "GET /login", r, http.StatusOK)
		for _, s := range []string{`action="/login`, `name="email"`, `name="password"`, `type="password"`, `name="remember"`, `type="checkbox"`} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("the sign-in page has no %s", s)
			}
		}
	})

	t.Run("a guest's navigation offers to sign in and to sign up", func(t *testing.T) {
		nav := navOf(t, v.get("/"))
		for _, s := range []string{`href="/login"`, `href="/signup"`} {
			if !strings.Contains(nav, s) {
				t.Errorf("a guest's navigation has no %s:\n%s", s, nav)
			}
		}
		if strings.Contains(nav, `href="/account"`) || strings.Contains(nav, `action="/logout"`) {
			t.Errorf("a guest's navigation offers the account or sign-out:\n%s", nav)
		}
	})

	v.add(4, "2")
	wantStatus(t, "GET /ingredients/3", v.get("/ingredients/3"), http.StatusOK)
	tokenBefore := v.cookie()
	viewedBefore := v.values()["recentlyViewed"]

	t.Run("signing in renews the token, keeps the cart and recently viewed", func(t *testing.T) {
		r := v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
		redirectsTo(t, "POST /login", r, "/account")
		if v.cookie() == tokenBefore || v.cookie() == "" {
			t.Errorf("got token %q after sign-in, want a new one", v.cookie())
		}
		if got := v.cart().quantities(); len(got) != 1 || got[4] != 2 {
			t.Errorf("got cart %v after sign-in, want ingredient 4 × 2", got)
		}
		if got := v.values()["recentlyViewed"]; fmt.Sprint(got) != fmt.Sprint(viewedBefore) {
			t.Errorf("got recentlyViewed %v after sign-in, want %v", got, viewedBefore)
		}
		if got := accountOf(t, v); got.Name != "Ada Lovelace" || got.Email != "ada@example.com" {
			t.Errorf("got account %q <%s>, want Ada Lovelace <ada@example.com>", got.Name, got.Email)
		}
	})

	t.Run("the session holds the account's id only", func(t *testing.T) {
		vals := v.values()
		if _, ok := vals["userId"].(float64); !ok {
			t.Errorf("got userId %v (%T), want the account's id", vals["userId"], vals["userId"])
		}
		for _, k := range []string{"userName", "userEmail"} {
			if _, ok := vals[k]; ok {
				t.Errorf("the session holds %s = %v, want only the id", k, vals[k])
			}
		}
	})

	t.Run("the token from before sign-in no longer leads to the session", func(t *testing.T) {
		thief := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "session", Value: tokenBefore})
		vals := thief.values()
		for _, k := range []string{"userId", "chosenIngredients", "recentlyViewed"} {
			if _, ok := vals[k]; ok {
				t.Errorf("the old token still reads %s: %v", k, vals)
			}
		}
		wantGuest(t, "the old token", thief)
	})

	t.Run("another visitor sees neither the account nor the cart", func(t *testing.T) {
		bob := newVisitor(t, srv.URL)
		wantGuest(t, "bob", bob)
		if got := bob.cart(); len(got.Items) != 0 {
			t.Errorf("got bob's cart %v, want empty", got.Items)
		}
	})

	t.Run("the email is matched whatever its letter case", func(t *testing.T) {
		w := newVisitor(t, srv.URL)
		w.signIn("ADA@Example.COM", adaPassword, false)
		if got := accountOf(t, w).Email; got != "ada@example.com" {
			t.Errorf("got email %q, want the account's ada@example.com", got)
		}
	})

	t.Run("signing out ends the session, cart included", func(t *testing.T) {
		tokenSignedIn := v.cookie()
		wantStatus(t, "POST /logout", v.post("/logout", nil), http.StatusSeeOther)
		if v.cookie() == tokenSignedIn {
			t.Errorf("the token did not change at sign-out")
		}
		wantGuest(t, "after sign-out", v)
		if got := v.cart(); len(got.Items) != 0 {
			t.Errorf("got cart %v after sign-out, want empty", got.Items)
		}
		vals := v.values()
		for _, k := range []string{"userId", "chosenIngredients"} {
			if _, ok := vals[k]; ok {
				t.Errorf("got %s = %v after sign-out, want it gone", k, vals[k])
			}
		}
		wantTokenLeadsNowhere(t, "the signed-in token after sign-out", srv.URL, tokenSignedIn)
	})
}

// TestSignInFailuresDoNotSayWhichFieldWasWrong: a wrong password and an
// unknown email get the same answer, and leave the session as it was.
func TestSignInFailuresDoNotSayWhichFieldWasWrong(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)
	v := newVisitor(t, srv.URL)
	v.add(1, "2")
	v.get("/cart") // show, and so drop, the flash of that add

	const wrongPassword = "not-the-password-at-all"
	tests := []struct{ name, email string }{
		{"wrong password", "ada@example.com"},
		{"unknown email", "nobody@example.com"},
	}
	pages := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, token := v.values(), v.cookie()
			r := v.post("/login", url.Values{"email": {tt.email}, "password": {wrongPassword}})
			wantStatus(t, "POST /login", r, http.StatusUnprocessableEntity)
			wantText(t, "POST /login", r, "Wrong email or password.")
			if !strings.Contains(r.Body, `value="`+tt.email+`"`) {
				t.Errorf("the form does not keep the typed email")
			}
			if strings.Contains(r.Body, wrongPassword) {
				t.Errorf("the page holds the typed password")
			}
			if v.cookie() != token {
				t.Errorf("the token changed on a refused sign-in")
			}
			wantUnchanged(t, "POST /login", before, v.values())
			pages[tt.name] = strings.ReplaceAll(pageText(r.Body), tt.email, "EMAIL")
		})
	}
	if len(pages) == 2 && pages["wrong password"] != pages["unknown email"] {
		t.Errorf("the two failures differ beyond the email typed:\nwrong password: %s\nunknown email:  %s",
			pages["wrong password"], pages["unknown email"])
	}
}

func TestSignInFollowsOnlyALocalNext(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)

	tests := []struct {
		name, next, want string
	}{
		{"a local path", "/cart", "/cart"},
		{"a local path with a query", "/ingredients?sort=name", "/ingredients?sort=name"},
		{"no next", "", "/account"},
		{"a protocol-relative URL", "//evil.example", "/account"},
		{"a protocol-relative URL with a path", "//evil.example/account", "/account"},
		{"an absolute URL", "https://evil.example", "/account"},
		{"an absolute URL of this very site", srv.URL + "/cart", "/account"},
		{"a backslash after the slash", `/\evil`, "/account"},
		{"a backslash then a slash", `/\/evil.example`, "/account"},
		{"a javascript: URL", "javascript:alert(1)", "/account"},
		{"a tab between the slashes", "/\t/evil.example", "/account"},
		{"a newline", "/cart\r\nSet-Cookie: x=y", "/account"},
		{"a relative path", "evil.example", "/account"},
	}
	for _, tt := range tests {
		t.Run(tt.name+", posted", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			path := "/login"
			if tt.next != "" {
				path += "?next=" + url.QueryEscape(tt.next)
			}
			r := v.post(path, url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
			redirectsTo(t, "POST "+path, r, tt.want)
			accountOf(t, v)
		})
	}
	for _, tt := range tests {
		t.Run(tt.name+", through the form", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			action := loginFormAction(t, v, "/login?next="+url.QueryEscape(tt.next))
			r := v.post(action, url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
			redirectsTo(t, "POST "+action, r, tt.want)
		})
	}
}

// TestSignInIsRefusedAfterFiveFailures: the sixth attempt within the
// window is a 429 whatever the password, so guessing stops there.
func TestSignInIsRefusedAfterFiveFailures(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)
	newVisitor(t, srv.URL).signUp("Bob Babbage", "bob@example.com", bobPassword)
	newVisitor(t, srv.URL).signUp("Grace Hopper", "grace@example.com", "cobol-compiler-1959")

	fail := func(t *testing.T, email string, times int) {
		t.Helper()
		for i := range times {
			r := newVisitor(t, srv.URL).post("/login", url.Values{"email": {email}, "password": {fmt.Sprint("guess-", i)}})
			wantStatus(t, fmt.Sprintf("failure %d", i+1), r, http.StatusUnprocessableEntity)
		}
	}
	wantThrottled := func(t *testing.T, email, password string) {
		t.Helper()
		v := newVisitor(t, srv.URL)
		r := v.post("/login", url.Values{"email": {email}, "password": {password}})
		wantStatus(t, "POST /login", r, http.StatusTooManyRequests)
		if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 15*60 {
			t.Errorf("got Retry-After %q, want whole seconds, at most the 15-minute window", r.Header.Get("Retry-After"))
		}
		if strings.Contains(r.Body, password) {
			t.Errorf("the page holds the typed password")
		}
		wantGuest(t, "after a 429", v)
	}

	fail(t, "ada@example.com", 5)
	t.Run("the right password is refused too", func(t *testing.T) {
		wantThrottled(t, "ada@example.com", adaPassword)
	})
	t.Run("the email is throttled whatever its letter case", func(t *testing.T) {
		wantThrottled(t, "ADA@EXAMPLE.COM", adaPassword)
	})
	t.Run("other emails are not throttled", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.signIn("bob@example.com", bobPassword, false)
		accountOf(t, v)
	})
	t.Run("an email without an account is throttled alike", func(t *testing.T) {
		fail(t, "nobody@example.com", 5)
		wantThrottled(t, "nobody@example.com", "whatever-it-is")
	})
	t.Run("a sign-in forgets the failures before it", func(t *testing.T) {
		fail(t, "grace@example.com", 4)
		newVisitor(t, srv.URL).signIn("grace@example.com", "cobol-compiler-1959", false)
		fail(t, "grace@example.com", 4)
		v := newVisitor(t, srv.URL)
		v.signIn("grace@example.com", "cobol-compiler-1959", false)
		accountOf(t, v)
	})
}

func TestSignUpEscapesTheName(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp(`<script>alert(1)</script>`, "x@example.com", adaPassword)
	for _, path := range []string{"/", "/account"} {
		r := v.get(path)
		wantStatus(t, "GET "+path, r, http.StatusOK)
		if strings.Contains(r.Body, "<script>alert(1)") {
			t.Errorf("%s: the name is in the page unescaped", path)
		}
		if !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the escaped name is not on the page:\n%s", path, r.Body)
		}
	}
}

// navOf returns the page's navigation, <nav> to </nav>.
func navOf(t testing.TB, r response) string {
	t.Helper()
	start, end := strings.Index(r.Body, "<nav"), strings.Index(r.Body, "</nav>")
	if start < 0 || end < start {
		t.Fatalf("the page has no <nav>:\n%s", r.Body)
	}
	return r.Body[start:end]
}

// htmlAttr escapes s as html/template does inside an attribute value.
func htmlAttr(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "&", "&amp;", "+", "&#43;").Replace(s)
}

// TestFailedSignInKeepsTheSession: a sign-in whose session cannot be saved
// answers the 500 page and leaves the visitor as they were, the cart they
// were told was saved included. scs's RenewToken deletes the old token's
// row at once; the server lets that delete wait until the session is saved
// under its new token, so a save that fails deletes nothing.
func TestFailedSignInKeepsTheSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Grace", "grace@example.com", "first compiler 1952")

	v := newVisitor(t, srv.URL)
	v.add(1, "3")
	before := v.cookie()

	db, err := sql.Open("sqlite", "file:"+srv.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every save of a session fails (the store writes with REPLACE INTO,
	// which runs INSERT triggers), as when the disk is full.
	if _, err := db.Exec(`CREATE TRIGGER refuse_saves BEFORE INSERT ON sessions
		BEGIN SELECT RAISE(ABORT, 'injected fault: no session can be saved'); END`); err != nil {
		t.Fatal(err)
	}
	r := v.post("/login", url.Values{"email": {"grace@example.com"}, "password": {"first compiler 1952"}})
	if _, err := db.Exec("DROP TRIGGER refuse_saves"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "POST /login while no session can be saved", r, http.StatusInternalServerError)
	if c := sessionCookie(r); c != nil {
		t.Errorf("the failed sign-in sent a cookie: %v", c)
	}
	if got := v.cookie(); got != before {
		t.Errorf("the browser's cookie changed from %s to %s", before, got)
	}
	if got := v.cart().quantities(); got[1] != 3 {
		t.Errorf("after the failed sign-in: got cart %v, want the 3 flour added before it", got)
	}
	redirectsTo(t, "GET /account after the failed sign-in", v.get("/account"), "/login?next=/account")
	// And the sign-in works once saves do.
	v.signIn("grace@example.com", "first compiler 1952", false)
	if got := v.cart().quantities(); got[1] != 3 {
		t.Errorf("after signing in: got cart %v, want the 3 flour kept", got)
	}
}
