package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/session"
)

const adaPassword = "correct horse battery"

// signIn posts the sign-in form and expects it to succeed.
func (b *browser) signIn(email, pw string, remember bool) {
	b.t.Helper()
	form := url.Values{"email": {email}, "password": {pw}}
	if remember {
		form.Set("remember", "on")
	}
	a := b.post("/login", form)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" {
		b.t.Fatalf("POST /login: got status %d to %q, want 303 to /account\n%s", a.status, a.header.Get("Location"), a.body)
	}
}

// jarCookie returns the cookie named name that the browser holds, or "".
func (b *browser) jarCookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookies returns the cookies an answer sets, by name.
func (a answer) setCookies() map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		m[c.Name] = c
	}
	return m
}

type accountJSON struct {
	Name     string `json:"name"`
	Email    string `json:"email"`
	Sessions []struct {
		ID         string `json:"id"`
		Device     string `json:"device"`
		SignedInAt string `json:"signedInAt"`
		LastSeenAt string `json:"lastSeenAt"`
		Current    bool   `json:"current"`
	} `json:"sessions"`
	Orders []struct {
		ID         int64  `json:"id"`
		TotalCents int64  `json:"totalCents"`
		CreatedAt  string `json:"createdAt"`
	} `json:"orders"`
}

func (b *browser) account() accountJSON {
	b.t.Helper()
	a := b.getJSON("/account")
	wantStatus(b.t, "GET /account", a, http.StatusOK)
	var acc accountJSON
	if err := json.Unmarshal([]byte(a.body), &acc); err != nil {
		b.t.Fatalf("GET /account: %v\n%s", err, a.body)
	}
	return acc
}

// signedIn reports whether the browser's next request is a signed-in one.
func (b *browser) signedIn() bool {
	b.t.Helper()
	switch a := b.getJSON("/account"); a.status {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	default:
		b.t.Fatalf("GET /account: got status %d, want 200 or 303", a.status)
		return false
	}
}

func TestRememberMeCookies(t *testing.T) {
	app := newTestApp(t, appOptions{idleTimeout: time.Hour, rememberFor: 48 * time.Hour})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)

	signIn := func(t *testing.T, remember bool) answer {
		t.Helper()
		b := newBrowser(t, app.url)
		form := url.Values{"email": {"ada@example.com"}, "password": {adaPassword}}
		if remember {
			form.Set("remember", "on")
		}
		a := b.post("/login", form)
		wantStatus(t, "POST /login", a, http.StatusSeeOther)
		return a
	}

	t.Run("without remember, the session cookie ends with the browser and there is no remember cookie", func(t *testing.T) {
		cookies := signIn(t, false).setCookies()
		s := cookies["session"]
		if s == nil || s.MaxAge != 0 || !s.Expires.IsZero() {
			t.Errorf("got session cookie %v, want one without Max-Age or Expires", s)
		}
		if r, ok := cookies["remember"]; ok {
			t.Errorf("got remember cookie %v, want none", r)
		}
	})

	t.Run("with remember, both cookies outlive the browser", func(t *testing.T) {
		cookies := signIn(t, true).setCookies()
		if s := cookies["session"]; s == nil || s.MaxAge <= 0 {
			t.Errorf("got session cookie %v, want a persistent one", s)
		}
		r := cookies["remember"]
		if r == nil {
			t.Fatal("got no remember cookie")
		}
		if r.MaxAge != 48*3600 || !r.HttpOnly || r.SameSite != http.SameSiteLaxMode || r.Path != "/" || r.Secure {
			t.Errorf("got remember cookie %q, want Max-Age=172800 (-remember-for), HttpOnly, SameSite=Lax, Path=/, not Secure over HTTP", r.String())
		}
		selector, secret, ok := strings.Cut(r.Value, ".")
		if !ok || len(selector) < 16 || len(secret) < 32 {
			t.Errorf("got remember value %q, want <selector>.<secret>", r.Value)
		}
	})

	t.Run("a guest's session cookie stays persistent", func(t *testing.T) {
		b := newBrowser(t, app.url)
		a := b.post("/cart/items", url.Values{"ingredient_id": {"1"}})
		if s := a.setCookies()["session"]; s == nil || s.MaxAge <= 0 {
			t.Errorf("got session cookie %v, want a persistent one", s)
		}
	})
}

func TestRememberMeSignsInAgainAfterTheSessionEnded(t *testing.T) {
	locker := newTestLocker()
	app := newTestApp(t, appOptions{memoryStore: true, locker: locker})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)
	ctx := context.Background()

	// endSession deletes the browser's session from the store, as its idle
	// timeout or the cleanup would.
	endSession := func(t *testing.T, b *browser) {
		t.Helper()
		if err := app.store.Delete(session.HashToken(b.cookie())); err != nil {
			t.Fatal(err)
		}
	}

	b := newBrowser(t, app.url)
	b.userAgent = "curl/8.5.0"
	b.signIn("ada@example.com", adaPassword, true)
	rowID := b.account().Sessions[0].ID

	t.Run("on the next request, under a new token, on the same line, with a new secret", func(t *testing.T) {
		oldToken, oldRemember := b.cookie(), b.jarCookie("remember")
		endSession(t, b)
		acc := b.account()
		if b.cookie() == oldToken || b.jarCookie("remember") == oldRemember {
			t.Errorf("got the same session token or remember cookie, want both new")
		}
		if len(acc.Sessions) != 1 || acc.Sessions[0].ID != rowID || !acc.Sessions[0].Current {
			t.Errorf("got sessions %+v, want the one line %s, current", acc.Sessions, rowID)
		}
	})

	t.Run("a HEAD with the remember cookie changes nothing", func(t *testing.T) {
		endSession(t, b)
		remember := b.jarCookie("remember")
		a := b.do(http.MethodHead, "/", "text/html", nil)
		if len(a.header.Values("Set-Cookie")) != 0 {
			t.Errorf("got Set-Cookie %q, want none", a.header.Values("Set-Cookie"))
		}
		if !b.signedIn() || b.jarCookie("remember") == remember {
			t.Errorf("the GET after the HEAD: want it signed in again, with a new remember cookie")
		}
	})

	t.Run("tabs reopened together restore it once; the others retry with the new cookies", func(t *testing.T) {
		endSession(t, b)
		remember := b.jarCookie("remember")
		selector, _, _ := strings.Cut(remember, ".")
		// The session cookie has ended too, as in a browser restarted after
		// the session's idle timeout: only the remember cookie is sent.
		tab := newBrowser(t, app.url)
		u, _ := url.Parse(app.url)
		tab.client.Jar.SetCookies(u, []*http.Cookie{{Name: "remember", Value: remember, Path: "/"}})

		key := "remember:" + selector // the selector stays; earlier restores queued here too
		earlier := locker.queuedCount(key)
		gate := locker.holdNext()
		first := tab.async(http.MethodGet, "/cart", nil)
		gate.waitReached(t)
		second := tab.async(http.MethodGet, "/cart", nil)
		locker.waitQueued(t, key, earlier+2)
		close(gate.open)

		if a := <-first; a.status != http.StatusOK || a.setCookies()["remember"] == nil {
			t.Fatalf("first tab: got status %d, cookies %v; want 200 with a new remember cookie", a.status, a.setCookies())
		}
		a := <-second
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/cart" || len(a.header.Values("Set-Cookie")) != 0 {
			t.Errorf("second tab: got status %d to %q with cookies %q, want 303 to /cart without any",
				a.status, a.header.Get("Location"), a.header.Values("Set-Cookie"))
		}
		if !tab.signedIn() {
			t.Errorf("after the retry: want the tab signed in")
		}
		b = tab
	})

	t.Run("a copy used after the device rotated its secret signs the device out", func(t *testing.T) {
		stolen := b.jarCookie("remember")
		endSession(t, b)
		if !b.signedIn() { // the device itself restores, and rotates the secret
			t.Fatal("the device was not signed in again")
		}
		ageRememberRotation(t, app, 2*time.Minute) // past the grace of the previous secret
		thief := newBrowser(t, app.url)
		u, _ := url.Parse(app.url)
		thief.client.Jar.SetCookies(u, []*http.Cookie{{Name: "remember", Value: stolen, Path: "/"}})
		if thief.signedIn() {
			t.Errorf("the stale copy signed in")
		}
		if thief.jarCookie("remember") != "" {
			t.Errorf("the stale copy was not cleared")
		}
		if b.signedIn() {
			t.Errorf("the device is still signed in after its cookie was used by someone else")
		}
		if list, err := app.db.AccountSessions(ctx, 1, time.Now()); err != nil || len(list) != 0 {
			t.Errorf("got account sessions %v, %v; want none", list, err)
		}
	})

	t.Run("a remember cookie that is not one is cleared", func(t *testing.T) {
		v := newBrowser(t, app.url)
		u, _ := url.Parse(app.url)
		v.client.Jar.SetCookies(u, []*http.Cookie{{Name: "remember", Value: "not-a-token", Path: "/"}})
		a := v.get("/")
		wantStatus(t, "GET /", a, http.StatusOK)
		if c := a.setCookies()["remember"]; c == nil || c.MaxAge >= 0 {
			t.Errorf("got remember cookie %v, want it cleared", c)
		}
	})
}

