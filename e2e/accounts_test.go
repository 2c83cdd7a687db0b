package e2e

// Accounts: sign-up, the account page and its list of sessions, signing
// other sessions out, remember me, the password change, and orders that
// belong to an account. Sign-in and sign-out themselves are in
// auth_test.go.

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/redistest"
)

// User-Agents of the two devices the session list tells apart, and the
// names it must show for them.
const (
	curlUA        = "curl/8.0"
	curlDevice    = "curl"
	firefoxUA     = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	firefoxDevice = "Firefox on Linux"
)

// Passwords of the tests' accounts. They are long and odd enough that
// finding one in a page or a log line means it was written there.
const (
	adaPassword = "analytical-engine-1843"
	bobPassword = "difference-engine-1822"
)

// accountJSON is the JSON form of GET /account.
type accountJSON struct {
	Name     string               `json:"name"`
	Email    string               `json:"email"`
	Sessions []accountSessionJSON `json:"sessions"`
	Orders   []accountOrderJSON   `json:"orders"`
}

type accountSessionJSON struct {
	ID         string `json:"id"`
	Device     string `json:"device"`
	SignedInAt string `json:"signedInAt"`
	LastSeenAt string `json:"lastSeenAt"`
	Current    bool   `json:"current"`
}

type accountOrderJSON struct {
	ID         int64  `json:"id"`
	TotalCents int64  `json:"totalCents"`
	CreatedAt  string `json:"createdAt"`
}

// accountOf reads v's /account as JSON and fails unless v is signed in.
func accountOf(t testing.TB, v *visitor) accountJSON {
	t.Helper()
	r := v.getJSON("/account")
	wantStatus(t, "GET /account (JSON)", r, http.StatusOK)
	var a accountJSON
	if err := json.Unmarshal([]byte(r.Body), &a); err != nil {
		t.Fatalf("GET /account: %v\n%s", err, r.Body)
	}
	return a
}

// current returns the one session of the list marked current, and fails
// unless there is exactly one.
func (a accountJSON) current(t testing.TB) accountSessionJSON {
	t.Helper()
	var found []accountSessionJSON
	for _, s := range a.Sessions {
		if s.Current {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("got %d sessions marked current, want exactly 1: %+v", len(found), a.Sessions)
	}
	return found[0]
}

// devices returns the devices of the list, sorted.
func (a accountJSON) devices() []string {
	var d []string
	for _, s := range a.Sessions {
		d = append(d, s.Device)
	}
	slices.Sort(d)
	return d
}

// wantGuest fails unless v is a guest: /account sends it to sign in.
func wantGuest(t testing.TB, what string, v *visitor) {
	t.Helper()
	wantSignInRedirect(t, what+": GET /account", v.get("/account"))
}

// wantSignInRedirect fails unless r is the 303 that sends a guest from
// /account to the sign-in form, which will bring it back.
func wantSignInRedirect(t testing.TB, what string, r response) {
	t.Helper()
	wantStatus(t, what, r, http.StatusSeeOther)
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Path != "/login" || loc.Host != "" || len(loc.Query()) != 1 || loc.Query().Get("next") != "/account" {
		t.Fatalf("%s: got Location %q, want /login?next=/account", what, r.Header.Get("Location"))
	}
}

// wantTokenLeadsNowhere fails unless a browser holding only this session
// token (one renewed or destroyed: a thief's copy) is a guest. A token
// renewed moments ago may instead get the 303 to the same page that tells
// a request still in flight to retry with the cookie its browser holds now
// (see web.retryWithCurrentCookie): that gives nothing away either.
func wantTokenLeadsNowhere(t testing.TB, what, base, token string) {
	t.Helper()
	v := newVisitorWithCookies(t, base, &http.Cookie{Name: "session", Value: token})
	r := v.getJSON("/account")
	if r.Status == http.StatusSeeOther && r.Header.Get("Location") == "/account" && sessionCookie(r) == nil {
		return
	}
	wantSignInRedirect(t, what+": GET /account", r)
}

// accountsUATransport sends every request with one User-Agent, as one
// browser or tool does.
type accountsUATransport struct{ userAgent string }

func (tr accountsUATransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", tr.userAgent)
	return http.DefaultTransport.RoundTrip(req)
}

// newVisitorWithUA is a visitor whose requests carry userAgent.
func newVisitorWithUA(t testing.TB, base, userAgent string) *visitor {
	t.Helper()
	v := newVisitor(t, base)
	v.client.Transport = accountsUATransport{userAgent}
	return v
}

// newVisitorWithCookies is a browser whose jar holds only these cookies:
// one restarted, which kept its persistent cookies and dropped the others,
// or a thief's, holding a copied cookie.
func newVisitorWithCookies(t testing.TB, base string, cookies ...*http.Cookie) *visitor {
	t.Helper()
	v := newVisitor(t, base)
	u, _ := url.Parse(base)
	for _, c := range cookies {
		v.jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	}
	return v
}

// jarCookie returns the value of the named cookie v's jar holds, or "".
func jarCookie(v *visitor, name string) string {
	u, _ := url.Parse(v.base)
	for _, c := range v.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// responseCookie returns the last cookie named name that r sets, or nil.
func responseCookie(r response, name string) *http.Cookie {
	var found *http.Cookie
	for _, line := range r.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == name {
			found = c
		}
	}
	return found
}

// clearsCookie reports whether c tells the browser to drop its cookie.
func clearsCookie(c *http.Cookie) bool {
	return c != nil && (c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())))
}

// persistent reports whether c outlives the browser: it has a Max-Age or an
// Expires in the future.
func persistent(c *http.Cookie) bool {
	return c.MaxAge > 0 || c.RawExpires != ""
}

// rememberRE is the remember cookie's value: a selector and a secret, both
// base64url.
var rememberRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)

// signInRemembered signs v in with "remember me" and returns the remember
// cookie the answer sets.
func signInRemembered(t testing.TB, v *visitor, email, password string) *http.Cookie {
	t.Helper()
	r := v.post("/login", url.Values{"email": {email}, "password": {password}, "remember": {"on"}})
	redirectsTo(t, "POST /login (remember)", r, "/account")
	c := responseCookie(r, "remember")
	if c == nil || c.Value == "" || clearsCookie(c) {
		t.Fatalf("POST /login with remember set no remember cookie: %q", r.Header.Values("Set-Cookie"))
	}
	return c
}

// ageRememberRotations moves the last replacement of every remember-me
// secret in the database at dbPath back by d, as if d had passed since:
// the previous secret works for a minute after its replacement.
func ageRememberRotations(t testing.TB, dbPath string, d time.Duration) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(
		"UPDATE account_sessions SET remember_rotated_at = strftime('%Y-%m-%dT%H:%M:%fZ', remember_rotated_at, ?)",
		fmt.Sprintf("-%d seconds", int(d.Seconds())))
	if err != nil {
		t.Fatalf("age the remember-me rotations: %v", err)
	}
}

// wantRFC3339 fails unless s is an RFC 3339 time within a day of now.
func wantRFC3339(t testing.TB, what, s string) {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Errorf("%s: got %q, want an RFC 3339 time: %v", what, s, err)
		return
	}
	if d := time.Since(at); d < -time.Hour || d > 24*time.Hour {
		t.Errorf("%s: got %s, want a time of today", what, s)
	}
}

