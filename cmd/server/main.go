// Command server runs the session tutorial's web application.
//
//	go run ./cmd/server              # http://localhost:8080, data in data/sessions.db
//	go run ./cmd/server -help        # every flag and its environment variable
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/postgres"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/memstore"
	"example.com/gosessions/internal/session/pgstore"
	"example.com/gosessions/internal/session/redisstore"
	"example.com/gosessions/internal/session/sqlitestore"
	"example.com/gosessions/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(os.Getenv)
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUnhealthy) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(1)
	}
}

// run starts the server and serves until ctx is cancelled, then shuts down
// gracefully: stop accepting, let in-flight requests finish (their sessions
// are saved) for up to -shutdown-timeout, close the connections still open
// after it, stop the session cleanups, close the database.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil // -help printed the usage, as asked: no failure
	}
	if err != nil {
		return err
	}
	if cfg.healthcheck {
		return healthcheck(ctx, cfg.addr, stderr)
	}
	logger := slog.New(slog.NewTextHandler(stdout, nil))

	db, err := openDatabase(ctx, cfg.dbPath)
	if err != nil {
		return err
	}
	defer db.Close()

	store, err := openStore(ctx, cfg, db, logger)
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.store == "memory" {
		// The sessions that the index's rows name were in the memory of
		// the last run: they are gone. Remembered devices keep their rows,
		// for their remember-me cookies to sign them in again.
		if _, err := db.DeleteUnrememberedAccountSessions(ctx, time.Now()); err != nil {
			return fmt.Errorf("clear the session index: %w", err)
		}
	}
	stopCleanup := cleanAccountSessions(db, cfg.cleanupInterval, logger)
	defer stopCleanup()

	passwords, err := password.New(password.Config{Params: password.DefaultParams()})
	if err != nil {
		return err
	}
	// Counting the sessions on each /session would cost more as they grow.
	stats := session.NewCountedStats(store, 5*time.Second, logger)
	defer stats.Close()

	webCfg := web.Config{
		DB: db,
		Sessions: web.NewSessionManager(store, web.SessionOptions{
			Lifetime:     cfg.lifetime,
			IdleTimeout:  cfg.idleTimeout,
			SecureCookie: cfg.secureCookie,
		}),
		Stats:       stats,
		Logger:      logger,
		Templates:   gosessions.Templates(),
		Static:      gosessions.Static(),
		Passwords:   passwords,
		RememberFor: cfg.rememberFor,
	}
	webCfg.NoSessionLock = !cfg.sessionLock // -session-lock=false: the lost-update experiment
	if shared, ok := store.(sharedStore); ok {
		webCfg.Locker, webCfg.StoreHealth = shared, shared.Check
	} else if sqliteStore, ok := store.(*sqlitestore.Store); ok {
		webCfg.StoreHealth = sqliteStore.Check // whether the last commit failed
		webCfg.SQLiteFile = cfg.dbPath         // for the inspector's sqlite3 command
	}
	srv, err := web.New(webCfg)
	if err != nil {
		return err
	}

	httpServer := &http.Server{
		Handler:  srv,
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// A slow or stalled client cannot hold a connection for long. The
		// whole request, headers and body (a form here is 64 KiB at most),
		// must arrive within ReadTimeout, which is shorter than the default
		// shutdown grace: a client that sends its body a byte at a time is
		// cut off before a stop has to wait for it.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       8 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}

	// Listen before serving, so that a port in use is reported at once and
	// -addr 127.0.0.1:0 (a free port, as the tests use) can be logged.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	logger.Info("listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String(),
		"db", describeDB(cfg.dbPath), "store", cfg.store)

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}

	logger.Info("shutting down", "grace", cfg.shutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		// The grace is over and some connections are still busy, such as
		// a client that never finishes its request. A stop must not depend
		// on what clients do: close them. Their requests were not answered,
		// so no visitor was told that a change was saved.
		logger.Warn("shutdown grace is over: closing the connections still open", "error", err)
		if err := httpServer.Close(); err != nil {
			return fmt.Errorf("close: %w", err)
		}
	}
	logger.Info("stopped")
	return nil
}

