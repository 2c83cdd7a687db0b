package e2e

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/pgtest"
)

// The growth benchmark asks whether the pages stay as fast as the tables
// grow. For each store it loads each route on a near-empty database and on
// one filled with a large shop's rows, in turns, and reports the full
// database's throughput, p99 and server CPU per request as ratios to the
// empty one's. The visitors are signed in, each to an account of its own with
// orders of its own, so that /account and /orders/{id} read real rows.
// The fill goes straight into the tables, made once per run:
//
//	go test ./e2e -run '^$' -bench Growth -benchtime 1x -timeout 30m
//	go test ./e2e -run '^$' -bench Growth/sqlite -benchtime 1x -load.duration 2s \
//		-growth.sessions 100000 -growth.users 10000 -growth.orders 100000
var (
	growthSessions = flag.Int("growth.sessions", 1_000_000, "sessions in the filled database")
	growthUsers    = flag.Int("growth.users", 100_000, "accounts in the filled database")
	growthOrders   = flag.Int("growth.orders", 1_000_000, "orders in the filled database, spread evenly over its accounts")
	growthVisitors = flag.Int("growth.visitors", 500, "signed-in visitors of the load, each with its own account and orders")
)

// visitorOrders is how many orders each visitor places before the load.
const visitorOrders = 3

// growthRoutes are the pages measured, each a path for visitor i.
var growthRoutes = []struct {
	name string
	path func(v *signedInVisitors, i int) string
}{
	{"session-example", func(*signedInVisitors, int) string { return "/session-example" }},
	{"session", func(*signedInVisitors, int) string { return "/session" }},
	{"cart", func(*signedInVisitors, int) string { return "/cart" }},
	{"account", func(*signedInVisitors, int) string { return "/account" }},
	{"order", func(v *signedInVisitors, i int) string {
		return fmt.Sprintf("/orders/%d", v.orders[i][rand.IntN(len(v.orders[i]))])
	}},
}

func BenchmarkGrowth(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		// The visitors sign up on the server, which then stops: its file,
		// with their accounts, orders and sessions, is the empty database,
		// and a copy of it filled is the full one. Each load runs on a
		// copy, since the server changes the file it runs on.
		empty := filepath.Join(b.TempDir(), "empty.db")
		srv := startServerOn(b, empty, "-store", "sqlite")
		visitors := newGrowthVisitors(b, srv.URL)
		srv.stop()
		full := filepath.Join(b.TempDir(), "full.db")
		copyFile(b, empty, full)
		fillSQLite(b, full)

		growthRoutesOn(b, visitors, func(b *testing.B, db string) *server {
			path := filepath.Join(b.TempDir(), "sessions.db")
			copyFile(b, db, path)
			return startServerOn(b, path, "-store", "sqlite")
		}, empty, full)
	})

	b.Run("postgres", func(b *testing.B) {
		// As on SQLite, but the full database is a copy of the empty one
		// (CREATE DATABASE ... TEMPLATE), filled; both serve every route.
		pg := pgtest.Start(b)
		empty := pg.NewDatabase(b)
		srv := startServerOn(b, empty)
		visitors := newGrowthVisitors(b, srv.URL)
		srv.stop()
		full := copyDatabase(b, pg, empty)
		fillPostgres(b, full)

		growthRoutesOn(b, visitors, func(b *testing.B, db string) *server {
			return startServerOn(b, db)
		}, empty, full)
	})
}

// growthRounds is how many turns the empty and the full database take on
// each route, each turn 1/growthRounds of -load.duration. Other programs
// share this machine's cores and come and go: in short turns, taken one
// after the other, both databases see about the same machine.
const growthRounds = 5