// longEmail returns a valid-looking address of exactly n bytes (n > 9),
// its domain made of labels of at most 50 characters.
func longEmail(n int) string {
	var domain strings.Builder
	rest := n - len("ada@") - len(".com")
	for label := 'a'; rest > 50; label++ {
		domain.WriteString(strings.Repeat(string(label), 49) + ".")
		rest -= 50
	}
	domain.WriteString(strings.Repeat("z", rest))
	return "ada@" + domain.String() + ".com"
}

func TestSignUpSignsInKeepingTheCart(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)

	t.Run("the form asks for name, email and password", func(t *testing.T) {
		r := v.get("/signup")
		wantStatus(t, "GET /signup", r, http.StatusOK)
		for _, s := range []string{`action="/signup"`, `name="name"`, `name="email"`, `name="password"`, `type="password"`} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("the sign-up page has no %s", s)
			}
		}
	})

	v.add(4, "2")
	wantStatus(t, "GET /ingredients/3", v.get("/ingredients/3"), http.StatusOK)
	guestToken := v.cookie()
	viewedBefore := v.values()["recentlyViewed"]

	r := v.post("/signup", url.Values{"name": {"  Ada Lovelace  "}, "email": {"Ada@Example.com"}, "password": {adaPassword}})
	redirectsTo(t, "POST /signup", r, "/account")

	t.Run("signing up signs in with a new token", func(t *testing.T) {
		if v.cookie() == guestToken || v.cookie() == "" {
			t.Errorf("got token %q after sign-up, want a new one", v.cookie())
		}
		a := accountOf(t, v)
		if a.Name != "Ada Lovelace" || a.Email != "Ada@Example.com" {
			t.Errorf("got name %q, email %q; want the trimmed name and the email as typed", a.Name, a.Email)
		}
		if len(a.Sessions) != 1 || !a.Sessions[0].Current {
			t.Errorf("got sessions %+v, want this one only", a.Sessions)
		}
	})

	t.Run("the cart and recently viewed survive sign-up", func(t *testing.T) {
		if got := v.cart().quantities(); len(got) != 1 || got[4] != 2 {
			t.Errorf("got cart %v after sign-up, want ingredient 4 × 2", got)
		}
		if got := v.values()["recentlyViewed"]; fmt.Sprint(got) != fmt.Sprint(viewedBefore) {
			t.Errorf("got recentlyViewed %v after sign-up, want %v", got, viewedBefore)
		}
	})

	t.Run("the session holds the account's id and nothing else about it", func(t *testing.T) {
		vals := v.values()
		if _, ok := vals["userId"].(float64); !ok {
			t.Errorf("got userId %v (%T), want the account's id", vals["userId"], vals["userId"])
		}
		for _, k := range []string{"userName", "userEmail"} {
			if _, ok := vals[k]; ok {
				t.Errorf("the session holds %s = %v, want only the id", k, vals[k])
			}
		}
		all, _ := json.Marshal(v.values("flash")) // a flash may greet her by name
		for _, s := range []string{"Ada Lovelace", "Example.com", adaPassword} {
			if strings.Contains(string(all), s) {
				t.Errorf("the session's values hold %q: %s", s, all)
			}
		}
	})

	t.Run("the password is stored only as an argon2id hash", func(t *testing.T) {
		var hash string
		if err := db.QueryRow("SELECT password_hash FROM users WHERE email = 'ada@example.com'").Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, adaPassword) {
			t.Errorf("got password_hash %q, want an argon2id PHC string", hash)
		}
	})

	t.Run("the guest token from before sign-up leads to nothing", func(t *testing.T) {
		thief := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "session", Value: guestToken})
		vals := thief.values()
		for _, k := range []string{"userId", "chosenIngredients"} {
			if _, ok := vals[k]; ok {
				t.Errorf("the old token still reads %s: %v", k, vals)
			}
		}
		wantGuest(t, "the old token", thief)
	})
}

func TestSignUpRefusesAnEmailAlreadyTaken(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)

	const otherPassword = "someone-else-entirely"
	for _, email := range []string{"ada@example.com", "ADA@EXAMPLE.COM", "Ada@Example.Com"} {
		t.Run(email, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			wantStatus(t, "GET /", v.get("/"), http.StatusOK)
			token := v.cookie()
			r := v.post("/signup", url.Values{"name": {"Ada Impostor"}, "email": {email}, "password": {otherPassword}})
			wantStatus(t, "POST /signup", r, http.StatusUnprocessableEntity)
			for _, s := range []string{`value="Ada Impostor"`, `value="` + htmlAttr(email) + `"`} {
				if !strings.Contains(r.Body, s) {
					t.Errorf("the form does not keep the typed value: no %s", s)
				}
			}
			if !strings.Contains(strings.ToLower(pageText(r.Body)), "already") {
				t.Errorf("the page does not say the email is already taken:\n%s", pageText(r.Body))
			}
			if strings.Contains(r.Body, otherPassword) {
				t.Errorf("the page holds the typed password")
			}
			if got := dbCount(t, db, "users"); got != 1 {
				t.Errorf("got %d users, want 1", got)
			}
			if v.cookie() != token {
				t.Errorf("the token changed on a refused sign-up")
			}
			wantGuest(t, "after the refused sign-up", v)
		})
	}

	t.Run("the account keeps its password", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		wantStatus(t, "POST /login with the impostor's password",
			v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {otherPassword}}), http.StatusUnprocessableEntity)
		v.signIn("ada@example.com", adaPassword, false)
		if got := accountOf(t, v).Name; got != "Ada Lovelace" {
			t.Errorf("got name %q, want Ada Lovelace", got)
		}
	})
}

// TestSignUpRefusesBadFields: each invalid form comes back with 422, the
// valid fields as typed, never the password, and nothing created or
// changed.
func TestSignUpRefusesBadFields(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)

	const name, email, password = "Ada Lovelace", "ada@example.com", "a long enough password"
	tests := []struct {
		name                          string
		formName, formEmail, formPass string
		wantMessage                   string // "" when the wording is the app's choice
	}{
		{"empty name", "", email, password, "Please enter your name."},
		{"blank name", "   ", email, password, "Please enter your name."},
		{"name of 101 characters", strings.Repeat("a", 101), email, password, "at most 100 characters"},
		{"name with a zero-width space", "Ada\u200bLovelace", email, password, "control or invisible characters"},
		{"name with a newline", "Ada\nLovelace", email, password, "control or invisible characters"},
		{"name with a right-to-left override", "Ada\u202eLovelace", email, password, "control or invisible characters"},
		{"empty email", name, "", password, ""},
		{"email without @", name, "ada.example.com", password, "valid email address"},
		{"email with a display name", name, "Ada <ada@example.com>", password, "valid email address"},
		{"email of 255 characters", name, longEmail(255), password, ""},
		{"email with a zero-width space", name, "ada\u200b@example.com", password, ""},
		{"empty password", name, email, "", ""},
		{"password of 7 characters", name, email, "seven77", ""},
		{"password of 7 two-byte characters", name, email, strings.Repeat("é", 7), ""},
		{"password of 129 characters", name, email, strings.Repeat("p", 129), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			wantStatus(t, "GET /", v.get("/"), http.StatusOK)
			token, users := v.cookie(), dbCount(t, db, "users")
			r := v.post("/signup", url.Values{"name": {tt.formName}, "email": {tt.formEmail}, "password": {tt.formPass}})
			wantStatus(t, "POST /signup", r, http.StatusUnprocessableEntity)
			if tt.wantMessage != "" {
				wantText(t, "POST /signup", r, tt.wantMessage)
			}
			if tt.formName == name && !strings.Contains(r.Body, `value="`+name+`"`) {
				t.Errorf("the form does not keep the valid name")
			}
			if tt.formEmail == email && !strings.Contains(r.Body, `value="`+email+`"`) {
				t.Errorf("the form does not keep the valid email")
			}
			if tt.formPass != "" && strings.Contains(r.Body, tt.formPass) {
				t.Errorf("the page holds the typed password")
			}
			if got := dbCount(t, db, "users"); got != users {
				t.Errorf("got %d users, want %d as before", got, users)
			}
			if v.cookie() != token {
				t.Errorf("the token changed on a refused sign-up")
			}
			wantGuest(t, "after the refused sign-up", v)
		})
	}

	// The limits are inclusive, and count characters, not bytes.
	accepted := []struct {
		name, formName, formEmail, formPass, wantName string
	}{
		{"name of 100 characters between spaces", "  " + strings.Repeat("n", 100) + "  ", "n100@example.com", password, strings.Repeat("n", 100)},
		{"name of 100 two-byte characters", strings.Repeat("é", 100), "e100@example.com", password, strings.Repeat("é", 100)},
		{"email of 254 characters", name, longEmail(254), password, name},
		{"password of 8 characters", name, "p8@example.com", "eight888", name},
		{"password of 8 two-byte characters", name, "p8e@example.com", strings.Repeat("é", 8), name},
		{"password of 128 two-byte characters", name, "p128@example.com", strings.Repeat("é", 128), name},
	}
	for _, tt := range accepted {
		t.Run(tt.name+" is accepted", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			v.signUp(tt.formName, tt.formEmail, tt.formPass)
			if got := accountOf(t, v); got.Name != tt.wantName || got.Email != tt.formEmail {
				t.Errorf("got name %q, email %q; want %q, %q", got.Name, got.Email, tt.wantName, tt.formEmail)
			}
			other := newVisitor(t, srv.URL)
			other.signIn(tt.formEmail, tt.formPass, false)
			accountOf(t, other)
		})
	}
}

func TestAccountRedirectsGuestsToSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)

	guest := newVisitor(t, srv.URL)
	wantSignInRedirect(t, "GET /account (HTML)", guest.get("/account"))
	wantSignInRedirect(t, "GET /account (JSON)", guest.getJSON("/account"))

	t.Run("the sign-in form it leads to brings the visitor back to /account", func(t *testing.T) {
		action := loginFormAction(t, guest, "/login?next=/account")
		r := guest.post(action, url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
		redirectsTo(t, "POST "+action, r, "/account")
		accountOf(t, guest)
	})
}

// loginFormAction loads page, a sign-in form, and returns where its form
// posts to, as a browser would read it.
func loginFormAction(t testing.TB, v *visitor, page string) string {
	t.Helper()
	r := v.get(page)
	wantStatus(t, "GET "+page, r, http.StatusOK)
	m := regexp.MustCompile(`<form[^>]*\saction="(/login[^"]*)"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("GET %s: no form posting to /login:\n%s", page, r.Body)
	}
	return html.UnescapeString(m[1])
}

func TestAccountPageListsTheSessionsOfTheAccount(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	withCurl := newVisitorWithUA(t, srv.URL, curlUA)
	withFirefox := newVisitorWithUA(t, srv.URL, firefoxUA)
	withCurl.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	withFirefox.signIn("ada@example.com", adaPassword, false)

	jars := []struct {
		name   string
		v      *visitor
		device string
	}{{"curl", withCurl, curlDevice}, {"Firefox", withFirefox, firefoxDevice}}

	var ids [][]string
	for _, jar := range jars {
		t.Run("seen from "+jar.name+", two lines, this one current", func(t *testing.T) {
			a := accountOf(t, jar.v)
			if got, want := a.devices(), []string{firefoxDevice, curlDevice}; !slices.Equal(got, want) {
				t.Errorf("got devices %q, want %q", got, want)
			}
			if got := a.current(t).Device; got != jar.device {
				t.Errorf("got current device %q, want %q", got, jar.device)
			}
			var list []string
			for _, s := range a.Sessions {
				wantRFC3339(t, "signedInAt", s.SignedInAt)
				wantRFC3339(t, "lastSeenAt", s.LastSeenAt)
				list = append(list, s.ID)
			}
			slices.Sort(list)
			ids = append(ids, list)
		})
	}
	if len(ids) == 2 && !slices.Equal(ids[0], ids[1]) {
		t.Errorf("the two jars see different ids: %q and %q", ids[0], ids[1])
	}

	t.Run("an id is neither a token nor a token's hash", func(t *testing.T) {
		for _, jar := range jars {
			token := jar.v.cookie()
			for _, id := range accountOf(t, jar.v).Sessions {
				for _, secret := range []string{token, storeKey(token), sha256Hex(token)} {
					if id.ID == "" || strings.Contains(id.ID, secret) || strings.Contains(secret, id.ID) {
						t.Errorf("session id %q gives away %q", id.ID, secret)
					}
				}
			}
		}
	})

	t.Run("the page shows the account and its sessions", func(t *testing.T) {
		r := withCurl.get("/account")
		wantStatus(t, "GET /account", r, http.StatusOK)
		wantText(t, "GET /account", r, "Ada Lovelace", "ada@example.com", "Your sessions", curlDevice, firefoxDevice, "this one")
		for _, jar := range jars {
			if token := jar.v.cookie(); strings.Contains(r.Body, token) || strings.Contains(r.Body, storeKey(token)) {
				t.Errorf("the page holds the token of the %s session, or its hash", jar.name)
			}
		}
	})

	t.Run("the navigation shows the account", func(t *testing.T) {
		nav := navOf(t, withCurl.get("/"))
		for _, s := range []string{"Ada Lovelace", "Account", `href="/account"`, `action="/logout"`} {
			if !strings.Contains(nav, s) {
				t.Errorf("the signed-in navigation has no %s:\n%s", s, nav)
			}
		}
		if strings.Contains(nav, `href="/signup"`) {
			t.Errorf("the signed-in navigation still offers to sign up:\n%s", nav)
		}
	})
}

// sha256Hex is a token's SHA-256 in hex: another way a hash could leak.
func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sessionIDOf returns the id of the line the visitor's own /account marks
// current.
func sessionIDOf(t testing.TB, v *visitor) string {
	t.Helper()
	return accountOf(t, v).current(t).ID
}

func TestSignOutOfOneSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ada := newVisitorWithUA(t, srv.URL, curlUA)
	ada.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	other := newVisitorWithUA(t, srv.URL, firefoxUA)
	other.add(2, "3")
	other.signIn("ada@example.com", adaPassword, false)
	otherID := sessionIDOf(t, other)
	bob := newVisitor(t, srv.URL)
	bob.signUp("Bob Babbage", "bob@example.com", bobPassword)
	bobID := sessionIDOf(t, bob)

	notFound := []struct{ name, id string }{
		{"another account's session", bobID},
		{"a random string", "not-a-session-id"},
		{"a token", ada.cookie()},
		{"a token's hash", storeKey(other.cookie())},
	}
	for _, tt := range notFound {
		t.Run("an id of "+tt.name+" is 404", func(t *testing.T) {
			r := ada.post("/account/sessions/"+url.PathEscape(tt.id)+"/sign-out", nil)
			wantStatus(t, "POST /account/sessions/{id}/sign-out", r, http.StatusNotFound)
		})
	}
	t.Run("the 404s signed no one out", func(t *testing.T) {
		if got := len(accountOf(t, ada).Sessions); got != 2 {
			t.Errorf("got %d sessions of ada, want 2", got)
		}
		accountOf(t, other)
		accountOf(t, bob)
	})

	t.Run("the session signed out is a guest at its next request, its cart gone", func(t *testing.T) {
		r := ada.post("/account/sessions/"+otherID+"/sign-out", nil)
		wantStatus(t, "POST /account/sessions/{id}/sign-out", r, http.StatusSeeOther)
		wantGuest(t, "the signed-out jar", other)
		if got := other.cart(); len(got.Items) != 0 {
			t.Errorf("got cart %v in the signed-out jar, want it empty", got.Items)
		}
		a := accountOf(t, ada)
		if len(a.Sessions) != 1 || a.current(t).Device != curlDevice {
			t.Errorf("got sessions %+v, want only this one", a.Sessions)
		}
	})

	t.Run("an id already signed out is 404", func(t *testing.T) {
		wantStatus(t, "POST again", ada.post("/account/sessions/"+otherID+"/sign-out", nil), http.StatusNotFound)
	})

	t.Run("a guest cannot sign a session out", func(t *testing.T) {
		r := newVisitor(t, srv.URL).post("/account/sessions/"+bobID+"/sign-out", nil)
		if r.Status < 300 || r.Status >= 500 {
			t.Errorf("got status %d, want a redirect or a 4xx", r.Status)
		}
		accountOf(t, bob)
	})

	t.Run("signing out the current session by its id is signing out", func(t *testing.T) {
		third := newVisitor(t, srv.URL)
		third.signIn("ada@example.com", adaPassword, false)
		logout := third.post("/logout", nil)
		wantStatus(t, "POST /logout", logout, http.StatusSeeOther)

		token := ada.cookie()
		r := ada.post("/account/sessions/"+sessionIDOf(t, ada)+"/sign-out", nil)
		redirectsTo(t, "POST /account/sessions/{current}/sign-out", r, logout.Header.Get("Location"))
		if ada.cookie() == token {
			t.Errorf("the token did not change")
		}
		wantGuest(t, "after signing out the current session", ada)
		wantTokenLeadsNowhere(t, "the old token", srv.URL, token)
		accountOf(t, bob)
	})
}

func TestSignOutOfEveryOtherSession(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	ada := newVisitorWithUA(t, srv.URL, curlUA)
	ada.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	plain := newVisitorWithUA(t, srv.URL, firefoxUA)
	plain.signIn("ada@example.com", adaPassword, false)
	remembered := newVisitor(t, srv.URL)
	rememberCookie := signInRemembered(t, remembered, "ada@example.com", adaPassword)
	bob := newVisitor(t, srv.URL)
	bob.signUp("Bob Babbage", "bob@example.com", bobPassword)
	if got := len(accountOf(t, ada).Sessions); got != 3 {
		t.Fatalf("got %d sessions before, want 3", got)
	}
	r := ada.post("/account/sessions/sign-out-others", nil)
	wantStatus(t, "POST /account/sessions/sign-out-others", r, http.StatusSeeOther)

	t.Run("the other sessions are guests at their next request", func(t *testing.T) {
		wantGuest(t, "the plain session", plain)
		wantGuest(t, "the remembered session", remembered)
		wantGuest(t, "a browser with only the remember cookie",
			newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: rememberCookie.Value}))
	})
	t.Run("this session stays signed in, alone in the list", func(t *testing.T) {
		a := accountOf(t, ada)
		if len(a.Sessions) != 1 || a.current(t).Device != curlDevice {
			t.Errorf("got sessions %+v, want only this one", a.Sessions)
		}
	})
	t.Run("another account is left alone", func(t *testing.T) {
		accountOf(t, bob)
	})
}

func TestRememberMeCookies(t *testing.T) {
	t.Parallel()
	const rememberFor = 48 * time.Hour
	srv := startServer(t, "-remember-for", rememberFor.String())
	newVisitor(t, srv.URL).signUp("Ada Lovelace", "ada@example.com", adaPassword)

	t.Run("a guest's session cookie is persistent", func(t *testing.T) {
		c := sessionCookie(newVisitor(t, srv.URL).get("/"))
		if c == nil || !persistent(c) {
			t.Errorf("got guest cookie %v, want one with Expires or Max-Age", c)
		}
	})

	t.Run("without remember me, the session cookie ends with the browser", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		r := v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})
		redirectsTo(t, "POST /login", r, "/account")
		for what, r := range map[string]response{"POST /login": r, "GET /account": v.get("/account")} {
			if c := sessionCookie(r); c != nil && persistent(c) {
				t.Errorf("%s: got session cookie %q, want no Expires nor Max-Age", what, c.String())
			}
			if c := responseCookie(r, "remember"); c != nil && !clearsCookie(c) {
				t.Errorf("%s: got remember cookie %q, want none", what, c.String())
			}
		}
		if sessionCookie(r) == nil {
			t.Errorf("POST /login set no session cookie")
		}
	})

	t.Run("with remember me, a remember cookie lasts -remember-for", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		r := v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}, "remember": {"on"}})
		redirectsTo(t, "POST /login", r, "/account")
		c := responseCookie(r, "remember")
		if c == nil {
			t.Fatalf("no remember cookie set: %q", r.Header.Values("Set-Cookie"))
		}
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
			t.Errorf("got %q, want HttpOnly, SameSite=Lax, Path=/", c.String())
		}
		if max := time.Duration(c.MaxAge) * time.Second; max < rememberFor-time.Minute || max > rememberFor {
			t.Errorf("got Max-Age %v, want about %v", max, rememberFor)
		}
		if !rememberRE.MatchString(c.Value) {
			t.Errorf("got value %q, want <selector>.<secret> in base64url", c.Value)
		}
		if s := sessionCookie(r); s == nil || !persistent(s) || c.Value == s.Value {
			t.Errorf("got session cookie %v, want a persistent one with another value", s)
		}
	})

	t.Run("signing out clears the remember cookie, which then signs no one in", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		remember := signInRemembered(t, v, "ada@example.com", adaPassword)
		r := v.post("/logout", nil)
		wantStatus(t, "POST /logout", r, http.StatusSeeOther)
		if c := responseCookie(r, "remember"); !clearsCookie(c) {
			t.Errorf("POST /logout: got remember cookie %v, want it cleared", c)
		}
		wantGuest(t, "after sign-out", v)
		wantGuest(t, "a browser with the old remember cookie",
			newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: remember.Value}))
	})

	t.Run("an unknown remember cookie is cleared and signs no one in", func(t *testing.T) {
		for _, value := range []string{"nope", "c2VsZWN0b3I.c2VjcmV0", "..", strings.Repeat("A", 5000)} {
			v := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: value})
			r := v.get("/account")
			wantSignInRedirect(t, fmt.Sprintf("remember=%.20s…: GET /account", value), r)
			if c := responseCookie(r, "remember"); !clearsCookie(c) {
				t.Errorf("remember=%.20s…: got remember cookie %v, want it cleared", value, c)
			}
		}
	})
}

// TestRememberCookieIsSecureLikeTheSessionCookie: behind HTTPS
// (-secure-cookie), neither cookie may travel over plain HTTP.
func TestRememberCookieIsSecureLikeTheSessionCookie(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-secure-cookie")
	form := url.Values{"name": {"Ada Lovelace"}, "email": {"ada@example.com"}, "password": {adaPassword}}
	redirectsTo(t, "POST /signup", newVisitor(t, srv.URL).post("/signup", form), "/account")

	// A fresh visitor for each: its jar would not send a Secure cookie
	// back over HTTP.
	r := newVisitor(t, srv.URL).post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}, "remember": {"on"}})
	redirectsTo(t, "POST /login", r, "/account")
	for _, name := range []string{"session", "remember"} {
		if c := responseCookie(r, name); c == nil || !c.Secure {
			t.Errorf("got %s cookie %v, want one marked Secure", name, c)
		}
	}
}

func TestRememberMeSignsInAgainWhenTheSessionIsGone(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	device := newVisitorWithUA(t, srv.URL, firefoxUA)
	device.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	device.post("/logout", nil)
	old := signInRemembered(t, device, "ada@example.com", adaPassword)
	before := accountOf(t, device)

	// The browser restarted: the session cookie is gone, the remember
	// cookie kept.
	restarted := newVisitorWithUA(t, srv.URL, firefoxUA)
	u, _ := url.Parse(srv.URL)
	restarted.jar.SetCookies(u, []*http.Cookie{{Name: "remember", Value: old.Value, Path: "/"}})

	r := restarted.getJSON("/account")
	t.Run("the next request is signed in, in a new session, with a new remember cookie", func(t *testing.T) {
		wantStatus(t, "GET /account", r, http.StatusOK)
		s := sessionCookie(r)
		if s == nil || s.Value == device.cookie() {
			t.Errorf("got session cookie %v, want a new session", s)
		}
		c := responseCookie(r, "remember")
		if c == nil || c.Value == old.Value || !persistent(c) || !c.HttpOnly {
			t.Errorf("got remember cookie %v, want a new persistent HttpOnly one", c)
		}
	})
	t.Run("the device keeps its one line, current", func(t *testing.T) {
		a := accountOf(t, restarted)
		if len(a.Sessions) != len(before.Sessions) || a.current(t).ID != before.current(t).ID {
			t.Errorf("got sessions %+v, want the one line of before %+v", a.Sessions, before.Sessions)
		}
	})
	t.Run("the restored session stays signed in", func(t *testing.T) {
		accountOf(t, restarted)
		accountOf(t, restarted)
	})
	t.Run("the remember cookie from before the rotation, past its grace, signs nobody in", func(t *testing.T) {
		ageRememberRotations(t, srv.DBPath, 2*time.Minute)
		thief := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: old.Value})
		r := thief.get("/account")
		wantSignInRedirect(t, "GET /account with the old remember cookie", r)
		if c := responseCookie(r, "remember"); !clearsCookie(c) {
			t.Errorf("got remember cookie %v, want it cleared", c)
		}
	})
	// The old secret, used after its rotation, means two browsers hold
	// the cookie: the design signs the device out rather than guess which
	// one is the owner.
	t.Run("a stolen remember cookie, once used, signs its device out", func(t *testing.T) {
		wantGuest(t, "the device whose cookie was replayed", restarted)
	})
}

// TestRememberMeTabsReopenedTogether: after a browser restart, every
// reopened tab sends the remember cookie the browser had. A tab whose
// request left before the first tab's answer, with the new secret, came
// back is signed in too, and the device stays signed in, on one line.
func TestRememberMeTabsReopenedTogether(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	device := newVisitor(t, srv.URL)
	device.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	device.post("/logout", nil)
	old := signInRemembered(t, device, "ada@example.com", adaPassword)

	browser := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: old.Value})
	first := browser.getJSON("/account")
	wantStatus(t, "first tab: GET /account", first, http.StatusOK)
	late := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: old.Value})
	r := late.getJSON("/account")

	t.Run("the late tab is signed in, and its answer sets no new remember cookie", func(t *testing.T) {
		wantStatus(t, "late tab: GET /account", r, http.StatusOK)
		if c := responseCookie(r, "remember"); c != nil {
			t.Errorf("got remember cookie %v, want none", c)
		}
	})
	t.Run("the browser, holding both answers' cookies, is signed in on one line", func(t *testing.T) {
		u, _ := url.Parse(srv.URL)
		browser.jar.SetCookies(u, []*http.Cookie{sessionCookie(r)})
		if got := len(accountOf(t, browser).Sessions); got != 1 {
			t.Errorf("got %d sessions, want the device's one line", got)
		}
		if got, want := jarCookie(browser, "remember"), responseCookie(first, "remember").Value; got != want {
			t.Errorf("got remember cookie %q, want the first tab's %q", got, want)
		}
	})
}

// TestRememberMeSurvivesAnIdleTimeout waits past a short idle timeout,
// which is the point of the test, not a way to synchronise.
func TestRememberMeSurvivesAnIdleTimeout(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-idle-timeout", "2s", "-cleanup-interval", "1s")
	db := dbReadOnly(t, srv.DBPath)
	plain := newVisitor(t, srv.URL)
	plain.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	kept := newVisitor(t, srv.URL)      // the same browser, left idle
	restarted := newVisitor(t, srv.URL) // a browser restarted while idle
	keptRemember := signInRemembered(t, kept, "ada@example.com", adaPassword)
	restartedRemember := signInRemembered(t, restarted, "ada@example.com", adaPassword)
	tokens := map[string]string{"plain": plain.cookie(), "kept": kept.cookie(), "restarted": restarted.cookie()}

	// Idle past the timeout, until the cleanup has deleted the three
	// sessions' data.
	if !waitFor(expiryWait, func() bool {
		for _, token := range tokens {
			if dbHasSession(t, db, token) {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the idle sessions are still stored after %v", expiryWait)
	}

	t.Run("without remember me, the idle session is a guest's", func(t *testing.T) {
		wantGuest(t, "the plain session", plain)
	})

	t.Run("the remembered browser is signed in again, with new cookies", func(t *testing.T) {
		r := kept.getJSON("/account")
		wantStatus(t, "GET /account", r, http.StatusOK)
		if got := kept.cookie(); got == "" || got == tokens["kept"] {
			t.Errorf("got session token %q, want a new one", got)
		}
		if got := jarCookie(kept, "remember"); got == "" || got == keptRemember.Value {
			t.Errorf("got remember cookie %q, want a rotated one", got)
		}
		accountOf(t, kept)
	})

	t.Run("the restarted browser, with only its remember cookie, is signed in again", func(t *testing.T) {
		// A browser drops a session cookie without Expires at restart, and
		// one whose Expires has passed.
		u, _ := url.Parse(srv.URL)
		restarted.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: "", Path: "/", MaxAge: -1}})
		if restarted.cookie() != "" {
			t.Fatal("the jar still holds the session cookie")
		}
		accountOf(t, restarted)
		if got := restarted.cookie(); got == "" || got == tokens["restarted"] {
			t.Errorf("got session token %q, want a new one", got)
		}
		if got := jarCookie(restarted, "remember"); got == "" || got == restartedRemember.Value {
			t.Errorf("got remember cookie %q, want a rotated one", got)
		}
	})

	t.Run("the remember cookie from before the rotation, past its grace, signs nobody in", func(t *testing.T) {
		ageRememberRotations(t, srv.DBPath, 2*time.Minute)
		thief := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: keptRemember.Value})
		wantGuest(t, "the stolen remember cookie", thief)
	})
}

func TestPasswordChangeSignsOutTheOtherSessions(t *testing.T) {
	t.Parallel()
	const newPassword = "a-brand-new-password-2024"
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	current := newVisitor(t, srv.URL)
	current.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	current.post("/logout", nil)
	currentRemember := signInRemembered(t, current, "ada@example.com", adaPassword)
	plain := newVisitor(t, srv.URL)
	plain.signIn("ada@example.com", adaPassword, false)
	remembered := newVisitor(t, srv.URL)
	rememberedCookie := signInRemembered(t, remembered, "ada@example.com", adaPassword)
	bob := newVisitor(t, srv.URL)
	bob.signUp("Bob Babbage", "bob@example.com", bobPassword)

	refused := []struct{ name, current, new string }{
		{"a wrong current password", "not-the-password", newPassword},
		{"a new password of 7 characters", adaPassword, "seven77"},
		{"a new password of 129 characters", adaPassword, strings.Repeat("p", 129)},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused and changes nothing", func(t *testing.T) {
			token := current.cookie()
			r := current.post("/account/password", url.Values{"current_password": {tt.current}, "new_password": {tt.new}})
			wantStatus(t, "POST /account/password", r, http.StatusUnprocessableEntity)
			for _, pw := range []string{tt.current, tt.new, adaPassword} {
				if strings.Contains(r.Body, pw) {
					t.Errorf("the page holds a typed password")
				}
			}
			if current.cookie() != token {
				t.Errorf("the token changed on a refused change")
			}
			if got := len(accountOf(t, current).Sessions); got != 3 {
				t.Errorf("got %d sessions, want the 3 of before", got)
			}
			accountOf(t, plain)
			accountOf(t, remembered)
		})
	}

	var hashBefore string
	if err := db.QueryRow("SELECT password_hash FROM users WHERE email = 'ada@example.com'").Scan(&hashBefore); err != nil {
		t.Fatal(err)
	}
	token := current.cookie()
	r := current.post("/account/password", url.Values{"current_password": {adaPassword}, "new_password": {newPassword}})
	redirectsTo(t, "POST /account/password", r, "/account")

	t.Run("the current session stays signed in with a new token and a new remember cookie", func(t *testing.T) {
		if got := current.cookie(); got == "" || got == token {
			t.Errorf("got token %q, want a new one", got)
		}
		if c := responseCookie(r, "remember"); c == nil || c.Value == currentRemember.Value || !persistent(c) {
			t.Errorf("got remember cookie %v, want a rotated one", c)
		}
		a := accountOf(t, current)
		if len(a.Sessions) != 1 {
			t.Errorf("got sessions %+v, want only this one", a.Sessions)
		}
		accountOf(t, current)
	})
	t.Run("every other session is a guest at its next request, remembered or not", func(t *testing.T) {
		wantGuest(t, "the plain session", plain)
		wantGuest(t, "the remembered session", remembered)
		wantGuest(t, "a browser with only the other remember cookie",
			newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: rememberedCookie.Value}))
	})
	t.Run("the old token leads to nothing", func(t *testing.T) {
		wantTokenLeadsNowhere(t, "the old token", srv.URL, token)
	})
	t.Run("the old password no longer signs in, the new one does", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		wantStatus(t, "POST /login with the old password",
			v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}}), http.StatusUnprocessableEntity)
		v.signIn("ada@example.com", newPassword, false)
		accountOf(t, v)
	})
	t.Run("the new password is stored as a new argon2id hash", func(t *testing.T) {
		var hash string
		if err := db.QueryRow("SELECT password_hash FROM users WHERE email = 'ada@example.com'").Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if hash == hashBefore || !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, newPassword) {
			t.Errorf("got password_hash %q, want a new argon2id PHC string", hash)
		}
	})
	t.Run("another account is left alone", func(t *testing.T) {
		accountOf(t, bob)
	})
}

func TestOrdersBelongToTheAccount(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	placer := newVisitor(t, srv.URL)
	placer.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	placer.add(2, "3")
	total := placer.cart().TotalCents
	orderID := orderLocation(t, placer.post("/checkout", placer.checkoutForm()))
	orderPath := "/orders/" + strconv.FormatInt(orderID, 10)

	otherJar := newVisitor(t, srv.URL)
	otherJar.signIn("ada@example.com", adaPassword, false)
	bob := newVisitor(t, srv.URL)
	bob.signUp("Bob Babbage", "bob@example.com", bobPassword)

	t.Run("the order is shown to the session that placed it", func(t *testing.T) {
		wantStatus(t, "GET "+orderPath, placer.get(orderPath), http.StatusOK)
	})
	t.Run("the order is shown to another session of the account", func(t *testing.T) {
		wantStatus(t, "GET "+orderPath, otherJar.get(orderPath), http.StatusOK)
	})
	t.Run("the account lists the order", func(t *testing.T) {
		a := accountOf(t, otherJar)
		if len(a.Orders) != 1 || a.Orders[0].ID != orderID || a.Orders[0].TotalCents != total {
			t.Fatalf("got orders %+v, want order %d of %d cents", a.Orders, orderID, total)
		}
		wantRFC3339(t, "createdAt", a.Orders[0].CreatedAt)
	})
	t.Run("the order is a 404 to a guest and to another account", func(t *testing.T) {
		wantStatus(t, "guest: GET "+orderPath, newVisitor(t, srv.URL).get(orderPath), http.StatusNotFound)
		wantStatus(t, "bob: GET "+orderPath, bob.get(orderPath), http.StatusNotFound)
		if got := accountOf(t, bob).Orders; len(got) != 0 {
			t.Errorf("got bob's orders %+v, want none", got)
		}
	})
	t.Run("a guest's order is still shown to its session only", func(t *testing.T) {
		guest := newVisitor(t, srv.URL)
		guest.add(3, "1")
		guestOrder := "/orders/" + strconv.FormatInt(orderLocation(t, guest.post("/checkout", guest.checkoutForm())), 10)
		wantStatus(t, "guest: GET "+guestOrder, guest.get(guestOrder), http.StatusOK)
		wantStatus(t, "ada: GET "+guestOrder, otherJar.get(guestOrder), http.StatusNotFound)
		if got := accountOf(t, otherJar).Orders; len(got) != 1 {
			t.Errorf("got ada's orders %+v, want her one order", got)
		}
	})
	t.Run("signed out, the jar no longer sees the account's order", func(t *testing.T) {
		wantStatus(t, "POST /logout", otherJar.post("/logout", nil), http.StatusSeeOther)
		wantStatus(t, "signed out: GET "+orderPath, otherJar.get(orderPath), http.StatusNotFound)
	})
}

// TestAccountJSONHasExactlyTheContractsShape reads /account's JSON without
// the test's own struct, so that a renamed, missing or extra field fails.
func TestAccountJSONHasExactlyTheContractsShape(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	other := newVisitor(t, srv.URL)
	other.signIn("ada@example.com", adaPassword, false)

	t.Run("an account without orders has an empty list, not null", func(t *testing.T) {
		r := v.getJSON("/account")
		wantStatus(t, "GET /account", r, http.StatusOK)
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.Body), &top); err != nil {
			t.Fatalf("%v\n%s", err, r.Body)
		}
		if got := string(bytes.TrimSpace(top["orders"])); got != "[]" {
			t.Errorf(`got "orders": %s, want []`, got)
		}
	})

	v.add(1, "2")
	orderLocation(t, v.post("/checkout", v.checkoutForm()))
	r := v.getJSON("/account")
	wantStatus(t, "GET /account", r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("got Content-Type %q, want application/json", ct)
	}
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil {
		t.Fatalf("%v\n%s", err, r.Body)
	}

	type field struct {
		name string
		kind string // string, integer, bool, time, array
	}
	check := func(t *testing.T, what string, obj any, fields []field) {
		t.Helper()
		m, ok := obj.(map[string]any)
		if !ok {
			t.Fatalf("%s: got %T, want an object", what, obj)
		}
		var want []string
		for _, f := range fields {
			want = append(want, f.name)
			v, ok := m[f.name]
			if !ok {
				continue
			}
			switch f.kind {
			case "string", "time":
				s, ok := v.(string)
				if !ok {
					t.Errorf("%s.%s: got %T, want a string", what, f.name, v)
				} else if f.kind == "time" {
					wantRFC3339(t, what+"."+f.name, s)
				}
			case "integer":
				n, ok := v.(json.Number)
				if _, err := n.Int64(); !ok || err != nil {
					t.Errorf("%s.%s: got %v, want an integer", what, f.name, v)
				}
			case "bool":
				if _, ok := v.(bool); !ok {
					t.Errorf("%s.%s: got %T, want a bool", what, f.name, v)
				}
			case "array":
				if _, ok := v.([]any); !ok {
					t.Errorf("%s.%s: got %T, want an array", what, f.name, v)
				}
			}
		}
		got := slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got fields %q, want exactly %q", what, got, want)
		}
	}

	check(t, "account", top, []field{{"name", "string"}, {"email", "string"}, {"sessions", "array"}, {"orders", "array"}})
	sessions, _ := top["sessions"].([]any)
	if len(sessions) != 2 {
		t.Fatalf("got %d sessions, want 2", len(sessions))
	}
	for i, s := range sessions {
		check(t, fmt.Sprintf("sessions[%d]", i), s, []field{
			{"id", "string"}, {"device", "string"}, {"signedInAt", "time"}, {"lastSeenAt", "time"}, {"current", "bool"},
		})
	}
	orders, _ := top["orders"].([]any)
	if len(orders) != 1 {
		t.Fatalf("got %d orders, want 1", len(orders))
	}
	check(t, "orders[0]", orders[0], []field{{"id", "integer"}, {"totalCents", "integer"}, {"createdAt", "time"}})
}

// accountsSecrets collects every token, remember cookie and password a
// test sees, to look for them where they must not be.
type accountsSecrets map[string]bool

// add records the cookies v holds now, and the forms of them a careless
// log line could hold: the store's key, hashes in hex, the remember
// cookie's secret half.
func (s accountsSecrets) add(v *visitor) {
	if token := v.cookie(); token != "" {
		s[token], s[storeKey(token)], s[sha256Hex(token)] = true, true, true
	}
	if remember := jarCookie(v, "remember"); remember != "" {
		s[remember] = true
		if _, secret, ok := strings.Cut(remember, "."); ok && len(secret) >= 16 {
			sum := sha256.Sum256([]byte(secret))
			s[secret], s[hex.EncodeToString(sum[:])], s[base64.RawURLEncoding.EncodeToString(sum[:])] = true, true, true
		}
	}
}

func TestAccountsLogNoPasswordNorToken(t *testing.T) {
	t.Parallel()
	const newPassword = "a-brand-new-password-2024"
	srv := startServer(t)
	secrets := accountsSecrets{adaPassword: true, bobPassword: true, newPassword: true, "wrong-password-1": true}
	ada := newVisitor(t, srv.URL)
	ada.get("/")
	secrets.add(ada)
	ada.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	secrets.add(ada)
	newVisitor(t, srv.URL).post("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong-password-1"}})
	newVisitor(t, srv.URL).post("/signup", url.Values{"name": {"Bob"}, "email": {"ada@example.com"}, "password": {bobPassword}})

	remembered := newVisitor(t, srv.URL)
	signInRemembered(t, remembered, "ada@example.com", adaPassword)
	secrets.add(remembered)
	restored := newVisitorWithCookies(t, srv.URL, &http.Cookie{Name: "remember", Value: jarCookie(remembered, "remember")})
	accountOf(t, restored)
	secrets.add(restored)
	wantStatus(t, "POST /account/password", ada.post("/account/password",
		url.Values{"current_password": {adaPassword}, "new_password": {newPassword}}), http.StatusSeeOther)
	secrets.add(ada)
	other := newVisitor(t, srv.URL)
	other.signIn("ada@example.com", newPassword, false)
	secrets.add(other)
	wantStatus(t, "sign out the other", ada.post("/account/sessions/"+sessionIDOf(t, other)+"/sign-out", nil), http.StatusSeeOther)
	wantStatus(t, "POST /logout", ada.post("/logout", nil), http.StatusSeeOther)
	secrets.add(ada)

	log := srv.Log()
	if !strings.Contains(log, "/account/password") {
		t.Fatalf("the log has no line of the requests sent:\n%s", log)
	}
	for secret := range secrets {
		for i, line := range strings.Split(log, "\n") {
			if strings.Contains(line, secret) {
				t.Errorf("log line %d holds a password, a token or a hash of one (%.6s…):\n%s", i+1, secret, line)
			}
		}
	}
}

// accountsCore is what every store mode must do: two jars of one account,
// one signs the other out, remember me brings a browser back.
func accountsCore(t *testing.T, base string) {
	first := newVisitorWithUA(t, base, curlUA)
	first.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	second := newVisitorWithUA(t, base, firefoxUA)
	second.add(2, "2")
	guestToken := second.cookie()
	second.signIn("ada@example.com", adaPassword, false)

	t.Run("signing in renews the token and keeps the cart", func(t *testing.T) {
		if second.cookie() == guestToken {
			t.Errorf("the token did not change")
		}
		if got := second.cart().quantities(); got[2] != 2 {
			t.Errorf("got cart %v, want ingredient 2 × 2", got)
		}
		wantTokenLeadsNowhere(t, "the old token", base, guestToken)
	})
	t.Run("both sessions are listed", func(t *testing.T) {
		if got, want := accountOf(t, first).devices(), []string{firefoxDevice, curlDevice}; !slices.Equal(got, want) {
			t.Errorf("got devices %q, want %q", got, want)
		}
	})
	t.Run("the session signed out from the other jar is a guest", func(t *testing.T) {
		wantStatus(t, "sign out", first.post("/account/sessions/"+sessionIDOf(t, second)+"/sign-out", nil), http.StatusSeeOther)
		wantGuest(t, "the signed-out jar", second)
		if got := second.cart(); len(got.Items) != 0 {
			t.Errorf("got cart %v, want it empty", got.Items)
		}
		if got := len(accountOf(t, first).Sessions); got != 1 {
			t.Errorf("got %d sessions, want 1", got)
		}
	})
	t.Run("remember me signs a restarted browser in", func(t *testing.T) {
		remembered := newVisitor(t, base)
		c := signInRemembered(t, remembered, "ada@example.com", adaPassword)
		accountOf(t, newVisitorWithCookies(t, base, &http.Cookie{Name: "remember", Value: c.Value}))
	})
	t.Run("signing out makes a guest", func(t *testing.T) {
		wantStatus(t, "POST /logout", first.post("/logout", nil), http.StatusSeeOther)
		wantGuest(t, "after sign-out", first)
	})
}

func TestAccountsInEveryStore(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return []string{"-store", "sqlite"} }},
		{"memory", func(*testing.T) []string { return []string{"-store", "memory"} }},
		{"redis", func(t *testing.T) []string {
			return []string{"-store", "redis", "-redis-url", redistest.Start(t).URL}
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, mode.args(t)...)
			accountsCore(t, srv.URL)
		})
	}
}

// TestMemoryStoreForgetsSignInsAtRestart: the sessions die with the
// process, so the index's lines of them must go too.
func TestMemoryStoreForgetsSignInsAtRestart(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-store", "memory")
	v := newVisitor(t, srv.URL)
	v.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	srv.restart()
	v = v.onServer(srv.URL)

	wantGuest(t, "after the restart", v)
	if got := dbCount(t, dbReadOnly(t, srv.DBPath), "account_sessions"); got != 0 {
		t.Errorf("got %d account_sessions rows after the restart, want 0", got)
	}
	v.signIn("ada@example.com", adaPassword, false)
	if got := len(accountOf(t, v).Sessions); got != 1 {
		t.Errorf("got %d sessions after signing in again, want 1", got)
	}
}

// TestMemoryStoreRestartKeepsRememberedDevices: a restart ends every
// session of -store memory, and remember me is there for sessions that
// end: the remembered browser is signed in again, the other one is not.
func TestMemoryStoreRestartKeepsRememberedDevices(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-store", "memory")
	plain := newVisitor(t, srv.URL)
	plain.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	remembered := newVisitor(t, srv.URL)
	signInRemembered(t, remembered, "ada@example.com", adaPassword)
	srv.restart()

	wantGuest(t, "the browser without remember me", plain.onServer(srv.URL))
	if got := len(accountOf(t, remembered.onServer(srv.URL)).Sessions); got != 1 {
		t.Errorf("got %d sessions, want the remembered one only", got)
	}
}

// TestAccountsOnRedisInstancesWithTheirOwnDatabases: each instance has its
// own accounts, so a session signed in on A is a guest's on B, and B must
// leave it as it is.
func TestAccountsOnRedisInstancesWithTheirOwnDatabases(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	srv := startRedisInstances(t, rds.URL, 2)
	onA := newVisitor(t, srv[0].URL)
	onA.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	onA.add(3, "2")
	onB := onA.onServer(srv[1].URL)

	t.Run("on B the session is a guest's", func(t *testing.T) {
		wantGuest(t, "on B", onB)
	})
	t.Run("on A it is still signed in, its cart kept", func(t *testing.T) {
		accountOf(t, onA)
		if got := onA.cart().quantities(); got[3] != 2 {
			t.Errorf("got cart %v on A, want ingredient 3 × 2", got)
		}
	})
	t.Run("B's account of the same id is not this session's", func(t *testing.T) {
		// B's first account gets id 1, as Ada did on A.
		newVisitor(t, srv[1].URL).signUp("Bob Babbage", "bob@example.com", bobPassword)
		wantGuest(t, "on B", onB)
		if got := accountOf(t, onA).Name; got != "Ada Lovelace" {
			t.Errorf("got name %q on A, want Ada Lovelace", got)
		}
	})
}

// TestAccountsOnRedisInstancesSharingADatabase: behind a load balancer
// with one application database, a sign-in and a sign-out on one instance
// hold on the other.
func TestAccountsOnRedisInstancesSharingADatabase(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	dbPath := filepath.Join(t.TempDir(), "shop.db")
	a := startServerOn(t, dbPath, "-store", "redis", "-redis-url", rds.URL)
	b := startServerOn(t, dbPath, "-store", "redis", "-redis-url", rds.URL)

	first := newVisitorWithUA(t, a.URL, curlUA)
	first.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	second := newVisitorWithUA(t, a.URL, firefoxUA)
	second.signIn("ada@example.com", adaPassword, false)
	secondOnB := second.onServer(b.URL)

	t.Run("signed in on A is signed in on B", func(t *testing.T) {
		if got := accountOf(t, secondOnB).current(t).Device; got != firefoxDevice {
			t.Errorf("got current device %q on B, want %q", got, firefoxDevice)
		}
	})
	t.Run("signed out from A is a guest on B at its next request", func(t *testing.T) {
		wantStatus(t, "sign out on A", first.post("/account/sessions/"+sessionIDOf(t, second)+"/sign-out", nil), http.StatusSeeOther)
		wantGuest(t, "on B", secondOnB)
	})
}

// Signing in to another account over a signed-in session (a shared
// computer, without signing out first) must not hand the second account
// what the session held for the first: its orders above all.
func TestSignInToAnotherAccountStartsClean(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	bob := newVisitor(t, srv.URL)
	bob.signUp("Bob", "bob@example.com", bobPassword)

	v := newVisitor(t, srv.URL)
	v.signUp("Ada", "ada@example.com", adaPassword)
	v.add(3, "1")
	order := orderLocation(t, v.post("/checkout", nil))
	v.add(4, "2")

	t.Run("the same account again keeps the session's data", func(t *testing.T) {
		v.signIn("ada@example.com", adaPassword, false)
		if got := v.cart().quantities(); got[4] != 2 {
			t.Errorf("got cart %v after signing in to the same account again, want it kept", got)
		}
	})

	t.Run("another account gets none of it", func(t *testing.T) {
		v.signIn("bob@example.com", bobPassword, false)
		wantStatus(t, "the first account's order, seen from the second", v.get(fmt.Sprintf("/orders/%d", order)), http.StatusNotFound)
		if got := v.cart(); len(got.Items) != 0 {
			t.Errorf("got cart %v, want the second account to start with an empty one", got.quantities())
		}
		if got := v.sessionOrderIDs(); len(got) != 0 {
			t.Errorf("got orderIds %v, want none", got)
		}
	})
}

// The password form checks the current password: whoever holds a stolen
// session cookie must not try passwords there faster than at the sign-in
// form. Both count against one limit per account.
func TestPasswordChangeIsThrottledLikeSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp("Ada", "ada@example.com", adaPassword)
	change := func(current string) response {
		return v.post("/account/password", url.Values{"current_password": {current}, "new_password": {"a-new-long-password"}})
	}
	for i := range 5 {
		wantStatus(t, fmt.Sprintf("wrong current password %d", i+1), change("not-the-password"), http.StatusUnprocessableEntity)
	}
	r := change(adaPassword)
	wantStatus(t, "the right current password after 5 wrong ones", r, http.StatusTooManyRequests)
	if secs, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 900 {
		t.Errorf("got Retry-After %q, want whole seconds within the 15-minute window", r.Header.Get("Retry-After"))
	}
	other := newVisitor(t, srv.URL)
	wantStatus(t, "sign-in with the right password meanwhile",
		other.post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}}), http.StatusTooManyRequests)
}

// The inspector says what the cookie really is: persistent for a guest and
// with "Remember me", a browser-session cookie for a plain sign-in.
func TestInspectorShowsWhetherTheCookieOutlivesTheBrowser(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const persistent, browserOnly = "Max-Age/Expires set", "no Max-Age or Expires"
	tests := []struct {
		name     string
		signIn   func(v *visitor)
		want     string
		dontWant string
	}{
		{"a guest", func(v *visitor) { v.add(1, "1") }, persistent, browserOnly},
		{"signed in", func(v *visitor) { v.signIn("ada@example.com", adaPassword, false) }, browserOnly, persistent},
		{"signed in with remember me", func(v *visitor) { v.signIn("ada@example.com", adaPassword, true) }, persistent, browserOnly},
	}
	newVisitor(t, srv.URL).signUp("Ada", "ada@example.com", adaPassword)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			tt.signIn(v)
			r := v.get("/session")
			wantText(t, "GET /session", r, tt.want)
			if strings.Contains(pageText(r.Body), tt.dontWant) {
				t.Errorf("the inspector says %q of a cookie that is not so", tt.dontWant)
			}
		})
	}
}
