package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every route and the middleware each one runs through.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()

	// Every request: an id, one log line, panics turned into the 500 page,
	// the security headers; HEAD answered by the GET handler without a body.
	r.Use(requestID, s.logRequests, s.recoverPanic, securityHeaders, middleware.GetHead)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	// No session for these: loading one would cost a database read (and,
	// with an idle timeout, a write) for nothing.
	r.Handle("/static/*", s.static.handler(s.methodNotAllowed))
	r.Get("/healthz", s.handleHealthz)

	r.Group(func(r chi.Router) {
		// Pages. Order matters: the cross-origin check refuses a forged
		// POST before it can touch the session; the body limit comes before
		// any form is parsed; the deadline covers the lock's wait and every
		// query; the per-session lock is taken before the session is loaded
		// and released after it is saved; who is signed in is known once
		// the session is loaded.
		r.Use(s.crossOriginProtection, s.limitBody, withDeadline, s.lockSession, s.loadAndSave, noStore, s.authenticate)

		r.Get("/", s.handleHome)
		r.Get("/session-example", s.handleSessionExample)

		r.Get("/ingredients", s.handleIngredientList)
		r.Get("/ingredients/{id}", s.handleIngredientShow)

		r.Get("/cart", s.handleCartShow)
		r.Post("/cart/items", s.handleCartAdd)
		r.Post("/cart/items/{id}", s.handleCartSet)
		r.Post("/cart/clear", s.handleCartClear)

		r.Get("/signup", s.handleSignupForm)
		r.Post("/signup", s.handleSignup)
		r.Get("/login", s.handleLoginForm)
		r.Post("/login", s.handleLogin)
		r.Post("/logout", s.handleLogout)

		r.Group(func(r chi.Router) {
			r.Use(s.requireSignIn)
			r.Get("/account", s.handleAccount)
			r.Post("/account/password", s.handlePasswordChange)
			r.Post("/account/sessions/sign-out-others", s.handleSignOutOthers)
			r.Post("/account/sessions/{id}/sign-out", s.handleSessionSignOut)
		})

		r.Post("/checkout", s.handleCheckout)
		r.Get("/orders/{id}", s.handleOrderShow)

		r.Get("/session", s.handleSessionInspector)
		r.Post("/session/destroy", s.handleSessionDestroy)
	})

	return r
}

// formLeadsTo returns the page that the form posted to the route pattern
// leads to. A form sent with a token that the request before it renewed or
// destroyed (a double-clicked sign-in, a sign-out in another tab) is not
// run: the browser is sent to this page, which it loads with the cookie it
// holds now (see retryWithCurrentCookie). Every POST route above has its
// case here, as a test checks.
func formLeadsTo(pattern string) (page string, ok bool) {
	switch pattern {
	case "/cart/items", "/cart/items/{id}", "/cart/clear", "/checkout":
		return "/cart", true
	case "/signup", "/login", "/account/password", "/account/sessions/sign-out-others", "/account/sessions/{id}/sign-out":
		return "/account", true // a guest is sent on to the sign-in form
	case "/logout":
		return "/", true
	case "/session/destroy":
		return "/session", true
	}
	return "", false
}
