package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/alexedwards/scs/v2"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session/memstore"
	"example.com/gosessions/internal/session/sqlitestore"
	"example.com/gosessions/web"
)

// testApp is the application's handler on a real SQLite file, served by
// httptest, built the way cmd/server builds it.
type testApp struct {
	db        *sqlite.DB
	dbPath    string
	url       string
	log       *syncBuffer // what the server logged
	passwords *password.Hasher
	store     scs.Store
}

type appOptions struct {
	memoryStore bool
	store       scs.Store // a store to share with another testApp; nil: a new one
	idleTimeout time.Duration
	rememberFor time.Duration
	locker      web.SessionLocker // nil: the program's default
	fence       bool              // the SQLite store checks the request's lock in its commit
	passwords   *password.Hasher  // nil: testHasher's
}

func newTestApp(t *testing.T, opts appOptions) *testApp {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	// What cmd/server needs of a store: scs's interface, the inspector's
	// statistics, and a way to stop the cleanup.
	var store interface {
		scs.Store
		web.SessionStats
		io.Closer
	}
	switch {
	case opts.store != nil:
		store = opts.store.(interface {
			scs.Store
			web.SessionStats
			io.Closer
		})
	case opts.memoryStore:
		store = memstore.New(time.Minute)
	default:
		sqliteStore, err := sqlitestore.New(db, time.Minute, logger)
		if err != nil {
			t.Fatal(err)
		}
		store = sqliteStore
		if opts.fence {
			store = fencedStore{sqliteStore}
		}
	}
	t.Cleanup(func() { store.Close() })

	passwords := opts.passwords
	if passwords == nil {
		passwords = testHasher(t)
	}
	srv, err := web.New(web.Config{
		DB: db,
		Sessions: web.NewSessionManager(store, web.SessionOptions{
			Lifetime:    24 * time.Hour,
			IdleTimeout: opts.idleTimeout,
		}),
		Stats:       store,
		Locker:      opts.locker,
		Logger:      logger,
		Templates:   gosessions.Templates(),
		Static:      gosessions.Static(),
		Passwords:   passwords,
		RememberFor: opts.rememberFor,
	})
	if err != nil {
		t.Fatalf("web.New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &testApp{db: db, dbPath: path, url: ts.URL, log: logs, passwords: passwords, store: store}
}

// testParams are argon2id's smallest cost.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// testHasher hashes passwords with argon2id at its smallest cost, so that
// tests of the web layer spend their time on it rather than on hashing.
func testHasher(t testing.TB) *password.Hasher {
	t.Helper()
	h, err := password.New(password.Config{Params: testParams})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// createUser adds an account straight to the database.
func (app *testApp) createUser(t *testing.T, name, email, pw string) data.User {
	t.Helper()
	hash, err := app.passwords.Hash(context.Background(), pw)
	if err != nil {
		t.Fatal(err)
	}
	u, err := app.db.CreateUser(context.Background(), name, email, hash)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// syncBuffer is a bytes.Buffer the server's goroutines can log to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// browser is one visitor with a cookie jar; it does not follow redirects.
type browser struct {
	t         *testing.T
	base      string
	client    *http.Client
	userAgent string // sent when set
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, client: &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path, accept string, form url.Values) answer {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", accept)
	if b.userAgent != "" {
		req.Header.Set("User-Agent", b.userAgent)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do("GET", path, "text/html", nil) }
func (b *browser) getJSON(path string) answer {
	b.t.Helper()
	return b.do("GET", path, "application/json", nil)
}
func (b *browser) post(path string, form url.Values) answer {
	b.t.Helper()
	return b.do("POST", path, "text/html", form)
}

func wantStatus(t *testing.T, what string, a answer, want int) {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s: got status %d, want %d\n%s", what, a.status, want, a.body)
	}
}

func TestNewFailsEarly(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	good := web.Config{
		DB:        db,
		Sessions:  web.NewSessionManager(memstore.New(0), web.SessionOptions{Lifetime: time.Hour}),
		Logger:    slog.New(slog.DiscardHandler),
		Templates: gosessions.Templates(),
		Static:    gosessions.Static(),
		Passwords: testHasher(t),
	}
	if _, err := web.New(good); err != nil {
		t.Fatalf("web.New with every dependency: %v", err)
	}

	tests := []struct {
		name   string
		change func(*web.Config)
	}{
		{"no database", func(c *web.Config) { c.DB = nil }},
		{"no session manager", func(c *web.Config) { c.Sessions = nil }},
		{"no logger", func(c *web.Config) { c.Logger = nil }},
		{"no templates", func(c *web.Config) { c.Templates = nil }},
		{"no password hasher", func(c *web.Config) { c.Passwords = nil }},
		{"a session manager that keeps tokens unhashed in its store", func(c *web.Config) {
			sm := web.NewSessionManager(memstore.New(0), web.SessionOptions{Lifetime: time.Hour})
			sm.HashTokenInStore = false
			c.Sessions = sm
		}},
		{"a template that does not parse", func(c *web.Config) {
			c.Templates = fstest.MapFS{
				"base.html":       {Data: []byte(`{{define "base"}}{{template "content" .}}{{end}}`)},
				"pages/home.html": {Data: []byte(`{{define "content"}}{{if}}{{end}}`)},
			}
		}},
		{"no pages at all", func(c *web.Config) {
			c.Templates = fstest.MapFS{"base.html": {Data: []byte(`{{define "base"}}{{end}}`)}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.change(&cfg)
			if _, err := web.New(cfg); err == nil {
				t.Errorf("got nil error, want web.New to refuse the config")
			}
		})
	}
}

func TestServerErrorShowsNoInternals(t *testing.T) {
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	wantStatus(t, "GET /ingredients", b.get("/ingredients"), http.StatusOK)

	// A database that has gone away is a failure on the server's side.
	app.db.Close()

	for _, accept := range []string{"text/html", "application/json"} {
		t.Run(accept, func(t *testing.T) {
			a := newBrowser(t, app.url).do("GET", "/ingredients", accept, nil)
			wantStatus(t, "GET /ingredients", a, http.StatusInternalServerError)
			if !strings.Contains(a.body, "Something went wrong on our side") {
				t.Errorf("got body without the generic message:\n%s", a.body)
			}
			for _, internal := range []string{"sql", "closed", "database is", ".go:"} {
				if strings.Contains(a.body, internal) {
					t.Errorf("the 500 answer shows %q:\n%s", internal, a.body)
				}
			}
			if accept == "text/html" {
				id := a.header.Get("X-Request-Id")
				if id == "" || !strings.Contains(a.body, id) || !strings.Contains(a.body, `rel="stylesheet"`) {
					t.Errorf("want the styled 500 page quoting request id %q:\n%s", id, a.body)
				}
			} else {
				var e struct{ Error string }
				if err := json.Unmarshal([]byte(a.body), &e); err != nil || e.Error == "" {
					t.Errorf("got %s, want {\"error\": message}", a.body)
				}
			}
		})
	}
	if !strings.Contains(app.log.String(), "server error") || !strings.Contains(app.log.String(), "closed") {
		t.Errorf("the error was not logged:\n%s", app.log.String())
	}
}

func TestHealthzFailsWhenTheDatabaseFileIsGone(t *testing.T) {
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	wantStatus(t, "GET /healthz", b.get("/healthz"), http.StatusOK)
	if err := os.Remove(app.dbPath); err != nil {
		t.Fatal(err)
	}
	a := b.get("/healthz")
	wantStatus(t, "GET /healthz without the file", a, http.StatusServiceUnavailable)
	if len(a.header.Values("Set-Cookie")) != 0 {
		t.Errorf("GET /healthz set a cookie")
	}
}

// TestUnsavedChangeIsNotAcknowledged: when the session cannot be saved,
// the visitor gets the 500 page, not the redirect that would say "done".
func TestUnsavedChangeIsNotAcknowledged(t *testing.T) {
	// No idle timeout: with one, every load is also a save, and reading the
	// cart back below would fail too.
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	wantStatus(t, "add", b.post("/cart/items", url.Values{"ingredient_id": {"1"}, "qty": {"2"}}), http.StatusSeeOther)

	// Reads still work; every write fails.
	app.db.Write.Close()

	a := b.post("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1"}})
	wantStatus(t, "add while the store cannot save", a, http.StatusInternalServerError)
	if loc := a.header.Get("Location"); loc != "" {
		t.Errorf("got Location %q on the 500 answer, want none", loc)
	}
	cart := b.getJSON("/cart")
	wantStatus(t, "GET /cart", cart, http.StatusOK)
	want := `{"items":[{"id":1,"name":"Flour","qty":2,"unitPriceCents":250,"lineTotalCents":500}],"totalCents":500}`
	if got := strings.TrimSpace(cart.body); got != want {
		t.Errorf("got cart %s, want the one saved before: %s", got, want)
	}
}

func TestMemoryStore(t *testing.T) {
	app := newTestApp(t, appOptions{memoryStore: true, idleTimeout: time.Hour})
	b := newBrowser(t, app.url)

	t.Run("counts like the SQLite store", func(t *testing.T) {
		for want := 1; want <= 2; want++ {
			a := b.getJSON("/session-example")
			wantStatus(t, "GET /session-example", a, http.StatusOK)
			if !strings.Contains(a.body, `"viewCount":`+strconv.Itoa(want)) {
				t.Errorf("visit %d: got %s", want, a.body)
			}
		}
	})

	t.Run("the inspector shows no made-up expiry for the stored row", func(t *testing.T) {
		a := b.get("/session")
		wantStatus(t, "GET /session", a, http.StatusOK)
		if !strings.Contains(a.body, `id="row-size"`) {
			t.Fatalf("no stored row on the inspector page:\n%s", a.body)
		}
		// A store that does not know a row's expiry returns the zero time,
		// which must not be shown as if it were one.
		if strings.Contains(a.body, "0001-01-01") {
			t.Errorf("the inspector shows the zero time as an expiry:\n%s", a.body)
		}
	})
}
