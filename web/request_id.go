package web

import (
	"context"
	"crypto/rand"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"
)

// maxRequestIDLength bounds a request id taken from the client.
const maxRequestIDLength = 64

// requestID gives every request an id, which the log line, the 500 page and
// the X-Request-Id answer header carry, so that a visitor's report can be
// matched to the log. It stores the id where chi's middleware.GetReqID
// finds it.
//
// chi's middleware.RequestID takes any X-Request-Id the client sends, as
// sent: a 60 KB id makes a 60 KB log line, and anyone can give their
// requests the id of someone else's to confuse whoever reads the log. This
// one keeps a client's id only if it is short and plain (at most 64 of
// A-Z a-z 0-9 . _ -, which the ids of proxies such as nginx's $request_id
// fit), so that one id can follow a request through a proxy; otherwise it
// makes one.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(middleware.RequestIDHeader)
		if !validRequestID(id) {
			id = rand.Text() // 26 letters and digits: unique without a counter
		}
		ctx := context.WithValue(r.Context(), middleware.RequestIDKey, id)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// validRequestID reports whether id is 1 to maxRequestIDLength characters
// of A-Z, a-z, 0-9, '.', '_' and '-'.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLength {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
