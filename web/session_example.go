package web

import (
	"net/http"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// handleSessionExample is the original tutorial's route, line by line:
//
//	app.get("/session-example", function(req, res, next){
//	  if(!req.session.viewCount){ req.session.viewCount = 0; }
//	  req.session.viewCount += 1;
//	  req.session.chosenIngredients = [ { id: 1, qty: 3} ];
//	  res.send("All good");
//	});
func (s *Server) handleSessionExample(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()

	// GetInt returns 0 for a missing key, which covers the "if" line.
	viewCount := s.sessions.GetInt(ctx, keyViewCount) + 1
	s.sessions.Put(ctx, keyViewCount, viewCount)

	chosen := cart.Cart{{ID: 1, Qty: 3}}
	s.sessions.Put(ctx, keyChosenIngredients, chosen)

	w.Header().Add("Vary", "Accept")
	if prefersJSON(r) {
		s.writeJSON(w, http.StatusOK, sessionExampleJSON{ViewCount: viewCount, ChosenIngredients: chosen})
		return
	}
	// The session holds ingredients by id; the page names them, reading
	// only the catalog's rows of those ids: this page is the one the load
	// benchmark measures, and reading the whole catalog took a fifth of
	// its CPU.
	var named []data.Ingredient
	for _, line := range chosen {
		in, found, err := s.lookupIngredient(ctx, line.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if found {
			named = append(named, in)
		}
	}
	data := s.newTemplateData(r, "Session example")
	data.ViewCount = viewCount
	data.Lines, _ = chosen.Price(productsOf(named))
	s.render(w, r, http.StatusOK, "session_example", data)
}

type sessionExampleJSON struct {
	ViewCount         int       `json:"viewCount"`
	ChosenIngredients cart.Cart `json:"chosenIngredients"`
}
