package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session/lock"
)

// serverError is where every unexpected error ends: it is logged with the
// request id, and the visitor sees a generic 500 page that quotes the id but
// shows nothing of the error itself. Two errors are a 503 instead, since
// trying again soon will work: a lost session lock, from a commit,
// RenewToken or Destroy (sessionLockLost), and a password hasher with
// every slot busy (passwordsBusy).
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, lock.ErrLost):
		s.sessionLockLost(w, r, err)
		return
	case errors.Is(err, password.ErrBusy):
		s.passwordsBusy(w, r)
		return
	}
	s.logRequest(r, slog.LevelError, "server error", slog.Any("error", err))
	s.renderError(w, r, http.StatusInternalServerError,
		"Something went wrong on our side. Please try again in a moment.")
}

// logRequest writes a log line about request r: its method, path and id,
// then attrs. Never put a password, a token or session data in attrs.
func (s *Server) logRequest(r *http.Request, level slog.Level, msg string, attrs ...slog.Attr) {
	s.logger.LogAttrs(r.Context(), level, msg, append([]slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("request_id", middleware.GetReqID(r.Context())),
	}, attrs...)...)
}

// sessionLockLost answers a request that no longer held its session's lock
// when it came to save (a lock in a shared store that expired under a slow
// request): nothing was saved, so trying again is safe.
func (s *Server) sessionLockLost(w http.ResponseWriter, r *http.Request, err error) {
	s.logRequest(r, slog.LevelWarn, "session lock lost: nothing saved", slog.Any("error", err))
	s.renderError(w, r, http.StatusServiceUnavailable,
		"This request took too long and lost its hold on your session, so nothing was saved. Please try again.")
}

// passwordsBusy answers a sign-up, sign-in or change of password that
// waited too long for its turn to hash: the server is hashing as fast as it
// can. Nothing was changed.
func (s *Server) passwordsBusy(w http.ResponseWriter, r *http.Request) {
	s.logRequest(r, slog.LevelWarn, "password hashing busy: refused")
	w.Header().Set("Retry-After", "1")
	s.renderError(w, r, http.StatusServiceUnavailable,
		"The server is busy checking other passwords. Please try again in a moment.")
}

// clientError answers a request the server cannot or will not carry out
// because of what the client sent, with a message that says why.
func (s *Server) clientError(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.renderError(w, r, status, message)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.clientError(w, r, http.StatusNotFound, "There is nothing at this address.")
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.clientError(w, r, http.StatusMethodNotAllowed,
		fmt.Sprintf("This address does not accept %s requests.", r.Method))
}

// bodyTooLarge answers a request whose body is over maxBodyBytes.
func (s *Server) bodyTooLarge(w http.ResponseWriter, r *http.Request) {
	s.clientError(w, r, http.StatusRequestEntityTooLarge,
		fmt.Sprintf("The form is larger than %d KiB, which is more than any form here needs.", maxBodyBytes>>10))
}

// notFoundOr answers 404 for data.ErrNotFound and 500 for anything else.
func (s *Server) notFoundOr(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, data.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, err)
}

// renderError writes an error page, or a small JSON object to clients that
// asked for JSON. Error pages are rendered without the session: the error may
// have come from the session store itself.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, message string) {
	if prefersJSON(r) {
		s.writeJSON(w, status, map[string]string{"error": message})
		return
	}
	data := templateData{
		Title:     http.StatusText(status),
		Status:    status,
		Message:   message,
		RequestID: middleware.GetReqID(r.Context()),
	}
	if err := s.writePage(w, r, status, "error", data); err != nil {
		// The error page itself failed: fall back to plain text.
		s.logger.Error("render error page", slog.Any("error", err))
		http.Error(w, message, status)
	}
}

// panicError carries a recovered panic value to serverError.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }
