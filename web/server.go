// Package web is the HTTP side of the application: routes, middleware,
// handlers, templates and the session manager's settings.
package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// Config is what a Server is built from. Every dependency is passed in, so
// tests build a Server exactly as the program does.
type Config struct {
	DB        data.Store
	Sessions  *scs.SessionManager
	Stats     SessionStats  // optional: what the session inspector reads from the store
	Locker    SessionLocker // optional: defaults to a lock per session in this process
	Logger    *slog.Logger
	Templates fs.FS
	Static    fs.FS

	// Passwords hashes and checks the accounts' passwords.
	Passwords *password.Hasher
	// RememberFor is how long "Remember me" keeps a device signed in;
	// 0 means DefaultRememberFor.
	RememberFor time.Duration

	// SQLiteFile is optional: the SQLite file that holds the sessions, when
	// they are in SQLite, for the sqlite3 command the inspector prints.
	SQLiteFile string

	// StoreHealth is optional: /healthz calls it besides checking DB. The
	// session stores give it: Redis, which lives outside the database, and
	// SQLite, which reports whether its last commit failed.
	StoreHealth func(context.Context) error

	// NoSessionLock turns the per-session lock off (see lockSession), to
	// watch what it prevents: concurrent requests of one session losing
	// each other's changes. Only for that experiment.
	NoSessionLock bool
}

// DefaultRememberFor is how long "Remember me" lasts unless Config says.
const DefaultRememberFor = 30 * 24 * time.Hour

// loginLimit is how many sign-ins one email may try: 5 in 15 minutes.
var loginLimit = data.LoginLimit{Attempts: 5, Window: 15 * time.Minute}

// catalogMaxAge is how long pages show a copy of the catalog before it is
// read again: how soon an edit of the ingredients table shows.
const catalogMaxAge = time.Second

// SessionStats is what the session inspector reads from the store: each
// store's package answers it (see session.Stats).
type SessionStats = session.Stats

// SessionLocker lets one request at a time run for each session token.
// Lock waits until the token's lock is free or ctx is done.
type SessionLocker = lock.Locker

// Server holds the application's dependencies and serves its pages.
type Server struct {
	db       data.Store
	catalog  *data.Catalog // db's ingredients, read at most every catalogMaxAge
	sessions *scs.SessionManager
	stats    SessionStats
	logger   *slog.Logger
	pages    map[string]*template.Template
	static   *staticFiles
	locker   SessionLocker
	health   func(context.Context) error // the session store's, or nil
	handler  http.Handler

	passwords   *password.Hasher
	rememberFor time.Duration
	dbID        string // db.ID(), which signed-in sessions keep (keyAccountDB)
	sqliteFile  string // Config.SQLiteFile

	// panelOff leaves out the session panel (panel.go), so that a
	// benchmark can measure what it costs.
	panelOff bool

	noSessionLock bool // Config.NoSessionLock
}

// New builds a Server, parsing every template and hashing every static file
// once, so that a broken template stops the program at start-up rather than
// on the first request.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Sessions == nil || cfg.Logger == nil || cfg.Templates == nil || cfg.Static == nil || cfg.Passwords == nil {
		return nil, errors.New("web: Config needs DB, Sessions, Logger, Templates, Static and Passwords")
	}
	if !cfg.Sessions.HashTokenInStore {
		// The session index keeps token hashes, and signing a session out
		// deletes its data from the store under that key.
		return nil, errors.New("web: the session manager must keep hashed tokens in its store (HashTokenInStore)")
	}
	if cfg.RememberFor < 0 {
		return nil, errors.New("web: RememberFor must not be negative")
	}
	static, err := newStaticFiles(cfg.Static)
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	pages, err := parsePages(cfg.Templates, static)
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	s := &Server{
		db:       cfg.DB,
		catalog:  data.NewCatalog(cfg.DB, catalogMaxAge),
		sessions: cfg.Sessions,
		stats:    cfg.Stats,
		logger:   cfg.Logger,
		pages:    pages,
		static:   static,
		locker:   cfg.Locker,
		health:   cfg.StoreHealth,

		passwords:   cfg.Passwords,
		rememberFor: cmp.Or(cfg.RememberFor, DefaultRememberFor),
		dbID:        cfg.DB.ID(),
		sqliteFile:  cfg.SQLiteFile,
	}
	if s.locker == nil {
		s.locker = lock.NewLocal()
	}
	if cfg.NoSessionLock {
		s.noSessionLock = true
		s.logger.Warn("the per-session lock is off: concurrent requests of one session can lose each other's changes")
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}
