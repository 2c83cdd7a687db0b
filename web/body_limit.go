package web

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// maxBodyBytes caps a request body. Every form of this app fits in far less.
const maxBodyBytes = 64 << 10

// limitBody answers 413 to a request whose body is over maxBodyBytes before
// any handler runs, so that even a form whose handler reads no field
// (clearing the cart, say) changes nothing.
//
// A body of known length is judged by its Content-Length. A body sent
// without one (Transfer-Encoding: chunked) shows its size only as it is
// read, and a handler that never reads it would never notice that it is
// too large: it is read here, up to one byte over the cap, and the handler
// gets it from memory. That holds at most 64 KiB per request in flight,
// which a handler parsing the form would hold anyway.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			s.bodyTooLarge(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if r.ContentLength < 0 { // unknown length
			body, err := io.ReadAll(r.Body)
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				s.bodyTooLarge(w, r)
				return
			case err != nil: // a broken chunk, a client too slow or gone
				s.clientError(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		}
		next.ServeHTTP(w, r)
	})
}
