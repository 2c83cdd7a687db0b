package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session/lock"
)

// Errors that go away when tried again are a 503, not a 500.
func TestServerErrorAnswers503ForPassingTroubles(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name           string
		err            error
		wantStatus     int
		wantRetryAfter string
	}{
		{"a busy password hasher", fmt.Errorf("sign in: %w", password.ErrBusy), http.StatusServiceUnavailable, "1"},
		{"a lost session lock", fmt.Errorf("commit: %w", lock.ErrLost), http.StatusServiceUnavailable, ""},
		{"anything else", fmt.Errorf("disk on fire"), http.StatusInternalServerError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			s.serverError(w, httptest.NewRequest(http.MethodPost, "/login", nil), tt.err)
			if w.Code != tt.wantStatus || w.Header().Get("Retry-After") != tt.wantRetryAfter {
				t.Errorf("got status %d, Retry-After %q; want %d, %q",
					w.Code, w.Header().Get("Retry-After"), tt.wantStatus, tt.wantRetryAfter)
			}
		})
	}
}
