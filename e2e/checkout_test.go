package e2e

import (
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCheckout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)

	v.signUp("Ada", "ada@example.com", "correct horse battery")
	v.add(1, "3") // Flour, 3 × 250
	v.add(2, "2") // Eggs, 2 × 320

	r := v.post("/checkout", nil)
	wantStatus(t, "POST /checkout", r, http.StatusSeeOther)
	location := r.Header.Get("Location")
	idText, ok := strings.CutPrefix(location, "/orders/")
	orderID, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		t.Fatalf("got Location %q, want /orders/{id}", location)
	}

	t.Run("the order is in the database with the customer and total", func(t *testing.T) {
		var name, email string
		var total int64
		err := db.QueryRow("SELECT customer_name, customer_email, total_cents FROM orders WHERE id = ?", orderID).
			Scan(&name, &email, &total)
		if err != nil {
			t.Fatalf("order %d: %v", orderID, err)
		}
		if name != "Ada" || email != "ada@example.com" || total != 1390 {
			t.Errorf("got %q <%s> total %d, want Ada <ada@example.com> total 1390", name, email, total)
		}
		rows, err := db.Query("SELECT ingredient_id, qty, unit_price_cents FROM order_lines WHERE order_id = ? ORDER BY ingredient_id", orderID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id, qty, price int64
			if err := rows.Scan(&id, &qty, &price); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d×%d@%d", id, qty, price))
		}
		if want := "1×3@250 2×2@320"; strings.Join(got, " ") != want {
			t.Errorf("got lines %q, want %q", strings.Join(got, " "), want)
		}
	})

	t.Run("the order page shows the order and a one-time flash", func(t *testing.T) {
		r := v.get(location)
		wantStatus(t, "GET "+location, r, http.StatusOK)
		wantText(t, "order page", r, fmt.Sprintf("Thank you! Order %d is placed.", orderID),
			"Flour", "Eggs", "$7.50", "$6.40", "Total $13.90", "by Ada")
		if strings.Contains(v.get(location).Body, "Thank you!") {
			t.Errorf("the flash was shown a second time")
		}
	})

	t.Run("the cart is empty and the session remembers the purchase", func(t *testing.T) {
		if got := v.cart(); len(got.Items) != 0 || got.TotalCents != 0 {
			t.Errorf("got cart %+v after checkout, want empty", got)
		}
		vals := v.values()
		if vals["purchases"] != 1.0 {
			t.Errorf("got purchases %v, want 1", vals["purchases"])
		}
		if ids, _ := vals["orderIds"].([]any); len(ids) != 1 || ids[0] != float64(orderID) {
			t.Errorf("got orderIds %v, want [%d]", vals["orderIds"], orderID)
		}
		wantText(t, "home page", v.get("/"), "Bought anything yes, 1 order")
	})

	t.Run("another visitor cannot see the order", func(t *testing.T) {
		bob := newVisitor(t, srv.URL)
		wantStatus(t, "bob GET "+location, bob.get(location), http.StatusNotFound)
		wantText(t, "bob's home", bob.get("/"), "Bought anything not yet")
	})

	t.Run("a signed-out visitor's order has no customer", func(t *testing.T) {
		anon := newVisitor(t, srv.URL)
		anon.add(5, "1")
		r := anon.post("/checkout", nil)
		wantStatus(t, "POST /checkout", r, http.StatusSeeOther)
		id := strings.TrimPrefix(r.Header.Get("Location"), "/orders/")
		var name, email string
		if err := db.QueryRow("SELECT customer_name, customer_email FROM orders WHERE id = ?", id).Scan(&name, &email); err != nil {
			t.Fatal(err)
		}
		if name != "" || email != "" {
			t.Errorf("got customer %q <%s>, want none", name, email)
		}
		// Ada's session did not place this order, so it cannot see it.
		wantStatus(t, "ada GET /orders/"+id, v.get("/orders/"+id), http.StatusNotFound)
	})

	t.Run("a second checkout adds to the purchases", func(t *testing.T) {
		v.add(3, "1")
		wantStatus(t, "POST /checkout", v.post("/checkout", nil), http.StatusSeeOther)
		vals := v.values()
		if vals["purchases"] != 2.0 {
			t.Errorf("got purchases %v, want 2", vals["purchases"])
		}
		if ids, _ := vals["orderIds"].([]any); len(ids) != 2 {
			t.Errorf("got orderIds %v, want two", vals["orderIds"])
		}
		wantText(t, "home page", v.get("/"), "Bought anything yes, 2 orders")
	})

	for _, path := range []string{"/orders/abc", "/orders/0", "/orders/999999"} {
		t.Run(path+" is not found", func(t *testing.T) {
			wantStatus(t, "GET "+path, v.get(path), http.StatusNotFound)
		})
	}
}

func TestCheckoutOfAnEmptyCartIsRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)
	v.get("/") // a session with something in it

	before := v.values()
	r := v.post("/checkout", nil)
	wantStatus(t, "POST /checkout", r, http.StatusUnprocessableEntity)
	wantText(t, "POST /checkout", r, "Your cart is empty")
	wantUnchanged(t, "POST /checkout", before, v.values())
	if n := dbCount(t, db, "orders"); n != 0 {
		t.Errorf("got %d orders, want 0", n)
	}

	// Emptied by the visitor after adding: still refused.
	v.add(1, "1")
	redirectsTo(t, "POST /cart/items/1", v.post("/cart/items/1", url.Values{"qty": {"0"}}), "/cart")
	wantStatus(t, "POST /checkout", v.post("/checkout", nil), http.StatusUnprocessableEntity)
	if n := dbCount(t, db, "orders"); n != 0 {
		t.Errorf("got %d orders, want 0", n)
	}
}

// The tests below pin that checkout is exactly-once: one cart places at most
// one order, whatever fails and however often the visitor tries again.

// refuseSessionSaves makes the server's database refuse to save the session
// of cookie, with a trigger that aborts the store's write of that row, until
// the returned function removes it. Orders and other sessions are written
// as usual: this is a save that fails after the order was written.
func refuseSessionSaves(t *testing.T, dbPath, cookie string) (restore func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The store writes with REPLACE INTO, which runs INSERT triggers.
	if _, err := db.Exec(`
		CREATE TRIGGER refuse_session_save BEFORE INSERT ON sessions
		WHEN NEW.token = '` + storeKey(cookie) + `'
		BEGIN SELECT RAISE(ABORT, 'injected fault: this session cannot be saved'); END`); err != nil {
		t.Fatalf("create the fault: %v", err)
	}
	return func() {
		t.Helper()
		if _, err := db.Exec("DROP TRIGGER refuse_session_save"); err != nil {
			t.Fatalf("remove the fault: %v", err)
		}
	}
}

