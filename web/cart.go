package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// handleCartShow lists the cart, priced from the catalog, and what was
// viewed but not chosen. With Accept: application/json it answers
// {"items":[...],"totalCents":N}.
func (s *Server) handleCartShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	catalog, err := s.db.Ingredients(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	chosen := s.chosenIngredients(ctx)
	lines, total := chosen.Price(productsOf(catalog))

	w.Header().Add("Vary", "Accept")
	if prefersJSON(r) {
		s.writeJSON(w, http.StatusOK, cartJSON{Items: lines, TotalCents: total})
		return
	}
	data := s.newTemplateData(r, "Your cart")
	data.Lines = lines
	data.TotalCents = total
	data.Viewed = viewedNotChosen(s.recentlyViewed(ctx), chosen, catalog)
	if len(chosen) > 0 {
		data.Checkout.Cart = cartFingerprint(chosen)
		data.Checkout.Key = s.sessions.GetString(ctx, keyCheckoutKey)
		// A cart put in the session without a key (by /session-example)
		// gets one now, saved before its checkout. A HEAD changes nothing.
		if r.Method == http.MethodGet {
			data.Checkout.Key = s.checkoutKey(ctx)
		}
	}
	s.render(w, r, http.StatusOK, "cart", data)
}

type cartJSON struct {
	Items      []cart.Line `json:"items"`
	TotalCents int64       `json:"totalCents"`
}

// handleCartAdd adds qty (default 1) of ingredient_id to the cart.
func (s *Server) handleCartAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	id, ok := cart.ParseID(r.PostForm.Get("ingredient_id"))
	if !ok {
		s.clientError(w, r, http.StatusUnprocessableEntity, "Choose an ingredient from the list.")
		return
	}
	qty := 1
	if v := r.PostForm.Get("qty"); v != "" {
		var err error
		if qty, err = cart.ParseQty(v, 1, cart.MaxQty); err != nil {
			s.clientError(w, r, http.StatusUnprocessableEntity, qtyMessage(1))
			return
		}
	}
	in, ok := s.ingredientFromForm(w, r, id)
	if !ok {
		return
	}

	ctx := r.Context()
	chosen := s.chosenIngredients(ctx).Add(id, qty)
	s.sessions.Put(ctx, keyChosenIngredients, chosen)
	s.checkoutKey(ctx) // saved with the cart, before any checkout of it
	s.redirect(w, r, "/cart", fmt.Sprintf("Added %d × %s. You now have %d in your cart.", qty, in.Name, chosen.Qty(id)))
}

// handleCartSet sets the quantity of one ingredient; 0 removes it.
func (s *Server) handleCartSet(w http.ResponseWriter, r *http.Request) {
	id, ok := cart.ParseID(chi.URLParam(r, "id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	qty, err := cart.ParseQty(r.PostForm.Get("qty"), 0, cart.MaxQty)
	if err != nil {
		s.clientError(w, r, http.StatusUnprocessableEntity, qtyMessage(0))
		return
	}
	in, ok := s.ingredientFromForm(w, r, id)
	if !ok {
		return
	}

	ctx := r.Context()
	s.sessions.Put(ctx, keyChosenIngredients, s.chosenIngredients(ctx).Set(id, qty))
	s.checkoutKey(ctx) // saved with the cart, before any checkout of it
	flash := fmt.Sprintf("%s: quantity set to %d.", in.Name, qty)
	if qty == 0 {
		flash = in.Name + " removed from your cart."
	}
	s.redirect(w, r, "/cart", flash)
}

// handleCartClear empties the cart.
func (s *Server) handleCartClear(w http.ResponseWriter, r *http.Request) {
	s.sessions.Put(r.Context(), keyChosenIngredients, cart.Cart{})
	s.redirect(w, r, "/cart", "Your cart is empty.")
}

// ingredientFromForm looks up an ingredient a form refers to; an unknown id
// is the client's mistake.
func (s *Server) ingredientFromForm(w http.ResponseWriter, r *http.Request, id int64) (data.Ingredient, bool) {
	in, err := s.db.Ingredient(r.Context(), id)
	switch {
	case errors.Is(err, data.ErrNotFound):
		s.clientError(w, r, http.StatusUnprocessableEntity, fmt.Sprintf("There is no ingredient %d in the catalog.", id))
		return in, false
	case err != nil:
		s.serverError(w, r, err)
		return in, false
	}
	return in, true
}

func qtyMessage(lo int) string {
	return fmt.Sprintf("Quantity must be a whole number from %d to %d.", lo, cart.MaxQty)
}
