package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"example.com/gosessions/internal/redistest"
)

// The panel "What this request did to your session", at the foot of every
// page: what the request that rendered the page did to the session, and,
// after a form's redirect, what the form's request did.

// panelReport is one request's part of the panel, as its reader sees it.
type panelReport struct {
	text    string                 // all of it, as text
	facts   map[string]string      // fact → its text: cookie, session, token, values, save, set-cookie
	changes map[string]panelChange // key → what happened to it
}

type panelChange struct{ change, before, after string }

var (
	panelDetailsRE = regexp.MustCompile(`<details[^>]*id="session-panel"[^>]*>`)
	panelFactRE    = regexp.MustCompile(`(?s)<dd data-fact="([\w-]+)">(.*?)</dd>`)
	panelChangeRE  = regexp.MustCompile(`(?s)<tr><td class="key"><code>([^<]+)</code>[^<]*</td><td class="change">(\w+)</td>` +
		`<td class="before">(.*?)</td><td class="after">(.*?)</td></tr>`)
)

// readPanel returns the part of r's panel about this page's request
// ("this") or about the form that redirected to it ("before"), and whether
// the panel has it.
func readPanel(t testing.TB, r response, part string) (panelReport, bool) {
	t.Helper()
	if !panelDetailsRE.MatchString(r.Body) {
		t.Fatalf("the page has no session panel:\n%s", r.Body)
	}
	_, section, ok := strings.Cut(r.Body, `<section class="panel-request" id="panel-`+part+`">`)
	if !ok {
		return panelReport{}, false
	}
	section, _, _ = strings.Cut(section, "</section>")
	p := panelReport{text: pageText(section), facts: map[string]string{}, changes: map[string]panelChange{}}
	for _, m := range panelFactRE.FindAllStringSubmatch(section, -1) {
		p.facts[m[1]] = pageText(m[2])
	}
	for _, m := range panelChangeRE.FindAllStringSubmatch(section, -1) {
		p.changes[m[1]] = panelChange{change: m[2], before: pageText(m[3]), after: pageText(m[4])}
	}
	return p, true
}

// thisRequest is the panel's report of the request that rendered r.
func thisRequest(t testing.TB, r response) panelReport {
	t.Helper()
	p, ok := readPanel(t, r, "this")
	if !ok {
		t.Fatalf("the panel has no report of this page's request:\n%s", r.Body)
	}
	return p
}

// wantFact fails the test unless the report's fact starts with prefix.
func (p panelReport) wantFact(t testing.TB, fact, prefix string) {
	t.Helper()
	if !strings.HasPrefix(p.facts[fact], prefix) {
		t.Errorf("panel %s: got %q, want it to start with %q\n%s", fact, p.facts[fact], prefix, p.text)
	}
}

// wantFactText fails the test unless the report's fact contains s.
func (p panelReport) wantFactText(t testing.TB, fact, s string) {
	t.Helper()
	if !strings.Contains(p.facts[fact], s) {
		t.Errorf("panel %s: got %q, want it to contain %q", fact, p.facts[fact], s)
	}
}

// wantChange fails the test unless key had the change, from before to after
// ("" where there is no value).
func (p panelReport) wantChange(t testing.TB, key, change, before, after string) {
	t.Helper()
	want := panelChange{change, before, after}
	if want.before == "" {
		want.before = "–"
	}
	if want.after == "" {
		want.after = "–"
	}
	if got, ok := p.changes[key]; !ok || got != want {
		t.Errorf("panel change of %s: got %+v (listed: %v), want %+v\n%s", key, got, ok, want, p.text)
	}
}

func (p panelReport) wantNoChange(t testing.TB, key string) {
	t.Helper()
	if got, ok := p.changes[key]; ok {
		t.Errorf("panel: got %s %+v, want it unchanged", key, got)
	}
}

