package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"example.com/gosessions/internal/session/redisstore"
	"example.com/gosessions/web"
)

// minRedisLockTTL is the shortest -redis-lock-ttl: a holder extends its lock
// every third of it, and a lock that lives for only a few round trips to
// Redis would be lost to any pause.
const minRedisLockTTL = 100 * time.Millisecond

// config is everything the server can be told at start-up. Each flag falls
// back to an environment variable, and then to a default that suits running
// the tutorial locally.
type config struct {
	addr            string
	dbPath          string
	store           string
	redisURL        string
	redisLockTTL    time.Duration
	lifetime        time.Duration
	idleTimeout     time.Duration
	rememberFor     time.Duration
	cleanupInterval time.Duration
	shutdownTimeout time.Duration
	secureCookie    bool
	sessionLock     bool
	healthcheck     bool
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)

	// Environment variables are read first and become the flags' defaults,
	// so a flag on the command line wins over the environment.
	env := envDefaults{getenv: getenv}
	fs.StringVar(&cfg.addr, "addr", env.str("ADDR", "localhost:8080"), "address to listen on (env ADDR)")
	fs.StringVar(&cfg.dbPath, "db", env.str("DB_PATH", env.str("DATABASE_URL", "data/sessions.db")),
		"the application's database: a SQLite file, created if missing, or a PostgreSQL URL such as postgres://user:password@host:5432/shop (env DB_PATH or DATABASE_URL)")
	fs.StringVar(&cfg.store, "store", env.str("STORE", ""), "session store: sqlite, memory, redis or postgres; the default is sqlite for a SQLite -db, postgres for a PostgreSQL one (env STORE)")
	fs.StringVar(&cfg.redisURL, "redis-url", env.str("REDIS_URL", ""), "Redis server for -store redis, such as redis://localhost:6379/0 (env REDIS_URL)")
	fs.DurationVar(&cfg.redisLockTTL, "redis-lock-ttl", env.duration("REDIS_LOCK_TTL", redisstore.DefaultLockTTL), "with -store redis, how long a session's lock outlives a server that died holding it (env REDIS_LOCK_TTL)")
	fs.DurationVar(&cfg.lifetime, "lifetime", env.duration("LIFETIME", 24*time.Hour), "absolute session lifetime (env LIFETIME)")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", env.duration("IDLE_TIMEOUT", 2*time.Hour), "end a session after this long without a request; 0 turns it off (env IDLE_TIMEOUT)")
	fs.DurationVar(&cfg.rememberFor, "remember-for", env.duration("REMEMBER_FOR", web.DefaultRememberFor), `how long "Remember me" keeps a browser signed in (env REMEMBER_FOR)`)
	fs.DurationVar(&cfg.cleanupInterval, "cleanup-interval", env.duration("CLEANUP_INTERVAL", 5*time.Minute), "how often expired sessions are deleted; 0 turns it off (env CLEANUP_INTERVAL)")
	fs.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", env.duration("SHUTDOWN_TIMEOUT", 10*time.Second), "after SIGTERM or SIGINT, how long requests in flight may take to finish before their connections are closed (env SHUTDOWN_TIMEOUT)")
	fs.BoolVar(&cfg.secureCookie, "secure-cookie", env.boolean("SECURE_COOKIE", false), "send the session cookie over HTTPS only (env SECURE_COOKIE)")
	fs.BoolVar(&cfg.sessionLock, "session-lock", env.boolean("SESSION_LOCK", true), "let one request at a time run for each session; false only to watch concurrent requests lose each other's changes (env SESSION_LOCK)")
	fs.BoolVar(&cfg.healthcheck, "healthcheck", false, "check /healthz of the server at -addr, then exit 0 (healthy) or 1")

	if env.err != nil {
		return cfg, env.err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if a, b := getenv("DB_PATH"), getenv("DATABASE_URL"); a != "" && b != "" && a != b {
		return cfg, fmt.Errorf("DB_PATH and DATABASE_URL are both set, to different databases: set one")
	}
	if looksLikeKeyValueDSN(cfg.dbPath) {
		// Not echoed: it may hold a password.
		return cfg, fmt.Errorf("-db looks like PostgreSQL key=value settings; write them as a URL, postgres://user:password@host:5432/database")
	}
	pg := isPostgresURL(cfg.dbPath)
	if cfg.store == "" {
		cfg.store = "sqlite"
		if pg {
			cfg.store = "postgres"
		}
	}
	switch {
	case cfg.store != "sqlite" && cfg.store != "memory" && cfg.store != "redis" && cfg.store != "postgres":
		return cfg, fmt.Errorf("-store must be sqlite, memory, redis or postgres, not %q", cfg.store)
	case cfg.store == "sqlite" && pg:
		return cfg, fmt.Errorf("-store sqlite keeps sessions in the SQLite -db file; with a PostgreSQL -db, use -store postgres or redis")
	case cfg.store == "postgres" && !pg:
		return cfg, fmt.Errorf("-store postgres needs -db to be a PostgreSQL URL, such as postgres://user:password@localhost:5432/shop")
	case cfg.store == "memory" && pg:
		// A PostgreSQL database is there to be shared by instances, and
		// sessions in one instance's memory are not: the account session
		// index in the shared database would list sessions that the other
		// instances cannot see, and a restart of one would forget them.
		return cfg, fmt.Errorf("-store memory keeps sessions in one process; with a PostgreSQL -db, use -store postgres or redis")
	case cfg.store == "redis" && cfg.redisURL == "":
		return cfg, fmt.Errorf("-store redis needs -redis-url, such as redis://localhost:6379/0")
	case cfg.redisLockTTL < minRedisLockTTL:
		return cfg, fmt.Errorf("-redis-lock-ttl must be at least %v", minRedisLockTTL)
	case cfg.lifetime <= 0:
		return cfg, fmt.Errorf("-lifetime must be positive")
	case cfg.rememberFor <= 0:
		return cfg, fmt.Errorf("-remember-for must be positive")
	case cfg.idleTimeout < 0 || cfg.cleanupInterval < 0:
		return cfg, fmt.Errorf("-idle-timeout and -cleanup-interval must not be negative")
	case cfg.shutdownTimeout <= 0:
		return cfg, fmt.Errorf("-shutdown-timeout must be positive")
	}
	return cfg, nil
}

// isPostgresURL reports whether -db names a PostgreSQL server rather than a
// SQLite file.
func isPostgresURL(db string) bool {
	scheme, _, ok := strings.Cut(db, "://")
	return ok && (strings.EqualFold(scheme, "postgres") || strings.EqualFold(scheme, "postgresql"))
}

// looksLikeKeyValueDSN reports whether -db is PostgreSQL's other form of
// connection string, "host=... user=... password=...". It is refused
// rather than taken for a file name, which would create a file named after
// it, password and all, and print it in the log.
func looksLikeKeyValueDSN(db string) bool {
	for _, key := range []string{"host=", "hostaddr=", "dbname=", "user=", "password=", "port=", "sslmode="} {
		if strings.HasPrefix(db, key) || strings.Contains(db, " "+key) {
			return true
		}
	}
	return false
}

// envDefaults reads defaults from the environment, remembering the first
// value that does not parse.
type envDefaults struct {
	getenv func(string) string
	err    error
}

func (e *envDefaults) str(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

func (e *envDefaults) duration(key string, def time.Duration) time.Duration {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return d
}

func (e *envDefaults) boolean(key string, def bool) bool {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q: %w", key, v, err)
	}
	return b
}
