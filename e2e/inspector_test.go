package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSessionInspector(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp("Ada", "ada@example.com", "correct horse battery")
	v.add(2, "4")
	v.get("/cart")

	bob := newVisitor(t, srv.URL)
	bob.sessionExample()

	t.Run("the page shows the cookie, a token prefix, expiry, values, row and count", func(t *testing.T) {
		r := v.get("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		token := v.cookie()
		if strings.Contains(r.Body, token) {
			t.Fatalf("the page shows the whole token")
		}
		wantText(t, "GET /session", r,
			"Name session",
			"HttpOnly; SameSite=Lax; Path=/",
			"Token "+token[:6]+"…",
			"Ends at the latest",
			"Ends if idle until",
			"userId 1", // the first account of this database
			`accountDb "`,
			`chosenIngredients [{"id":2,"qty":4}]`,
			"pageViews",
		)
		text := pageText(r.Body)
		if !regexp.MustCompile(`Stored row \d+ bytes, expiring \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC`).MatchString(text) {
			t.Errorf("no stored row size and expiry in:\n%s", text)
		}
		// The count is taken in the background every few seconds.
		activeRE := regexp.MustCompile(`Active sessions in the store about (\d+)`)
		active := func(text string) int {
			m := activeRE.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("no active session count in:\n%s", text)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		if n := active(text); n < 2 && !waitFor(15*time.Second, func() bool { return active(pageText(v.get("/session").Body)) >= 2 }) {
			t.Errorf("got %d active sessions, want at least 2 (ada and bob)", n)
		}
		if strings.Contains(r.Body, bob.cookie()[:6]) {
			t.Errorf("ada's inspector shows bob's token prefix")
		}
	})

	t.Run("the page of a new visitor says the token comes with the answer", func(t *testing.T) {
		r := newVisitor(t, srv.URL).get("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		wantText(t, "GET /session", r, "a new session: its token is created with this response")
	})

	t.Run("JSON has values, expiresAt and tokenPrefix only", func(t *testing.T) {
		r := v.getJSON("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", ct)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.Body), &top); err != nil {
			t.Fatal(err)
		}
		if len(top) != 3 || top["values"] == nil || top["expiresAt"] == nil || top["tokenPrefix"] == nil {
			t.Errorf("got keys of %s, want exactly values, expiresAt and tokenPrefix", r.Body)
		}
		in := v.session()
		if in.TokenPrefix == "" || !strings.HasPrefix(v.cookie(), in.TokenPrefix) || len(in.TokenPrefix) > 8 {
			t.Errorf("got tokenPrefix %q, want a short prefix of the cookie's token", in.TokenPrefix)
		}
		expires, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			t.Errorf("expiresAt %q is not RFC 3339: %v", in.ExpiresAt, err)
		} else if !expires.After(time.Now()) {
			t.Errorf("got expiresAt %v, want a time in the future", expires)
		}
		if in.Values["userId"] != 1.0 {
			t.Errorf("got values %v, want userId 1 among them", in.Values)
		}
	})

	t.Run("another visitor sees only their own values", func(t *testing.T) {
		vals := bob.values()
		if _, ok := vals["userId"]; ok {
			t.Errorf("bob's session shows a userId: %v", vals)
		}
		if vals["viewCount"] != 1.0 {
			t.Errorf("got bob's viewCount %v, want 1", vals["viewCount"])
		}
		if r := bob.get("/session"); strings.Contains(r.Body, "ada@example.com") {
			t.Errorf("bob's inspector page shows ada's email")
		}
	})

	t.Run("destroying the session starts a new one", func(t *testing.T) {
		old := v.cookie()
		redirectsTo(t, "POST /session/destroy", v.post("/session/destroy", nil), "/session")
		if v.cookie() == old || v.cookie() == "" {
			t.Errorf("got token %q, want a new one", v.cookie())
		}
		wantText(t, "page after destroying", v.get("/session"), "Session destroyed.")
		vals := v.values("pageViews") // the page just viewed counted in the new session
		if len(vals) != 0 {
			t.Errorf("got values %v in the new session, want none", vals)
		}

		thief := newVisitor(t, srv.URL)
		u, _ := url.Parse(srv.URL)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: old, Path: "/"}})
		if vals := thief.values(); len(vals) != 0 {
			t.Errorf("the destroyed token still reads %v", vals)
		}
	})
}
