package e2e

// A real browser, Chromium driven by chromedp, goes through the tutorial the
// way a visitor does: it clicks the real buttons and submits the real forms,
// so the HTML, the CSS, the Content-Security-Policy and the redirects are
// all tested together.
//
//	go test ./e2e -run Browser                 # skipped when no Chromium is installed
//	go test ./e2e -run Browser -screenshots    # also refreshes docs/screenshot-*.png

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var screenshots = flag.Bool("screenshots", false, "save full-page PNGs of the home, cart and session pages in docs/")

func TestBrowserShoppingTrip(t *testing.T) {
	exe := findChromium(t)
	// The default path, relative to the server's own folder, so that the
	// screenshots show the sqlite3 command as a reader's server prints it.
	srv := startServerOn(t, "data/sessions.db")
	b := newBrowser(t, exe, srv.URL)

	// The original tutorial's route counts the visits of this session.
	b.open("/session-example")
	b.wantText("#view-message", "You have viewed this page 1 time.")
	b.open("/session-example")
	b.wantText("#view-message", "You have viewed this page 2 times.")

	// /session-example put 3 × Flour ($2.50) in the cart, as the original
	// does. Add one Eggs ($3.20) and one Butter ($2.80) with the buttons of
	// the catalog; each lands on the cart.
	for _, add := range []struct{ id, flash string }{
		{"2", "Added 1 × Eggs. You now have 1 in your cart."},
		{"3", "Added 1 × Butter. You now have 1 in your cart."},
	} {
		b.open("/ingredients")
		b.submit("#ingredient-"+add.id+` button[type="submit"]`, "/cart")
		b.wantText(".flash", add.flash)
	}
	b.wantText("#line-1 .line-total", "$7.50")
	b.wantText("#line-2 .line-total", "$3.20")
	b.wantText("#line-3 .line-total", "$2.80")
	b.wantText("#cart-total", "$13.50")

	// Four Eggs instead of one, typed into the row's quantity field.
	b.typeInto(`#line-2 .qty input[name="qty"]`, "4")
	b.submit(`#line-2 .qty button[type="submit"]`, "/cart")
	b.wantText(".flash", "Eggs: quantity set to 4.")
	b.wantText("#line-2 .line-total", "$12.80")
	b.wantText("#cart-total", "$23.10")
	b.wantText("#cart-count", "8")
	b.screenshot("cart")
	if *screenshots {
		// The same page with its session panel open: the form before it
		// changed the cart, this page popped the flash.
		b.eval(`document.getElementById("session-panel").open = true; true`)
		b.screenshot("panel", "#session-panel")
		b.eval(`document.getElementById("session-panel").open = false; true`)
	}

	// The session cookie is HttpOnly: the browser holds it and sends it, but
	// no script on the page can read it.
	b.wantHTTPOnlySessionCookie()

	// Signing up signs in, under a new token, and keeps the cart.
	b.open("/signup")
	b.typeInto("#name", "Ada Lovelace")
	b.typeInto("#email", "ada@example.com")
	b.typeInto("#password", "correct horse battery")
	b.submit(`form[action="/signup"] button[type="submit"]`, "/account")
	b.wantText(".flash", "Welcome, Ada Lovelace! Your account is ready, and you are signed in.")
	b.wantText("#account-name", "Ada Lovelace")
	b.open("/")
	b.wantText("#signed-in", "yes, as Ada Lovelace")
	b.wantText("#view-count", "2")
	b.wantText("#cart-items", "8")
	b.screenshot("home")

	b.open("/cart")
	orderPath := b.submit("#checkout", "/orders/")
	b.wantText("#order-total", "$23.10")
	if !strings.Contains(b.text("main"), "by Ada Lovelace (ada@example.com)") {
		t.Errorf("%s does not say who placed the order:\n%s", orderPath, b.text("main"))
	}

	b.open("/cart")
	b.wantText("#cart-empty", "Your cart is empty. Choose some ingredients.")

	// Signed out and in again with the password, the account still has
	// its order.
	b.submit(`form[action="/logout"] button[type="submit"]`, "/")
	b.wantText(".flash", "Signed out. Your old session, cart included, is gone.")
	b.open("/login")
	b.typeInto("#email", "ada@example.com")
	b.typeInto("#password", "correct horse battery")
	b.submit(`form[action="/login"] button[type="submit"]`, "/account")
	b.wantText(".flash", "Signed in as Ada Lovelace. Your session has a new token now.")
	if !strings.Contains(b.text("main"), "Order "+strings.TrimPrefix(orderPath, "/orders/")) {
		t.Errorf("/account does not list %s:\n%s", orderPath, b.text("main"))
	}

	b.open("/session")
	b.screenshot("session")

	if p := b.problems(); len(p) > 0 {
		t.Errorf("the browser reported %d problem(s), want none:\n%s", len(p), strings.Join(p, "\n"))
	}

	// The check above is only worth something if a violation would be seen:
	// an inline script, which the Content-Security-Policy forbids, must be
	// refused and reported.
	b.injectInlineScript()
	if !b.waitProblem("Content Security Policy") {
		t.Errorf("an inline script ran or went unreported; reported: %q", b.problems())
	}
}

