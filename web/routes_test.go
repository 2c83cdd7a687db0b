package web

import (
	"net/http"
	"slices"
	"testing"

	"github.com/go-chi/chi/v5"
)

// Every form has the page it leads to, for a request that cannot run
// because its token was retired while it waited (retryWithCurrentCookie).
func TestEveryFormLeadsToAPage(t *testing.T) {
	routes := newServer(t).routes().(chi.Routes)
	methods := map[string][]string{} // route → the methods it answers
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for route, ms := range methods {
		// A form's route answers POST; a route that answers every method
		// (a file server) is not a form.
		if !slices.Contains(ms, http.MethodPost) || slices.Contains(ms, http.MethodDelete) {
			continue
		}
		page, ok := formLeadsTo(route)
		if !ok {
			t.Errorf("POST %s: formLeadsTo has no page for it", route)
			continue
		}
		if !routes.Match(chi.NewRouteContext(), http.MethodGet, page) {
			t.Errorf("POST %s leads to %s, which is no page", route, page)
		}
	}
}
