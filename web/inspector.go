package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// StoredRow is what the store holds for one session: the size of its
// encoded data and when it expires.
type StoredRow struct {
	Bytes  int
	Expiry time.Time
}

// inspectorData is what /session shows about the current session.
type inspectorData struct {
	CookieName     string
	SecureCookie   bool
	Persistent     bool   // the cookie has Max-Age and Expires: it outlives the browser
	TokenPrefix    string // empty for a session that gets its token with this response
	AbsoluteExpiry time.Time
	IdleExpiry     time.Time
	ExpiresAt      time.Time
	Values         []sessionValue
	Row            StoredRow
	HasRow         bool
	Active         int
	HasStats       bool
}

type sessionValue struct {
	Key   string
	Value string
}

// tokenPrefixLength is how much of the token the inspector shows: enough to
// see it change, far too little to be used.
const tokenPrefixLength = 6

// handleSessionInspector shows the current session, and only it: its
// cookie, its expiry, every key and value, and its row in the store.
func (s *Server) handleSessionInspector(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	wantJSON := prefersJSON(r)
	w.Header().Add("Vary", "Accept")

	var data templateData
	if !wantJSON {
		// First, so that this very view is counted in the values shown.
		data = s.newTemplateData(r, "Session inspector")
	}

	in := inspectorData{
		CookieName:     s.sessions.Cookie.Name,
		SecureCookie:   s.sessions.Cookie.Secure,
		Persistent:     s.persistentCookie(ctx),
		AbsoluteExpiry: s.sessions.Deadline(ctx),
	}
	in.ExpiresAt = in.AbsoluteExpiry
	if s.sessions.IdleTimeout > 0 {
		in.IdleExpiry = time.Now().Add(s.sessions.IdleTimeout).UTC()
		if in.IdleExpiry.Before(in.ExpiresAt) {
			in.ExpiresAt = in.IdleExpiry
		}
	}
	token := s.sessions.Token(ctx)
	if len(token) > tokenPrefixLength {
		in.TokenPrefix = token[:tokenPrefixLength]
	}

	values := make(map[string]any)
	keys := s.sessions.Keys(ctx) // sorted
	for _, k := range keys {
		values[k] = s.sessions.Get(ctx, k)
	}

	if wantJSON {
		s.writeJSON(w, http.StatusOK, inspectorJSON{
			Values:      values,
			ExpiresAt:   in.ExpiresAt.UTC().Format(time.RFC3339),
			TokenPrefix: in.TokenPrefix,
		})
		return
	}

	for _, k := range keys {
		b, err := json.Marshal(values[k])
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		in.Values = append(in.Values, sessionValue{Key: k, Value: string(b)})
	}
	if s.stats != nil {
		var err error
		in.HasStats = true
		if token != "" {
			if in.Row.Bytes, in.Row.Expiry, in.HasRow, err = s.stats.Row(ctx, token); err != nil {
				s.serverError(w, r, err)
				return
			}
		}
		if in.Active, err = s.stats.Active(ctx); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	data.Inspector = in
	s.render(w, r, http.StatusOK, "session", data)
}

type inspectorJSON struct {
	Values      map[string]any `json:"values"`
	ExpiresAt   string         `json:"expiresAt"`
	TokenPrefix string         `json:"tokenPrefix"`
}

// handleSessionDestroy ends the current session: it is sign-out.
func (s *Server) handleSessionDestroy(w http.ResponseWriter, r *http.Request) {
	if err := s.signOut(w, r); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/session", "Session destroyed. This is a new one, with a new token.")
}
