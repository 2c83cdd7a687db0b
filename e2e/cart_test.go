package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCatalog(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	t.Run("lists at least ten ingredients, each with an add-to-cart form", func(t *testing.T) {
		r := v.get("/ingredients")
		wantStatus(t, "GET /ingredients", r, http.StatusOK)
		for id := 1; id <= 10; id++ {
			if !strings.Contains(r.Body, fmt.Sprintf(`href="/ingredients/%d"`, id)) {
				t.Errorf("no link to ingredient %d", id)
			}
		}
		if n := strings.Count(r.Body, `action="/cart/items"`); n < 10 {
			t.Errorf("got %d add-to-cart forms, want at least 10", n)
		}
		if n := strings.Count(r.Body, `name="ingredient_id"`); n < 10 {
			t.Errorf("got %d ingredient_id fields, want at least 10", n)
		}
		wantText(t, "GET /ingredients", r, "Flour", "$2.50")
	})

	t.Run("shows one ingredient with its form", func(t *testing.T) {
		r := v.get("/ingredients/1")
		wantStatus(t, "GET /ingredients/1", r, http.StatusOK)
		wantText(t, "GET /ingredients/1", r, "Flour", "$2.50")
		if !strings.Contains(r.Body, `action="/cart/items"`) {
			t.Errorf("no add-to-cart form on the ingredient page")
		}
	})

	for _, path := range []string{"/ingredients/9999", "/ingredients/abc", "/ingredients/0", "/ingredients/-1", "/ingredients/1.5"} {
		t.Run(path+" is not found", func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			r := v.get(path)
			wantStatus(t, "GET "+path, r, http.StatusNotFound)
			wantText(t, "GET "+path, r, "Not Found")
			if _, ok := v.values()["recentlyViewed"]; ok {
				t.Errorf("recentlyViewed was recorded for %s, want nothing", path)
			}
		})
	}
}