// growthRoutesOn loads each route on a server on the empty database and
// one on the full one, started by start, in turns, and reports each with
// the ratios full/empty. The server whose turn it is not is stopped
// (SIGSTOP), so that what it does in the background, as counting the
// active sessions every few seconds, is not done in the other's turn.
func growthRoutesOn(b *testing.B, v *signedInVisitors, start func(b *testing.B, db string) *server, empty, full string) {
	for _, route := range growthRoutes {
		b.Run(route.name, func(b *testing.B) {
			servers := []*server{start(b, empty), start(b, full)}
			signal := func(srv *server, sig syscall.Signal) {
				if err := srv.cmd.Process.Signal(sig); err != nil {
					b.Fatal(err)
				}
			}
			// Running again before the servers' own cleanup stops them.
			b.Cleanup(func() {
				for _, srv := range servers {
					srv.cmd.Process.Signal(syscall.SIGCONT)
				}
			})
			results := make([]loadResult, len(servers))
			for range growthRounds {
				for i, srv := range servers {
					signal(servers[1-i], syscall.SIGSTOP)
					signal(srv, syscall.SIGCONT)
					res := runLoadPaths(b, srv.URL, "session", srv.cmd.Process.Pid, fixedTime(*loadDuration/growthRounds),
						v.jars, func(i int) string { return route.path(v, i) })
					results[i] = results[i].add(res)
				}
			}
			b.Run("empty", func(b *testing.B) { results[0].report(b) })
			b.Run("full", func(b *testing.B) {
				res, before := results[1], results[0]
				res.report(b)
				b.ReportMetric(res.rate()/before.rate(), "req/s-full/empty")
				b.ReportMetric(res.percentile(0.99)/before.percentile(0.99), "p99-full/empty")
				// Unlike the two above, hardly moved by what else runs on
				// the machine.
				b.ReportMetric(res.cpuPerRequest()/before.cpuPerRequest(), "server-cpu-full/empty")
			})
		})
	}
}

// add returns r and o as one load.
func (r loadResult) add(o loadResult) loadResult {
	r.elapsed += o.elapsed
	r.latencies = slices.Sorted(slices.Values(slices.Concat(r.latencies, o.latencies)))
	r.failures += o.failures
	r.newTokens += o.newTokens
	r.serverCPU += o.serverCPU
	r.clientCPU += o.clientCPU
	r.peakRSS = max(r.peakRSS, o.peakRSS)
	return r
}

func (r loadResult) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

func (r loadResult) cpuPerRequest() float64 { return float64(r.serverCPU) / float64(len(r.latencies)) }

func (r loadResult) percentile(p float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	return ms(r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))])
}

// signedInVisitors are the load's visitors: a cookie jar each, signed in to
// an account of its own, and the ids of the orders it placed.
type signedInVisitors struct {
	jars   []*cookiejar.Jar
	orders [][]int64
}

