package e2e

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to pre-fill database files
)

// The load benchmark drives GET /session-example, the original tutorial's
// route, from many concurrent returning visitors, each with its own cookie
// jar, for a fixed time. Run it alone, once per sub-benchmark:
//
//	go test ./e2e -run '^$' -bench Load -benchtime 1x
//	go test ./e2e -run '^$' -bench Load/sqlite$ -benchtime 1x -load.duration 10s
//
// Against any other server that serves /session-example (the Express peer
// uses the cookie connect.sid):
//
//	go test ./e2e -run '^$' -bench Load/url -benchtime 1x -load.url http://127.0.0.1:3000 -load.cookie connect.sid -load.pid $PID
var (
	loadURL      = flag.String("load.url", "", "base URL of a running server to load instead of starting this one")
	loadCookie   = flag.String("load.cookie", "session", "name of the session cookie of the server under load")
	loadVisitors = flag.Int("load.visitors", 1000, "returning visitors, each with its own session")
	loadConns    = flag.Int("load.conns", 64, "concurrent connections")
	loadDuration = flag.Duration("load.duration", 5*time.Second, "how long to send requests")
	loadRows     = flag.Int("load.rows", 1_000_000, "sessions pre-filled into the table for the large-table runs")
	loadPID      = flag.Int("load.pid", 0, "process id of the server at -load.url, to report its CPU time and peak memory")
)

// slowRequest is the latency that counts a request as slow.
const slowRequest = 100 * time.Millisecond

func BenchmarkLoad(b *testing.B) {
	if *loadURL != "" {
		b.Run("url", func(b *testing.B) {
			res := runLoad(b, *loadURL, *loadCookie, *loadPID, fixedTime(*loadDuration))
			res.report(b)
		})
		return
	}

	// Pre-filled database files, made once per run and copied for each
	// sub-benchmark, since the server changes the file it runs on.
	templates := map[string]string{}
	prefilled := func(b *testing.B, expired bool) string {
		b.Helper()
		key := fmt.Sprint(expired)
		if templates[key] == "" {
			templates[key] = prefill(b, *loadRows, expired)
		}
		path := filepath.Join(b.TempDir(), "sessions.db")
		copyFile(b, templates[key], path)
		return path
	}

	for _, store := range []string{"sqlite", "memory"} {
		b.Run(store, func(b *testing.B) {
			srv := startServer(b, "-store", store)
			res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, fixedTime(*loadDuration))
			res.report(b)
			reportHandlerTimes(b, srv)
		})
	}

	// Redis mode: one instance, and two sharing one Redis
	// (shared_bench_test.go).
	b.Run("redis", func(b *testing.B) { loadRedis(b, 1) })
	b.Run("redis-two-instances", func(b *testing.B) { loadRedis(b, 2) })

	// PostgreSQL for the data and the sessions: one instance, and two on
	// one database (shared_bench_test.go).
	b.Run("postgres", func(b *testing.B) { loadPostgres(b, 1) })
	b.Run("postgres-two-instances", func(b *testing.B) { loadPostgres(b, 2) })
	// What the lock costs: the same without it (which loses updates when a
	// visitor's requests overlap; these visitors send one at a time).
	b.Run("postgres-no-lock", func(b *testing.B) { loadPostgres(b, 1, "-session-lock=false") })

	b.Run("sqlite-prefilled", func(b *testing.B) {
		srv := startServerOn(b, prefilled(b, false), "-store", "sqlite")
		res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, fixedTime(*loadDuration))
		res.report(b)
		reportHandlerTimes(b, srv)
	})

	// The cleanup deletes the pre-filled expired sessions while the load
	// runs; the load goes on until none is left.
	b.Run("sqlite-cleanup", func(b *testing.B) {
		path := prefilled(b, true)
		srv := startServerOn(b, path, "-store", "sqlite", "-cleanup-interval", "1s")
		start := time.Now()
		var cleanup time.Duration
		res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, func(ctx context.Context) {
			ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			if waitNoExpiredRows(ctx, b, path) {
				cleanup = time.Since(start)
			}
		})
		if cleanup == 0 {
			b.Fatalf("expired sessions were still there after 10 minutes")
		}
		res.report(b)
		reportHandlerTimes(b, srv)
		b.ReportMetric(cleanup.Seconds(), "cleanup-s")
	})
	b.Run("postgres-cleanup", loadPostgresCleanup) // growth_bench_test.go
}

