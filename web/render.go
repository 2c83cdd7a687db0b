package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

// templateData is what every page template receives. The first group of
// fields is filled for every page by newTemplateData; pages use the rest.
type templateData struct {
	Title     string
	Nav       navState
	Flash     string
	UserName  string
	SignedIn  bool
	CartCount int
	PageViews int

	// Error pages.
	Status    int
	Message   string
	RequestID string

	// Page-specific data.
	ViewCount   int
	Purchases   int
	Chosen      cart.Cart
	Ingredients []data.Ingredient
	Ingredient  data.Ingredient
	Lines       []cart.Line
	TotalCents  int64
	Checkout    checkoutForm
	CartForm    cartForm
	Viewed      []data.Ingredient
	Signup      signupForm
	Login       loginForm
	Account     accountPage
	Order       data.Order
	Inspector   inspectorData

	// The session panel of every page, filled by writePage.
	Panel panelView
}

// newTemplateData fills the fields every page shows from the session. It is
// called only on the way to a successful page, and for a GET it counts that
// page in the session's pageViews: every HTML page seen, JSON answers and
// static files not included. Both changes show in the page's session panel,
// which writePage fills after them.
func (s *Server) newTemplateData(r *http.Request, title string) templateData {
	ctx := r.Context()
	pageViews := s.sessions.GetInt(ctx, keyPageViews)
	if r.Method == http.MethodGet {
		pageViews++
		s.sessions.Put(ctx, keyPageViews, pageViews)
	}
	data := templateData{
		Title:     title,
		Nav:       navFor(r.URL.Path),
		Flash:     s.sessions.PopString(ctx, keyFlash),
		CartCount: s.chosenIngredients(ctx).Count(),
		PageViews: pageViews,
	}
	if user := currentUserFrom(ctx); user != nil {
		data.SignedIn, data.UserName = true, user.Name
	}
	return data
}

// navState says which link of the navigation bar is the page being shown.
// The layout tests these fields instead of comparing paths with eq: every
// function call in a template is a reflective call with allocations, and
// the layout runs on every page.
type navState struct {
	Home, SessionExample, Ingredients, Cart, Session, Login, Signup, Account bool
}

// navFor marks the link of the part of the site path belongs to, named by
// its first segment: /ingredients/3 is under Ingredients, and a form that
// shows its page again, as POST /cart/items/3 does, keeps its page's link.
// An order is listed on the account page, so /orders/{id} is under Account.
func navFor(path string) navState {
	section, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return navState{
		Home:           section == "",
		SessionExample: section == "session-example",
		Ingredients:    section == "ingredients",
		Cart:           section == "cart",
		Session:        section == "session",
		Login:          section == "login",
		Signup:         section == "signup",
		Account:        section == "account" || section == "orders",
	}
}

// parsePages parses each page in templates/pages together with the shared
// layout and the partials it includes (templates/partials), once, at
// start-up.
func parsePages(fsys fs.FS, static *staticFiles) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"static": static.url,
		"money":  formatCents,
		"date":   formatDate,
		"plural": plural,
	}
	files, err := fs.Glob(fsys, "pages/*.html")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no pages found")
	}
	pages := make(map[string]*template.Template, len(files))
	for _, file := range files {
		name := strings.TrimSuffix(path.Base(file), ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, "base.html", "partials/*.html", file)
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// render writes a page with the given status. The template runs into a
// buffer first, so that a template error becomes a clean 500 page instead of
// half a page sent with status 200.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data templateData) {
	if err := s.writePage(w, r, status, page, data); err != nil {
		s.serverError(w, r, err)
	}
}

// writePage executes page into a buffer and, if that worked, sends it. It
// fills the session panel last: the page has made its changes to the
// session by now, and it is committed as the first byte goes out.
func (s *Server) writePage(w http.ResponseWriter, r *http.Request, status int, page string, data templateData) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("no page template %q", page)
	}
	data.Panel = s.panelFor(w, r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w) // a write error means the client has gone
	return nil
}

// writeJSON sends v as JSON.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unsupported type) gets here.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// redirect answers a successful form POST: 303 See Other makes the browser
// GET the next page, so reloading it never sends the form again. The flash
// message is shown once, on that page.
//
// The request writes no page, so its session panel goes with the redirect,
// to be shown on the next page (see carryReport).
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, url, flash string) {
	if flash != "" {
		s.sessions.Put(r.Context(), keyFlash, flash)
	}
	s.carryReport(r)
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// prefersJSON reports whether the request's Accept header ranks
// application/json above text/html. Browsers ask for HTML; curl's default
// */* gets HTML too.
func prefersJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return false
	}
	qJSON, qHTML := -1.0, -1.0
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, params, _ := strings.Cut(part, ";")
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(param, "=")
			if strings.TrimSpace(k) == "q" {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch strings.ToLower(strings.TrimSpace(mediaType)) {
		case "application/json":
			qJSON = max(qJSON, q)
		case "text/html":
			qHTML = max(qHTML, q)
		}
	}
	return qJSON > 0 && qJSON > qHTML
}

// formatCents shows an amount of cents as money: 1234 → "$12.34".
func formatCents(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s$%d.%02d", sign, cents/100, cents%100)
}
