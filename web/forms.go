package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
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

// signupForm is the sign-up form: the values as typed, never the password,
// and a message per field that failed validation.
type signupForm struct {
	Name   string
	Email  string
	Errors map[string]string
}

// loginForm is the sign-in form. Next is the local page to go to once
// signed in, from the next query parameter, or empty.
type loginForm struct {
	Email    string
	Remember bool
	Next     string
	Errors   map[string]string // by field, and "form" for the one about both
}

// passwordForm is the change of password on /account.
type passwordForm struct {
	Errors map[string]string
}

// The limits of the forms' fields. A password is counted in characters
// (runes), as people count it; there are no rules on what it holds.
const (
	maxNameLength     = 100
	maxEmailLength    = 254
	minPasswordLength = 8
	maxPasswordLength = 128
)

// validate trims the fields and fills Errors; it reports whether the form
// is valid.
func (f *signupForm) validate(password string) bool {
	f.Name = strings.TrimSpace(f.Name)
	f.Email = strings.TrimSpace(f.Email)
	f.Errors = map[string]string{}
	addError(f.Errors, "name", nameProblem(f.Name))
	addError(f.Errors, "email", emailProblem(f.Email))
	addError(f.Errors, "password", newPasswordProblem(password))
	return len(f.Errors) == 0
}

// validate checks what can be checked without the account; it reports
// whether the form may be checked against it.
func (f *loginForm) validate(password string) bool {
	f.Email = strings.TrimSpace(f.Email)
	f.Errors = map[string]string{}
	addError(f.Errors, "email", emailProblem(f.Email))
	switch {
	case password == "":
		f.Errors["password"] = "Please enter your password."
	case utf8.RuneCountInString(password) > maxPasswordLength:
		// No account has one this long: not worth a hash.
		f.Errors["password"] = fmt.Sprintf("Passwords here are at most %d characters long.", maxPasswordLength)
	}
	return len(f.Errors) == 0
}

// validate checks the new password, and that the current one was given.
func (f *passwordForm) validate(current, next string) bool {
	f.Errors = map[string]string{}
	if current == "" {
		f.Errors["current_password"] = "Please enter your current password."
	}
	addError(f.Errors, "new_password", newPasswordProblem(next))
	return len(f.Errors) == 0
}

func addError(errs map[string]string, field, message string) {
	if message != "" {
		errs[field] = message
	}
}

// nameProblem says what is wrong with a trimmed name, or "".
func nameProblem(name string) string {
	switch n := utf8.RuneCountInString(name); {
	case !utf8.ValidString(name):
		return "Your name contains invalid characters."
	case hasHiddenCharacters(name):
		return "Your name contains control or invisible characters (such as a zero-width space). Please type it again."
	case n == 0:
		return "Please enter your name."
	case !hasLetterOrDigit(name):
		return "Your name must have at least one letter or digit."
	case n > maxNameLength:
		return fmt.Sprintf("Your name can be at most %d characters long.", maxNameLength)
	}
	return ""
}

// emailProblem says what is wrong with a trimmed email address, or "".
func emailProblem(email string) string {
	switch {
	case email == "":
		return "Please enter your email address."
	case hasHiddenCharacters(email):
		return "Your email address contains control or invisible characters (such as a zero-width space). Please type it again."
	case strings.ContainsFunc(email, unicode.IsSpace), !validEmail(email):
		return "Please enter a valid email address, such as ada@example.com."
	}
	return ""
}

// newPasswordProblem says what is wrong with a password chosen at sign-up
// or on a change, or "". As NIST advises, only its length is checked.
func newPasswordProblem(password string) string {
	if n := utf8.RuneCountInString(password); n < minPasswordLength || n > maxPasswordLength {
		return fmt.Sprintf("Choose a password of %d to %d characters.", minPasswordLength, maxPasswordLength)
	}
	return ""
}

// localPath reports whether next, the page to go to after signing in, is a
// path on this site. Anything else would make the sign-in form an open
// redirect: a link to this site's /login that sends the visitor, once
// signed in, to a look-alike site. Browsers read "//evil.example" and
// "/\evil.example" as addresses of another host, so they are refused
// with every absolute URL. An escaped slash ("/%2F%2Fevil") stays a path
// here: browsers do not unescape it into one.
func localPath(next string) bool {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return false
	}
	if strings.ContainsFunc(next, unicode.IsControl) {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == ""
}

// hasHiddenCharacters reports whether s holds characters that are not seen
// as what they are: control characters (NUL, newline, escape), format
// characters (zero-width spaces and joiners, the byte order mark, and the
// bidirectional overrides that show text in another order than it is
// stored) and the line and paragraph separators. In a name or an address
// they can pass for another one, hide text, or break a log line. Check
// every field a person types that others will see.
//
// It also refuses what no keyboard types and no font shows: private-use
// characters, noncharacters, and the letters that are drawn as blanks
// (Hangul fillers, the blank Braille pattern).
func hasHiddenCharacters(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Noncharacter_Code_Point) ||
			slices.Contains(blankLetters, r)
	})
}

// blankLetters are letters and symbols that render as empty space.
var blankLetters = []rune{'\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800'}

// hasLetterOrDigit reports whether s has something to read: a name made of
// combining accents or spaces alone has not.
func hasLetterOrDigit(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
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
