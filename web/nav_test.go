package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// currentLink finds the links of the layout marked as the current page.
var currentLink = regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]* aria-current="page">`)

// TestNavigationMarksTheCurrentPage visits every page, as a guest and
// signed in, and checks which link of the layout says it is the page shown:
// the one of the part of the site the page belongs to, and only that one.
func TestNavigationMarksTheCurrentPage(t *testing.T) {
	app := newTestApp(t, appOptions{})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)
	guest := newBrowser(t, app.url)
	user := newBrowser(t, app.url)
	user.signIn("ada@example.com", adaPassword, false)
	if a := user.post("/cart/items", url.Values{"ingredient_id": {"1"}}); a.status != http.StatusSeeOther {
		t.Fatalf("POST /cart/items: got status %d, want 303", a.status)
	}
	checkout := user.post("/checkout", nil)
	order := checkout.header.Get("Location")
	if checkout.status != http.StatusSeeOther || !strings.HasPrefix(order, "/orders/") {
		t.Fatalf("POST /checkout: got status %d to %q, want 303 to an order", checkout.status, order)
	}

	tests := []struct {
		name   string
		b      *browser
		method string
		path   string
		form   url.Values
		status int
		want   []string // the links marked current
	}{
		{"home", guest, "GET", "/", nil, 200, []string{"/"}},
		{"session example", guest, "GET", "/session-example", nil, 200, []string{"/session-example"}},
		{"ingredients", guest, "GET", "/ingredients", nil, 200, []string{"/ingredients"}},
		{"one ingredient", guest, "GET", "/ingredients/1", nil, 200, []string{"/ingredients"}},
		{"cart", guest, "GET", "/cart", nil, 200, []string{"/cart"}},
		{"cart shown again for a refused add", guest, "POST", "/cart/items", url.Values{"ingredient_id": {"1"}, "qty": {"abc"}}, 422, []string{"/cart"}},
		{"cart shown again for a refused quantity", guest, "POST", "/cart/items/1", url.Values{"qty": {"abc"}}, 422, []string{"/cart"}},
		{"session inspector", guest, "GET", "/session", nil, 200, []string{"/session"}},
		{"sign-in", guest, "GET", "/login", nil, 200, []string{"/login"}},
		{"sign-up", guest, "GET", "/signup", nil, 200, []string{"/signup"}},
		{"sign-up shown again", guest, "POST", "/signup", url.Values{"name": {""}}, 422, []string{"/signup"}},
		{"account", user, "GET", "/account", nil, 200, []string{"/account"}},
		{"account shown again for a refused password", user, "POST", "/account/password", url.Values{"current_password": {"wrong"}, "new_password": {"x"}}, 422, []string{"/account"}},
		{"an order, listed on the account", user, "GET", order, nil, 200, []string{"/account"}},
		{"the cart, signed in", user, "GET", "/cart", nil, 200, []string{"/cart"}},
		{"a page not found", guest, "GET", "/no-such-page", nil, 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.b.do(tt.method, tt.path, "text/html", tt.form)
			wantStatus(t, tt.method+" "+tt.path, a, tt.status)
			var got []string
			for _, m := range currentLink.FindAllStringSubmatch(a.body, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("links marked current: got %q, want %q", got, tt.want)
			}
		})
	}
}
