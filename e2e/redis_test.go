package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/redistest"
)

// With -store redis, several instances of the server share their sessions
// in one Redis, as they would behind a load balancer that sends each request
// to any of them. Each instance keeps its own SQLite file for the catalog
// and the orders.

// startRedisInstances starts n servers on the Redis at redisURL.
func startRedisInstances(t *testing.T, redisURL string, n int) []*server {
	t.Helper()
	servers := make([]*server, n)
	for i := range servers {
		servers[i] = startServer(t, "-store", "redis", "-redis-url", redisURL)
	}
	return servers
}

// onServer returns a visitor with v's cookie jar that sends its requests to
// base: the same browser, sent to another instance by the load balancer.
// One jar serves both, since cookies do not tell ports apart.
func (v *visitor) onServer(base string) *visitor {
	w := *v
	w.base = base
	return &w
}

// wantOneCountAlternating visits the session example six times, in turn
// on a and on b (one browser on two instances), and wants one count that
// goes up by one each time.
func wantOneCountAlternating(t *testing.T, a, b *visitor) {
	t.Helper()
	for want := 1; want <= 6; want++ {
		v := a
		if want%2 == 0 {
			v = b
		}
		if got := v.sessionExample().ViewCount; got != want {
			t.Fatalf("visit %d: viewCount = %d, want %d", want, got, want)
		}
	}
}

func TestRedisInstancesShareSessions(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	srv := startRedisInstances(t, rds.URL, 2)

	t.Run("one browser alternating between instances keeps one count", func(t *testing.T) {
		onA := newVisitor(t, srv[0].URL)
		onB := onA.onServer(srv[1].URL)
		wantOneCountAlternating(t, onA, onB)
	})

	t.Run("items added on either instance land in one cart", func(t *testing.T) {
		onA := newVisitor(t, srv[0].URL)
		onB := onA.onServer(srv[1].URL)
		onA.add(2, "2")
		onB.add(5, "")
		onA.add(5, "3")
		want := map[int64]int{2: 2, 5: 4}
		for name, v := range map[string]*visitor{"A": onA, "B": onB} {
			got := v.cart().quantities()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cart read on %s: got %v, want %v", name, got, want)
			}
		}
	})

	t.Run("signing in on one instance is seen on the other, which has its own accounts", func(t *testing.T) {
		onA := newVisitor(t, srv[0].URL)
		onB := onA.onServer(srv[1].URL)
		onB.get("/") // a session before signing in, whose token sign-in renews
		before := onA.cookie()
		onA.signUp("Grace Hopper", "grace@example.com", "correct horse battery")
		if onA.cookie() == before {
			t.Fatal("sign-in kept the session token, want a new one")
		}
		onAValues := onA.session().Values
		if got := onB.session().Values; got["userId"] == nil || got["userId"] != onAValues["userId"] || got["accountDb"] != onAValues["accountDb"] {
			t.Errorf("session read on the other instance: got %v, want the userId and accountDb of %v", got, onAValues)
		}
		// Each instance has its own SQLite file, so B has no such account:
		// the session is a guest's there, and is left signed in for A.
		redirectsTo(t, "GET /account on B", onB.get("/account"), "/login?next=/account")
		wantStatus(t, "GET /account on A", onA.getJSON("/account"), http.StatusOK)
	})

	t.Run("an order id remembered on one instance shows no one else's order on the other", func(t *testing.T) {
		// Each instance keeps its own orders. Ada orders on A, Bob on B; each
		// session then asks the other instance for its own order's id.
		ada, bob := newVisitor(t, srv[0].URL), newVisitor(t, srv[1].URL)
		ada.add(2, "1")
		bob.add(3, "1")
		adaOrder := ada.post("/checkout", nil).Header.Get("Location")
		bobOrder := bob.post("/checkout", nil).Header.Get("Location")
		if !strings.HasPrefix(adaOrder, "/orders/") || !strings.HasPrefix(bobOrder, "/orders/") {
			t.Fatalf("checkout redirects: got %q and %q, want /orders/{id}", adaOrder, bobOrder)
		}
		wantStatus(t, "GET "+adaOrder+" on A", ada.get(adaOrder), http.StatusOK)
		wantStatus(t, "GET "+adaOrder+" on B", ada.onServer(srv[1].URL).get(adaOrder), http.StatusNotFound)
		wantStatus(t, "GET "+bobOrder+" on A", bob.onServer(srv[0].URL).get(bobOrder), http.StatusNotFound)
	})
}

