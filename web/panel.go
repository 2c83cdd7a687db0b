package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"

	"example.com/gosessions/internal/cart"
)

// The panel "What this request did to your session", at the foot of every
// page.
//
// Its facts come from two moments of the request and nowhere else:
// loadAndSave takes a trace of the session just after scs loads it (every
// key and value, the token, the absolute expiry), and writePage compares
// it with the session as it stands when the page is written, after
// newTemplateData has counted the page view and popped the flash. The
// session is committed as the page's first byte goes out, with nothing
// changed in between; a change made after that could not be saved anyway
// (scs has written the cookie by then), and is not shown.
//
// Most changes are made by forms, which redirect (see redirect). Such a
// request writes no page, so the report of it travels to the next page in
// a short-lived cookie of its own, not in the session: the panel must not
// change what it reports on. A browser could alter that cookie, and would
// only mislead itself.

// sessionTrace is what loadAndSave records of the request's session.
type sessionTrace struct {
	cookie   string // the token the request's cookie carried; "" without one
	origin   string // how the session was found: one of the origin codes
	token    string // the loaded session's token; "" for a new session
	deadline time.Time
	values   []keyValue // every value as loaded, sorted by key

	saveFailed bool         // set by commitSession: the error page says nothing was saved
	redirect   *panelReport // set by redirect: the report the next page shows
}

type keyValue struct {
	key   string
	value any
}

// How the session was found (panelReport.Origin).
const (
	originNew         = "new"         // no cookie came
	originLoaded      = "loaded"      // the cookie's token named a live session
	originExpired     = "expired"     // a cookie came, but no live session has its token
	originUndecodable = "undecodable" // its stored data could not be decoded (loadSession)
)

type sessionTraceKey struct{}

// traceSession records the session that loadAndSave just loaded into ctx,
// and returns ctx with the trace. The values are kept as they are, not
// copied: the app never changes a value in place (cart.Cart's methods and
// pushRecent return new slices), it puts a new one.
func (s *Server) traceSession(ctx context.Context, cookie, origin string) context.Context {
	keys := s.sessions.Keys(ctx)
	tr := &sessionTrace{
		cookie:   cookie,
		origin:   origin,
		token:    s.sessions.Token(ctx),
		deadline: s.sessions.Deadline(ctx),
		values:   make([]keyValue, len(keys)),
	}
	for i, k := range keys {
		tr.values[i] = keyValue{k, s.sessions.Get(ctx, k)}
	}
	return context.WithValue(ctx, sessionTraceKey{}, tr)
}

// traceFrom returns the request's trace, or nil when no session was loaded
// (static files, the health check, an error before the session).
func traceFrom(ctx context.Context) *sessionTrace {
	tr, _ := ctx.Value(sessionTraceKey{}).(*sessionTrace)
	return tr
}

// panelView is what the panel template receives.
type panelView struct {
	Shown  bool // false only when the panel is turned off (benchmarks)
	Loaded bool // a session was loaded for this request
	This   panelReport
	Before *panelReport // the form that redirected to this page, if any
}

// panelReport is what one request did to the session. The codes and data
// travel to the next page after a redirect (as JSON); the texts are written
// from them by describe.
type panelReport struct {
	Request   string        `json:"request"`          // "GET /cart"
	Cookie    string        `json:"cookie,omitempty"` // prefix of the token the cookie carried
	Origin    string        `json:"origin"`           // an origin code
	Token     string        `json:"token"`            // a token code
	NewToken  string        `json:"newToken,omitempty"`
	Changes   []panelChange `json:"changes,omitempty"`
	Unchanged int           `json:"unchanged"`
	Save      string        `json:"save"`      // a save code
	SetCookie string        `json:"setCookie"` // a Set-Cookie code
	// Persistent says whether the cookie sent has Max-Age.
	Persistent bool `json:"persistent,omitempty"`

	CookieText, OriginText, TokenText, UnchangedText, SaveText, SetCookieText string `json:"-"`
}

// panelChange is a key added, changed or removed. Before and After are the
// values as short text; "" where there is none, which describe shows as
// "–".
type panelChange struct {
	Key    string `json:"key"`
	Change string `json:"change"` // added, changed or removed
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	ScsKey bool   `json:"scsKey,omitempty"` // scs's own key, not the app's
}

// What happened to the token (panelReport.Token).
const (
	tokenNone      = "none"      // a new session: no token yet
	tokenKept      = "kept"      // the one loaded
	tokenRenewed   = "renewed"   // RenewToken gave it a new one
	tokenDestroyed = "destroyed" // Destroy deleted the session
)

