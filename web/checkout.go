package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/cart"
	"example.com/gosessions/sqlite"
)

// Checkout places an order exactly once per cart.
//
// A checkout writes twice: the order into the database, then the session
// (cart emptied, order remembered) when the response goes out. The two
// cannot share a transaction (the session store may not even be this
// database), so the first can succeed and the second fail: the visitor gets
// a 500 with the cart still full, while the order exists. So the session
// keeps a checkout key with the cart, a random value made when the cart
// first gets an item (and so already saved when the checkout runs), and the
// order is stored under that key, which orders.checkout_key holds UNIQUE.
// Tried again, the checkout finds the order its key placed and shows it.
// Once the session knows the order, the key is replaced by a new one.
//
// A key names one cart through its order's lines, not through every change
// of the cart: replacing the key when the cart changes would forget the key
// of a checkout whose answer was lost, and its order would never be found
// again. Instead, a checkout whose key placed an order for other items than
// the cart holds now is refused, after the session learns of that order.

// handleCheckout turns the cart into an order. The order is database data:
// it goes into the orders tables, where it outlives the session. The session
// only remembers that the visitor bought something.
func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	chosen := s.chosenIngredients(ctx)
	if len(chosen) == 0 {
		s.clientError(w, r, http.StatusUnprocessableEntity, "Your cart is empty: add an ingredient before checking out.")
		return
	}

	items := make([]sqlite.OrderItem, len(chosen))
	for i, it := range chosen {
		items[i] = sqlite.OrderItem{IngredientID: it.ID, Qty: it.Qty}
	}
	id, created, err := s.db.CreateOrder(ctx, sqlite.NewOrder{
		// Made here only for a cart that reached the session without one
		// (/session-example, or a session saved before there were keys).
		Key:           s.checkoutKey(ctx),
		CustomerName:  s.sessions.GetString(ctx, keyUserName),
		CustomerEmail: s.sessions.GetString(ctx, keyUserEmail),
		Items:         items,
	})
	switch {
	case errors.Is(err, sqlite.ErrNotFound):
		// The catalog changed under the cart; CreateOrder wrote nothing.
		s.clientError(w, r, http.StatusConflict,
			"An ingredient in your cart is no longer in the catalog: update your cart and check out again.")
		return
	case errors.Is(err, sqlite.ErrKeyUsed):
		// An earlier checkout placed order id, its answer never arrived,
		// and the cart changed afterwards. The order is this session's:
		// only it knew the key. The cart is kept for the visitor to check.
		s.rememberOrder(ctx, id)
		s.clientError(w, r, http.StatusConflict, fmt.Sprintf(
			"Your earlier checkout went through: it placed order %d (see %s). Your cart has changed since, "+
				"so nothing more was ordered. Check your cart and check out again.", id, orderPath(id)))
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}

	s.rememberOrder(ctx, id)
	s.sessions.Put(ctx, keyChosenIngredients, cart.Cart{})
	flash := fmt.Sprintf("Thank you! Order %d is placed.", id)
	if !created {
		flash += " Your earlier try had placed it already: nothing was ordered twice."
	}
	s.redirect(w, r, orderPath(id), flash)
}

// checkoutKey returns the session's checkout key, making one if it has none.
func (s *Server) checkoutKey(ctx context.Context) string {
	key := s.sessions.GetString(ctx, keyCheckoutKey)
	if key == "" {
		key = rand.Text()
		s.sessions.Put(ctx, keyCheckoutKey, key)
	}
	return key
}

// rememberOrder records in the session that it placed order id: one more
// purchase, its id, and a new checkout key, so that the next cart makes an
// order of its own.
func (s *Server) rememberOrder(ctx context.Context, id int64) {
	s.sessions.Put(ctx, keyPurchases, s.sessions.GetInt(ctx, keyPurchases)+1)
	s.sessions.Put(ctx, keyOrderIDs, append(slices.Clip(s.orderIDs(ctx)), id))
	s.sessions.Put(ctx, keyCheckoutKey, rand.Text())
}

func orderPath(id int64) string { return fmt.Sprintf("/orders/%d", id) }

// handleOrderShow shows an order to the session that placed it, and to no
// one else: to any other session it does not exist.
func (s *Server) handleOrderShow(w http.ResponseWriter, r *http.Request) {
	id, ok := cart.ParseID(chi.URLParam(r, "id"))
	if !ok || !slices.Contains(s.orderIDs(r.Context()), id) {
		s.notFound(w, r)
		return
	}
	order, err := s.db.Order(r.Context(), id)
	if err != nil {
		s.notFoundOr(w, r, err)
		return
	}
	data := s.newTemplateData(r, fmt.Sprintf("Order %d", id))
	data.Order = order
	s.render(w, r, http.StatusOK, "order", data)
}
