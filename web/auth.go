package web

import (
	"net/http"
)

// Sign-in here only shows what a session holds once a visitor says who they
// are. There is no password: it is not authentication.

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	data := s.newTemplateData(r, "Sign in")
	data.Form.Name = s.sessions.GetString(r.Context(), keyUserName)
	data.Form.Email = s.sessions.GetString(r.Context(), keyUserEmail)
	s.render(w, r, http.StatusOK, "login", data)
}

// handleLogin validates the form and, when it is valid, gives the session a
// new token before storing the user in it.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	form := loginForm{Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email")}
	if !form.validate() {
		data := s.newTemplateData(r, "Sign in")
		data.Form = form
		s.render(w, r, http.StatusUnprocessableEntity, "login", data)
		return
	}

	ctx := r.Context()
	// Session fixation defence: whoever knew the old token (one planted in
	// the visitor's browser, say) must not share the signed-in session.
	// RenewToken keeps the data, cart included, under a new token and
	// deletes the old one from the store.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(ctx, keyUserName, form.Name)
	s.sessions.Put(ctx, keyUserEmail, form.Email)
	s.redirect(w, r, "/", "Signed in as "+form.Name+". Your session has a new token now.")
}

// handleLogout ends the session: its row is deleted, and the flash message
// starts a new, empty session with a new token.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/", "Signed out. Your old session, cart included, is gone.")
}