// ageRememberRotation moves the last replacement of every remember-me
// secret back by d, as if d had passed since.
func ageRememberRotation(t *testing.T, app *testApp, d time.Duration) {
	t.Helper()
	_, err := app.db.Write.Exec(
		"UPDATE account_sessions SET remember_rotated_at = strftime('%Y-%m-%dT%H:%M:%fZ', remember_rotated_at, ?)",
		fmt.Sprintf("-%d seconds", int(d.Seconds())))
	if err != nil {
		t.Fatal(err)
	}
}

// TestRememberMePreviousSecretHasAGrace: tabs reopened together after a
// browser restart all send the remember cookie they had. The first to be
// served replaces its secret; one whose request left before that answer
// arrived carries the previous secret, and must neither be taken for a
// stolen copy nor replace the secret again.
func TestRememberMePreviousSecretHasAGrace(t *testing.T) {
	ctx := context.Background()
	u := func(app *testApp) *url.URL { u, _ := url.Parse(app.url); return u }

	// restoreThenLate signs a browser in with remember me, ends its
	// session, and has it restored by a first tab; it returns the browser,
	// the first tab's answer, and a late tab holding the cookies the
	// browser had before that answer.
	restoreThenLate := func(t *testing.T) (app *testApp, b *browser, first answer, late *browser) {
		t.Helper()
		app = newTestApp(t, appOptions{memoryStore: true})
		app.createUser(t, "Ada", "ada@example.com", adaPassword)
		b = newBrowser(t, app.url)
		b.signIn("ada@example.com", adaPassword, true)
		if err := app.store.Delete(session.HashToken(b.cookie())); err != nil {
			t.Fatal(err)
		}
		late = newBrowser(t, app.url)
		late.client.Jar.SetCookies(u(app), b.client.Jar.Cookies(u(app)))
		first = b.getJSON("/account")
		if first.status != http.StatusOK || first.setCookies()["remember"] == nil {
			t.Fatalf("first tab: got status %d, cookies %v; want 200 with a new remember cookie", first.status, first.setCookies())
		}
		return app, b, first, late
	}
	// arrive gives the browser the cookies of answers, in the order given.
	arrive := func(app *testApp, b *browser, answers ...answer) {
		for _, a := range answers {
			var list []*http.Cookie
			for _, c := range a.setCookies() {
				list = append(list, c)
			}
			b.client.Jar.SetCookies(u(app), list)
		}
	}
	wantOneRow := func(t *testing.T, app *testApp) {
		t.Helper()
		if list, err := app.db.AccountSessions(ctx, 1, time.Now()); err != nil || len(list) != 1 {
			t.Errorf("got account sessions %v, %v; want the device's one line", list, err)
		}
	}

	t.Run("a tab that sent the previous secret is signed in, and gets no new remember cookie", func(t *testing.T) {
		app, b, first, late := restoreThenLate(t)
		a := late.getJSON("/account")
		if a.status != http.StatusOK {
			t.Fatalf("late tab: got status %d, want 200\n%s", a.status, a.body)
		}
		if c := a.setCookies(); c["remember"] != nil || c["session"] == nil {
			t.Errorf("late tab: got cookies %v, want a session cookie and no remember cookie", c)
		}
		arrive(app, b, first, a)
		if !b.signedIn() {
			t.Errorf("the browser is signed out, want it signed in")
		}
		if got, want := b.jarCookie("remember"), first.setCookies()["remember"].Value; got != want {
			t.Errorf("got remember cookie %q, want the first tab's %q", got, want)
		}
		wantOneRow(t, app)
	})

	t.Run("the browser stays signed in when the late tab's answer arrives first", func(t *testing.T) {
		app, b, first, late := restoreThenLate(t)
		a := late.getJSON("/account")
		wantStatus(t, "late tab", a, http.StatusOK)
		// The row moved to the late tab's session; the browser keeps the
		// first tab's, and its current remember cookie signs it in again.
		arrive(app, b, a, first)
		if !b.signedIn() {
			t.Errorf("the browser is signed out, want it signed in")
		}
		if b.jarCookie("remember") == "" {
			t.Errorf("the remember cookie was cleared")
		}
		wantOneRow(t, app)
	})

	theft := []struct {
		name   string
		before func(t *testing.T, app *testApp, late *browser)
	}{
		{"the previous secret after the grace is a stolen copy: the device is signed out", func(t *testing.T, app *testApp, late *browser) {
			ageRememberRotation(t, app, 2*time.Minute)
		}},
		{"any other secret for the selector, within the grace, is a stolen copy: the device is signed out", func(t *testing.T, app *testApp, late *browser) {
			selector, _, _ := strings.Cut(late.jarCookie("remember"), ".")
			forged := selector + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 32))
			late.client.Jar.SetCookies(u(app), []*http.Cookie{{Name: "remember", Value: forged, Path: "/"}})
		}},
	}
	for _, tc := range theft {
		t.Run(tc.name, func(t *testing.T) {
			app, b, _, late := restoreThenLate(t)
			tc.before(t, app, late)
			if late.signedIn() {
				t.Errorf("the late tab signed in, want a guest")
			}
			if late.jarCookie("remember") != "" {
				t.Errorf("the late tab's remember cookie was not cleared")
			}
			if b.signedIn() {
				t.Errorf("the device is still signed in, want it signed out")
			}
			if list, err := app.db.AccountSessions(ctx, 1, time.Now()); err != nil || len(list) != 0 {
				t.Errorf("got account sessions %v, %v; want none", list, err)
			}
		})
	}
}