// Whether the session is saved (panelReport.Save).
const (
	saveHead      = "head"      // a HEAD saves nothing (commitSession)
	saveFailed    = "failed"    // the save failed
	saveDestroyed = "destroyed" // destroyed, and nothing put in it after
	saveUnchanged = "unchanged" // scs saves an unmodified session only for the idle timeout
	saveModified  = "modified"
	saveIdle      = "idle"      // unchanged, saved to move the idle expiry on
	saveRewritten = "rewritten" // a Put of an equal value: scs saves after any Put
)

// Whether a session cookie goes out (panelReport.SetCookie).
const (
	setCookieNone   = "none"
	setCookieToken  = "token"  // the session's token, known now
	setCookieNew    = "new"    // a token scs makes as it saves
	setCookieDelete = "delete" // an expired cookie: the browser deletes its own
)

// panelFor returns the panel of the page that r is about to get: this
// request's report and, on the GET that follows a form's redirect, the
// report carried from the form, whose cookie it deletes. Other requests
// leave that cookie alone: a HEAD changes nothing, and a form answered
// with its own page (or an error) is not where the redirect led.
// panelFor must run once everything that changes the session has run.
func (s *Server) panelFor(w http.ResponseWriter, r *http.Request) panelView {
	if s.panelOff {
		return panelView{}
	}
	tr := traceFrom(r.Context())
	if tr == nil {
		return panelView{Shown: true}
	}
	view := panelView{Shown: true, Loaded: true, This: s.report(r, tr)}
	view.This.describe(s.sessions.IdleTimeout > 0)
	if c, err := r.Cookie(panelCookieName); err == nil && r.Method == http.MethodGet {
		if before, ok := decodeReport(c.Value); ok {
			before.describe(s.sessions.IdleTimeout > 0)
			view.Before = &before
		}
		s.setPanelCookie(w, "", -1) // shown once
	}
	return view
}

// report compares the session in r's context with its trace.
func (s *Server) report(r *http.Request, tr *sessionTrace) panelReport {
	ctx := r.Context()
	token, status := s.sessions.Token(ctx), s.sessions.Status(ctx)
	p := panelReport{
		Request: r.Method + " " + r.URL.Path,
		Cookie:  prefix(tr.cookie, tokenPrefixLength),
		Origin:  tr.origin,
	}
	switch {
	case tr.token != "" && token == "": // Destroy empties the token; Commit makes a new one
		p.Token = tokenDestroyed
	case token != tr.token:
		p.Token, p.NewToken = tokenRenewed, prefix(token, tokenPrefixLength)
	case status == scs.Destroyed: // a session never saved: nothing in the store to delete
		p.Token = tokenDestroyed
	case token == "":
		p.Token = tokenNone
	default:
		p.Token = tokenKept
	}
	p.Changes, p.Unchanged = s.diff(ctx, tr.values)

	// As commitSession decides.
	switch {
	case r.Method == http.MethodHead:
		p.Save, p.SetCookie = saveHead, setCookieNone
	case tr.saveFailed:
		p.Save, p.SetCookie = saveFailed, setCookieNone
	case status == scs.Destroyed:
		p.Save, p.SetCookie = saveDestroyed, setCookieDelete
	case status == scs.Unmodified:
		p.Save, p.SetCookie = saveUnchanged, setCookieNone
	default: // scs.Modified
		changed := len(p.Changes) > 0 || p.Token != tokenKept && p.Token != tokenNone ||
			!s.sessions.Deadline(ctx).Equal(tr.deadline)
		switch {
		case changed:
			p.Save = saveModified
		case s.sessions.IdleTimeout > 0 && tr.origin == originLoaded: // scs's Load marks it Modified
			p.Save = saveIdle
		default:
			p.Save = saveRewritten
		}
		p.SetCookie = setCookieToken
		if token == "" {
			p.SetCookie = setCookieNew
		}
		p.Persistent = s.persistentCookie(ctx)
	}
	return p
}

// diff lists the keys added, changed and removed since the trace, in the
// order of their names, and counts the others.
func (s *Server) diff(ctx context.Context, before []keyValue) (changes []panelChange, unchanged int) {
	keys := s.sessions.Keys(ctx) // sorted, as the trace is
	i, j := 0, 0
	for i < len(before) || j < len(keys) {
		switch {
		case j == len(keys) || i < len(before) && before[i].key < keys[j]:
			changes = append(changes, panelChange{Key: before[i].key, Change: "removed", Before: formatValue(before[i].value)})
			i++
		case i == len(before) || keys[j] < before[i].key:
			changes = append(changes, panelChange{Key: keys[j], Change: "added", After: formatValue(s.sessions.Get(ctx, keys[j]))})
			j++
		default:
			if now := s.sessions.Get(ctx, keys[j]); sameValue(before[i].value, now) {
				unchanged++
			} else {
				changes = append(changes, panelChange{Key: keys[j], Change: "changed",
					Before: formatValue(before[i].value), After: formatValue(now)})
			}
			i++
			j++
		}
	}
	for k := range changes {
		changes[k].ScsKey = changes[k].Key == keyRememberMe
	}
	return changes, unchanged
}

