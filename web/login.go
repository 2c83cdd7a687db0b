package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"example.com/gosessions/internal/data"
)

// wrongCredentials is the one message of a failed sign-in: it does not say
// whether the email has an account.
const wrongCredentials = "Wrong email or password."

// errWrongCredentials is checkCredentials's answer to a wrong email or
// password.
var errWrongCredentials = errors.New("wrong email or password")

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, loginForm{Next: nextPage(r)})
}

// handleLogin checks the email and password and signs the session in.
// Attempts are counted per email before the password is checked, and
// after loginLimit's failures the email is refused for a while, so that
// nobody can try passwords for an account faster than that. What counts
// is a password checked and found wrong: an attempt whose password could
// not be checked is taken back (forgetAttempt), and a success clears the
// email's attempts.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	form := loginForm{
		Email:    r.PostForm.Get("email"),
		Remember: r.PostForm.Get("remember") != "",
		Next:     nextPage(r),
	}
	password := r.PostForm.Get("password")
	if !form.validate(password) {
		s.renderLogin(w, r, http.StatusUnprocessableEntity, form)
		return
	}

	ctx := r.Context()
	now := time.Now()
	minutes, blocked, err := s.countAttempt(w, r, form.Email, now)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if blocked {
		form.Errors["form"] = fmt.Sprintf("Too many failed sign-ins for this email address. Please try again in %s.", plural(minutes, "minute", "minutes"))
		s.renderLogin(w, r, http.StatusTooManyRequests, form)
		return
	}
	user, err := s.checkCredentials(ctx, form.Email, password)
	if errors.Is(err, errWrongCredentials) {
		form.Errors["form"] = wrongCredentials
		s.renderLogin(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if err != nil {
		// The password was not checked: the hasher was busy (a 503), the
		// request ended, or the database failed. Counted, five such answers
		// in a row would lock out someone typing the right password.
		s.forgetAttempt(r, form.Email, now)
		s.serverError(w, r, err)
		return
	}
	if err := s.db.ClearLoginAttempts(ctx, form.Email); err != nil {
		s.serverError(w, r, err)
		return
	}
	if err := s.signIn(w, r, user.ID, form.Remember); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, cmp.Or(form.Next, "/account"), "Signed in as "+user.Name+". Your session has a new token now.")
}

// checkCredentials returns the account with email if password is its
// password, or errWrongCredentials. An unknown email costs a hash too, so
// that the time of the answer does not tell whether it has an account.
func (s *Server) checkCredentials(ctx context.Context, email, password string) (data.User, error) {
	user, err := s.db.UserByEmail(ctx, email)
	if errors.Is(err, data.ErrNotFound) {
		if err := s.passwords.DummyVerify(ctx, password); err != nil {
			return data.User{}, err
		}
		return data.User{}, errWrongCredentials
	}
	if err != nil {
		return data.User{}, err
	}
	ok, err := s.passwords.Verify(ctx, password, user.PasswordHash)
	if err != nil {
		return data.User{}, err
	}
	if !ok {
		return data.User{}, errWrongCredentials
	}
	if s.passwords.NeedsRehash(user.PasswordHash) {
		// Hashed with older parameters: store a hash with the current ones.
		// Not worth failing the sign-in for; the next one tries again.
		if hash, err := s.passwords.Hash(ctx, password); err == nil {
			if err := s.db.SetPasswordHash(ctx, user.ID, hash); err != nil {
				s.logger.Warn("store a rehashed password", "user_id", user.ID, "error", err)
			}
		}
	}
	return user, nil
}

// countAttempt counts an attempt to check the password of the account with
// email, at now, before it is checked. If the email has had loginLimit's
// attempts in its window already, the attempt is refused: blocked is true,
// the Retry-After header says in whole seconds, rounded up, when the
// oldest of them leaves the window, and minutes says it for a person.
func (s *Server) countAttempt(w http.ResponseWriter, r *http.Request, email string, now time.Time) (minutes int, blocked bool, err error) {
	retryAt, blocked, err := s.db.RecordLoginAttempt(r.Context(), loginLimit, email, now)
	if err != nil || !blocked {
		return 0, false, err
	}
	seconds := int(math.Ceil(retryAt.Sub(now).Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	return int(math.Ceil(float64(seconds) / 60)), true, nil
}

// forgetTimeout bounds how long forgetAttempt may take, once the request
// has no deadline of its own: as long as a SQLite write may wait for the
// lock (busy_timeout).
const forgetTimeout = 5 * time.Second

// forgetAttempt takes back the attempt that countAttempt counted at at,
// whose password could not be checked. checkCredentials's errors all come
// before a password is hashed (Verify and DummyVerify hash last and then
// return no error), so no answer to a guess is forgotten. The request may
// have ended, which is one reason the check did not happen: the delete
// does not stop with it. If it fails, the attempt stays counted, as it
// did before there was a way to take it back.
func (s *Server) forgetAttempt(r *http.Request, email string, at time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forgetTimeout)
	defer cancel()
	if err := s.db.ForgetLoginAttempt(ctx, email, at); err != nil {
		s.logRequest(r, slog.LevelWarn, "forget a sign-in attempt whose password was not checked", slog.Any("error", err))
	}
}

// handleLogout signs the session out: its row in the index and its data
// are deleted, and the flash message starts a new, empty session with a
// new token.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.signOut(w, r); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/", "Signed out. Your old session, cart included, is gone.")
}

// nextPage returns the next query parameter of the request if it is a
// path on this site (see localPath), and "" otherwise.
func nextPage(r *http.Request) string {
	if next := r.URL.Query().Get("next"); localPath(next) {
		return next
	}
	return ""
}

func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, status int, form loginForm) {
	data := s.newTemplateData(r, "Sign in")
	data.Login = form
	s.render(w, r, status, "login", data)
}