// orderIDs returns the ids of every order in the database.
func orderIDs(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query("SELECT id FROM orders ORDER BY created_at, rowid")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// sessionOrderIDs returns the session's orderIds.
func (v *visitor) sessionOrderIDs() []int64 {
	v.t.Helper()
	raw, _ := v.values()["orderIds"].([]any)
	ids := make([]int64, len(raw))
	for i, x := range raw {
		f, _ := x.(float64)
		ids[i] = int64(f)
	}
	return ids
}

var checkoutFieldRE = regexp.MustCompile(`<input type="hidden" name="(checkout_key|cart)" value="([^"]*)">`)

// checkoutForm reads the hidden fields of the cart page's checkout form, as
// a browser would send them.
func (v *visitor) checkoutForm() url.Values {
	v.t.Helper()
	r := v.get("/cart")
	wantStatus(v.t, "GET /cart", r, http.StatusOK)
	form := url.Values{}
	for _, m := range checkoutFieldRE.FindAllStringSubmatch(r.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if form.Get("checkout_key") == "" || form.Get("cart") == "" {
		v.t.Fatalf("the checkout form has no checkout_key and cart fields: %v\n%s", form, r.Body)
	}
	return form
}

// orderLocation returns the order id a checkout's 303 points to.
func orderLocation(t *testing.T, r response) int64 {
	t.Helper()
	wantStatus(t, "POST /checkout", r, http.StatusSeeOther)
	idText, ok := strings.CutPrefix(r.Header.Get("Location"), "/orders/")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil {
		t.Fatalf("got Location %q, want /orders/{id}", r.Header.Get("Location"))
	}
	return id
}

func TestCheckoutTriedAgainAfterAFailedSaveFindsTheOrderPlaced(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)
	v.add(1, "3")
	v.add(2, "2")
	key, _ := v.values()["checkoutKey"].(string)

	restore := refuseSessionSaves(t, srv.DBPath, v.cookie())
	r := v.post("/checkout", nil)
	wantStatus(t, "POST /checkout while the session cannot be saved", r, http.StatusInternalServerError)
	placed := orderIDs(t, db)
	if len(placed) != 1 {
		t.Fatalf("got %d orders after the failed save, want the 1 written before it", len(placed))
	}
	restore()
	if got := v.cart().quantities(); got[1] != 3 || got[2] != 2 {
		t.Fatalf("got cart %v after the 500, want the cart as it was", got)
	}

	t.Run("the retry leads to the order placed and orders nothing twice", func(t *testing.T) {
		r := v.post("/checkout", nil)
		if got := orderLocation(t, r); got != placed[0] {
			t.Errorf("got order %d, want %d, the one the failed try placed", got, placed[0])
		}
		if got := orderIDs(t, db); len(got) != 1 {
			t.Errorf("got %d orders, want 1", len(got))
		}
		var withKey int
		if err := db.QueryRow("SELECT count(*) FROM orders WHERE checkout_key = ?", key).Scan(&withKey); err != nil || withKey != 1 {
			t.Errorf("orders with the session's checkout key %q: got %d (%v), want 1", key, withKey, err)
		}
		wantText(t, "order page", v.get(fmt.Sprintf("/orders/%d", placed[0])),
			fmt.Sprintf("Thank you! Order %d is placed.", placed[0]), "nothing was ordered twice")
	})

	t.Run("the cart is empty and the session knows the order once", func(t *testing.T) {
		if got := v.cart(); len(got.Items) != 0 {
			t.Errorf("got cart %v, want empty", got.quantities())
		}
		if got := v.sessionOrderIDs(); !slices.Equal(got, placed) {
			t.Errorf("got orderIds %v, want %v", got, placed)
		}
		vals := v.values()
		if vals["purchases"] != 1.0 {
			t.Errorf("got purchases %v, want 1", vals["purchases"])
		}
		if vals["checkoutKey"] == key {
			t.Errorf("the checkout key %q was kept after its order was placed, want a new one", key)
		}
	})

	t.Run("the next cart places an order of its own", func(t *testing.T) {
		v.add(5, "1")
		if got := orderLocation(t, v.post("/checkout", nil)); got == placed[0] {
			t.Errorf("got order %d again, want a new one", got)
		}
		if got := orderIDs(t, db); len(got) != 2 {
			t.Errorf("got %d orders, want 2", len(got))
		}
	})
}

// After a checkout whose answer was lost, the visitor changes the cart and
// checks out again: the first cart was ordered, and must not be ordered a
// second time inside the new one.
func TestCheckoutAfterALostAnswerAndAChangedCartOrdersNothingTwice(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)
	v.add(1, "3")

	restore := refuseSessionSaves(t, srv.DBPath, v.cookie())
	wantStatus(t, "POST /checkout while the session cannot be saved", v.post("/checkout", nil), http.StatusInternalServerError)
	restore()
	placed := orderIDs(t, db)
	if len(placed) != 1 {
		t.Fatalf("got %d orders after the failed save, want 1", len(placed))
	}

	v.add(2, "1") // the cart is now the ordered Flour and Eggs
	r := v.post("/checkout", nil)
	wantStatus(t, "POST /checkout of the changed cart", r, http.StatusConflict)
	wantText(t, "POST /checkout of the changed cart", r,
		fmt.Sprintf("Your earlier checkout went through: it placed order %d", placed[0]), "nothing more was ordered")
	if got := orderIDs(t, db); len(got) != 1 {
		t.Errorf("got %d orders, want 1", len(got))
	}
	if got := v.sessionOrderIDs(); !slices.Equal(got, placed) {
		t.Errorf("got orderIds %v, want %v: the session must learn of the order its key placed", got, placed)
	}
	wantStatus(t, "GET the order placed", v.get(fmt.Sprintf("/orders/%d", placed[0])), http.StatusOK)
	if got := v.cart().quantities(); got[1] != 3 || got[2] != 1 {
		t.Errorf("got cart %v, want it kept as it is for the visitor to check", got)
	}

	// Checking out again, now knowingly, orders the cart.
	if got := orderLocation(t, v.post("/checkout", nil)); got == placed[0] {
		t.Errorf("got order %d again, want a new one", got)
	}
	if got := orderIDs(t, db); len(got) != 2 {
		t.Errorf("got %d orders, want 2", len(got))
	}
}