func TestSessionPanel(t *testing.T) {
	t.Parallel()
	srv := startServer(t) // with the default idle timeout
	v := newVisitor(t, srv.URL)

	t.Run("is collapsed", func(t *testing.T) {
		r := newVisitor(t, srv.URL).get("/")
		tag := panelDetailsRE.FindString(r.Body)
		if tag == "" || strings.Contains(tag, " open") {
			t.Errorf("got panel tag %q, want a <details> without open", tag)
		}
		if !strings.Contains(r.Body, "<summary>What this request did to your session</summary>") {
			t.Errorf("the panel has no summary")
		}
	})

	t.Run("a first visit: no cookie, a new session, keys added, saved with a new cookie", func(t *testing.T) {
		r := v.get("/session-example")
		wantStatus(t, "GET /session-example", r, http.StatusOK)
		p := thisRequest(t, r)
		if p.facts["cookie"] != "none" {
			t.Errorf("panel cookie: got %q, want none", p.facts["cookie"])
		}
		p.wantFact(t, "session", "new:")
		p.wantFact(t, "token", "none yet")
		p.wantChange(t, "viewCount", "added", "", "1")
		p.wantChange(t, "pageViews", "added", "", "1")
		p.wantChange(t, "chosenIngredients", "added", "", `[{"id":1,"qty":3}]`)
		p.wantFact(t, "save", "saved: the session was modified")
		p.wantFact(t, "set-cookie", "yes: a new token")
		if sessionCookie(r) == nil {
			t.Errorf("the panel says a cookie goes out, and none came")
		}
	})

	t.Run("a reload: the session is loaded and viewCount goes from 1 to 2", func(t *testing.T) {
		token := v.cookie()
		r := v.get("/session-example")
		p := thisRequest(t, r)
		if want := "session=" + token[:6] + "…"; p.facts["cookie"] != want {
			t.Errorf("panel cookie: got %q, want %q", p.facts["cookie"], want)
		}
		p.wantFact(t, "session", "loaded:")
		p.wantFact(t, "token", "kept")
		p.wantChange(t, "viewCount", "changed", "1", "2")
		p.wantChange(t, "pageViews", "changed", "1", "2")
		p.wantNoChange(t, "chosenIngredients") // put again, with the same value
		p.wantFact(t, "save", "saved: the session was modified")
		p.wantFact(t, "set-cookie", "yes: session="+token[:6]+"…, the same token")
		if c := sessionCookie(r); c == nil || c.Value != token {
			t.Errorf("got Set-Cookie %v, want the same token again", c)
		}
		if strings.Contains(r.Body, token) {
			t.Errorf("the panel shows the whole token")
		}
	})

	t.Run("after adding to the cart: the form changed the cart, the page popped the flash", func(t *testing.T) {
		v.add(2, "1")
		r := v.get("/cart")
		before, ok := readPanel(t, r, "before")
		if !ok {
			t.Fatalf("the page after the form has no report of the form:\n%s", pageText(r.Body))
		}
		if !strings.Contains(before.text, "POST /cart/items") {
			t.Errorf("the form's report does not name POST /cart/items:\n%s", before.text)
		}
		before.wantChange(t, "chosenIngredients", "changed", `[{"id":1,"qty":3}]`, `[{"id":1,"qty":3},{"id":2,"qty":1}]`)
		before.wantChange(t, "flash", "added", "", `"Added 1 × Eggs. You now have 1 in your cart."`)
		before.wantFact(t, "save", "saved: the session was modified")

		this := thisRequest(t, r)
		this.wantChange(t, "flash", "removed", `"Added 1 × Eggs. You now have 1 in your cart."`, "")
		this.wantChange(t, "pageViews", "changed", "2", "3")
		this.wantNoChange(t, "chosenIngredients")

		if _, ok := readPanel(t, v.get("/cart"), "before"); ok {
			t.Errorf("the form's report was shown a second time")
		}
	})

	t.Run("a JSON answer leaves the form's report for the next page", func(t *testing.T) {
		v.add(2, "1")
		wantStatus(t, "GET /cart (JSON)", v.getJSON("/cart"), http.StatusOK)
		if _, ok := readPanel(t, v.get("/cart"), "before"); !ok {
			t.Errorf("the page after a JSON answer has no report of the form")
		}
	})

	t.Run("sign-up and sign-in renew the token", func(t *testing.T) {
		old := v.cookie()
		v.signUp("Ada", "ada@example.com", "correct horse battery")
		r := v.get("/account")
		before, ok := readPanel(t, r, "before")
		if !ok {
			t.Fatalf("no report of the sign-up form:\n%s", pageText(r.Body))
		}
		before.wantFact(t, "token", "renewed (RenewToken)")
		before.wantFactText(t, "token", v.cookie()[:6]+"…")
		before.wantChange(t, "userId", "added", "", "1")
		if before.facts["cookie"] != "session="+old[:6]+"…" {
			t.Errorf("the form's report: got cookie %q, want the old token's prefix %q", before.facts["cookie"], old[:6])
		}

		wantStatus(t, "POST /logout", v.post("/logout", nil), http.StatusSeeOther)
		v.get("/")
		old = v.cookie()
		v.signIn("ada@example.com", "correct horse battery", false)
		before, ok = readPanel(t, v.get("/account"), "before")
		if !ok {
			t.Fatal("no report of the sign-in form")
		}
		before.wantFact(t, "token", "renewed (RenewToken)")
		before.wantChange(t, "userId", "added", "", "1")
		before.wantChange(t, "__rememberMe", "added", "", "false")
		before.wantFactText(t, "set-cookie", "without Max-Age")
		if v.cookie() == old {
			t.Errorf("the token did not change")
		}
	})

	t.Run("sign-out destroys the session, and the flash starts a new one", func(t *testing.T) {
		wantStatus(t, "POST /logout", v.post("/logout", nil), http.StatusSeeOther)
		r := v.get("/")
		before, ok := readPanel(t, r, "before")
		if !ok {
			t.Fatalf("no report of the sign-out form:\n%s", pageText(r.Body))
		}
		before.wantFact(t, "token", "destroyed (Destroy)")
		before.wantChange(t, "userId", "removed", "1", "")
		before.wantChange(t, "flash", "added", "", `"Signed out. Your old session, cart included, is gone."`)
		before.wantFact(t, "set-cookie", "yes: a new token")
		before.wantFactText(t, "save", "new session")
	})

	t.Run("a page that changes nothing is saved only to move the idle expiry on", func(t *testing.T) {
		// An error page does not count as a page view: it leaves the
		// session as it was.
		r := v.get("/orders/999")
		wantStatus(t, "GET /orders/999", r, http.StatusNotFound)
		p := thisRequest(t, r)
		if len(p.changes) != 0 {
			t.Errorf("got changes %v, want none", p.changes)
		}
		p.wantFact(t, "save", "saved: unchanged, but the idle timeout moves the expiry on")
		p.wantFact(t, "set-cookie", "yes: session=")
		if sessionCookie(r) == nil {
			t.Errorf("got no Set-Cookie, want the cookie with its new expiry")
		}
	})

	t.Run("a page outside the session says it has none", func(t *testing.T) {
		r := v.get("/no-such-page")
		wantStatus(t, "GET /no-such-page", r, http.StatusNotFound)
		if _, ok := readPanel(t, r, "this"); ok {
			t.Errorf("a page answered without a session has a session report")
		}
		wantText(t, "404 page", r, "This page was answered without a session")
	})
}