func TestAccountListsItsSessions(t *testing.T) {
	app := newTestApp(t, appOptions{})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)
	laptop, phone := newBrowser(t, app.url), newBrowser(t, app.url)
	laptop.userAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
	phone.userAgent = "curl/8.5.0"
	laptop.signIn("ada@example.com", adaPassword, false)
	phone.signIn("ada@example.com", adaPassword, false)

	acc := laptop.account()
	if acc.Name != "Ada" || acc.Email != "ada@example.com" || len(acc.Sessions) != 2 {
		t.Fatalf("got %+v, want Ada's account with two sessions", acc)
	}
	devices := map[string]bool{}
	for _, s := range acc.Sessions {
		devices[s.Device] = s.Current
		for _, at := range []string{s.SignedInAt, s.LastSeenAt} {
			if _, err := time.Parse(time.RFC3339, at); err != nil {
				t.Errorf("time %q is not RFC 3339: %v", at, err)
			}
		}
		if strings.Contains(s.ID, laptop.cookie()) || s.ID == session.HashToken(laptop.cookie()) ||
			s.ID == session.HashToken(phone.cookie()) {
			t.Errorf("session id %q is a token or its hash", s.ID)
		}
	}
	if current, ok := devices["Firefox on Linux"]; !ok || !current {
		t.Errorf("got devices %v, want Firefox on Linux, current", devices)
	}
	if current, ok := devices["curl"]; !ok || current {
		t.Errorf("got devices %v, want curl, not current", devices)
	}

	t.Run("signing out the other one makes it a guest, and it leaves the list", func(t *testing.T) {
		var phoneID string
		for _, s := range acc.Sessions {
			if !s.Current {
				phoneID = s.ID
			}
		}
		storedBefore := app.sessionRows(t)
		a := laptop.post("/account/sessions/"+phoneID+"/sign-out", nil)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" {
			t.Fatalf("got status %d to %q, want 303 to /account", a.status, a.header.Get("Location"))
		}
		if got := app.sessionRows(t); got != storedBefore-1 {
			t.Errorf("got %d stored sessions, want %d: the signed-out one's data deleted", got, storedBefore-1)
		}
		if phone.signedIn() {
			t.Errorf("the signed-out phone is still signed in")
		}
		if got := laptop.account().Sessions; len(got) != 1 || !got[0].Current {
			t.Errorf("got sessions %+v, want this one only", got)
		}
		wantStatus(t, "signing it out again", laptop.post("/account/sessions/"+phoneID+"/sign-out", nil), http.StatusNotFound)
	})
}

// Redis mode over per-instance databases: a session signed in on A's
// database is a guest on B, whose account of the same id is someone else.
func TestSessionOfAnotherDatabaseIsAGuestAndLeftAlone(t *testing.T) {
	a := newTestApp(t, appOptions{memoryStore: true})
	b := newTestApp(t, appOptions{store: a.store})
	a.createUser(t, "Ada", "ada@example.com", adaPassword)
	b.createUser(t, "Bob", "bob@example.com", adaPassword) // the same id, 1, in B's database

	onA := newBrowser(t, a.url)
	onA.signIn("ada@example.com", adaPassword, false)
	onB := &browser{t: t, base: b.url, client: onA.client} // the same browser, sent to B
	u, _ := url.Parse(b.url)
	onB.client.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: onA.cookie(), Path: "/"}})

	if onB.signedIn() {
		t.Errorf("on B: signed in, as %s; want a guest", onB.getJSON("/account").body)
	}
	if home := onB.get("/"); strings.Contains(home.body, `action="/logout"`) || !strings.Contains(home.body, `href="/signup"`) {
		t.Errorf("B's home page: want a guest's navigation, with Sign up and no Sign out")
	}
	if got := onA.account(); got.Name != "Ada" {
		t.Errorf("back on A: got %+v, want still signed in as Ada", got)
	}
}