func TestCheckoutFormSentTwicePlacesOneOrder(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)

	t.Run("one after the other, the second leads to the order the first placed", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.add(1, "2")
		form := v.checkoutForm()
		first := orderLocation(t, v.post("/checkout", form))
		if second := orderLocation(t, v.post("/checkout", form)); second != first {
			t.Errorf("got order %d for the second post, want %d", second, first)
		}
		if got := v.sessionOrderIDs(); !slices.Equal(got, []int64{first}) {
			t.Errorf("got orderIds %v, want [%d]", got, first)
		}
	})

	tests := []struct {
		name string
		form func(v *visitor) url.Values
		// want is the statuses of the two answers, in either order.
		want []int
	}{
		{"at once, from the form, both lead to the one order", (*visitor).checkoutForm,
			[]int{http.StatusSeeOther, http.StatusSeeOther}},
		{"at once, without the form's fields (curl), the second finds the cart empty",
			func(*visitor) url.Values { return url.Values{} },
			[]int{http.StatusSeeOther, http.StatusUnprocessableEntity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newBusyVisitor(t, srv.URL, 2)
			v.add(1, "2")
			before := len(orderIDs(t, db))
			form := tt.form(v)
			statuses := make([]int, 2)
			errs := inParallel(2, func(i int) error {
				var err error
				statuses[i], _, err = v.tryRequest(http.MethodPost, "/checkout", form, "")
				return err
			})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			slices.Sort(statuses)
			if !slices.Equal(statuses, tt.want) {
				t.Errorf("got statuses %v, want %v", statuses, tt.want)
			}
			if got := len(orderIDs(t, db)) - before; got != 1 {
				t.Errorf("got %d orders, want 1", got)
			}
			if got := v.sessionOrderIDs(); len(got) != 1 {
				t.Errorf("got orderIds %v, want one order", got)
			}
		})
	}
}

func TestCheckoutFormOutOfDateOrdersNothing(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)

	t.Run("after the cart changed in another tab", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.add(1, "2")
		form := v.checkoutForm() // the page shows Flour × 2
		v.add(2, "1")            // another tab adds Eggs
		before := v.values()
		r := v.post("/checkout", form)
		wantStatus(t, "POST /checkout from the out-of-date page", r, http.StatusConflict)
		wantText(t, "POST /checkout from the out-of-date page", r, "Your cart has changed since this page was shown")
		wantUnchanged(t, "POST /checkout from the out-of-date page", before, v.values())
		if got := orderIDs(t, db); len(got) != 0 {
			t.Errorf("got %d orders, want 0", len(got))
		}
		// The page shown now orders what it shows.
		id := orderLocation(t, v.post("/checkout", v.checkoutForm()))
		o := v.get(fmt.Sprintf("/orders/%d", id))
		wantText(t, "order page", o, "Flour", "Eggs")
	})

	t.Run("from before a sign-out", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		v.add(1, "2")
		form := v.checkoutForm()
		redirectsTo(t, "POST /logout", v.post("/logout", nil), "/")
		v.add(1, "2") // the same cart, in the new session
		before := len(orderIDs(t, db))
		r := v.post("/checkout", form)
		wantStatus(t, "POST /checkout with the old session's form", r, http.StatusConflict)
		wantText(t, "POST /checkout with the old session's form", r, "This checkout form is out of date")
		if got := len(orderIDs(t, db)) - before; got != 0 {
			t.Errorf("got %d orders, want 0", got)
		}
	})
}

// The session keeps the ids of its last 10 orders, not of every one: the
// list is read and written with the session on every request.
func TestSessionKeepsItsLastTenOrderIDs(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	const bound, checkouts = 10, 12
	var placed []int64
	for range checkouts {
		v.add(1, "1")
		placed = append(placed, orderLocation(t, v.post("/checkout", nil)))
	}

	if got, want := v.sessionOrderIDs(), placed[checkouts-bound:]; !slices.Equal(got, want) {
		t.Errorf("got orderIds %v, want the newest %d: %v", got, bound, want)
	}
	if got := v.values()["purchases"]; got != float64(checkouts) {
		t.Errorf("got purchases %v, want %d", got, checkouts)
	}
	wantStatus(t, "GET the newest order", v.get(fmt.Sprintf("/orders/%d", placed[checkouts-1])), http.StatusOK)
	wantStatus(t, "GET the oldest order", v.get(fmt.Sprintf("/orders/%d", placed[0])), http.StatusNotFound)
}
