package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"example.com/gosessions/internal/session"
)

// StoredRow is what the store holds for one session: the size of its
// encoded data and when it expires.
type StoredRow struct {
	Bytes  int
	Expiry time.Time
}

// inspectorData is what /session shows about the current session.
type inspectorData struct {
	CookieName      string
	SecureCookie    bool
	Persistent      bool   // the cookie has Max-Age and Expires: it outlives the browser
	TokenPrefix     string // empty for a session that gets its token with this response
	TokenHashPrefix string // of the key the store keeps the session under
	AbsoluteExpiry  time.Time
	IdleExpiry      time.Time
	ExpiresAt       time.Time
	Values          []sessionValue
	Row             StoredRow
	HasRow          bool
	Active          int
	HasStats        bool
	SQLiteCommand   string // finds the session's row; empty unless the sessions are in SQLite
}

type sessionValue struct {
	Key    string
	Value  string
	ScsKey bool // scs's own key, not the app's
}

// tokenPrefixLength is how much of the token the inspector shows: enough to
// see it change, far too little to be used.
const tokenPrefixLength = 6

// tokenHashPrefixLength is how much of the token's hash the inspector
// shows: 72 bits, enough for no two sessions of one store to share it in
// practice, and no help in finding the token.
const tokenHashPrefixLength = 12

// handleSessionInspector shows the current session, and only it: its
// cookie, its expiry, every key and value, and its row in the store. The
// JSON form has every fact the page has, and changes nothing: it neither
// counts a page view nor pops the flash.
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
	if token != "" {
		in.TokenPrefix = prefix(token, tokenPrefixLength)
		in.TokenHashPrefix = session.HashToken(token)[:tokenHashPrefixLength]
		if s.sqliteFile != "" {
			in.SQLiteCommand = sqliteRowCommand(s.sqliteFile, in.TokenHashPrefix)
		}
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

	values := make(map[string]any)
	keys := s.sessions.Keys(ctx) // sorted
	for _, k := range keys {
		values[k] = s.sessions.Get(ctx, k)
	}

	if wantJSON {
		s.writeJSON(w, http.StatusOK, newInspectorJSON(in, values))
		return
	}

	for _, k := range keys {
		b, err := json.Marshal(values[k])
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		in.Values = append(in.Values, sessionValue{Key: k, Value: string(b), ScsKey: k == keyRememberMe})
	}
	data.Inspector = in
	s.render(w, r, http.StatusOK, "session", data)
}

// sqliteRowCommand is the sqlite3 command that shows the row of the session
// whose token's hash starts with hashPrefix. The prefix is compared with
// substr, not LIKE: base64url has '_', which LIKE reads as "any character".
// Base64url has no quote, so the prefix needs no escaping; the file name
// may, for the shell.
func sqliteRowCommand(file, hashPrefix string) string {
	if strings.HasPrefix(file, "-") {
		file = "./" + file // not an option of sqlite3's
	}
	return fmt.Sprintf(`sqlite3 %s "SELECT length(data), datetime(expiry) FROM sessions WHERE substr(token, 1, %d) = '%s'"`,
		shellQuote(file), len(hashPrefix), hashPrefix)
}

// shellQuote quotes s for a POSIX shell, unless it is made only of
// characters that need none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./-:+=@%,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// inspectorJSON is the JSON form of /session (Accept: application/json).
// Times are RFC 3339, in UTC, to the second. The first three names are
// the ones scripts have always read, and stay.
type inspectorJSON struct {
	// Values holds every key of the session and its value, scs's own keys
	// included (see scsKeys).
	Values map[string]any `json:"values"`
	// ExpiresAt is when the session ends unless a request comes first: the
	// earlier of absoluteExpiry and idleExpiry.
	ExpiresAt string `json:"expiresAt"`
	// TokenPrefix is the first characters of the session's token; "" for a
	// new session, which gets its token with this response.
	TokenPrefix string `json:"tokenPrefix"`

	// TokenHashPrefix is the first characters of the key the store keeps
	// the session under: the token's SHA-256 hash in base64url
	// (session.HashToken); "" for a new session.
	TokenHashPrefix string `json:"tokenHashPrefix"`
	// CookieName is the session cookie's name.
	CookieName string `json:"cookieName"`
	// SecureCookie says whether the cookie is sent over HTTPS only.
	SecureCookie bool `json:"secureCookie"`
	// PersistentCookie says whether the cookie has Max-Age and Expires, so
	// that it outlives the browser.
	PersistentCookie bool `json:"persistentCookie"`
	// AbsoluteExpiry is when the session ends at the latest: its lifetime
	// from when it began (or its token was last renewed).
	AbsoluteExpiry string `json:"absoluteExpiry"`
	// IdleExpiry is when the session ends if no request comes before;
	// each request moves it on. Absent without an idle timeout.
	IdleExpiry string `json:"idleExpiry,omitempty"`
	// StoredRow is the session's row in the store as it was before this
	// request. Absent when the store has none yet (a new session) or gives
	// no statistics.
	StoredRow *storedRowJSON `json:"storedRow,omitempty"`
	// ActiveSessions is about how many sessions the store holds, counted
	// in the background every few seconds. Absent when the store gives no
	// statistics.
	ActiveSessions *int `json:"activeSessions,omitempty"`
	// SQLiteCommand is the sqlite3 command that shows the session's row.
	// Absent unless the sessions are in SQLite and this one has a token.
	SQLiteCommand string `json:"sqliteCommand,omitempty"`
	// ScsKeys lists the keys of values that scs itself sets, not the app:
	// "__rememberMe", set by RememberMe. Empty when there are none.
	ScsKeys []string `json:"scsKeys"`
}

// storedRowJSON is a session's row in the store.
type storedRowJSON struct {
	// Bytes is the size of the session's encoded data.
	Bytes int `json:"bytes"`
	// ExpiresAt is when the store lets the row go; absent if the store
	// does not say.
	ExpiresAt string `json:"expiresAt,omitempty"`
}

func newInspectorJSON(in inspectorData, values map[string]any) inspectorJSON {
	j := inspectorJSON{
		Values:           values,
		ExpiresAt:        formatTime(in.ExpiresAt),
		TokenPrefix:      in.TokenPrefix,
		TokenHashPrefix:  in.TokenHashPrefix,
		CookieName:       in.CookieName,
		SecureCookie:     in.SecureCookie,
		PersistentCookie: in.Persistent,
		AbsoluteExpiry:   formatTime(in.AbsoluteExpiry),
		SQLiteCommand:    in.SQLiteCommand,
		ScsKeys:          []string{},
	}
	if !in.IdleExpiry.IsZero() {
		j.IdleExpiry = formatTime(in.IdleExpiry)
	}
	if in.HasRow {
		j.StoredRow = &storedRowJSON{Bytes: in.Row.Bytes}
		if !in.Row.Expiry.IsZero() {
			j.StoredRow.ExpiresAt = formatTime(in.Row.Expiry)
		}
	}
	if in.HasStats {
		j.ActiveSessions = &in.Active
	}
	if _, ok := values[keyRememberMe]; ok {
		j.ScsKeys = append(j.ScsKeys, keyRememberMe)
	}
	return j
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// handleSessionDestroy ends the current session: it is sign-out.
func (s *Server) handleSessionDestroy(w http.ResponseWriter, r *http.Request) {
	if err := s.signOut(w, r); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.redirect(w, r, "/session", "Session destroyed. This is a new one, with a new token.")
}