// Neither a password, nor a session token, nor a remember-me token, nor
// their hashes are ever written to the log.
func TestLogHoldsNoPasswordOrToken(t *testing.T) {
	app := newTestApp(t, appOptions{memoryStore: true})
	b := newBrowser(t, app.url)
	a := b.post("/signup", url.Values{"name": {"Ada"}, "email": {"ada@example.com"}, "password": {adaPassword}})
	wantStatus(t, "POST /signup", a, http.StatusSeeOther)
	secrets := []string{adaPassword, "wrong password 1"}
	wantStatus(t, "wrong password", b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong password 1"}}),
		http.StatusUnprocessableEntity)
	b.signIn("ada@example.com", adaPassword, true)
	secrets = append(secrets, b.cookie(), b.jarCookie("remember"))
	if err := app.store.Delete(session.HashToken(b.cookie())); err != nil {
		t.Fatal(err)
	}
	b.account() // restored from the remember cookie
	secrets = append(secrets, b.cookie(), b.jarCookie("remember"))
	wantStatus(t, "change of password", b.post("/account/password", url.Values{"current_password": {"nope nope"}, "new_password": {"a new password"}}),
		http.StatusUnprocessableEntity)
	secrets = append(secrets, "nope nope", "a new password")

	log := app.log.String()
	if !strings.Contains(log, "path=/login") {
		t.Fatalf("the log has no request lines:\n%s", log)
	}
	for _, s := range secrets {
		for _, form := range []string{s, session.HashToken(s), url.QueryEscape(s)} {
			if strings.Contains(log, form) {
				t.Errorf("the log holds %q:\n%s", form, log)
			}
		}
	}
	for _, page := range []string{"/account", "/session", "/"} {
		body := b.get(page).body
		for _, s := range secrets {
			if strings.Contains(body, s) || strings.Contains(body, session.HashToken(s)) {
				t.Errorf("%s shows %q", page, s)
			}
		}
	}
}

func TestSignInThrottleAndNext(t *testing.T) {
	app := newTestApp(t, appOptions{})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)

	t.Run("next leads to a local page, and nowhere else", func(t *testing.T) {
		for next, want := range map[string]string{
			"/cart":                "/cart",
			"//evil.example":       "/account",
			"https://evil.example": "/account",
			"/\\evil.example":      "/account",
		} {
			b := newBrowser(t, app.url)
			form := b.get("/login?next=" + url.QueryEscape(next))
			wantStatus(t, "GET /login", form, http.StatusOK)
			if local := want != "/account"; local != strings.Contains(form.body, `action="/login?next=`) {
				t.Errorf("next %q: the form's action keeps it: %t, want %t", next, !local, local)
			}
			a := b.post("/login?next="+url.QueryEscape(next), url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
			if a.status != http.StatusSeeOther || a.header.Get("Location") != want {
				t.Errorf("next %q: got status %d to %q, want 303 to %s", next, a.status, a.header.Get("Location"), want)
			}
		}
	})

	t.Run("after 5 failures the email is refused, even with the right password", func(t *testing.T) {
		b := newBrowser(t, app.url)
		wrong := url.Values{"email": {"ada@example.com"}, "password": {"not the password"}}
		for i := range 5 {
			a := b.post("/login", wrong)
			wantStatus(t, "failure "+strconv.Itoa(i+1), a, http.StatusUnprocessableEntity)
			if !strings.Contains(a.body, "Wrong email or password.") {
				t.Errorf("failure %d: want the one message for both", i+1)
			}
		}
		a := b.post("/login", url.Values{"email": {"ADA@example.com"}, "password": {adaPassword}})
		wantStatus(t, "the sixth attempt", a, http.StatusTooManyRequests)
		if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
			t.Errorf("got Retry-After %q, want whole seconds up to 900", a.header.Get("Retry-After"))
		}
		if b.signedIn() {
			t.Errorf("signed in while refused")
		}
	})
}