func TestRecentlyViewed(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	recent := func() []int {
		t.Helper()
		raw, _ := v.values()["recentlyViewed"].([]any)
		ids := make([]int, len(raw))
		for i, x := range raw {
			f, _ := x.(float64)
			ids[i] = int(f)
		}
		return ids
	}

	t.Run("keeps the ten most recent, newest first", func(t *testing.T) {
		for id := 1; id <= 12; id++ {
			wantStatus(t, "view", v.get(fmt.Sprintf("/ingredients/%d", id)), http.StatusOK)
		}
		want := []int{12, 11, 10, 9, 8, 7, 6, 5, 4, 3}
		if got := recent(); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("viewing one again moves it to the front without a repeat", func(t *testing.T) {
		v.get("/ingredients/7")
		want := []int{7, 12, 11, 10, 9, 8, 6, 5, 4, 3}
		if got := recent(); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
		v.get("/ingredients/7")
		if got := recent(); !slices.Equal(got, want) {
			t.Errorf("viewing the first one again: got %v, want %v", got, want)
		}
	})

	t.Run("the cart lists what was viewed and not chosen, newest first", func(t *testing.T) {
		v.add(12, "1")
		r := v.get("/cart")
		wantStatus(t, "GET /cart", r, http.StatusOK)
		_, viewed, ok := strings.Cut(r.Body, "Viewed but not in your cart")
		if !ok {
			t.Fatalf("no viewed-but-not-in-your-cart section:\n%s", r.Body)
		}
		// 7 first (most recent), 12 missing (in the cart), then 11.
		i7 := strings.Index(viewed, `href="/ingredients/7"`)
		i11 := strings.Index(viewed, `href="/ingredients/11"`)
		if i7 < 0 || i11 < 0 || i7 > i11 {
			t.Errorf("got 7 at %d and 11 at %d, want both, 7 first:\n%s", i7, i11, viewed)
		}
		if strings.Contains(viewed, `href="/ingredients/12"`) {
			t.Errorf("ingredient 12 is in the cart but listed as viewed and not chosen")
		}
	})
}

func TestCart(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	wantCart := func(t *testing.T, want map[int64]int) {
		t.Helper()
		got := v.cart().quantities()
		if len(got) != len(want) {
			t.Fatalf("got cart %v, want %v", got, want)
		}
		for id, q := range want {
			if got[id] != q {
				t.Fatalf("got cart %v, want %v", got, want)
			}
		}
	}

	t.Run("an empty cart is exactly {items:[],totalCents:0}", func(t *testing.T) {
		r := v.getJSON("/cart")
		wantStatus(t, "GET /cart", r, http.StatusOK)
		if got, want := r.Body, `{"items":[],"totalCents":0}`; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", ct)
		}
	})

	t.Run("adding answers 303 and a one-time flash", func(t *testing.T) {
		r := v.post("/cart/items", url.Values{"ingredient_id": {"1"}, "qty": {"3"}})
		redirectsTo(t, "POST /cart/items", r, "/cart")
		wantText(t, "page after adding", v.get("/cart"), "Added 3 × Flour")
		if strings.Contains(v.get("/cart").Body, "Added 3") {
			t.Errorf("the flash was shown a second time")
		}
	})

	t.Run("the JSON cart prices each line from the catalog", func(t *testing.T) {
		r := v.getJSON("/cart")
		want := `{"items":[{"id":1,"name":"Flour","qty":3,"unitPriceCents":250,"lineTotalCents":750}],"totalCents":750}`
		if got := r.Body; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})

	t.Run("quantity defaults to 1", func(t *testing.T) {
		v.add(2, "")
		wantCart(t, map[int64]int{1: 3, 2: 1})
	})

	t.Run("adding an ingredient already there raises its line", func(t *testing.T) {
		v.add(1, "4")
		wantCart(t, map[int64]int{1: 7, 2: 1})
	})

	t.Run("a line is capped at 99", func(t *testing.T) {
		v.add(1, "99")
		wantCart(t, map[int64]int{1: 99, 2: 1})
	})

	t.Run("the HTML cart shows names, quantities, prices, totals and forms", func(t *testing.T) {
		r := v.get("/cart")
		wantStatus(t, "GET /cart", r, http.StatusOK)
		// Flour 99 × $2.50 = $247.50, Eggs 1 × $3.20; total $250.70.
		wantText(t, "GET /cart", r, "Flour", "Eggs", "$2.50", "$247.50", "$3.20", "Total $250.70")
		for _, s := range []string{
			`action="/cart/items/1"`, `action="/cart/items/2"`, `name="qty" value="99"`,
			`action="/cart/clear"`, `action="/checkout"`,
		} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("cart page has no %s", s)
			}
		}
	})

	t.Run("setting a quantity replaces it", func(t *testing.T) {
		r := v.post("/cart/items/1", url.Values{"qty": {"5"}})
		redirectsTo(t, "POST /cart/items/1", r, "/cart")
		wantCart(t, map[int64]int{1: 5, 2: 1})
		wantText(t, "page after setting", v.get("/cart"), "Flour: quantity set to 5.")
	})

	t.Run("setting 0 removes the line", func(t *testing.T) {
		redirectsTo(t, "POST /cart/items/2", v.post("/cart/items/2", url.Values{"qty": {"0"}}), "/cart")
		wantCart(t, map[int64]int{1: 5})
		wantText(t, "page after removing", v.get("/cart"), "Eggs removed from your cart.")
	})

	t.Run("clearing empties the cart", func(t *testing.T) {
		v.add(3, "2")
		redirectsTo(t, "POST /cart/clear", v.post("/cart/clear", nil), "/cart")
		wantCart(t, map[int64]int{})
		r := v.get("/cart")
		wantText(t, "page after clearing", r, "Your cart is empty.")
	})
}

