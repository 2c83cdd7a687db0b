package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserSignUpAndSignIn signs up with the real form, signs out, and
// signs in again from the page a guest is sent to from /account, ticking
// "remember me".
func TestBrowserSignUpAndSignIn(t *testing.T) {
	exe := findChromium(t)
	srv := startServer(t)
	b := newBrowser(t, exe, srv.URL)

	b.open("/signup")
	b.typeInto(`input[name="name"]`, "Ada Lovelace")
	b.typeInto(`input[name="email"]`, "ada@example.com")
	b.typeInto(`input[name="password"]`, adaPassword)
	b.submit(`form[action="/signup"] button[type="submit"]`, "/account")
	if main := b.text("main"); !strings.Contains(main, "Ada Lovelace") || !strings.Contains(main, "ada@example.com") {
		t.Errorf("/account after sign-up does not show the account:\n%s", main)
	}
	b.wantHTTPOnlySessionCookie()

	b.submit(`form[action="/logout"] button[type="submit"]`, "/")

	// A guest asking for /account lands on the sign-in form, which brings
	// it back there.
	b.open("/account")
	if got := b.location(); got != "/login" {
		t.Fatalf("a guest opening /account landed on %s, want /login", got)
	}
	b.typeInto(`input[name="email"]`, "ada@example.com")
	b.typeInto(`input[name="password"]`, adaPassword)
	b.check(`input[name="remember"]`)
	b.submit(`form[action^="/login"] button[type="submit"]`, "/account")
	if main := b.text("main"); !strings.Contains(main, "Ada Lovelace") {
		t.Errorf("/account after sign-in does not show the account:\n%s", main)
	}
	b.wantHTTPOnlyRememberCookie()

	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser reported %d problem(s), want none:\n%s", len(p), strings.Join(p, "\n"))
	}
}

// check ticks a checkbox, as a person would by clicking it.
func (b *browser) check(box string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, queryTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(box))); err != nil {
		b.t.Fatalf("on %s, click %s: %v", b.location(), box, err)
	}
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+box+`').checked`))
	if err != nil || !checked {
		b.t.Fatalf("on %s, %s is not checked after a click (%v)", b.location(), box, err)
	}
}

// wantHTTPOnlyRememberCookie checks that the browser holds a persistent
// remember cookie that the page's script cannot see.
func (b *browser) wantHTTPOnlyRememberCookie() {
	b.t.Helper()
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	if err != nil {
		b.t.Fatalf("read the cookies: %v", err)
	}
	var held *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "remember" {
			held = c
		}
	}
	if held == nil || !held.HTTPOnly || held.Session {
		b.t.Errorf("browser holds remember cookie %+v, want a persistent one marked HttpOnly", held)
	}
	script, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		b.t.Fatalf("read document.cookie: %v", err)
	}
	if strings.Contains(script, "remember=") {
		b.t.Errorf("document.cookie = %q, want no remember cookie in it (HttpOnly)", script)
	}
}