// TestRedisLockHoldsAcrossInstances sends many requests of one session at
// once, spread over two instances. Each request reads the count and writes
// it back plus one; only a lock that holds across both instances lets every
// one of them be counted.
func TestRedisLockHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	srv := startRedisInstances(t, rds.URL, 2)
	wantEveryVisitCounted(t, newVisitor(t, srv[0].URL), srv, 100)
}

// TestRedisOutage kills Redis under running instances and starts it again.
// Redis runs with an append-only file synced before every reply, so every
// change it acknowledged survives even that. (The compose file's Redis syncs
// once a second, the default: a crash of its machine may lose the last
// second; a clean stop loses nothing.)
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t, "--appendonly", "yes", "--appendfsync", "always")
	srv := startRedisInstances(t, rds.URL, 2)

	onA := newVisitor(t, srv[0].URL)
	onB := onA.onServer(srv[1].URL)
	const acknowledged = 4
	for want := 1; want <= acknowledged; want++ {
		v := onA
		if want%2 == 0 {
			v = onB
		}
		if got := v.sessionExample().ViewCount; got != want {
			t.Fatalf("visit %d: viewCount = %d, want %d", want, got, want)
		}
	}

	rds.Stop()

	t.Run("pages answer 500 while Redis is down", func(t *testing.T) {
		wantStatus(t, "GET /session-example of a returning visitor", onA.getJSON("/session-example"),
			http.StatusInternalServerError)
		wantStatus(t, "GET / of a new visitor", newVisitor(t, srv[1].URL).get("/"),
			http.StatusInternalServerError)
	})
	t.Run("/healthz answers 503 while Redis is down", func(t *testing.T) {
		for _, s := range srv {
			wantStatus(t, "GET /healthz", newVisitor(t, s.URL).get("/healthz"), http.StatusServiceUnavailable)
		}
	})

	rds.Restart()
	for _, s := range srv {
		s.waitHealthy()
	}

	t.Run("service resumes and no acknowledged visit was lost", func(t *testing.T) {
		want := acknowledged + 1
		if got := onB.sessionExample().ViewCount; got != want {
			t.Fatalf("first visit after Redis came back: viewCount = %d, want %d", got, want)
		}
	})
}

// TestRedisRefusingWritesFailsHealthz makes Redis refuse writes while it
// still answers PING: out of memory under maxmemory-policy noeviction. No
// session can be saved then, so /healthz must say 503, and 200 again once
// Redis accepts writes.
func TestRedisRefusingWritesFailsHealthz(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	srv := startRedisInstances(t, rds.URL, 1)[0]
	admin := newRedisLockClient(t, rds)
	ctx := context.Background()

	for _, kv := range [][2]string{{"maxmemory-policy", "noeviction"}, {"maxmemory", "1"}} {
		if err := admin.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, "GET /healthz while Redis refuses writes", newVisitor(t, srv.URL).get("/healthz"),
		http.StatusServiceUnavailable)

	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "GET /healthz once Redis accepts writes again", newVisitor(t, srv.URL).get("/healthz"),
		http.StatusOK)
}

// TestRedisUnreachableAtStartUp runs the binary against an address where no
// Redis listens: it must exit non-zero at once and say why, rather than
// start and fail every request.
func TestRedisUnreachableAtStartUp(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	ctx := withTimeout(t, 30*time.Second)
	cmd := exec.CommandContext(ctx, binary, "-addr", "127.0.0.1:0",
		"-db", filepath.Join(t.TempDir(), "sessions.db"),
		"-store", "redis", "-redis-url", "redis://"+addr+"/0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()

	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("exit: got %v, want a non-zero exit status\nstderr:\n%s", err, stderr.String())
	}
	if want := "server: redis at " + addr + " does not answer"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
	}
	if strings.Contains(stdout.String(), "msg=listening") {
		t.Errorf("the server started listening before Redis answered:\n%s", stdout.String())
	}
}

