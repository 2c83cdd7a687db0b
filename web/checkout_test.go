package web_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

var checkoutField = regexp.MustCompile(`<input type="hidden" name="(checkout_key|cart)" value="([^"]*)">`)

// checkoutForm returns the fields of the cart page's checkout form.
func (b *browser) checkoutForm() url.Values {
	b.t.Helper()
	a := b.get("/cart")
	wantStatus(b.t, "GET /cart", a, http.StatusOK)
	form := url.Values{}
	for _, m := range checkoutField.FindAllStringSubmatch(a.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	return form
}

// checkoutKey returns the session's checkoutKey, read through the inspector.
func (b *browser) checkoutKey() string {
	b.t.Helper()
	a := b.getJSON("/session")
	wantStatus(b.t, "GET /session", a, http.StatusOK)
	var in struct {
		Values map[string]any `json:"values"`
	}
	if err := json.Unmarshal([]byte(a.body), &in); err != nil {
		b.t.Fatal(err)
	}
	key, _ := in.Values["checkoutKey"].(string)
	return key
}

func TestCheckoutFormNamesTheCartByItsContents(t *testing.T) {
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	add := func(id, qty string) {
		t.Helper()
		wantStatus(t, "add", b.post("/cart/items", url.Values{"ingredient_id": {id}, "qty": {qty}}), http.StatusSeeOther)
	}
	add("1", "3")
	add("2", "2")
	form := b.checkoutForm()
	if got, want := form.Get("cart"), "1x3,2x2"; got != want {
		t.Errorf("got cart field %q, want %q", got, want)
	}
	if form.Get("checkout_key") == "" || form.Get("checkout_key") != b.checkoutKey() {
		t.Errorf("got checkout_key field %q, want the session's key %q", form.Get("checkout_key"), b.checkoutKey())
	}

	// Flour taken out and put back: the lines are in another order, but it
	// is the cart the page showed.
	wantStatus(t, "remove Flour", b.post("/cart/items/1", url.Values{"qty": {"0"}}), http.StatusSeeOther)
	add("1", "3")
	wantStatus(t, "POST /checkout", b.post("/checkout", form), http.StatusSeeOther)
}

func TestCartWithoutACheckoutKeyGetsOneWhenShown(t *testing.T) {
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	// The original tutorial's route puts a cart in the session by itself.
	wantStatus(t, "GET /session-example", b.get("/session-example"), http.StatusOK)

	wantStatus(t, "HEAD /cart", b.do(http.MethodHead, "/cart", "text/html", nil), http.StatusOK)
	if key := b.checkoutKey(); key != "" {
		t.Errorf("HEAD /cart: got checkoutKey %q, want none: a HEAD never changes a session", key)
	}
	form := b.checkoutForm()
	if key := b.checkoutKey(); key == "" || form.Get("checkout_key") != key {
		t.Errorf("GET /cart: got checkout_key field %q and session key %q, want one key in both",
			form.Get("checkout_key"), key)
	}
}
