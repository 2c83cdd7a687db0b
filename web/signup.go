package web

import (
	"errors"
	"net/http"

	"example.com/gosessions/internal/data"
)

func (s *Server) handleSignupForm(w http.ResponseWriter, r *http.Request) {
	s.renderSignup(w, r, http.StatusOK, signupForm{})
}

// handleSignup creates an account and signs the visitor in to it. The
// password is hashed (package password) and only the hash is stored.
func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	form := signupForm{Name: r.PostForm.Get("name"), Email: r.PostForm.Get("email")}
	password := r.PostForm.Get("password")
	if !form.validate(password) {
		s.renderSignup(w, r, http.StatusUnprocessableEntity, form)
		return
	}

	ctx := r.Context()
	hash, err := s.passwords.Hash(ctx, password)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	user, err := s.db.CreateUser(ctx, form.Name, form.Email, hash)
	if errors.Is(err, data.ErrEmailTaken) {
		form.Errors["email"] = "An account with this email address already exists. Sign in instead?"
		s.renderSignup(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.signIn(w, r, user.ID, false); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/account", "Welcome, "+user.Name+"! Your account is ready, and you are signed in.")
}

func (s *Server) renderSignup(w http.ResponseWriter, r *http.Request, status int, form signupForm) {
	data := s.newTemplateData(r, "Sign up")
	data.Signup = form
	s.render(w, r, status, "signup", data)
}