// TestComposeScaledProfile reads the compose file's "scaled" profile: the
// setup that the tests above run with local processes, in containers.
func TestComposeScaledProfile(t *testing.T) {
	t.Parallel()
	compose := parseYAMLBlock(readRepoFile(t, "docker-compose.yml"))
	services := compose.block(t, "services")
	volumes := compose.block(t, "volumes")

	inProfile := func(t *testing.T, name, profile string) yamlBlock {
		t.Helper()
		svc := services.block(t, name)
		if got := svc.block(t, "profiles").items(); !slices.Equal(got, []string{profile}) {
			t.Errorf("%s profiles: got %q, want [%s]", name, got, profile)
		}
		return svc
	}
	inScaled := func(t *testing.T, name string) yamlBlock { t.Helper(); return inProfile(t, name, "scaled") }
	// namedVolumeAt returns the named volume svc mounts at dir.
	namedVolumeAt := func(t *testing.T, svc yamlBlock, dir string) string {
		t.Helper()
		for _, v := range svc.block(t, "volumes").items() {
			if src, dst, ok := strings.Cut(v, ":"); ok && dst == dir && volumes.has(src) {
				return src
			}
		}
		t.Fatalf("no named volume declared at the top level is mounted at %s", dir)
		return ""
	}

	t.Run("PostgreSQL keeps its data on a named volume and has a healthcheck", func(t *testing.T) {
		pg := inScaled(t, "postgres")
		if got := pg.value(t, "image"); !strings.HasPrefix(got, "postgres:") {
			t.Errorf("postgres image: got %q, want the official postgres image", got)
		}
		namedVolumeAt(t, pg, "/var/lib/postgresql/data")
		if test := pg.block(t, "healthcheck").value(t, "test"); !strings.Contains(test, "pg_isready") {
			t.Errorf("postgres healthcheck: got %q, want pg_isready", test)
		}
	})

	t.Run("two instances on that PostgreSQL, with no SQLite file of their own", func(t *testing.T) {
		for _, name := range []string{"app-1", "app-2"} {
			app := inScaled(t, name)
			env := app.block(t, "environment").env()
			if !strings.HasPrefix(env["DATABASE_URL"], "postgres://") || !strings.Contains(env["DATABASE_URL"], "@postgres:5432/") {
				t.Errorf("%s DATABASE_URL: got %q, want postgres://...@postgres:5432/...", name, env["DATABASE_URL"])
			}
			if env["ADDR"] != ":8080" {
				t.Errorf("%s ADDR: got %q, want :8080", name, env["ADDR"])
			}
			for _, key := range []string{"DB_PATH", "STORE"} {
				if v, ok := env[key]; ok {
					t.Errorf("%s sets %s=%q; sessions and data must both default to PostgreSQL", name, key, v)
				}
			}
			if app.has("volumes") {
				t.Errorf("%s mounts volumes; the scaled instances keep nothing on disk", name)
			}
			if got := app.block(t, "depends_on").block(t, "postgres").value(t, "condition"); got != "service_healthy" {
				t.Errorf("%s depends_on postgres: got condition %q, want service_healthy", name, got)
			}
		}
	})

	t.Run("the Redis variant: Redis 7 keeps an append-only file on a named volume", func(t *testing.T) {
		redis := inProfile(t, "redis", "scaled-redis")
		if got := redis.value(t, "image"); got != "redis:7" && !strings.HasPrefix(got, "redis:7.") {
			t.Errorf("redis image: got %q, want redis:7", got)
		}
		cmd := strings.Join(flowSequence(redis.value(t, "command")), " ")
		if !strings.Contains(cmd, "--appendonly yes") {
			t.Errorf("redis command: got %q, want --appendonly yes in it", cmd)
		}
		namedVolumeAt(t, redis, "/data")
	})

	t.Run("nginx spreads requests over both instances without stickiness", func(t *testing.T) {
		proxy := inScaled(t, "proxy")
		if got := proxy.value(t, "image"); !strings.HasPrefix(got, "nginx") {
			t.Errorf("proxy image: got %q, want nginx", got)
		}
		if got := proxy.block(t, "ports").items(); !slices.Contains(got, "8081:80") {
			t.Errorf("proxy ports: got %q, want 8081:80 (8080 is the default profile's)", got)
		}
		if !slices.Contains(proxy.block(t, "volumes").items(), "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro") {
			t.Errorf("proxy does not mount deploy/nginx.conf as its configuration")
		}
		var conf string // the directives, without comments
		for line := range strings.Lines(readRepoFile(t, "deploy/nginx.conf")) {
			directive, _, _ := strings.Cut(line, "#")
			conf += directive
		}
		for _, want := range []string{"server app-1:8080;", "server app-2:8080;", "proxy_pass http://app;"} {
			if !strings.Contains(conf, want) {
				t.Errorf("deploy/nginx.conf has no %q", want)
			}
		}
		for _, sticky := range []string{"ip_hash", "hash ", "sticky"} {
			if strings.Contains(conf, sticky) {
				t.Errorf("deploy/nginx.conf uses %q: requests must not stick to one instance", sticky)
			}
		}
	})
}
