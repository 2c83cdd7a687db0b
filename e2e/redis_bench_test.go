package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/gosessions/redis/redistest"
)

// BenchmarkRedisLoad measures what sharing sessions costs: returning
// visitors, each with its own cookie jar, send GET /session-example for a
// fixed time to one instance on SQLite, one on Redis, and two on one Redis
// with the requests spread round-robin, as the compose file's proxy does.
// Every process runs on this one machine, so two instances do not add
// cores; the figures show the cost per request, not how far it scales.
//
//	go test ./e2e -run '^$' -bench RedisLoad -benchtime 1x
func BenchmarkRedisLoad(b *testing.B) {
	const (
		visitors = 200
		conns    = 16
		duration = 3 * time.Second
	)
	rds := redistest.Start(b)
	for _, bc := range []struct {
		name      string
		instances int
		args      []string
	}{
		{"sqlite-1", 1, []string{"-store", "sqlite"}},
		{"redis-1", 1, []string{"-store", "redis", "-redis-url", rds.URL}},
		{"redis-2", 2, []string{"-store", "redis", "-redis-url", rds.URL}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var bases []string
			for range bc.instances {
				bases = append(bases, startServer(b, bc.args...).URL)
			}
			res := roundRobinLoad(b, bases, visitors, conns, duration)
			b.ReportMetric(float64(len(res.latencies))/res.elapsed.Seconds(), "req/s")
			b.ReportMetric(res.percentile(0.50), "p50-ms")
			b.ReportMetric(res.percentile(0.99), "p99-ms")
			if res.failures > 0 {
				b.Errorf("got %d failed requests, want none", res.failures)
			}
		})
	}
}

type redisLoadResult struct {
	elapsed   time.Duration
	latencies []time.Duration // sorted
	failures  int
}

func (r redisLoadResult) percentile(p float64) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	d := r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
	return float64(d) / float64(time.Millisecond)
}

// roundRobinLoad gives each visitor a session with a first visit, then has
// conns workers send their visitors' requests for duration, each request
// to the next of bases. One cookie jar serves every base: cookies do not
// tell ports apart.
func roundRobinLoad(b *testing.B, bases []string, visitors, conns int, duration time.Duration) redisLoadResult {
	b.Helper()
	transport := &http.Transport{MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer transport.CloseIdleConnections()
	clients := make([]*http.Client, visitors)
	for i := range clients {
		jar, err := cookiejar.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		clients[i] = &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second}
	}
	var next atomic.Uint64
	visit := func(c *http.Client) (time.Duration, bool) {
		base := bases[next.Add(1)%uint64(len(bases))]
		start := time.Now()
		resp, err := c.Get(base + "/session-example")
		if err != nil {
			return time.Since(start), false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode == http.StatusOK
	}
	for i, c := range clients {
		if _, ok := visit(c); !ok {
			b.Fatalf("visitor %d: first visit failed", i)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	latencies := make([][]time.Duration, conns)
	failures := make([]int, conns)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range conns {
		wg.Go(func() {
			// Worker w has visitors w, w+conns, w+2*conns...: no two
			// workers share a session, so no request waits for a lock.
			for i := w; ctx.Err() == nil; {
				d, ok := visit(clients[i])
				latencies[w] = append(latencies[w], d)
				if !ok {
					failures[w]++
				}
				if i += conns; i >= visitors {
					i = w
				}
			}
		})
	}
	wg.Wait()
	res := redisLoadResult{elapsed: time.Since(start)}
	b.StopTimer()
	for w := range conns {
		res.latencies = append(res.latencies, latencies[w]...)
		res.failures += failures[w]
	}
	slices.Sort(res.latencies)
	return res
}