// TestCartRefusesBadInput sends every kind of bad form to the cart. Each
// gets a 4xx that says what was wrong, and the session is left as it was.
// A bad value gets the cart page again, 422, with the message next to the
// field that held it and the value as typed; a form the cart page cannot
// show again (an address that names no ingredient, a body over the limit)
// gets an error page.
func TestCartRefusesBadInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.add(1, "3")
	v.get("/cart") // show, and so drop, the flash of that add

	qty := "Quantity must be a whole number"
	tests := []struct {
		name    string
		path    string
		form    url.Values
		status  int
		message string
		field   string // the field the message stands next to; "" for an error page
		typed   string // the value that field shows again
	}{
		{"non-numeric qty", "/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"abc"}}, 422, qty, "add-qty", "abc"},
		{"qty 0 when adding", "/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"0"}}, 422, qty, "add-qty", "0"},
		{"qty 100", "/cart/items", url.Values{"ingredient_id": {"1"}, "qty": {"100"}}, 422, qty, "add-qty", "100"},
		{"negative qty", "/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"-1"}}, 422, qty, "add-qty", "-1"},
		{"fractional qty", "/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1.5"}}, 422, qty, "add-qty", "1.5"},
		{"unknown ingredient", "/cart/items", url.Values{"ingredient_id": {"9999"}, "qty": {"1"}}, 422, "There is no ingredient 9999", "add-ingredient", ""},
		{"non-numeric ingredient", "/cart/items", url.Values{"ingredient_id": {"flour"}}, 422, "Choose an ingredient", "add-ingredient", ""},
		{"missing ingredient", "/cart/items", url.Values{"qty": {"1"}}, 422, "Choose an ingredient", "add-ingredient", ""},
		{"missing qty when setting", "/cart/items/1", url.Values{}, 422, qty, "qty-1", ""},
		{"non-numeric qty when setting", "/cart/items/1", url.Values{"qty": {"lots"}}, 422, qty, "qty-1", "lots"},
		{"qty 100 when setting", "/cart/items/1", url.Values{"qty": {"100"}}, 422, qty, "qty-1", "100"},
		{"negative qty when setting", "/cart/items/1", url.Values{"qty": {"-1"}}, 422, qty, "qty-1", "-1"},
		{"setting an unknown ingredient", "/cart/items/9999", url.Values{"qty": {"1"}}, 422, "There is no ingredient 9999", "cart", ""},
		{"setting a non-numeric id", "/cart/items/abc", url.Values{"qty": {"1"}}, 404, "There is nothing at this address.", "", ""},
		{"a form over the size limit", "/cart/items", url.Values{"ingredient_id": {"1"}, "x": {strings.Repeat("x", 70<<10)}}, 413, "The form is larger than", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := v.values()
			r := v.post(tt.path, tt.form)
			wantStatus(t, "POST "+tt.path, r, tt.status)
			wantText(t, "POST "+tt.path, r, tt.message)
			if tt.field != "" {
				wantCartPage(t, "POST "+tt.path, r)
				wantMessageNextTo(t, "POST "+tt.path, r, tt.field, tt.typed, tt.message)
			}
			wantUnchanged(t, "POST "+tt.path, before, v.values())
		})
	}
	if got := v.cart().quantities(); len(got) != 1 || got[1] != 3 {
		t.Errorf("after every bad form: got cart %v, want ingredient 1 × 3", got)
	}

	t.Run("a client that asks for JSON gets the message as JSON", func(t *testing.T) {
		before := v.values()
		req := v.request("POST", "/cart/items", strings.NewReader("ingredient_id=2&qty=abc"), http.Header{
			"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}})
		r := v.do(req)
		wantStatus(t, "POST /cart/items", r, 422)
		if want := `{"error":"Quantity must be a whole number from 1 to 99."}`; r.Body != want {
			t.Errorf("got %s, want %s", r.Body, want)
		}
		wantUnchanged(t, "POST /cart/items", before, v.values())
	})
}

// wantCartPage fails unless r is the cart page, with its lines.
func wantCartPage(t testing.TB, what string, r response) {
	t.Helper()
	if !strings.Contains(r.Body, "<h1>Your cart</h1>") || !strings.Contains(r.Body, `id="line-1"`) {
		t.Errorf("%s: got no cart page with its lines:\n%s", what, r.Body)
	}
}

// wantMessageNextTo fails unless the page shows message in the error
// element of the field with id field, in the same paragraph or cell as the
// field, which points to it (aria-describedby) and shows typed again. The
// field "cart" is the message of the whole cart, above its lines.
func wantMessageNextTo(t testing.TB, what string, r response, field, typed, message string) {
	t.Helper()
	errorRE := regexp.MustCompile(`<[a-z]+ class="error" id="` + field + `-error"[^>]*>([^<]*)<`)
	m := errorRE.FindStringSubmatchIndex(r.Body)
	if m == nil {
		t.Errorf("%s: no message for %s on the page:\n%s", what, field, r.Body)
		return
	}
	if got := html.UnescapeString(r.Body[m[2]:m[3]]); !strings.Contains(got, message) {
		t.Errorf("%s: the message next to %s is %q, want %q", what, field, got, message)
	}
	if field == "cart" {
		return
	}
	tag := regexp.MustCompile(`<(?:input|select) [^>]*id="` + field + `"[^>]*>`).FindStringIndex(r.Body)
	if tag == nil {
		t.Errorf("%s: no field %s on the page", what, field)
		return
	}
	fieldTag, between := r.Body[tag[0]:tag[1]], r.Body[tag[1]:max(tag[1], m[0])]
	if tag[1] > m[0] || strings.Contains(between, "</p>") || strings.Contains(between, "</td>") {
		t.Errorf("%s: the message for %s is not next to it:\n%s", what, field, r.Body)
	}
	for _, attr := range []string{`aria-invalid="true"`, `aria-describedby="` + field + `-error"`} {
		if !strings.Contains(fieldTag, attr) {
			t.Errorf("%s: field %s has no %s: %s", what, field, attr, fieldTag)
		}
	}
	if typed != "" && !strings.Contains(fieldTag, `value="`+html.EscapeString(typed)+`"`) {
		t.Errorf("%s: field %s does not show %q again: %s", what, field, typed, fieldTag)
	}
}

// TestCartLinesHaveARemoveButton sends the form of a line's Remove button
// as the cart page has it: that line goes, the others stay.
func TestCartLinesHaveARemoveButton(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.add(1, "3")
	v.add(2, "2")
	v.add(3, "1")

	page := v.get("/cart")
	wantStatus(t, "GET /cart", page, http.StatusOK)
	for _, id := range []int64{1, 2, 3} {
		if _, _, ok := removeForm(page.Body, id); !ok {
			t.Errorf("line %d has no Remove button", id)
		}
	}
	action, form, ok := removeForm(page.Body, 2)
	if !ok {
		t.Fatalf("line 2 has no Remove button:\n%s", page.Body)
	}
	redirectsTo(t, "POST "+action, v.post(action, form), "/cart")
	if got := v.cart().quantities(); len(got) != 2 || got[1] != 3 || got[3] != 1 {
		t.Errorf("after removing Eggs: got cart %v, want 1 × 3 and 3 × 1", got)
	}
	after := v.get("/cart")
	wantText(t, "GET /cart", after, "Eggs removed from your cart.")
	if strings.Contains(after.Body, `id="line-2"`) {
		t.Errorf("the cart page still has a line for Eggs")
	}
}

var (
	formRE   = regexp.MustCompile(`(?s)<form method="post" action="([^"]*)"[^>]*>(.*?)</form>`)
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// removeForm finds the form of the Remove button in line id of a cart page:
// where it posts and the fields it sends.
func removeForm(body string, id int64) (action string, form url.Values, ok bool) {
	_, line, ok := strings.Cut(body, fmt.Sprintf(`<tr id="line-%d">`, id))
	if !ok {
		return "", nil, false
	}
	line, _, _ = strings.Cut(line, "</tr>")
	for _, m := range formRE.FindAllStringSubmatch(line, -1) {
		if !regexp.MustCompile(`<button[^>]*>Remove</button>`).MatchString(m[2]) {
			continue
		}
		form := url.Values{}
		for _, h := range hiddenRE.FindAllStringSubmatch(m[2], -1) {
			form.Set(h[1], html.UnescapeString(h[2]))
		}
		return html.UnescapeString(m[1]), form, true
	}
	return "", nil, false
}

func TestPageViews(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	pageViews := func() int {
		t.Helper()
		f, _ := v.values()["pageViews"].(float64)
		return int(f)
	}

	steps := []struct {
		name  string
		visit func() response
		want  int
	}{
		{"an HTML page counts", func() response { return v.get("/ingredients") }, 1},
		{"another HTML page counts", func() response { return v.get("/ingredients/2") }, 2},
		{"the session example's HTML page counts", func() response { return v.get("/session-example") }, 3},
		{"a JSON answer does not count", func() response { return v.getJSON("/session-example") }, 3},
		{"the JSON cart does not count", func() response { return v.getJSON("/cart") }, 3},
		{"a static file does not count", func() response { return v.get("/static/style.css") }, 3},
		{"the health check does not count", func() response { return v.get("/healthz") }, 3},
		{"a 404 page does not count", func() response { return v.get("/ingredients/9999") }, 3},
		{"a POST does not count", func() response { return v.post("/cart/items", url.Values{"ingredient_id": {"1"}}) }, 3},
		{"the page it redirects to counts", func() response { return v.get("/cart") }, 4},
		{"the inspector's HTML page counts", func() response { return v.get("/session") }, 5},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.visit()
			if got := pageViews(); got != step.want {
				t.Errorf("got pageViews %d, want %d", got, step.want)
			}
		})
	}

	t.Run("the home page shows page views, viewCount and the cart's item count", func(t *testing.T) {
		r := v.get("/")
		// This page is the sixth; viewCount is 2 (one HTML, one JSON
		// visit); the session example set the cart to 1 × 3, and the
		// POST above added one more.
		wantText(t, "GET /", r, "Pages viewed in this session 6",
			"Visits to the session example ( viewCount ) 2", "Items in your cart 4")
	})
}