// fixedTime lets the load run for d.
func fixedTime(d time.Duration) func(context.Context) {
	return func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// loadResult is what one load run measured.
type loadResult struct {
	elapsed   time.Duration
	latencies []time.Duration // sorted
	failures  int             // answers other than 200, and transport errors
	newTokens int             // visitors whose session was not recognised
	serverCPU time.Duration   // CPU time the server used during the load
	clientCPU time.Duration   // CPU time this process (the clients) used
	peakRSS   int             // the server's peak resident memory, in KiB
}

func (r loadResult) report(b *testing.B) {
	b.Helper()
	if len(r.latencies) == 0 {
		b.Fatal("no request completed")
	}
	pct := func(p float64) float64 {
		return ms(r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))])
	}
	slow, _ := slices.BinarySearch(r.latencies, slowRequest+1)
	b.ReportMetric(float64(len(r.latencies))/r.elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(ms(r.latencies[len(r.latencies)-1]), "max-ms")
	b.ReportMetric(float64(len(r.latencies)-slow), "over100ms")
	if r.serverCPU > 0 {
		// Unlike throughput, the server's CPU time per request hardly
		// depends on what else runs on the machine.
		b.ReportMetric(float64(r.serverCPU.Microseconds())/float64(len(r.latencies)), "server-cpu-µs/req")
	}
	// The clients run on the same machine: what they take, the server
	// does not get.
	b.ReportMetric(float64(r.clientCPU.Microseconds())/float64(len(r.latencies)), "client-cpu-µs/req")
	if r.peakRSS > 0 {
		b.ReportMetric(float64(r.peakRSS)/1024, "peak-RSS-MiB")
	}
	if r.failures > 0 {
		b.Errorf("got %d failed requests (not 200, or no answer), want none", r.failures)
	}
	if r.newTokens > 0 {
		b.Errorf("got %d visitors whose session was replaced by a new one, want none", r.newTokens)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runLoad creates *loadVisitors sessions on the server at base, then sends
// GET /session-example from *loadConns workers, each cycling through its
// share of the visitors, until wait returns. With a pid, it also measures
// that process's CPU time and peak memory.
func runLoad(b *testing.B, base, cookieName string, pid int, wait func(context.Context)) loadResult {
	b.Helper()
	visitors := make([]*cookiejar.Jar, *loadVisitors)
	for i := range visitors {
		var err error
		if visitors[i], err = cookiejar.New(nil); err != nil {
			b.Fatal(err)
		}
	}
	return runLoadPaths(b, base, cookieName, pid, wait, visitors, func(int) string { return "/session-example" })
}

// runLoadPaths is runLoad with visitors of the caller's (whose jars may
// already hold a session, signed in, say), each sending GET path(i), i
// being its index in visitors.
func runLoadPaths(b *testing.B, base, cookieName string, pid int, wait func(context.Context),
	visitors []*cookiejar.Jar, path func(i int) string) loadResult {
	b.Helper()
	// The clients share the machine with the server, so they should take as
	// little of it as they can. Their live heap is small and they allocate a
	// lot, so Go's default GOGC=100 would collect many times a second.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	conns := min(*loadConns, len(visitors))
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}

	// A connection per worker, a cookie jar per visitor.
	transports := make([]*connTransport, conns)
	for w := range transports {
		transports[w] = &connTransport{addr: u.Host}
		defer transports[w].close()
	}
	// get sends one request from worker w as visitor i.
	get := func(w, i int) (time.Duration, bool) {
		client := http.Client{Jar: visitors[i], Transport: transports[w]}
		start := time.Now()
		resp, err := client.Get(base + path(i))
		if err != nil {
			return time.Since(start), false
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), err == nil && resp.StatusCode == http.StatusOK
	}
	token := func(jar *cookiejar.Jar) string {
		for _, ck := range jar.Cookies(u) {
			if ck.Name == cookieName {
				return ck.Value
			}
		}
		return ""
	}

	// Every visitor's first visit creates its session.
	tokens := make([]string, len(visitors))
	var wg sync.WaitGroup
	for w := range conns {
		wg.Go(func() {
			for i := w; i < len(visitors); i += conns {
				if _, ok := get(w, i); ok {
					tokens[i] = token(visitors[i])
				}
			}
		})
	}
	wg.Wait()
	for i, t := range tokens {
		if t == "" {
			b.Fatalf("visitor %d: first visit failed or set no %q cookie", i, cookieName)
		}
	}

	// The load: returning visitors only.
	ctx, stop := context.WithCancel(context.Background())
	latencies := make([][]time.Duration, conns)
	failures := make([]int, conns)
	finish := measure(b, pid)
	for w := range conns {
		wg.Go(func() {
			for i := w; ctx.Err() == nil; {
				d, ok := get(w, i)
				latencies[w] = append(latencies[w], d)
				if !ok {
					failures[w]++
				}
				if i += conns; i >= len(visitors) {
					i = w % len(visitors)
				}
			}
		})
	}
	wait(ctx)
	stop()
	wg.Wait()
	res := finish()

	for w := range conns {
		res.latencies = append(res.latencies, latencies[w]...)
		res.failures += failures[w]
	}
	slices.Sort(res.latencies)
	for i, c := range visitors {
		if token(c) != tokens[i] {
			res.newTokens++
		}
	}
	return res
}

// reportHandlerTimes reports the longest time the server itself took for a
// request to /session-example, from its log, and how many took over
// slowRequest. Unlike the latency the clients see, this leaves out the time
// a request waits for a CPU, on a machine where the clients and other
// programs compete with the server for the cores.
func reportHandlerTimes(b *testing.B, srv *server) {
	b.Helper()
	var longest time.Duration
	slow := 0
	for line := range strings.Lines(srv.Log()) {
		if !strings.Contains(line, "path=/session-example ") {
			continue
		}
		_, after, _ := strings.Cut(line, " duration=")
		field, _, _ := strings.Cut(after, " ")
		d, err := time.ParseDuration(field)
		if err != nil {
			b.Fatalf("request log line without a duration: %s", line)
		}
		longest = max(longest, d)
		if d > slowRequest {
			slow++
		}
	}
	b.ReportMetric(ms(longest), "server-max-ms")
	b.ReportMetric(float64(slow), "server-over100ms")
}

// measure starts the benchmark's timer and reads the CPU time used so far
// by this process (the clients) and by the server at pid, if pid is not 0.
// The function it returns stops the timer and gives the time elapsed, the
// CPU time each used since, and the server's peak memory.
func measure(b *testing.B, pid int) func() loadResult {
	var serverBefore time.Duration
	if pid > 0 {
		serverBefore = processCPU(b, pid)
	}
	clientBefore := processCPU(b, os.Getpid())
	b.ResetTimer()
	start := time.Now()
	return func() loadResult {
		res := loadResult{elapsed: time.Since(start), clientCPU: processCPU(b, os.Getpid()) - clientBefore}
		b.StopTimer()
		if pid > 0 {
			res.serverCPU = processCPU(b, pid) - serverBefore
			res.peakRSS = peakRSS(b, pid)
		}
		return res
	}
}

// processCPU returns the CPU time process pid has used so far, from
// /proc/<pid>/stat: utime and stime, in ticks of 1/100 s on Linux.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, err1 := strconv.Atoi(fields[11])
	stime, err2 := strconv.Atoi(fields[12])
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %s", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSS returns process pid's peak resident memory in KiB (VmHWM).
func peakRSS(b *testing.B, pid int) int {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("VmHWM: %v", err)
			}
			return kb
		}
	}
	b.Fatalf("/proc/%d/status has no VmHWM", pid)
	return 0
}