// findChromium returns the browser to drive, or skips the test.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium found (/usr/bin/chromium, or chromium, chromium-browser or google-chrome on PATH); " +
		"install it with `sudo apt-get install chromium`")
	return ""
}

// browser is one headless Chromium with one tab, and what it has reported.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	reported []string // console errors, uncaught exceptions, CSP violations
}

// Timeouts for one step, so that a missing element fails the test in
// seconds rather than at the test's deadline.
const (
	queryTimeout    = 5 * time.Second
	navigateTimeout = 10 * time.Second
)

func newBrowser(t *testing.T, exe, base string) *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // the sandbox cannot start as root, as in CI
		chromedp.Flag("disable-gpu", true),
		// Without these, Chromium tries to reach Google's servers at start.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	// A bound on the whole browser: if anything hangs, it is killed and the
	// step in progress fails.
	root, cancelRoot := context.WithTimeout(context.Background(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Registered after t.TempDir, so it runs first: Chromium has exited
	// before its profile folder is removed.
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelRoot()
	})

	b := &browser{t: t, ctx: ctx, base: base}
	// Listen starts the browser and opens the tab. chromedp enables the
	// Runtime and Log domains of every tab, which send these events.
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	// 1000 px wide keeps the screenshots small and shows the desktop layout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 700)); err != nil {
		t.Fatalf("set the viewport: %v", err)
	}
	return b
}

// record keeps every event that means something went wrong on a page. It
// runs on chromedp's reading goroutine, so it only appends.
func (b *browser) record(ev any) {
	var problem string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				args = append(args, a.Description+string(a.Value))
			}
			problem = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "uncaught exception: " + d.Text
		if d.Exception != nil {
			problem += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		// Blocked resources and CSP violations arrive here, from the
		// "network" and "security" sources.
		e := ev.Entry
		if e.Level == log.EntryLevelError || e.Source == log.EntrySourceSecurity {
			problem = fmt.Sprintf("log %s/%s: %s %s", e.Source, e.Level, e.Text, e.URL)
		}
	}
	if problem != "" {
		b.mu.Lock()
		b.reported = append(b.reported, problem)
		b.mu.Unlock()
	}
}

func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.reported...)
}

// injectInlineScript adds an inline <script> to the page, as an injection
// attack would. If it runs, it sets a marker that fails the test.
func (b *browser) injectInlineScript() {
	b.t.Helper()
	const inject = `const s = document.createElement("script");
		s.textContent = "document.body.dataset.injected = 'ran'";
		document.body.append(s);
		document.body.dataset.injected ?? "blocked"`
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](inject))
	if err != nil {
		b.t.Fatalf("inject an inline script: %v", err)
	}
	if got != "blocked" {
		b.t.Errorf("inline script: %s, want blocked by the Content-Security-Policy", got)
	}
}

// waitProblem waits briefly for a reported problem that contains text; the
// browser reports a violation asynchronously.
func (b *browser) waitProblem(text string) bool {
	for deadline := time.Now().Add(queryTimeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, p := range b.problems() {
			if strings.Contains(p, text) {
				return true
			}
		}
	}
	return false
}

// location returns the path of the page the tab shows.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read the location: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		b.t.Fatalf("location %q: %v", loc, err)
	}
	return u.Path
}

// open loads path as if typed into the address bar, and fails unless the
// answer is 200.
func (b *browser) open(path string) {
	b.t.Helper()
	b.openStatus(path, 200)
}

// openStatus loads path and fails unless the answer is status.
func (b *browser) openStatus(path string, status int64) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, navigateTimeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.base+path))
	if err != nil {
		b.t.Fatalf("open %s: %v", path, err)
	}
	if resp.Status != status {
		b.t.Fatalf("open %s: status %d, want %d", path, resp.Status, status)
	}
}

// submit clicks a submit button, follows the form's redirect and returns
// the path it lands on, which must start with wantPath and answer 200.
func (b *browser) submit(button, wantPath string) string {
	b.t.Helper()
	from := b.location()
	ctx, cancel := context.WithTimeout(b.ctx, navigateTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("on %s, click %s: %v", from, button, err)
	}
	to := b.location()
	if resp.Status != 200 || !strings.HasPrefix(to, wantPath) {
		b.t.Fatalf("on %s, click %s: landed on %s with status %d, want %s with 200", from, button, to, resp.Status, wantPath)
	}
	return to
}

