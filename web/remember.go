package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/session"
)

// Remember me.
//
// scs's RememberMe only makes the session cookie outlive the browser: the
// session still ends at its idle timeout or lifetime, which are the same
// for every session. So "Remember me" also sets a cookie of its own,
// remember=<selector>.<secret>, as Rails and Laravel do. The database keeps
// the selector, a SHA-256 hash of the secret and the expiry on the
// device's row of the session index, never the secret. When a request
// whose session is not signed in (ended, expired, cleaned up) carries the
// cookie, the device is signed in again into a new session, on the same
// row, and the secret is replaced. A cookie whose selector is known but
// whose secret is wrong was copied and used by someone else: that device
// is signed out.
//
// Replacing the secret at every use, with nothing more, signs out the
// very browser it protects: tabs reopened together send the same cookie,
// and one whose request left before the answer with the new secret
// arrived carries the old one, as a thief would. So the previous secret
// still signs the device in for rememberGrace after it was replaced,
// without replacing the secret again; later, it is a stolen copy.

const rememberCookieName = "remember"

// rememberGrace is how long a remember-me cookie's previous secret keeps
// working after it was replaced: long enough for the answers to requests
// sent at once to arrive, short enough that a copy of it is soon useless.
const rememberGrace = time.Minute

// rememberLockPrefix names the lock that restores of one remember-me
// token take, so that tabs reopened together restore it once.
const rememberLockPrefix = "remember:"

// issueRememberToken gives row id a new remember-me token, both halves
// new, that lasts until expires, and sets its cookie.
func (s *Server) issueRememberToken(ctx context.Context, w http.ResponseWriter, id string, expires time.Time) error {
	selector, secret := randomBase64(16), randomBase64(32)
	if err := s.db.SetRememberToken(ctx, id, selector, session.HashToken(secret), expires); err != nil {
		return err
	}
	s.setRememberCookie(w, selector, secret, expires)
	return nil
}

