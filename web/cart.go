package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// handleCartShow lists the cart, priced from the catalog, and what was
// viewed but not chosen. With Accept: application/json it answers
// {"items":[...],"totalCents":N}.
func (s *Server) handleCartShow(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	catalog, err := s.catalog.Ingredients(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Add("Vary", "Accept")
	if prefersJSON(r) {
		lines, total := s.chosenIngredients(ctx).Price(productsOf(catalog))
		s.writeJSON(w, http.StatusOK, cartJSON{Items: lines, TotalCents: total})
		return
	}
	s.renderCart(w, r, http.StatusOK, catalog, cartForm{})
}

type cartJSON struct {
	Items      []cart.Line `json:"items"`
	TotalCents int64       `json:"totalCents"`
}

// cartForm is what the cart page shows of a cart form it refused: the
// values as typed, and what was wrong next to the field that was.
type cartForm struct {
	Add addForm

	// The quantity form of one line of the cart.
	LineID    int64
	LineQty   string
	LineError string

	// A refusal with no field on the page to stand next to: the quantity
	// of an ingredient that is not in the cart.
	Error string
}

// addForm is the add-to-cart form's values and errors, by field name.
type addForm struct {
	ID     int64
	Qty    string
	Errors map[string]string
}

// renderCart shows the cart page. Only a GET saves anything (a checkout
// key): the page shown again for a refused form leaves the session alone.
func (s *Server) renderCart(w http.ResponseWriter, r *http.Request, status int, catalog []data.Ingredient, form cartForm) {
	ctx := r.Context()
	chosen := s.chosenIngredients(ctx)
	data := s.newTemplateData(r, "Your cart")
	data.Lines, data.TotalCents = chosen.Price(productsOf(catalog))
	data.Viewed = viewedNotChosen(s.recentlyViewed(ctx), chosen, catalog)
	data.Ingredients = catalog
	data.CartForm = form
	if len(chosen) > 0 {
		data.Checkout.Cart = cartFingerprint(chosen)
		data.Checkout.Key = s.sessions.GetString(ctx, keyCheckoutKey)
		// A cart put in the session without a key (by /session-example)
		// gets one now, saved before its checkout. A HEAD changes nothing.
		if r.Method == http.MethodGet {
			data.Checkout.Key = s.checkoutKey(ctx)
		}
	}
	s.render(w, r, status, "cart", data)
}

// refuseCartForm answers a cart form with a wrong value: 422 and the cart
// page again, with the form as it was sent and its messages; a client that
// asked for JSON gets them as {"error": ...}. Nothing is saved.
func (s *Server) refuseCartForm(w http.ResponseWriter, r *http.Request, form cartForm) {
	if prefersJSON(r) {
		var messages []string
		for _, m := range []string{form.Error, form.Add.Errors["ingredient_id"], form.Add.Errors["qty"], form.LineError} {
			if m != "" {
				messages = append(messages, m)
			}
		}
		s.clientError(w, r, http.StatusUnprocessableEntity, strings.Join(messages, " "))
		return
	}
	catalog, err := s.catalog.Ingredients(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.renderCart(w, r, http.StatusUnprocessableEntity, catalog, form)
}

// handleCartAdd adds qty (default 1) of ingredient_id to the cart.
func (s *Server) handleCartAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	form := addForm{Qty: r.PostForm.Get("qty"), Errors: map[string]string{}}
	qty := 1
	if form.Qty != "" {
		var err error
		if qty, err = cart.ParseQty(form.Qty, 1, cart.MaxQty); err != nil {
			form.Errors["qty"] = qtyMessage(1)
		}
	}
	ctx := r.Context()
	id, ok := cart.ParseID(r.PostForm.Get("ingredient_id"))
	in, found := data.Ingredient{}, false
	if ok {
		var err error
		if in, found, err = s.lookupIngredient(ctx, id); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	switch {
	case !ok:
		form.Errors["ingredient_id"] = "Choose an ingredient from the list."
	case !found:
		form.Errors["ingredient_id"] = noSuchIngredient(id)
	}
	form.ID = in.ID // chosen again in the form's list
	if len(form.Errors) > 0 {
		s.refuseCartForm(w, r, cartForm{Add: form})
		return
	}

	chosen := s.chosenIngredients(ctx).Add(id, qty)
	s.sessions.Put(ctx, keyChosenIngredients, chosen)
	s.checkoutKey(ctx) // saved with the cart, before any checkout of it
	s.redirect(w, r, "/cart", fmt.Sprintf("Added %d × %s. You now have %d in your cart.", qty, in.Name, chosen.Qty(id)))
}

// handleCartSet sets the quantity of one ingredient; 0 removes it, which
// is what each line's Remove button sends.
func (s *Server) handleCartSet(w http.ResponseWriter, r *http.Request) {
	id, ok := cart.ParseID(chi.URLParam(r, "id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	typed := r.PostForm.Get("qty")
	qty, err := cart.ParseQty(typed, 0, cart.MaxQty)
	if err != nil {
		form := cartForm{Error: qtyMessage(0)}
		if s.chosenIngredients(ctx).Qty(id) > 0 {
			form = cartForm{LineID: id, LineQty: typed, LineError: qtyMessage(0)}
		}
		s.refuseCartForm(w, r, form)
		return
	}
	in, found, err := s.lookupIngredient(ctx, id)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !found {
		s.refuseCartForm(w, r, cartForm{Error: noSuchIngredient(id)})
		return
	}

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

// lookupIngredient returns the ingredient with id, and whether the catalog
// has one: an id a form sends that is not there is the client's mistake,
// not an error.
func (s *Server) lookupIngredient(ctx context.Context, id int64) (data.Ingredient, bool, error) {
	in, err := s.catalog.Ingredient(ctx, id)
	if errors.Is(err, data.ErrNotFound) {
		return in, false, nil
	}
	return in, err == nil, err
}

func noSuchIngredient(id int64) string {
	return fmt.Sprintf("There is no ingredient %d in the catalog.", id)
}

func qtyMessage(lo int) string {
	return fmt.Sprintf("Quantity must be a whole number from %d to %d.", lo, cart.MaxQty)
}
