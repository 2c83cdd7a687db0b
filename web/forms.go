package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// parseForm reads a form body. It answers 413 for a body over the limit
// and 400 for one that cannot be parsed, and then returns false.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	err := r.ParseForm()
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.bodyTooLarge(w, r)
		return false
	}
	s.clientError(w, r, http.StatusBadRequest, "The form could not be read.")
	return false
}

// loginForm is the sign-in form: the values as typed, and a message per
// field that failed validation.
type loginForm struct {
	Name   string
	Email  string
	Errors map[string]string
}

// maxNameLength and maxEmailLength bound what is kept in a session.
const (
	maxNameLength  = 100
	maxEmailLength = 254
)

// validate trims the fields and fills Errors; it reports whether the form
// is valid.
func (f *loginForm) validate() bool {
	f.Name = strings.TrimSpace(f.Name)
	f.Email = strings.TrimSpace(f.Email)
	f.Errors = map[string]string{}

	switch n := utf8.RuneCountInString(f.Name); {
	case !utf8.ValidString(f.Name):
		f.Errors["name"] = "Your name contains invalid characters."
	case n == 0:
		f.Errors["name"] = "Please enter your name."
	case n > maxNameLength:
		f.Errors["name"] = fmt.Sprintf("Your name can be at most %d characters long.", maxNameLength)
	}

	if f.Email == "" {
		f.Errors["email"] = "Please enter your email address."
	} else if !validEmail(f.Email) {
		f.Errors["email"] = "Please enter a valid email address, such as ada@example.com."
	}
	return len(f.Errors) == 0
}

// validEmail accepts a bare address (no display name) of a sensible length
// with a dot in its domain.
func validEmail(s string) bool {
	if len(s) > maxEmailLength {
		return false
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasSuffix(domain, ".")
}