// sessionStore is what the server needs of a store: scs's interface, what
// the session inspector reads, and a way to stop its cleanup.
type sessionStore interface {
	scs.Store
	web.SessionStats
	io.Closer
}

// sharedStore is a store that several server processes share: Redis or
// PostgreSQL. The lock of each session must then hold across all of them, so the
// store brings its own; and since it lives outside the database, /healthz
// checks it too.
type sharedStore interface {
	sessionStore
	web.SessionLocker
	Check(ctx context.Context) error
}

// The Redis and PostgreSQL stores must stay sharedStores: were they not,
// the server would quietly fall back to a lock in one process.
var (
	_ sharedStore = (*redisstore.Store)(nil)
	_ sharedStore = (*pgstore.Store)(nil)
)

// database is the application's database, with the implementation it is,
// which the session store built on it needs.
type database struct {
	data.Store
	sqlite   *sqlite.DB   // for a SQLite file
	postgres *postgres.DB // for a PostgreSQL URL
}

// describeDB is -db for the log: a SQLite path as it is, a PostgreSQL URL
// without its password.
func describeDB(dbPath string) string {
	if isPostgresURL(dbPath) {
		return postgres.Redact(dbPath)
	}
	return dbPath
}

// openDatabase opens the SQLite file or the PostgreSQL database that -db
// names, and applies its migrations. An error never holds a password:
// postgres.Open names the server as postgres.Redact does.
func openDatabase(ctx context.Context, dbPath string) (database, error) {
	if isPostgresURL(dbPath) {
		db, err := postgres.Open(ctx, dbPath, gosessions.PostgresMigrations())
		if err != nil {
			return database{}, fmt.Errorf("open database: %w", err)
		}
		return database{Store: db, postgres: db}, nil
	}
	db, err := sqlite.Open(ctx, dbPath, gosessions.SQLiteMigrations())
	if err != nil {
		return database{}, fmt.Errorf("open database %s: %w", dbPath, err)
	}
	return database{Store: db, sqlite: db}, nil
}

func openStore(ctx context.Context, cfg config, db database, logger *slog.Logger) (sessionStore, error) {
	switch cfg.store {
	case "memory":
		return memstore.New(cfg.cleanupInterval), nil
	case "sqlite":
		return sqlitestore.New(db.sqlite, cfg.cleanupInterval, logger)
	case "postgres":
		// The data's pool serves the sessions' queries too; pgstore opens
		// a second one for the locks, which each hold a connection for a
		// whole request.
		return pgstore.New(ctx, db.postgres.Pool(), pgstore.Config{
			CleanupInterval: cfg.cleanupInterval,
			Logger:          logger,
		})
	case "redis":
		// Redis expires sessions itself: no cleanup to run.
		store, err := redisstore.Open(ctx, cfg.redisURL, cfg.redisLockTTL)
		if err != nil {
			return nil, err
		}
		return store, nil
	}
	return nil, fmt.Errorf("unknown store %q", cfg.store)
}

// cleanAccountSessions deletes the rows of the session index that have
// expired, every interval (none when it is 0), whatever the store: the
// stores clean up their own sessions, not the index. It returns the
// function that stops it and waits until it has.
func cleanAccountSessions(db data.Store, interval time.Duration, logger *slog.Logger) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			if _, err := db.DeleteExpiredAccountSessions(ctx, time.Now()); err != nil && ctx.Err() == nil {
				logger.Warn("delete expired account sessions", "error", err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

var errUnhealthy = errors.New("unhealthy")

// healthcheck asks the server at addr for /healthz, for container health
// checks in images that have no curl. It returns nil only for 200.
func healthcheck(ctx context.Context, addr string, stderr io.Writer) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return errUnhealthy
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck:", resp.Status)
		return errUnhealthy
	}
	return nil
}