// newGrowthVisitors signs up *growthVisitors visitors on the server at
// base, through the sign-up form, and has each place visitorOrders orders
// through the cart and the checkout, then put one more ingredient in its
// cart, for /cart to show. Two at a time: a sign-up hashes a password,
// and the server hashes as many at once as it has cores.
func newGrowthVisitors(b *testing.B, base string) *signedInVisitors {
	b.Helper()
	v := &signedInVisitors{jars: make([]*cookiejar.Jar, *growthVisitors), orders: make([][]int64, *growthVisitors)}
	const workers = 2
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(v.jars) && errs[w] == nil; i += workers {
				v.jars[i], v.orders[i], errs[w] = signUpWithOrders(base, i)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return v
}

// signUpWithOrders makes visitor i: its account, its orders, its cart.
func signUpWithOrders(base string, i int) (*cookiejar.Jar, []int64, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, nil, err
	}
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// post sends a same-origin form and returns where its 303 points.
	post := func(path string, form url.Values) (string, error) {
		for range 5 { // a 503 is a busy password hasher: try again
			req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
			if err != nil {
				return "", err
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", base)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := client.Do(req)
			if err != nil {
				return "", fmt.Errorf("POST %s: %w", path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusSeeOther:
				return resp.Header.Get("Location"), nil
			case http.StatusServiceUnavailable:
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return "", fmt.Errorf("POST %s: got status %d, want %d", path, resp.StatusCode, http.StatusSeeOther)
		}
		return "", fmt.Errorf("POST %s: still 503 after 5 tries", path)
	}

	email := fmt.Sprintf("visitor%d@example.com", i)
	if loc, err := post("/signup", url.Values{"name": {fmt.Sprint("Visitor ", i)}, "email": {email},
		"password": {"correct horse battery staple"}}); err != nil {
		return nil, nil, err
	} else if loc != "/account" {
		return nil, nil, fmt.Errorf("POST /signup: redirected to %q, want /account", loc)
	}
	var orders []int64
	add := func(id int) error {
		_, err := post("/cart/items", url.Values{"ingredient_id": {fmt.Sprint(id)}, "qty": {"2"}})
		return err
	}
	for k := range visitorOrders {
		if err := add(1 + (i+k)%12); err != nil {
			return nil, nil, err
		}
		loc, err := post("/checkout", nil)
		if err != nil {
			return nil, nil, err
		}
		var id int64
		if _, err := fmt.Sscanf(loc, "/orders/%d", &id); err != nil {
			return nil, nil, fmt.Errorf("POST /checkout: redirected to %q, want /orders/{id}", loc)
		}
		orders = append(orders, id)
	}
	if err := add(1 + i%12); err != nil {
		return nil, nil, err
	}
	return jar, orders, nil
}

// Every fill's rows copy what the visitors' rows hold: a session's data,
// a password hash. The added accounts' emails are customerN@example.com;
// each gets *growthOrders / *growthUsers orders of two lines (2 × Flour,
// 1 × Eggs, $8.20), numbered 1, 2, 3... as the checkout numbers them, and
// one signed-in session in the index. The sessions expire in a day or so,
// later rows later, as in prefill.

// fillSQLite fills the SQLite file at path, in one transaction.
func fillSQLite(b *testing.B, path string) {
	b.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=cache_size(-262144)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	start := time.Now()
	now := `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`
	in1Day := `strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+1 day')`
	count := func(n int) string {
		return fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d) ", n)
	}
	execAll(b, db.Exec, `BEGIN`,
		count(*growthSessions)+`INSERT INTO sessions (token, data, expiry)
			SELECT substr(hex(randomblob(22)), 1, 43), (SELECT data FROM sessions LIMIT 1),
				julianday('now') + 1 + i / (2.0 * `+fmt.Sprint(*growthSessions)+`) FROM n`,
		count(*growthUsers)+`INSERT INTO users (name, email, password_hash, created_at)
			SELECT 'Customer ' || i, 'customer' || i || '@example.com', (SELECT password_hash FROM users LIMIT 1), `+now+` FROM n`,
		count(*growthOrders/max(1, *growthUsers))+`INSERT INTO orders
			(id, checkout_key, user_id, account_order, customer_name, customer_email, total_cents)
			SELECT (random() & 9007199254740991) + 1, 'fill-' || u.id || '-' || n.i, u.id, n.i, u.name, u.email, 820
			FROM users u CROSS JOIN n WHERE u.email LIKE 'customer%'`,
		`INSERT INTO order_lines (order_id, ingredient_id, qty, unit_price_cents)
			SELECT id, 1, 2, 250 FROM orders WHERE checkout_key LIKE 'fill-%'
			UNION ALL SELECT id, 2, 1, 320 FROM orders WHERE checkout_key LIKE 'fill-%'`,
		`INSERT INTO account_sessions (id, user_id, token_hash, device, signed_in_at, last_seen_at, expires_at)
			SELECT lower(hex(randomblob(16))), id, substr(hex(randomblob(22)), 1, 43), 'Firefox on Linux', `+now+`, `+now+`, `+in1Day+`
			FROM users WHERE email LIKE 'customer%'`,
		`COMMIT`,
		// Fold the WAL into the file, so that the file alone is the database.
		`PRAGMA wal_checkpoint(TRUNCATE)`)
	b.Logf("filled %s in %v", path, time.Since(start).Round(time.Millisecond))
}

// fillPostgres fills the PostgreSQL database at dbURL, in one transaction,
// then has VACUUM ANALYZE look at it, as autovacuum would soon after.
func fillPostgres(b *testing.B, dbURL string) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(query string, args ...any) (sql.Result, error) {
		_, err := conn.Exec(ctx, query, args...)
		return nil, err
	}
	start := time.Now()
	execAll(b, exec, `BEGIN`,
		fmt.Sprintf(`INSERT INTO sessions (token, data, expiry)
			SELECT substr(md5(random()::text) || md5(random()::text), 1, 43), (SELECT data FROM sessions LIMIT 1),
				now() + interval '1 day' * (1 + i / (2.0 * %[1]d))::float8 FROM generate_series(1, %[1]d) i`, *growthSessions),
		fmt.Sprintf(`INSERT INTO users (name, email, password_hash)
			SELECT 'Customer ' || i, 'customer' || i || '@example.com', (SELECT password_hash FROM users LIMIT 1)
			FROM generate_series(1, %d) i`, *growthUsers),
		fmt.Sprintf(`INSERT INTO orders (id, checkout_key, user_id, account_order, customer_name, customer_email, total_cents)
			SELECT floor(random() * 9007199254740991)::bigint + 1, 'fill-' || u.id || '-' || k, u.id, k, u.name, u.email, 820
			FROM users u CROSS JOIN generate_series(1, %d) k WHERE u.email LIKE 'customer%%'`, *growthOrders/max(1, *growthUsers)),
		`INSERT INTO order_lines (order_id, ingredient_id, qty, unit_price_cents)
			SELECT id, 1, 2, 250 FROM orders WHERE checkout_key LIKE 'fill-%'
			UNION ALL SELECT id, 2, 1, 320 FROM orders WHERE checkout_key LIKE 'fill-%'`,
		`INSERT INTO account_sessions (id, user_id, token_hash, device, signed_in_at, last_seen_at, expires_at)
			SELECT md5(random()::text), id, substr(md5(random()::text) || md5(random()::text), 1, 43), 'Firefox on Linux',
				date_trunc('milliseconds', now()), date_trunc('milliseconds', now()), date_trunc('milliseconds', now()) + interval '1 day'
			FROM users WHERE email LIKE 'customer%'`,
		`COMMIT`,
		`VACUUM ANALYZE`)
	b.Logf("filled the database in %v", time.Since(start).Round(time.Millisecond))
}

// execAll runs each statement with exec, and fails at the first error.
func execAll(b *testing.B, exec func(string, ...any) (sql.Result, error), statements ...string) {
	b.Helper()
	for _, s := range statements {
		if _, err := exec(s); err != nil {
			b.Fatalf("%v\n%s", err, s)
		}
	}
}

// copyDatabase makes a copy of the PostgreSQL database at dbURL, on pg, and
// returns its URL; nothing may be connected to the original meanwhile. The
// copy is dropped when the benchmark ends.
func copyDatabase(b *testing.B, pg *pgtest.Server, dbURL string) string {
	b.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	from := strings.TrimPrefix(u.Path, "/")
	to := from + "_copy"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+to+" TEMPLATE "+from); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn, err := pgx.Connect(ctx, pg.URL)
		if err == nil {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+to+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	u.Path = "/" + to
	return u.String()
}

// loadPostgresCleanup is BenchmarkLoad/postgres-cleanup, sqlite-cleanup's
// PostgreSQL twin: the sessions table holds *loadRows expired sessions,
// the cleanup runs every second, and the load goes on until it has deleted
// every one of them.
func loadPostgresCleanup(b *testing.B) {
	db := pgtest.Start(b).NewDatabase(b)
	srv := startServerOn(b, db)
	newVisitor(b, srv.URL).get("/session-example")
	srv.stop()

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	// Expired a day or so ago, later rows later, as in prefill.
	execAll(b, func(query string, args ...any) (sql.Result, error) {
		_, err := conn.Exec(ctx, query, args...)
		return nil, err
	},
		fmt.Sprintf(`INSERT INTO sessions (token, data, expiry)
			SELECT substr(md5(random()::text) || md5(random()::text), 1, 43), (SELECT data FROM sessions LIMIT 1),
				now() - interval '1 day' * (2 - i / (2.0 * %[1]d))::float8 FROM generate_series(1, %[1]d) i`, *loadRows),
		`VACUUM ANALYZE sessions`)

	srv = startServerOn(b, db, "-cleanup-interval", "1s")
	start := time.Now()
	var cleanup time.Duration
	res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		for {
			var left bool
			err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE expiry < now())`).Scan(&left)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				b.Errorf("look for expired sessions: %v", err)
				return
			case !left:
				cleanup = time.Since(start)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
	if cleanup == 0 {
		b.Fatalf("expired sessions were still there after 10 minutes")
	}
	res.report(b)
	reportHandlerTimes(b, srv)
	b.ReportMetric(cleanup.Seconds(), "cleanup-s")
}
