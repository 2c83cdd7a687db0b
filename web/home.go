package web

import (
	"context"
	"net/http"
	"time"
)

// handleHome shows what the session remembers about the visitor.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	data := s.newTemplateData(r, "Home")
	data.ViewCount = s.sessions.GetInt(r.Context(), keyViewCount)
	data.Purchases = s.sessions.GetInt(r.Context(), keyPurchases)
	s.render(w, r, http.StatusOK, "home", data)
}

// handleHealthz answers 200 "ok" while the database and, when it lives
// elsewhere, the session store answer, 503 otherwise. It runs without a
// session, so probes create none.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	err := s.db.Check(ctx)
	if err == nil && s.health != nil {
		err = s.health(ctx)
	}
	if err != nil {
		s.logger.Warn("health check failed", "error", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("unavailable\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}
