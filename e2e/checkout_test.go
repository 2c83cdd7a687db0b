package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestCheckout(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	v := newVisitor(t, srv.URL)

	redirectsTo(t, "POST /login", v.post("/login", url.Values{"name": {"Ada"}, "email": {"ada@example.com"}}), "/")
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