// typeInto replaces the value of a form field by typing, as a person would.
func (b *browser) typeInto(field, value string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, queryTimeout)
	defer cancel()
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS(field)),
		chromedp.SendKeys(chromedp.CSS(field), value),
	); err != nil {
		b.t.Fatalf("on %s, type into %s: %v", b.location(), field, err)
	}
}

// text returns the visible text of the first element that matches sel.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, queryTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("on %s, read %s: %v", b.location(), sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); got != want {
		b.t.Errorf("on %s, %s shows %q, want %q", b.location(), sel, got, want)
	}
}

// wantHTTPOnlySessionCookie checks that the browser holds the session
// cookie and that the page's script cannot see it.
func (b *browser) wantHTTPOnlySessionCookie() {
	b.t.Helper()
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.base}})
	if err != nil {
		b.t.Fatalf("read the cookies: %v", err)
	}
	var held *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "session" {
			held = c
		}
	}
	if held == nil || !held.HTTPOnly {
		b.t.Errorf("browser holds session cookie %+v, want one marked HttpOnly", held)
	}
	script, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		b.t.Fatalf("read document.cookie: %v", err)
	}
	if strings.Contains(script, "session=") {
		b.t.Errorf("document.cookie = %q, want no session cookie in it (HttpOnly)", script)
	}
}

// screenshot saves the whole page, or the one element that selector
// names, as docs/screenshot-<name>.png when the -screenshots flag is given.
func (b *browser) screenshot(name string, selector ...string) {
	b.t.Helper()
	if !*screenshots {
		return
	}
	shot := chromedp.FullScreenshot(100)
	if len(selector) > 0 {
		shot = chromedp.Screenshot(chromedp.CSS(selector[0]))
	}
	png, err := chromedp.Run(b.ctx, shot)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "docs", "screenshot-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%d bytes)", path, len(png))
}

