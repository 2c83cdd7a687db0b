package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
	"example.com/gosessions/internal/useragent"
)

// Who is signed in.
//
// A signed-in session holds the account's id (userId) and the id of the
// database that account is in (accountDb), and nothing else about it. The
// per-account session index in that database (data.AccountSession) is
// the authority: a session is signed in while the index has a row for its
// token, so signing a session out, from any device or instance, is
// deleting its row. authenticate reads the row on every request of a
// session that holds a userId; guests cost nothing.

// currentUser is the account a request is signed in to.
type currentUser struct {
	ID    int64
	Name  string
	Email string
	// SessionID is this session's row in the index: "this one" in the
	// list on /account.
	SessionID string
	// RememberExpiresAt is when this device's remember-me cookie expires;
	// zero if it was signed in without "Remember me".
	RememberExpiresAt time.Time
}

type currentUserKey struct{}

// currentUserFrom returns the account the request is signed in to, or nil
// for a guest.
func currentUserFrom(ctx context.Context) *currentUser {
	u, _ := ctx.Value(currentUserKey{}).(*currentUser)
	return u
}

// touchInterval is how stale a row's last_seen_at may get before a request
// writes it again: at most one write a minute per signed-in session.
const touchInterval = time.Minute

// authenticate finds who the request is signed in as, after loadAndSave
// has loaded the session and before the handler runs, and puts it in the
// request's context for currentUserFrom. A session whose row is gone was
// signed out: it is destroyed, cart included, and the request is a
// guest's. A guest carrying a valid remember-me cookie is signed in again
// (see restoreRemembered).
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, err := s.signedInUser(w, r)
		var lockErr lockError
		switch {
		case errors.Is(err, errTokenRetired):
			s.retryWithCurrentCookie(w, r)
			return
		case errors.As(err, &lockErr):
			s.lockFailed(w, r, lockErr.err)
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		if user != nil {
			r = r.WithContext(context.WithValue(r.Context(), currentUserKey{}, user))
		}
		next.ServeHTTP(w, r)
	})
}

// lockError carries an error of the locker to authenticate, which answers
// it as lockSession does.
type lockError struct{ err error }

func (e lockError) Error() string { return e.err.Error() }

// signedInUser returns the account the request's session is signed in to,
// or nil for a guest.
func (s *Server) signedInUser(w http.ResponseWriter, r *http.Request) (*currentUser, error) {
	ctx := r.Context()
	userID, ok := s.sessions.Get(ctx, keyUserID).(int64)
	if !ok {
		return s.restoreRemembered(w, r)
	}
	if s.sessions.GetString(ctx, keyAccountDB) != s.dbID {
		// Signed in to an account of another instance's database, sharing
		// this session store: not one of ours. The session is left as it
		// is, for that instance.
		return nil, nil
	}
	now := time.Now()
	row, user, err := s.db.AccountSessionWithUser(ctx, session.HashToken(s.sessions.Token(ctx)), now)
	if errors.Is(err, data.ErrNotFound) || err == nil && row.UserID != userID {
		return s.endSignedOutSession(w, r)
	}
	if err != nil {
		return nil, err
	}
	if r.Method != http.MethodHead && now.Sub(row.LastSeenAt) >= touchInterval {
		err := s.db.TouchAccountSession(ctx, row.ID, now, s.rowExpiry(ctx, now))
		if errors.Is(err, data.ErrNotFound) { // signed out, or expired, this instant
			return s.endSignedOutSession(w, r)
		}
		if err != nil {
			return nil, err
		}
	}
	return &currentUser{ID: user.ID, Name: user.Name, Email: user.Email,
		SessionID: row.ID, RememberExpiresAt: row.RememberExpiresAt}, nil
}

