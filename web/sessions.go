package web

import (
	"bufio"
	"context"
	"encoding/gob"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/codec"
	"example.com/gosessions/internal/session/lock"
)

// Session keys. viewCount and chosenIngredients are the names the original
// Express tutorial uses (req.session.viewCount, req.session.chosenIngredients).
const (
	keyViewCount         = "viewCount"         // int: visits to /session-example
	keyChosenIngredients = "chosenIngredients" // cart.Cart: the shopping cart
	keyPageViews         = "pageViews"         // int: HTML pages seen in this session
	keyRecentlyViewed    = "recentlyViewed"    // []int64: ingredient ids, newest first
	keyUserID            = "userId"            // int64: the account signed in, and nothing else about it (authenticate.go)
	keyAccountDB         = "accountDb"         // string: the id of the database that account is in (data.Store.ID)
	keyPurchases         = "purchases"         // int: checkouts completed
	keyOrderIDs          = "orderIds"          // []int64: orders placed by this session
	keyCheckoutKey       = "checkoutKey"       // string: names the cart's order, so that it is placed once (checkout.go)
	keyFlash             = "flash"             // string: one-time message for the next page

	// keyRememberMe is scs's own key, which its RememberMe sets: whether
	// the session cookie outlives the browser (see writeSessionCookie).
	keyRememberMe = "__rememberMe"
)

// maxRecentlyViewed is how many ingredient ids recentlyViewed keeps.
const maxRecentlyViewed = 10

func init() {
	// gob, scs's default codec, must know every concrete type it meets
	// behind an interface: basic types and their slices it knows, ours it
	// does not. The codec set below encodes cart.Cart itself, but falls back
	// to gob for types it does not know, and reads sessions gob wrote.
	gob.Register(cart.Cart{})
}

// SessionOptions are the settings of the session cookie and its lifetime.
type SessionOptions struct {
	Lifetime     time.Duration // absolute: the session ends this long after it began
	IdleTimeout  time.Duration // the session ends after this long without a request
	SecureCookie bool          // send the cookie over HTTPS only
}

// NewSessionManager returns the session manager the application uses, on
// the given store. This is the Go counterpart of Express's
// app.use(session({...})).
func NewSessionManager(store scs.Store, opts SessionOptions) *scs.SessionManager {
	sm := scs.New()
	sm.Store = deferringStore{store}
	sm.Lifetime = opts.Lifetime
	sm.IdleTimeout = opts.IdleTimeout
	// Keep only a SHA-256 hash of each token in the store, so that a copy
	// of the database hands out no live session.
	sm.HashTokenInStore = true
	// A compact binary encoding of the session values instead of gob,
	// which spends more time on type descriptions than on the values.
	sm.Codec = codec.Codec{}

	sm.Cookie.Name = "session"
	sm.Cookie.HttpOnly = true // not readable from JavaScript
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	// Expires/Max-Age set: a guest's session survives closing the browser;
	// a signed-in one only with "Remember me" (see writeSessionCookie).
	sm.Cookie.Persist = true
	sm.Cookie.Secure = opts.SecureCookie
	return sm
}

