package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"example.com/gosessions/internal/session/lock"
)

// logRequests writes one log line per request, after it is served.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		ww.Header().Set("X-Request-Id", middleware.GetReqID(r.Context()))
		next.ServeHTTP(ww, r)
		s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", ww.Status()),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", middleware.GetReqID(r.Context())),
		)
	})
}

// recoverPanic turns a panic in a handler into the 500 page, so that one bad
// request neither kills the connection silently nor the server.
func (s *Server) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { // the handler chose to abort; let net/http do so
					panic(v)
				}
				s.serverError(w, r, panicError{v})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy lets pages load scripts, styles and images from this
// origin only, never inline script, and never be framed by another site.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY") // frame-ancestors for older browsers
		next.ServeHTTP(w, r)
	})
}

// noStore keeps pages that show session data out of every cache: the
// browser's back button and any proxy on the way.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// crossOriginProtection refuses state-changing requests (POST and the like)
// that a browser marks as sent from another site, using the Origin and
// Sec-Fetch-Site headers browsers add. Same-origin forms and clients that
// send neither header, such as curl, pass.
func (s *Server) crossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.clientError(w, r, http.StatusForbidden,
			"This form was sent from another site, so it was refused. Submit it from this site's own pages.")
	}))
	return cop.Handler(next)
}

// requestTimeout bounds the work of a page request: waiting for the
// session's lock (at most 5 s), loading it, the handler's queries, saving
// it. Each of them runs under the request's context, so a database that
// stalls (a table locked from outside, a server that stops answering)
// fails the request with the 500 page after this long, instead of holding
// it, and its connection, for as long as the stall lasts. A session saved
// after the deadline is not saved at all, so no answer claims it was.
const requestTimeout = 10 * time.Second

// withDeadline gives each request's context the requestTimeout deadline.
func withDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// lockSession lets one request at a time run for each session, so that two
// requests of the same visitor (a double click, two tabs) cannot both load
// the session, change it, and have the second save overwrite the first.
// Requests of different sessions never wait for each other.
//
// The lease goes into the request's context, for loadAndSave (which asks
// it whether the token was retired meanwhile, and checks it before saving)
// and for stores that check it in their own commit. When the request
// renewed or destroyed its token, the release says so, for the requests
// still waiting with that token.
//
// The default locker lives in this process's memory (lock.Local):
// enough for one server process. Several processes sharing one store need
// a lock in that store, such as the Redis locker.
//
// With Config.NoSessionLock, requests pass without taking the lock.
func (s *Server) lockSession(next http.Handler) http.Handler {
	if s.noSessionLock {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(s.sessions.Cookie.Name)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r) // a new visitor: nothing to serialise against
			return
		}
		lease, err := s.locker.Lock(r.Context(), c.Value)
		if err != nil {
			s.lockFailed(w, r, err)
			return
		}
		hold := &lockHold{}
		defer func() { lease.Release(hold.tokenRetired) }()
		ctx := lock.NewContext(r.Context(), lease)
		ctx = context.WithValue(ctx, lockHoldKey{}, hold)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// lockFailed answers a request that could not take a lock it needed.
func (s *Server) lockFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		// The client went away while waiting; nothing was changed.
		s.clientError(w, r, http.StatusServiceUnavailable, "The request was cancelled.")
	case errors.Is(err, lock.ErrBusy):
		// Too many sessions at once for the locker, not this one's lock.
		w.Header().Set("Retry-After", "1")
		s.clientError(w, r, http.StatusServiceUnavailable,
			"The server is busy. Please try again in a moment.")
	case errors.Is(err, context.DeadlineExceeded):
		// A locker that bounds its wait gave up: another request of this
		// session held the lock all along.
		s.clientError(w, r, http.StatusServiceUnavailable,
			"Another request of your session is still running. Please try again in a moment.")
	default:
		// Where the lock lives failed, such as a Redis that is down.
		s.serverError(w, r, err)
	}
}

// lockHold is how loadAndSave tells lockSession, through the request's
// context, that the request renewed or destroyed its token. Both run in the
// request's goroutine, so it needs no lock of its own.
type lockHold struct {
	tokenRetired bool
}

type lockHoldKey struct{}

// markTokenRetired records in ctx that the request renewed or destroyed its
// token. A request that holds no lock (a new visitor's) has nothing to
// record.
func markTokenRetired(ctx context.Context) {
	if hold, ok := ctx.Value(lockHoldKey{}).(*lockHold); ok {
		hold.tokenRetired = true
	}
}