// prefill makes a database file holding rows sessions, expired or not, and
// returns its path. The server itself creates the file and one real
// session, whose data every other row copies; the rows are then added in
// one transaction, with random tokens as long as hashed ones.
func prefill(b *testing.B, rows int, expired bool) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "prefilled.db")
	srv := startServerOn(b, path, "-store", "sqlite")
	newVisitor(b, srv.URL).get("/session-example")
	srv.stop()

	db, err := sql.Open("sqlite", path+"?_pragma=cache_size(-262144)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	// Live rows expire in a day or so, expired ones expired a day or so ago.
	// As in a real table, later rows expire later: a commit replaces the
	// row, and the new row gets the next rowid and an expiry from now.
	expiry := "julianday('now') + 1 + i / (2.0 * n.rows)"
	if expired {
		expiry = "julianday('now') - 2 + i / (2.0 * n.rows)"
	}
	_, err = db.Exec(`
		WITH RECURSIVE n(i, rows) AS (SELECT 1, ? UNION ALL SELECT i + 1, rows FROM n WHERE i < rows)
		INSERT INTO sessions (token, data, expiry)
		SELECT substr(hex(randomblob(22)), 1, 43), (SELECT data FROM sessions LIMIT 1), `+expiry+` FROM n`,
		rows)
	if err != nil {
		b.Fatal(err)
	}
	// Fold the WAL into the file, so that the file alone is the database.
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	return path
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	// On disk before the server starts, as a database at rest is: else the
	// server's first sync of the file would wait for the whole copy.
	if err := dst.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		b.Fatal(err)
	}
}

// waitNoExpiredRows waits until the database at path holds no expired
// session, and reports whether that happened before ctx was done.
func waitNoExpiredRows(ctx context.Context, b *testing.B, path string) bool {
	b.Helper()
	db, err := sql.Open("sqlite", path+"?_query_only=1&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for {
		var left bool
		err := db.QueryRowContext(ctx,
			`SELECT EXISTS (SELECT 1 FROM sessions WHERE expiry < julianday('now'))`).Scan(&left)
		switch {
		case ctx.Err() != nil:
			return false
		case err != nil:
			b.Fatalf("look for expired sessions: %v", err)
		case !left:
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
}