// loadAndSave loads the session named by the request's cookie, runs next,
// and commits the session just before the first byte of the response goes
// out, writing the cookie with it.
//
// It does what scs's own LoadAndSave does, with these differences:
//
//   - A stored session that cannot be decoded (damaged, or written by a
//     later version of the codec) is treated like an unknown token: the
//     request gets a fresh session and the bad row is deleted. scs answers
//     500 to every request of that visitor, forever.
//   - A token that a request before this one renewed or destroyed while
//     this one waited for the session's lock (see lockSession) starts no
//     session: the browser is sent to try again with the cookie it holds
//     now (see retryWithCurrentCookie).
//   - The commit is commitSession's: a HEAD saves nothing, a request that
//     lost its session's lock saves nothing, and when the commit fails the
//     client gets an error page and none of the handler's response.
//   - Flush commits first, so a streamed response carries its cookie.
//   - The rows that RenewToken and Destroy delete are deleted only once
//     the session is saved (deferringStore): a sign-in whose save fails
//     leaves the visitor's session as it was.
//   - It keeps a trace of the session as loaded, which the page's session
//     panel compares with the session as it stands (panel.go).
func (s *Server) loadAndSave(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")

		var token string
		if c, err := r.Cookie(s.sessions.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, origin, err := s.loadSession(r, token)
		switch {
		case errors.Is(err, errTokenRetired):
			s.retryWithCurrentCookie(w, r)
			return
		case err != nil:
			s.serverError(w, r, err)
			return
		}
		if !s.panelOff {
			ctx = s.traceSession(ctx, token, origin) // the session as loaded, for the panel (panel.go)
		}
		ctx = withDeferredDeletes(ctx)
		r = r.WithContext(ctx)
		defer s.noteRetiredToken(r, s.sessions.Token(ctx))

		cw := &commitWriter{ResponseWriter: w, server: s, request: r}
		next.ServeHTTP(cw, r)
		cw.commit() // when the handler wrote nothing at all
	})
}

// errTokenRetired says that the request's token was renewed or destroyed by
// the request that held the session's lock before it.
var errTokenRetired = errors.New("session token retired while the request waited")

// loadSession returns r's context with the session that token names, and
// how it was found (an origin code of panel.go). An unknown, expired or
// malformed token gets a fresh session, as in scs, and so does a session
// that cannot be decoded; a token retired while the request waited for the
// lock is errTokenRetired. Any other error is the store's.
func (s *Server) loadSession(r *http.Request, token string) (context.Context, string, error) {
	ctx, err := s.sessions.Load(r.Context(), token)
	if errors.Is(err, codec.ErrCorrupt) {
		ctx, err := s.replaceCorruptSession(r, token, err)
		return ctx, originUndecodable, err
	}
	if err != nil {
		return nil, "", err
	}
	switch {
	case token == "":
		return ctx, originNew, nil
	case s.sessions.Token(ctx) != "":
		return ctx, originLoaded, nil
	}
	// The token found no session.
	if lease, ok := lock.FromContext(ctx); ok {
		retired, err := lease.Retired(ctx)
		if err != nil {
			return nil, "", err
		}
		if retired {
			return nil, "", errTokenRetired
		}
	}
	return ctx, originExpired, nil
}

// replaceCorruptSession deletes the stored session that token names, which
// cannot be decoded, and returns r's context with a fresh session. The
// warning names the request, never the token or the data.
func (s *Server) replaceCorruptSession(r *http.Request, token string, decodeErr error) (context.Context, error) {
	ctx := r.Context()
	s.logRequest(r, slog.LevelWarn, "stored session cannot be decoded: deleted, and a new session started",
		slog.Any("error", decodeErr))
	if err := s.deleteStoredSession(ctx, token); err != nil {
		return nil, err
	}
	return s.sessions.Load(ctx, "")
}

// deleteStoredSession deletes the row of token from the store, under the
// key scs uses for it. scs deletes a session only through Destroy, which
// needs the session loaded.
func (s *Server) deleteStoredSession(ctx context.Context, token string) error {
	return s.deleteStoreKey(ctx, session.HashToken(token)) // New requires HashTokenInStore
}

// deleteStoreKey deletes the session stored under key: the hash of its
// token, as the session index keeps it.
func (s *Server) deleteStoreKey(ctx context.Context, key string) error {
	// As scs does, prefer the store's method that takes a context.
	if st, ok := s.sessions.Store.(interface {
		DeleteCtx(context.Context, string) error
	}); ok {
		return st.DeleteCtx(ctx, key)
	}
	return s.sessions.Store.Delete(key)
}

