package web

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// handleIngredientList shows the catalog, each ingredient with an
// add-to-cart form.
func (s *Server) handleIngredientList(w http.ResponseWriter, r *http.Request) {
	list, err := s.catalog.Ingredients(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	data := s.newTemplateData(r, "Ingredients")
	data.Ingredients = list
	s.render(w, r, http.StatusOK, "ingredients", data)
}

// handleIngredientShow shows one ingredient and remembers in the session
// that the visitor looked at it.
func (s *Server) handleIngredientShow(w http.ResponseWriter, r *http.Request) {
	id, ok := cart.ParseID(chi.URLParam(r, "id"))
	if !ok {
		s.notFound(w, r)
		return
	}
	in, err := s.catalog.Ingredient(r.Context(), id)
	if err != nil {
		s.notFoundOr(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), keyRecentlyViewed, pushRecent(s.recentlyViewed(r.Context()), id))

	data := s.newTemplateData(r, in.Name)
	data.Ingredient = in
	data.Chosen = s.chosenIngredients(r.Context())
	s.render(w, r, http.StatusOK, "ingredient", data)
}

// pushRecent puts id first in ids, without repeats, keeping at most
// maxRecentlyViewed ids.
func pushRecent(ids []int64, id int64) []int64 {
	out := make([]int64, 0, maxRecentlyViewed)
	out = append(out, id)
	for _, v := range ids {
		if v != id && len(out) < maxRecentlyViewed {
			out = append(out, v)
		}
	}
	return out
}

// productsOf turns the catalog into what cart.Price needs.
func productsOf(list []data.Ingredient) map[int64]cart.Product {
	products := make(map[int64]cart.Product, len(list))
	for _, in := range list {
		products[in.ID] = cart.Product{Name: in.Name, PriceCents: in.PriceCents}
	}
	return products
}

// viewedNotChosen lists, most recent first, the viewed ingredients that are
// not in the cart: what the visitor looked at and did not buy.
func viewedNotChosen(viewed []int64, chosen cart.Cart, catalog []data.Ingredient) []data.Ingredient {
	var out []data.Ingredient
	for _, id := range viewed {
		i := slices.IndexFunc(catalog, func(in data.Ingredient) bool { return in.ID == id })
		if i >= 0 && chosen.Qty(id) == 0 {
			out = append(out, catalog[i])
		}
	}
	return out
}
