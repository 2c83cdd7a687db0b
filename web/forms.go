package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"unicode"
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
	case hasHiddenCharacters(f.Name):
		f.Errors["name"] = "Your name contains control or invisible characters (such as a zero-width space). Please type it again."
	case n == 0:
		f.Errors["name"] = "Please enter your name."
	case n > maxNameLength:
		f.Errors["name"] = fmt.Sprintf("Your name can be at most %d characters long.", maxNameLength)
	}

	switch {
	case f.Email == "":
		f.Errors["email"] = "Please enter your email address."
	case hasHiddenCharacters(f.Email):
		f.Errors["email"] = "Your email address contains control or invisible characters (such as a zero-width space). Please type it again."
	case !validEmail(f.Email):
		f.Errors["email"] = "Please enter a valid email address, such as ada@example.com."
	}
	return len(f.Errors) == 0
}

// hasHiddenCharacters reports whether s holds characters that are not seen
// as what they are: control characters (NUL, newline, escape), format
// characters (zero-width spaces and joiners, the byte order mark, and the
// bidirectional overrides that show text in another order than it is
// stored) and the line and paragraph separators. In a name or an address
// they can pass for another one, hide text, or break a log line. Check
// every field a person types that others will see.
func hasHiddenCharacters(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
	})
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