// restoreRemembered signs a guest in again with the remember-me cookie
// the request carries, if it is valid; it returns nil without one. An
// invalid or expired cookie is cleared, and the request is a guest's.
//
// Restores of one token are serialised by the session locker: after a
// browser restart, every reopened tab sends the same cookie at once. The
// first signs the device in and replaces the secret; the others, having
// waited, are not run, like requests whose token was retired: a 303 sends
// each to load its page again with the cookies the browser now holds. A
// tab whose request arrives once the lock is free, but left before the
// first answer arrived, carries the previous secret: it is signed in, on
// the same row, and keeps that secret (see rememberGrace).
func (s *Server) restoreRemembered(w http.ResponseWriter, r *http.Request) (*currentUser, error) {
	c, err := r.Cookie(rememberCookieName)
	if err != nil || r.Method == http.MethodHead { // a HEAD changes nothing
		return nil, nil
	}
	selector, secret, ok := parseRememberCookie(c.Value)
	if !ok {
		s.clearRememberCookie(w, r)
		return nil, nil
	}
	ctx := r.Context()
	lease, err := s.locker.Lock(ctx, rememberLockPrefix+selector)
	if err != nil {
		return nil, lockError{err}
	}
	restored := false
	defer func() { lease.Release(restored) }()
	switch retired, err := lease.Retired(ctx); {
	case err != nil:
		return nil, err
	case retired:
		return nil, errTokenRetired
	}

	now := time.Now()
	row, secrets, err := s.db.RememberedSession(ctx, selector, now)
	if errors.Is(err, data.ErrNotFound) {
		s.clearRememberCookie(w, r)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rotate bool
	switch hash := session.HashToken(secret); {
	case sameHash(hash, secrets.Hash):
		rotate = true
	case secrets.PreviousHash != "" && sameHash(hash, secrets.PreviousHash) && now.Sub(secrets.RotatedAt) < rememberGrace:
		rotate = false // the browser holds, or is about to hold, the current secret
	default:
		return nil, s.rememberTokenStolen(w, r, row)
	}
	user, err := s.db.UserByID(ctx, row.UserID)
	if err != nil {
		return nil, err
	}

	if err := s.sessions.RenewToken(ctx); err != nil {
		return nil, err
	}
	// The session cookie the request carried, if any, named a session that
	// has ended: requests queued behind this one with it must retry too.
	markTokenRetired(ctx)
	s.sessions.Put(ctx, keyUserID, user.ID)
	s.sessions.Put(ctx, keyAccountDB, s.dbID)
	s.sessions.RememberMe(ctx, true)
	tokenHash, expiry := session.HashToken(s.sessions.Token(ctx)), s.rowExpiry(ctx, now)
	if !rotate {
		err = s.db.RestoreAccountSessionKeepingSecret(ctx, row.ID, tokenHash, now, expiry)
	} else {
		newSecret := randomBase64(32)
		err = s.db.RestoreAccountSession(ctx, row.ID, tokenHash, session.HashToken(newSecret), now, expiry)
		if err == nil {
			s.setRememberCookie(w, selector, newSecret, row.RememberExpiresAt)
		}
	}
	if errors.Is(err, data.ErrNotFound) {
		// The device was signed out (its row deleted) since it was read:
		// the request is a guest's after all.
		s.sessions.Remove(ctx, keyUserID)
		s.sessions.Remove(ctx, keyAccountDB)
		s.clearRememberCookie(w, r)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	restored = true
	return &currentUser{ID: user.ID, Name: user.Name, Email: user.Email,
		SessionID: row.ID, RememberExpiresAt: row.RememberExpiresAt}, nil
}

// sameHash compares two hashes of secrets in constant time.
func sameHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// rememberTokenStolen answers a remember-me cookie with a known selector
// and a wrong secret: neither the current one nor, within its grace, the
// previous one. The secret is replaced at every use, so someone used a
// copy of the cookie (or the device did, after the copy): the device's
// row is deleted, which signs out whoever holds its session now, and the
// cookie is cleared. The warning names the account, never the cookie.
func (s *Server) rememberTokenStolen(w http.ResponseWriter, r *http.Request, row data.AccountSession) error {
	ctx := r.Context()
	key, err := s.db.DeleteAccountSession(ctx, row.UserID, row.ID, time.Now())
	switch {
	case err == nil:
		s.deleteSignedOutSessions(r, []string{key})
	case !errors.Is(err, data.ErrNotFound):
		return err
	}
	s.logRequest(r, slog.LevelWarn, "remember-me cookie with a wrong secret: its device is signed out",
		slog.Int64("user_id", row.UserID))
	s.clearRememberCookie(w, r)
	return nil
}

// setRememberCookie sets the remember-me cookie, until expires. It goes
// with the session cookie: HttpOnly, SameSite=Lax, and Secure when that
// one is.
func (s *Server) setRememberCookie(w http.ResponseWriter, selector, secret string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     rememberCookieName,
		Value:    selector + "." + secret,
		Path:     "/",
		MaxAge:   int(time.Until(expires).Round(time.Second).Seconds()),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.sessions.Cookie.Secure,
	})
}

// clearRememberCookie tells the browser to delete its remember-me cookie,
// if the request carried one.
func (s *Server) clearRememberCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(rememberCookieName); err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     rememberCookieName,
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.sessions.Cookie.Secure,
	})
}

// parseRememberCookie splits a remember-me cookie into its selector and
// secret, and reports whether it has the form issueRememberToken gives it.
func parseRememberCookie(value string) (selector, secret string, ok bool) {
	selector, secret, ok = strings.Cut(value, ".")
	if !ok || !isBase64Of(selector, 16) || !isBase64Of(secret, 32) {
		return "", "", false
	}
	return selector, secret, true
}

// randomBase64 returns n random bytes in unpadded base64url.
func randomBase64(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails: see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b)
}

func isBase64Of(s string, n int) bool {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == n
}