// TestBrowserPagesFitTheWindow opens every page on a phone's width and on a
// desktop's, with the data that makes each one longest, and checks that no
// page scrolls sideways and that nothing on it is cut off or squeezed.
func TestBrowserPagesFitTheWindow(t *testing.T) {
	exe := findChromium(t)
	srv := startServer(t)
	b := newBrowser(t, exe, srv.URL)
	// fits brings a page up with show at each width, then measures it.
	fits := func(what string, show func(), wide ...string) {
		t.Helper()
		for _, width := range []int64{390, 1280} {
			b.setWidth(width)
			show()
			b.wantFits(what, width, wide...)
		}
	}
	fitsPage := func(path string, status int64, wide ...string) {
		t.Helper()
		fits(path, func() { b.openStatus(path, status) }, wide...)
	}

	// A guest, with an empty cart.
	fitsPage("/", 200)
	fitsPage("/signup", 200)
	fitsPage("/login", 200)
	fitsPage("/cart", 200)
	fitsPage("/ingredients", 200)
	fitsPage("/ingredients/1", 200)
	fitsPage("/no-such-page", 404)

	// The session example fills the cart; two more lines from the catalog.
	fitsPage("/session-example", 200)
	for _, id := range []string{"2", "3", "4"} {
		b.open("/ingredients")
		b.submit("#ingredient-"+id+` button[type="submit"]`, "/cart")
	}
	fitsPage("/cart", 200)
	// The cart shown again for a quantity it refuses, with the message next
	// to the field. The field's max goes first: the browser itself would
	// refuse to send 100.
	fits("/cart with a refused quantity", func() {
		b.open("/cart")
		b.eval(`document.querySelector("#qty-1").removeAttribute("max"), true`)
		b.typeInto("#qty-1", "100")
		b.submitStatus("#line-1 .qty button", 422)
		b.wantText("#qty-1-error", "Quantity must be a whole number from 0 to 99.")
	})
	// The inspector's values are long JSON: each must get most of the width.
	fitsPage("/session", 200, "#values td:last-child")

	// A line's Remove button, on a phone, takes that line out.
	b.setWidth(390)
	b.open("/cart")
	b.submit("#line-4 .remove button", "/cart")
	b.wantText(".flash", "Sugar removed from your cart.")
	if gone := b.eval(`document.querySelector("#line-4") === null && document.querySelector("#line-3") !== null`); !gone {
		t.Errorf("after Remove on Sugar's line, want only that line gone:\n%s", b.text("main"))
	}

	// Signed in, with an order, under a long name and a long email, which
	// the navigation, the account and the order show.
	b.open("/signup")
	b.typeInto("#name", "Augusta Ada King, Countess of Lovelace")
	b.typeInto("#email", "augusta.ada.king.countess.of.lovelace@analytical-engine.example.com")
	b.typeInto("#password", adaPassword)
	b.submit(`form[action="/signup"] button[type="submit"]`, "/account")
	b.open("/cart")
	order := b.submit("#checkout", "/orders/")
	fitsPage(order, 200)
	fitsPage("/account", 200)
	fitsPage("/session", 200, "#values td:last-child")

	// The browser reports each page answered with a 4xx status; anything
	// else, a style the Content-Security-Policy refused say, is a problem.
	var problems []string
	for _, p := range b.problems() {
		if !strings.HasPrefix(p, "log network/error") ||
			!strings.HasSuffix(p, srv.URL+"/no-such-page") && !strings.HasSuffix(p, srv.URL+"/cart/items/1") {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		t.Errorf("the browser reported %d problem(s), want none:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// overflowScript lists what sticks out of the window or out of its box on
// the page shown: the page itself when it is wider than the window, then
// every element and every run of text that reaches past the window's left
// or right edge, and every box that clips what it holds. The window's width
// is measured without its scrollbar (clientWidth), which a phone's does not
// take up. Only the first few are listed: one wide table makes every cell in
// it stick out.
const overflowScript = `(() => {
  const vw = document.documentElement.clientWidth, found = [];
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const where = el => { const p = []; for (; el && el !== document.body; el = el.parentElement) p.unshift(name(el)); return p.join(" > "); };
  const outside = r => r.width > 0 && (r.left < -1 || r.right > vw + 1);
  const sw = document.documentElement.scrollWidth;
  if (sw > vw || sw > window.innerWidth) found.push("the page is " + sw + " px wide in a window of " + vw + " px");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (outside(r)) found.push(where(el) + " spans " + Math.round(r.left) + " to " + Math.round(r.right) + " px");
    const s = getComputedStyle(el);
    if (s.overflowX !== "visible" && !["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1)
      found.push(where(el) + " cuts off " + (el.scrollWidth - el.clientWidth) + " px of what it holds");
  }
  const text = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = text.nextNode(); n; n = text.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects())
      if (outside(r)) { found.push("the text " + JSON.stringify(n.textContent.trim().slice(0, 40)) + " in " + where(n.parentElement) + " spans " + Math.round(r.left) + " to " + Math.round(r.right) + " px"); break; }
  }
  return found.slice(0, 8);
})()`

// squeezedScript lists the elements matching the selector in %s that are
// narrower than two thirds of main's width: a column that long values are
// pressed into.
const squeezedScript = `(() => {
  const main = document.querySelector("main").getBoundingClientRect().width, found = [];
  const els = document.querySelectorAll(%q);
  if (els.length === 0) found.push("nothing matches " + %[1]q);
  for (const el of els) {
    const w = el.getBoundingClientRect().width;
    if (w < main * 2 / 3) found.push(%[1]q + " " + JSON.stringify(el.textContent.trim().slice(0, 40)) + " is " + Math.round(w) + " px wide, main " + Math.round(main) + " px");
  }
  return found;
})()`

// wantFits fails the test if the page shown, at width px, scrolls
// sideways, if anything on it sticks out or is cut off, or if an element
// matching one of wide gets less than two thirds of the page's width.
func (b *browser) wantFits(what string, width int64, wide ...string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, queryTimeout)
	defer cancel()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowScript))
	if err != nil {
		b.t.Fatalf("on %s, measure the page: %v", what, err)
	}
	for _, sel := range wide {
		squeezed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(squeezedScript, sel)))
		if err != nil {
			b.t.Fatalf("on %s, measure %s: %v", what, sel, err)
		}
		problems = append(problems, squeezed...)
	}
	if len(problems) > 0 {
		b.t.Errorf("%s at %d px wide does not fit:\n  %s", what, width, strings.Join(problems, "\n  "))
	}
}

// setWidth makes the window width px wide, as a phone's or a desktop's.
func (b *browser) setWidth(width int64) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 800)); err != nil {
		b.t.Fatalf("set the window to %d px: %v", width, err)
	}
}

// eval runs a script on the page and returns its answer, which must be
// true or false.
func (b *browser) eval(script string) bool {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, queryTimeout)
	defer cancel()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script))
	if err != nil {
		b.t.Fatalf("on %s, run %s: %v", b.location(), script, err)
	}
	return ok
}

// submitStatus clicks a submit button and fails unless the page it leads
// to answers status.
func (b *browser) submitStatus(button string, status int64) {
	b.t.Helper()
	from := b.location()
	ctx, cancel := context.WithTimeout(b.ctx, navigateTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(button)))
	if err != nil {
		b.t.Fatalf("on %s, click %s: %v", from, button, err)
	}
	if resp.Status != status {
		b.t.Fatalf("on %s, click %s: status %d, want %d", from, button, resp.Status, status)
	}
}
