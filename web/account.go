package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/session"
)

// maxAccountOrders is how many of its latest orders /account lists.
const maxAccountOrders = 50

// accountPage is what /account shows.
type accountPage struct {
	Name, Email string
	Sessions    []sessionLine
	Orders      []data.OrderSummary
	Password    passwordForm
}

// sessionLine is one line of "Your sessions".
type sessionLine struct {
	data.AccountSession
	Current bool // the session of this request
}

// handleAccount shows the account: its name, email, orders and sessions.
// With Accept: application/json it answers accountJSON.
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) {
	page, err := s.accountPage(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Add("Vary", "Accept")
	if prefersJSON(r) {
		s.writeJSON(w, http.StatusOK, newAccountJSON(page))
		return
	}
	s.renderAccount(w, r, http.StatusOK, page)
}

// accountPage reads what /account shows. The sessions are the index's
// rows: no store is asked about each.
func (s *Server) accountPage(r *http.Request) (accountPage, error) {
	ctx := r.Context()
	user := currentUserFrom(ctx)
	sessions, err := s.db.AccountSessions(ctx, user.ID, time.Now())
	if err != nil {
		return accountPage{}, err
	}
	orders, err := s.db.OrdersOfUser(ctx, user.ID, maxAccountOrders)
	if err != nil {
		return accountPage{}, err
	}
	page := accountPage{Name: user.Name, Email: user.Email, Orders: orders, Sessions: []sessionLine{}}
	for _, row := range sessions {
		page.Sessions = append(page.Sessions, sessionLine{AccountSession: row, Current: row.ID == user.SessionID})
	}
	return page, nil
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, page accountPage) {
	data := s.newTemplateData(r, "Your account")
	data.Account = page
	s.render(w, r, status, "account", data)
}

// accountJSON is GET /account's JSON. A session's id is the index's
// handle, never its token or the token's hash.
type accountJSON struct {
	Name     string               `json:"name"`
	Email    string               `json:"email"`
	Sessions []accountSessionJSON `json:"sessions"`
	Orders   []accountOrderJSON   `json:"orders"`
}

type accountSessionJSON struct {
	ID         string `json:"id"`
	Device     string `json:"device"`
	SignedInAt string `json:"signedInAt"`
	LastSeenAt string `json:"lastSeenAt"`
	Current    bool   `json:"current"`
}

type accountOrderJSON struct {
	ID         int64  `json:"id"`
	TotalCents int64  `json:"totalCents"`
	CreatedAt  string `json:"createdAt"`
}

func newAccountJSON(page accountPage) accountJSON {
	out := accountJSON{Name: page.Name, Email: page.Email,
		Sessions: []accountSessionJSON{}, Orders: []accountOrderJSON{}}
	for _, l := range page.Sessions {
		out.Sessions = append(out.Sessions, accountSessionJSON{ID: l.ID, Device: l.Device,
			SignedInAt: l.SignedInAt.UTC().Format(time.RFC3339), LastSeenAt: l.LastSeenAt.UTC().Format(time.RFC3339),
			Current: l.Current})
	}
	for _, o := range page.Orders {
		out.Orders = append(out.Orders, accountOrderJSON{ID: o.ID, TotalCents: o.TotalCents,
			CreatedAt: o.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return out
}

// handleSessionSignOut signs out one session of the account: its row goes,
// so its next request is a guest's, and its data goes from the store, cart
// included. Signing out this session is the same as POST /logout.
func (s *Server) handleSessionSignOut(w http.ResponseWriter, r *http.Request) {
	user := currentUserFrom(r.Context())
	id := chi.URLParam(r, "id")
	if id == user.SessionID {
		s.handleLogout(w, r)
		return
	}
	key, err := s.db.DeleteAccountSession(r.Context(), user.ID, id, time.Now())
	if err != nil {
		s.notFoundOr(w, r, err) // not one of this account's active sessions
		return
	}
	s.deleteSignedOutSessions(r, []string{key})
	s.redirect(w, r, "/account", "That session is signed out: its next request will be a guest's.")
}

// handleSignOutOthers signs out every session of the account but this one.
func (s *Server) handleSignOutOthers(w http.ResponseWriter, r *http.Request) {
	user := currentUserFrom(r.Context())
	keys, err := s.db.DeleteOtherAccountSessions(r.Context(), user.ID, user.SessionID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.deleteSignedOutSessions(r, keys)
	s.redirect(w, r, "/account", signedOutOthers(len(keys)))
}

func signedOutOthers(n int) string {
	switch n {
	case 0:
		return "There were no other sessions to sign out."
	case 1:
		return "Signed out 1 other session."
	}
	return fmt.Sprintf("Signed out %d other sessions.", n)
}

// handlePasswordChange changes the account's password, after checking the
// current one. Whoever else is signed in to the account (with the old
// password, perhaps stolen) is signed out, remember-me tokens included;
// this session stays signed in, under a new token.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ctx := r.Context()
	user := currentUserFrom(ctx)
	current, next := r.PostForm.Get("current_password"), r.PostForm.Get("new_password")
	var form passwordForm
	if form.validate(current, next) {
		account, err := s.db.UserByID(ctx, user.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		// Whoever holds a session cookie must not try passwords here faster
		// than at the sign-in form: the attempts count against the same
		// limit, for the account's email.
		now := time.Now()
		minutes, blocked, err := s.countAttempt(w, r, account.Email, now)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		if blocked {
			form.Errors["current_password"] = fmt.Sprintf(
				"Too many wrong passwords for this account. Please try again in %s.", plural(minutes, "minute", "minutes"))
			s.renderPasswordForm(w, r, http.StatusTooManyRequests, form)
			return
		}
		ok, err := s.passwords.Verify(ctx, current, account.PasswordHash)
		if err != nil {
			// Not checked, so not counted: see handleLogin.
			s.forgetAttempt(r, account.Email, now)
			s.serverError(w, r, err)
			return
		}
		if !ok {
			form.Errors["current_password"] = "That is not your current password."
		}
	}
	if len(form.Errors) > 0 {
		s.renderPasswordForm(w, r, http.StatusUnprocessableEntity, form)
		return
	}

	hash, err := s.passwords.Hash(ctx, next)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// A change of privilege: the session gets a new token, and its row in
	// the index follows it in the same transaction as the change.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serverError(w, r, err)
		return
	}
	keys, err := s.db.ChangePassword(ctx, user.ID, user.SessionID, session.HashToken(s.sessions.Token(ctx)), hash)
	if errors.Is(err, data.ErrNotFound) {
		// Signed out from another device while the new password was
		// being hashed: nothing changed, and this session is over too.
		if err := s.sessions.Destroy(ctx); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.clearRememberCookie(w, r)
		s.redirect(w, r, "/login?next=/account",
			"This session was signed out from another device, so your password was not changed.")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.deleteSignedOutSessions(r, keys)
	if err := s.db.ClearLoginAttempts(ctx, user.Email); err != nil {
		s.serverError(w, r, err)
		return
	}
	if !user.RememberExpiresAt.IsZero() {
		if err := s.issueRememberToken(ctx, w, user.SessionID, user.RememberExpiresAt); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.redirect(w, r, "/account", "Your password is changed, and every other session of your account is signed out.")
}

// renderPasswordForm shows the account page again with the password form's
// messages.
func (s *Server) renderPasswordForm(w http.ResponseWriter, r *http.Request, status int, form passwordForm) {
	page, err := s.accountPage(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Password = form
	s.renderAccount(w, r, status, page)
}