// sameValue reports whether two session values are equal. The types the
// app stores are compared without reflection.
func sameValue(a, b any) bool {
	switch a := a.(type) {
	case int, int64, float64, bool, string:
		return a == b // false for another type; no panic, as these are comparable
	case cart.Cart:
		b, ok := b.(cart.Cart)
		return ok && slices.Equal(a, b)
	case []int64:
		b, ok := b.([]int64)
		return ok && slices.Equal(a, b)
	case []string:
		b, ok := b.([]string)
		return ok && slices.Equal(a, b)
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Equal(b)
	}
	return reflect.DeepEqual(a, b)
}

// maxValueRunes is how much of a value the panel shows.
const maxValueRunes = 60

// formatValue writes a session value as short text: strings quoted, carts
// and id lists as their JSON, cut at maxValueRunes.
func formatValue(v any) string {
	var b []byte
	switch v := v.(type) {
	case string:
		s, cut := truncate(v, maxValueRunes)
		if cut {
			return strconv.Quote(s) + "…"
		}
		return strconv.Quote(s)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case cart.Cart:
		b = append(b, '[')
		for i, it := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":`...)
			b = strconv.AppendInt(b, it.ID, 10)
			b = append(b, `,"qty":`...)
			b = strconv.AppendInt(b, int64(it.Qty), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	case []int64:
		b = append(b, '[')
		for i, id := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		b = append(b, ']')
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			b = fmt.Appendf(nil, "%v", v)
		}
	}
	s, cut := truncate(string(b), maxValueRunes)
	if cut {
		s += "…"
	}
	return s
}

// truncate cuts s to at most n runes, and reports whether it did.
func truncate(s string, n int) (string, bool) {
	if len(s) <= n { // fewer bytes than n: fewer runes too
		return s, false
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k], true
		}
		i++
	}
	return s, false
}

// prefix returns the first n bytes of a token, or all of a shorter one.
func prefix(token string, n int) string {
	if len(token) > n {
		token = token[:n]
	}
	return token
}