// endSignedOutSession destroys the session of a request whose row is
// gone, signed out elsewhere (another device, another instance, a change
// of password): its cart and other data go with it, and the request goes
// on as a guest's. A HEAD changes nothing, and is a guest's all the same.
//
// As for any guest, the device's remember-me cookie, if any, has the last
// word. Its token was on the row, so after a sign-out it is only cleared.
// But the row may instead have moved to another session of this very
// browser, restored by a tab that carried the previous secret (see
// rememberGrace) and whose answer reached the browser before this
// session's: then the current secret signs the device in again.
func (s *Server) endSignedOutSession(w http.ResponseWriter, r *http.Request) (*currentUser, error) {
	if r.Method == http.MethodHead {
		return nil, nil
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		return nil, err
	}
	return s.restoreRemembered(w, r)
}

// rowExpiry is how long the index must keep the row of the request's
// session: as long as the session can last in its store, allowing for the
// touches being a touchInterval apart (see data.Store.TouchAccountSession).
// The database keeps a row with a remember-me token at least as long as
// the token.
func (s *Server) rowExpiry(ctx context.Context, now time.Time) time.Time {
	expiry := s.sessions.Deadline(ctx)
	if s.sessions.IdleTimeout > 0 {
		if idle := now.Add(s.sessions.IdleTimeout + touchInterval); idle.Before(expiry) {
			expiry = idle
		}
	}
	return expiry
}

// signIn makes the request's session signed in to account userID, with a
// new row in the index, and, when remember is true, a remember-me cookie.
//
// Session fixation defence: whoever knew the old token (one planted in the
// visitor's browser, say) must not share the signed-in session. RenewToken
// keeps the data, cart included, under a new token and deletes the old one
// from the store.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, userID int64, remember bool) error {
	ctx := r.Context()
	now := time.Now()
	if prev := currentUserFrom(ctx); prev != nil {
		// Signing in again replaces this session's sign-in: its row goes.
		if _, err := s.db.DeleteAccountSession(ctx, prev.ID, prev.SessionID, now); err != nil && !errors.Is(err, data.ErrNotFound) {
			return err
		}
		// What the session holds belongs to that account (its orders,
		// its cart): another account starts with none of it.
		if prev.ID != userID {
			if err := s.sessions.Clear(ctx); err != nil {
				return err
			}
		}
	}
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, keyUserID, userID)
	s.sessions.Put(ctx, keyAccountDB, s.dbID)
	s.sessions.RememberMe(ctx, remember)
	row, err := s.db.AddAccountSession(ctx, userID, session.HashToken(s.sessions.Token(ctx)),
		useragent.Device(r.UserAgent()), now, s.rowExpiry(ctx, now))
	if err != nil {
		return err
	}
	if !remember {
		s.clearRememberCookie(w, r)
		return nil
	}
	return s.issueRememberToken(ctx, w, row.ID, now.Add(s.rememberFor))
}

// signOut ends the request's session: its row in the index, its data in
// the store (the flash message after it starts a new, empty session), and
// the device's remember-me cookie.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if user := currentUserFrom(ctx); user != nil {
		if _, err := s.db.DeleteAccountSession(ctx, user.ID, user.SessionID, time.Now()); err != nil && !errors.Is(err, data.ErrNotFound) {
			return err
		}
	}
	if err := s.sessions.Destroy(ctx); err != nil {
		return err
	}
	s.clearRememberCookie(w, r)
	return nil
}

// deleteSignedOutSessions deletes from the store the data of other
// sessions whose rows were just deleted from the index, by their token
// hashes. They are signed out already (the index decides), so a failure
// here is only logged: such a session is destroyed at its next request, or
// expires.
func (s *Server) deleteSignedOutSessions(r *http.Request, keys []string) {
	// These are other sessions: not under this request's lock, which a
	// Redis store would otherwise check before deleting (see
	// lock.FromContext).
	ctx := lock.NewContext(r.Context(), nil)
	for _, key := range keys {
		if err := s.deleteStoreKey(ctx, key); err != nil {
			s.logRequest(r, slog.LevelWarn, "delete a signed-out session from the store", slog.Any("error", err))
		}
	}
}

// requireSignIn sends guests to the sign-in form, which leads back to
// /account once they are signed in.
func (s *Server) requireSignIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentUserFrom(r.Context()) == nil {
			http.Redirect(w, r, "/login?next=/account", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}