func TestSessionPanelWithoutIdleTimeout(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-idle-timeout", "0")
	v := newVisitor(t, srv.URL)
	v.get("/session-example")

	t.Run("every page is a page view, which is saved", func(t *testing.T) {
		p := thisRequest(t, v.get("/ingredients"))
		p.wantChange(t, "pageViews", "changed", "1", "2")
		p.wantFact(t, "save", "saved: the session was modified")
	})

	t.Run("a page that changes nothing is not saved and sends no cookie", func(t *testing.T) {
		r := v.get("/orders/999")
		wantStatus(t, "GET /orders/999", r, http.StatusNotFound)
		p := thisRequest(t, r)
		p.wantFact(t, "session", "loaded:")
		if len(p.changes) != 0 {
			t.Errorf("got changes %v, want none", p.changes)
		}
		p.wantFact(t, "save", "unchanged: not saved")
		p.wantFact(t, "set-cookie", "none:")
		if c := sessionCookie(r); c != nil {
			t.Errorf("got Set-Cookie %v, want none", c)
		}
	})

}

func TestSessionPanelAfterTheLifetime(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-lifetime", "2s")
	v := newVisitor(t, srv.URL)
	v.get("/session-example")
	old := v.cookie()

	// Each visit is served by the session until its lifetime is over.
	var p panelReport
	if !waitFor(expiryWait, func() bool {
		p = thisRequest(t, v.get("/session-example"))
		return !strings.HasPrefix(p.facts["session"], "loaded")
	}) {
		t.Fatalf("the session was still loaded after %v of a 2s lifetime", expiryWait)
	}
	p.wantFact(t, "session", "expired and replaced:")
	if p.facts["cookie"] != "session="+old[:6]+"…" {
		t.Errorf("panel cookie: got %q, want the expired token's prefix %q", p.facts["cookie"], old[:6])
	}
	p.wantChange(t, "viewCount", "added", "", "1")
	p.wantFact(t, "set-cookie", "yes: a new token")
	if v.cookie() == old {
		t.Errorf("the browser kept the expired token")
	}
}

// The panel's facts come from scs and the session middleware, never from
// the store: every store tells the same story.
func TestSessionPanelOnEveryStore(t *testing.T) {
	t.Parallel()
	stores := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"sqlite", func(*testing.T) []string { return []string{"-store", "sqlite"} }},
		{"memory", func(*testing.T) []string { return []string{"-store", "memory"} }},
		{"redis", func(t *testing.T) []string {
			return []string{"-store", "redis", "-redis-url", redistest.Start(t).URL}
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, st.args(t)...)
			v := newVisitor(t, srv.URL)

			first := thisRequest(t, v.get("/session-example"))
			first.wantFact(t, "session", "new:")
			first.wantChange(t, "viewCount", "added", "", "1")
			first.wantFact(t, "set-cookie", "yes: a new token")

			reload := thisRequest(t, v.get("/session-example"))
			reload.wantFact(t, "session", "loaded:")
			reload.wantChange(t, "viewCount", "changed", "1", "2")

			v.add(2, "1")
			r := v.get("/cart")
			before, ok := readPanel(t, r, "before")
			if !ok {
				t.Fatal("no report of the form")
			}
			before.wantChange(t, "chosenIngredients", "changed", `[{"id":1,"qty":3}]`, `[{"id":1,"qty":3},{"id":2,"qty":1}]`)
			thisRequest(t, r).wantChange(t, "flash", "removed", `"Added 1 × Eggs. You now have 1 in your cart."`, "")

			idle := thisRequest(t, v.get("/orders/999"))
			idle.wantFact(t, "save", "saved: unchanged, but the idle timeout moves the expiry on")
		})
	}
}