// describe writes the report's texts from its codes.
func (p *panelReport) describe(idleTimeout bool) {
	p.CookieText = "none"
	if p.Cookie != "" {
		p.CookieText = "session=" + p.Cookie + "…"
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Before == "" {
			c.Before = "–"
		}
		if c.After == "" {
			c.After = "–"
		}
	}
	switch {
	case p.Unchanged == 0:
	case len(p.Changes) == 0 && p.Unchanged == 1:
		p.UnchangedText = "(its 1 key is unchanged)"
	case len(p.Changes) == 0:
		p.UnchangedText = "(its " + strconv.Itoa(p.Unchanged) + " keys are unchanged)"
	case p.Unchanged == 1:
		p.UnchangedText = "1 other key unchanged"
	default:
		p.UnchangedText = strconv.Itoa(p.Unchanged) + " other keys unchanged"
	}
	switch p.Origin {
	case originNew:
		p.OriginText = "new: no session cookie came, so the session starts empty"
	case originLoaded:
		p.OriginText = "loaded: the cookie's token named a live session, read from the store"
	case originExpired:
		p.OriginText = "expired and replaced: a cookie came, but no live session has its token (it expired, or was deleted), so a new, empty one took its place"
	case originUndecodable:
		p.OriginText = "replaced: the stored session could not be decoded, so it was deleted and a new, empty one took its place"
	}
	switch p.Token {
	case tokenNone:
		p.TokenText = "none yet: a new session gets its token when it is first saved"
	case tokenKept:
		p.TokenText = "kept"
	case tokenRenewed:
		p.TokenText = "renewed (RenewToken): the new token starts " + p.NewToken + "…, and the lifetime starts again"
		if p.Origin == originLoaded {
			p.TokenText += "; the values moved over, and the old token's row is deleted from the store once the session is saved under the new one"
		}
	case tokenDestroyed:
		p.TokenText = "destroyed (Destroy): all its values dropped"
		if p.Origin == originLoaded {
			p.TokenText += ", and its row is deleted from the store as this answer goes out"
		}
	}
	switch p.Save {
	case saveHead:
		p.SaveText = "not saved: a HEAD never saves, nor moves the expiry on"
	case saveFailed:
		p.SaveText = "not saved: the save failed, and this error page was sent instead"
	case saveDestroyed:
		p.SaveText = "not saved: it was destroyed, and nothing was put in it after"
	case saveUnchanged:
		p.SaveText = "unchanged: not saved"
	case saveModified:
		switch {
		case p.Token == tokenDestroyed:
			p.SaveText = "saved: as a new session, since a value was put in it after Destroy"
		case idleTimeout && p.Token == tokenKept:
			p.SaveText = "saved: the session was modified (with the idle timeout, it would be saved anyway)"
		default:
			p.SaveText = "saved: the session was modified"
		}
	case saveIdle:
		p.SaveText = "saved: unchanged, but the idle timeout moves the expiry on"
	case saveRewritten:
		p.SaveText = "saved: a value was put again, unchanged, and scs saves after every Put"
	}
	switch p.SetCookie {
	case setCookieNone:
		p.SetCookieText = "none: nothing was saved, so the browser keeps the cookie it has, if any"
	case setCookieToken:
		if p.Token == tokenRenewed {
			p.SetCookieText = "yes: session=" + p.NewToken + "…, the new token"
		} else {
			p.SetCookieText = "yes: session=" + p.Cookie + "…, the same token"
		}
	case setCookieNew:
		p.SetCookieText = "yes: a new token, which scs makes as it saves the session"
	case setCookieDelete:
		p.SetCookieText = "yes: an expired cookie, so that the browser deletes its own"
	}
	if p.SetCookie == setCookieToken || p.SetCookie == setCookieNew {
		if p.Persistent {
			p.SetCookieText += ", with Max-Age: it outlives the browser"
		} else {
			p.SetCookieText += ", without Max-Age: it ends when the browser closes"
		}
	}
}

// panelCookieName is the cookie that carries a form's report to the page it
// redirects to.
const panelCookieName = "panel"

// panelCookieMaxAge is how long that cookie lives: the browser follows the
// redirect at once, and a report not shown by then is of no use.
const panelCookieMaxAge = 60

// maxPanelCookie is the longest report cookie sent, well under the 4 KiB
// that browsers keep of a cookie.
const maxPanelCookie = 3000

// carryReport records, for commitSession, the report of a request that
// redirects: it goes out as the panel cookie once the session is saved.
func (s *Server) carryReport(r *http.Request) {
	if s.panelOff {
		return
	}
	if tr := traceFrom(r.Context()); tr != nil {
		p := s.report(r, tr)
		tr.redirect = &p
	}
}

// sendCarriedReport sets the panel cookie with the report carryReport
// recorded, if any.
func (s *Server) sendCarriedReport(w http.ResponseWriter, r *http.Request) {
	tr := traceFrom(r.Context())
	if tr == nil || tr.redirect == nil {
		return
	}
	if v, ok := encodeReport(*tr.redirect); ok {
		s.setPanelCookie(w, v, panelCookieMaxAge)
	}
}

// setPanelCookie sets the panel cookie for maxAge seconds, or deletes it
// when maxAge is negative.
func (s *Server) setPanelCookie(w http.ResponseWriter, value string, maxAge int) {
	c := &http.Cookie{
		Name:     panelCookieName,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
		Secure:   s.sessions.Cookie.Secure,
	}
	if maxAge < 0 {
		c.Expires = time.Unix(1, 0) // for clients that ignore Max-Age, as scs does
	}
	http.SetCookie(w, c)
}

// encodeReport writes p as base64url JSON, leaving out the values if it
// would be longer than maxPanelCookie.
func encodeReport(p panelReport) (string, bool) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", false
	}
	if base64.RawURLEncoding.EncodedLen(len(b)) > maxPanelCookie {
		p.Changes = slices.Clone(p.Changes)
		for i := range p.Changes {
			p.Changes[i].Before, p.Changes[i].After = "", ""
		}
		if b, err = json.Marshal(p); err != nil || base64.RawURLEncoding.EncodedLen(len(b)) > maxPanelCookie {
			return "", false
		}
	}
	return base64.RawURLEncoding.EncodeToString(b), true
}

// decodeReport reads a panel cookie; ok is false for one that is not.
func decodeReport(v string) (p panelReport, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || json.Unmarshal(b, &p) != nil || p.Request == "" {
		return panelReport{}, false
	}
	return p, true
}
