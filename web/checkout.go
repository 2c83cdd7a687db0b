package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/cart"
	"example.com/gosessions/sqlite"
)

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
	id, err := s.db.CreateOrder(ctx,
		s.sessions.GetString(ctx, keyUserName), s.sessions.GetString(ctx, keyUserEmail), items)
	if errors.Is(err, sqlite.ErrNotFound) {
		// The catalog changed under the cart; CreateOrder wrote nothing.
		s.clientError(w, r, http.StatusConflict,
			"An ingredient in your cart is no longer in the catalog: update your cart and check out again.")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}

	s.sessions.Put(ctx, keyPurchases, s.sessions.GetInt(ctx, keyPurchases)+1)
	s.sessions.Put(ctx, keyOrderIDs, append(slices.Clip(s.orderIDs(ctx)), id))
	s.sessions.Put(ctx, keyChosenIngredients, cart.Cart{})
	s.redirect(w, r, fmt.Sprintf("/orders/%d", id), fmt.Sprintf("Thank you! Order %d is placed.", id))
}

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
