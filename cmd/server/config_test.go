package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	defaults := config{
		addr:            "localhost:8080",
		dbPath:          "data/sessions.db",
		store:           "sqlite",
		redisLockTTL:    10 * time.Second,
		lifetime:        24 * time.Hour,
		idleTimeout:     2 * time.Hour,
		rememberFor:     720 * time.Hour,
		cleanupInterval: 5 * time.Minute,
		shutdownTimeout: 10 * time.Second,
		sessionLock:     true,
	}
	// with returns defaults changed by f.
	with := func(f func(*config)) config {
		c := defaults
		f(&c)
		return c
	}

	tests := []struct {
		name string
		args []string
		env  map[string]string
		want config
	}{
		{"no flags and no environment gives the defaults", nil, nil, defaults},
		{"every flag is read", []string{
			"-addr", ":9000", "-db", "/var/lib/app/s.db", "-store", "memory", "-lifetime", "1h",
			"-idle-timeout", "10m", "-cleanup-interval", "30s", "-secure-cookie", "-redis-lock-ttl", "1s",
			"-shutdown-timeout", "3s", "-remember-for", "48h", "-session-lock=false",
		}, nil, config{
			addr: ":9000", dbPath: "/var/lib/app/s.db", store: "memory", redisLockTTL: time.Second, lifetime: time.Hour,
			idleTimeout: 10 * time.Minute, rememberFor: 48 * time.Hour, cleanupInterval: 30 * time.Second, shutdownTimeout: 3 * time.Second,
			secureCookie: true,
		}},
		{"the environment fills in for missing flags", nil, map[string]string{
			"ADDR": ":7000", "DB_PATH": "x.db", "STORE": "memory", "LIFETIME": "3h",
			"IDLE_TIMEOUT": "1m", "CLEANUP_INTERVAL": "1s", "SECURE_COOKIE": "true", "REDIS_LOCK_TTL": "2s",
			"SHUTDOWN_TIMEOUT": "20s", "REMEMBER_FOR": "1h", "SESSION_LOCK": "false",
		}, config{
			addr: ":7000", dbPath: "x.db", store: "memory", redisLockTTL: 2 * time.Second, lifetime: 3 * time.Hour,
			idleTimeout: time.Minute, rememberFor: time.Hour, cleanupInterval: time.Second, shutdownTimeout: 20 * time.Second,
			secureCookie: true,
		}},
		{"a flag beats the environment", []string{"-addr", ":1", "-db", "flag.db", "-lifetime", "2h", "-secure-cookie=false", "-session-lock"},
			map[string]string{"ADDR": ":2", "DB_PATH": "env.db", "LIFETIME": "5h", "SECURE_COOKIE": "1", "SESSION_LOCK": "0"},
			with(func(c *config) { c.addr, c.dbPath, c.lifetime = ":1", "flag.db", 2*time.Hour })},
		{"an empty environment variable counts as unset", nil, map[string]string{"ADDR": "", "LIFETIME": ""}, defaults},
		{"zero idle timeout and cleanup interval turn them off", []string{"-idle-timeout", "0", "-cleanup-interval", "0s"}, nil,
			with(func(c *config) { c.idleTimeout, c.cleanupInterval = 0, 0 })},
		{"-healthcheck is read", []string{"-healthcheck"}, nil, with(func(c *config) { c.healthcheck = true })},
		{"a PostgreSQL -db makes postgres the default store", []string{"-db", "postgres://u:p@db:5432/shop"}, nil,
			with(func(c *config) { c.dbPath, c.store = "postgres://u:p@db:5432/shop", "postgres" })},
		{"DATABASE_URL is read, postgresql:// too", nil, map[string]string{"DATABASE_URL": "postgresql://db/shop"},
			with(func(c *config) { c.dbPath, c.store = "postgresql://db/shop", "postgres" })},
		{"the scheme in any case", []string{"-db", "POSTGRES://db/shop"}, nil,
			with(func(c *config) { c.dbPath, c.store = "POSTGRES://db/shop", "postgres" })},
		{"DB_PATH and DATABASE_URL may agree", nil, map[string]string{"DATABASE_URL": "postgres://db/shop", "DB_PATH": "postgres://db/shop"},
			with(func(c *config) { c.dbPath, c.store = "postgres://db/shop", "postgres" })},
		{"sessions in Redis, data in PostgreSQL", []string{"-db", "postgres://db/shop", "-store", "redis", "-redis-url", "redis://r:6379/0"}, nil,
			with(func(c *config) { c.dbPath, c.store, c.redisURL = "postgres://db/shop", "redis", "redis://r:6379/0" })},
		{"the redis store reads its URL from the environment", nil, map[string]string{"STORE": "redis", "REDIS_URL": "redis://cache:6379/1"},
			with(func(c *config) { c.store, c.redisURL = "redis", "redis://cache:6379/1" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, mapEnv(tt.env), io.Discard)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseConfigRefusesBadValues(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown flag", []string{"-port", "80"}, nil},
		{"stray argument", []string{"extra"}, nil},
		{"unknown store flag", []string{"-store", "mongodb"}, nil},
		{"redis store without a Redis URL", []string{"-store", "redis"}, nil},
		{"unknown store in the environment", nil, map[string]string{"STORE": "mysql"}},
		{"postgres store with a SQLite file", []string{"-store", "postgres"}, nil},
		{"sqlite store with a PostgreSQL URL", []string{"-store", "sqlite", "-db", "postgres://db/shop"}, nil},
		{"memory store with a PostgreSQL URL", []string{"-store", "memory", "-db", "postgres://db/shop"}, nil},
		{"PostgreSQL key=value settings", nil, map[string]string{"DATABASE_URL": "host=db user=app password=kvsecret dbname=shop"}},
		{"key=value settings starting with dbname", []string{"-db", "dbname=shop sslmode=disable"}, nil},
		{"DB_PATH and DATABASE_URL disagree", nil, map[string]string{"DB_PATH": "a.db", "DATABASE_URL": "postgres://db/shop"}},
		{"lifetime that is not a duration", []string{"-lifetime", "forever"}, nil},
		{"lifetime without a unit", []string{"-lifetime", "24"}, nil},
		{"zero lifetime", []string{"-lifetime", "0"}, nil},
		{"negative lifetime", []string{"-lifetime", "-1h"}, nil},
		{"negative idle timeout", []string{"-idle-timeout", "-1m"}, nil},
		{"negative cleanup interval", []string{"-cleanup-interval", "-5s"}, nil},
		{"bad LIFETIME", nil, map[string]string{"LIFETIME": "a day"}},
		{"bad IDLE_TIMEOUT", nil, map[string]string{"IDLE_TIMEOUT": "soon"}},
		{"bad CLEANUP_INTERVAL", nil, map[string]string{"CLEANUP_INTERVAL": "5"}},
		{"zero shutdown timeout", []string{"-shutdown-timeout", "0"}, nil},
		{"negative shutdown timeout", []string{"-shutdown-timeout", "-1s"}, nil},
		{"bad SHUTDOWN_TIMEOUT", nil, map[string]string{"SHUTDOWN_TIMEOUT": "10"}},
		{"bad SECURE_COOKIE", nil, map[string]string{"SECURE_COOKIE": "yes please"}},
		{"zero remember-for", []string{"-remember-for", "0"}, nil},
		{"negative remember-for", []string{"-remember-for", "-1h"}, nil},
		{"bad REMEMBER_FOR", nil, map[string]string{"REMEMBER_FOR": "a month"}},
		{"bad REDIS_LOCK_TTL", nil, map[string]string{"REDIS_LOCK_TTL": "10"}},
		{"zero redis lock TTL", []string{"-redis-lock-ttl", "0"}, nil},
		{"redis lock TTL too short to extend", []string{"-redis-lock-ttl", "10ms"}, nil},
		{"bad -secure-cookie value", []string{"-secure-cookie=maybe"}, nil},
		{"bad SESSION_LOCK", nil, map[string]string{"SESSION_LOCK": "off"}},
		{"bad -session-lock value", []string{"-session-lock=sometimes"}, nil},
		// A bad environment value is an error even when a flag overrides it:
		// the operator should hear about a typo before it matters.
		{"bad LIFETIME under a good flag", []string{"-lifetime", "1h"}, map[string]string{"LIFETIME": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseConfig(tt.args, mapEnv(tt.env), io.Discard)
			if err == nil {
				t.Errorf("got config %+v and nil error, want an error", got)
			} else if strings.Contains(err.Error(), "kvsecret") {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
}

func mapEnv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// Asking for the usage is no failure: -help and -h print every flag and
// exit 0, before anything is opened.
func TestHelpPrintsTheFlagsAndSucceeds(t *testing.T) {
	for _, arg := range []string{"-help", "-h", "--help"} {
		t.Run(arg, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), []string{arg}, mapEnv(nil), &stdout, &stderr)
			if err != nil {
				t.Errorf("got error %v, want nil (exit status 0)", err)
			}
			for _, name := range []string{"-addr", "-db", "-store", "-shutdown-timeout", "-remember-for", "-session-lock"} {
				if !strings.Contains(stderr.String(), name) {
					t.Errorf("got usage without %s:\n%s", name, stderr.String())
				}
			}
		})
	}
}