// retryWithCurrentCookie answers a request whose token was renewed (sign-in)
// or destroyed (sign-out) by the request that ran before it: a double
// click, or a page of another tab. Serving it with a fresh session would
// send a cookie that reaches the browser last and replaces the one the
// first request gave it, signing the visitor out and emptying the cart;
// serving it with the old session's data would undo the fixation defence.
// So it is not run at all, and sets no cookie: a 303 sends the browser to
// the same page for a GET or HEAD, or to the page a form leads to (see
// formLeadsTo), which it loads with the cookie it holds now.
func (s *Server) retryWithCurrentCookie(w http.ResponseWriter, r *http.Request) {
	url := r.URL.RequestURI()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		var ok bool
		if url, ok = formLeadsTo(chi.RouteContext(r.Context()).RoutePattern()); !ok {
			url = "/"
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// noteRetiredToken tells lockSession that this request renewed or destroyed
// the token of the session it loaded (RenewToken and Destroy delete its
// row), so that the requests still waiting with that token learn it (see
// loadSession).
func (s *Server) noteRetiredToken(r *http.Request, loadedToken string) {
	if loadedToken != "" && s.sessions.Token(r.Context()) != loadedToken {
		markTokenRetired(r.Context())
	}
}

// commitWriter commits the session before the response's status line, or
// before a flush, whichever comes first.
type commitWriter struct {
	http.ResponseWriter
	server    *Server
	request   *http.Request
	committed bool
	failed    bool
}

func (cw *commitWriter) WriteHeader(status int) {
	if cw.commit() {
		cw.ResponseWriter.WriteHeader(status)
	}
}

func (cw *commitWriter) Write(b []byte) (int, error) {
	if !cw.commit() {
		return len(b), nil // the error page has been sent instead
	}
	return cw.ResponseWriter.Write(b)
}

// FlushError commits the session and flushes the response. It is what
// http.NewResponseController(w).Flush calls.
func (cw *commitWriter) FlushError() error {
	cw.commit() // on failure, flushes the error page sent instead
	return http.NewResponseController(cw.ResponseWriter).Flush()
}

// Flush makes commitWriter an http.Flusher, for handlers that assert it.
func (cw *commitWriter) Flush() { _ = cw.FlushError() }

// Hijack commits the session, then hands the connection to the handler if
// the underlying writer can (HTTP/1.x), or returns http.ErrNotSupported. No
// cookie goes out on a hijacked connection: what the handler writes there
// is all the client gets.
func (cw *commitWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !cw.commit() {
		return nil, nil, errSessionNotSaved // and the error page was sent
	}
	return http.NewResponseController(cw.ResponseWriter).Hijack()
}

// errSessionNotSaved is Hijack's error when the commit before it failed.
var errSessionNotSaved = errors.New("web: the session was not saved, and an error page was sent")

func (cw *commitWriter) Unwrap() http.ResponseWriter { return cw.ResponseWriter }

// commit runs commitSession once, and reports whether the response may go on.
func (cw *commitWriter) commit() bool {
	if !cw.committed {
		cw.committed = true
		cw.failed = !cw.server.commitSession(cw.ResponseWriter, cw.request)
	}
	return !cw.failed
}

// commitSession saves the request's session and writes its cookie, as scs's
// LoadAndSave does, except that:
//
//   - a HEAD saves nothing and sends no cookie: it asks for a page's
//     headers (link checkers, previews, monitors) and must change nothing,
//     neither a value that its GET handler sets nor the idle expiry;
//   - a request that no longer holds its session's lock saves nothing and
//     gets a 503: its save could overwrite the one of the request now
//     running with the lock;
//   - when the save fails, the error page replaces the handler's answer,
//     so a change that was not saved is never acknowledged with a 200 or a
//     redirect.
//
// It reports whether the handler's response may go on.
func (s *Server) commitSession(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	if r.Method == http.MethodHead {
		return true
	}
	switch s.sessions.Status(ctx) {
	case scs.Modified:
		token, expiry, err := s.saveSession(ctx)
		if err != nil {
			if tr := traceFrom(ctx); tr != nil {
				tr.saveFailed = true // for the panel of the error page
			}
			w.Header().Del("Location") // a redirect must not survive as an error page
			s.serverError(w, r, err)   // a lost lock: 503
			return false
		}
		if !s.runDeferredDeletes(w, r) {
			return false
		}
		s.writeSessionCookie(ctx, w, token, expiry)
	case scs.Destroyed:
		if !s.runDeferredDeletes(w, r) {
			return false
		}
		s.writeSessionCookie(ctx, w, "", time.Time{})
	default:
		if !s.runDeferredDeletes(w, r) {
			return false
		}
	}
	s.sendCarriedReport(w, r) // a redirect's, once its session is saved
	foldCacheControl(w.Header())
	return true
}

// writeSessionCookie sets the session cookie, as scs's WriteSessionCookie
// does, but with another rule for when it outlives the browser. scs makes
// every cookie persistent when Cookie.Persist is set, and RememberMe
// matters only when it is not. Here a guest's cookie is persistent (a cart
// survives closing the browser), and a signed-in session's only with
// "Remember me": without it, closing the browser signs the visitor out.
func (s *Server) writeSessionCookie(ctx context.Context, w http.ResponseWriter, token string, expiry time.Time) {
	cookie := &http.Cookie{
		Name:        s.sessions.Cookie.Name,
		Value:       token,
		Domain:      s.sessions.Cookie.Domain,
		Path:        s.sessions.Cookie.Path,
		HttpOnly:    s.sessions.Cookie.HttpOnly,
		SameSite:    s.sessions.Cookie.SameSite,
		Secure:      s.sessions.Cookie.Secure,
		Partitioned: s.sessions.Cookie.Partitioned,
	}
	switch {
	case expiry.IsZero(): // destroyed: the browser deletes the cookie
		cookie.Expires = time.Unix(1, 0)
		cookie.MaxAge = -1
	case s.persistentCookie(ctx):
		cookie.Expires = time.Unix(expiry.Unix()+1, 0) // rounded up to the second, as scs does
		cookie.MaxAge = int(time.Until(expiry).Seconds() + 1)
	}
	w.Header().Add("Set-Cookie", cookie.String())
	w.Header().Add("Cache-Control", `no-cache="Set-Cookie"`)
}

// persistentCookie reports whether the session's cookie outlives the
// browser: a guest's does, a signed-in session's only with "Remember me".
func (s *Server) persistentCookie(ctx context.Context) bool {
	return !s.sessions.Exists(ctx, keyUserID) || s.sessions.GetBool(ctx, keyRememberMe)
}

// saveSession commits the session to the store, after checking that the
// request still holds its session's lock. A store may check it again in its
// own commit (a lock in Redis can expire in between).
func (s *Server) saveSession(ctx context.Context) (string, time.Time, error) {
	if lease, ok := lock.FromContext(ctx); ok {
		if err := lease.Check(ctx); err != nil {
			return "", time.Time{}, err
		}
	}
	return s.sessions.Commit(ctx)
}

// runDeferredDeletes deletes the rows that the request's session calls
// (RenewToken, Destroy) and our own code asked to delete, now that the
// session is saved (see deferringStore). When one fails it sends the error
// page, and reports that the response may not go on: a sign-in or
// sign-out whose old row is still there has not happened.
func (s *Server) runDeferredDeletes(w http.ResponseWriter, r *http.Request) bool {
	ds, ok := s.sessions.Store.(deferringStore)
	if !ok {
		return true
	}
	if err := ds.flush(r.Context()); err != nil {
		w.Header().Del("Location")
		s.serverError(w, r, err)
		return false
	}
	return true
}

// deferringStore is the store as scs sees it. It passes every call on,
// except a delete made during a page request: that waits until the
// request's session has been saved (runDeferredDeletes).
//
// scs's RenewToken, at sign-in, deletes the old token's row at once, and
// the session is saved under its new token only when the response goes
// out. Were that save to fail (the database went away, the lock was lost),
// the visitor would have neither: the cart they had, acknowledged by
// earlier answers, would be gone with the old row, and they would not be
// signed in either. Deleting afterwards keeps the old row until the new
// one is in place: a failed save leaves the visitor as they were.
type deferringStore struct{ scs.Store }

// pendingDeletes are the store keys a request asked to delete.
type pendingDeletes struct{ keys []string }

type pendingDeletesKey struct{}

// withDeferredDeletes returns ctx, in which the store's deletes wait.
func withDeferredDeletes(ctx context.Context) context.Context {
	return context.WithValue(ctx, pendingDeletesKey{}, &pendingDeletes{})
}

func (d deferringStore) DeleteCtx(ctx context.Context, key string) error {
	if p, ok := ctx.Value(pendingDeletesKey{}).(*pendingDeletes); ok {
		p.keys = append(p.keys, key)
		return nil
	}
	return d.deleteNow(ctx, key)
}

func (d deferringStore) Delete(key string) error { return d.Store.Delete(key) }

// flush deletes what was asked in ctx, and forgets it.
func (d deferringStore) flush(ctx context.Context) error {
	p, ok := ctx.Value(pendingDeletesKey{}).(*pendingDeletes)
	if !ok {
		return nil
	}
	keys := p.keys
	p.keys = nil
	for _, key := range keys {
		if err := d.deleteNow(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// deleteNow deletes key, with the store's method that takes a context
// when it has one, as scs does.
func (d deferringStore) deleteNow(ctx context.Context, key string) error {
	if st, ok := d.Store.(interface {
		DeleteCtx(context.Context, string) error
	}); ok {
		return st.DeleteCtx(ctx, key)
	}
	return d.Store.Delete(key)
}

// The other calls of scs.CtxStore and scs.IterableCtxStore go to the
// store's context methods when it has them, so that a store that checks
// the request's lock in its commit (Redis, PostgreSQL) still gets the
// request's context.

func (d deferringStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	if st, ok := d.Store.(interface {
		FindCtx(context.Context, string) ([]byte, bool, error)
	}); ok {
		return st.FindCtx(ctx, key)
	}
	return d.Store.Find(key)
}

func (d deferringStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	if st, ok := d.Store.(interface {
		CommitCtx(context.Context, string, []byte, time.Time) error
	}); ok {
		return st.CommitCtx(ctx, key, b, expiry)
	}
	return d.Store.Commit(key, b, expiry)
}

func (d deferringStore) All() (map[string][]byte, error) { return d.AllCtx(context.Background()) }

func (d deferringStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	switch st := d.Store.(type) {
	case interface {
		AllCtx(context.Context) (map[string][]byte, error)
	}:
		return st.AllCtx(ctx)
	case scs.IterableStore:
		return st.All()
	}
	return nil, errors.New("web: the session store cannot list its sessions")
}

// foldCacheControl leaves a single "Cache-Control: no-store" on a response
// that has it. With the cookie, scs adds Cache-Control: no-cache="Set-Cookie"
// (a cache may keep the page but not the cookie); no-store already keeps the
// whole response, cookie included, out of every cache, so the second header
// would only leave readers wondering which one wins.
func foldCacheControl(h http.Header) {
	if slices.Contains(h.Values("Cache-Control"), "no-store") {
		h.Set("Cache-Control", "no-store")
	}
}

// Typed readers for the session values that are not plain ints or strings.
// A missing key, or a value of another type, reads as empty.

func (s *Server) chosenIngredients(ctx context.Context) cart.Cart {
	c, _ := s.sessions.Get(ctx, keyChosenIngredients).(cart.Cart)
	return c
}

func (s *Server) recentlyViewed(ctx context.Context) []int64 {
	ids, _ := s.sessions.Get(ctx, keyRecentlyViewed).([]int64)
	return ids
}

func (s *Server) orderIDs(ctx context.Context) []int64 {
	ids, _ := s.sessions.Get(ctx, keyOrderIDs).([]int64)
	return ids
}
