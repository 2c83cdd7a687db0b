package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tryRequest sends one request with v's client and returns the status and
// body. Unlike v.do it never calls t.Fatal, so goroutines may use it; a
// form, when given, is sent as a same-origin browser form.
func (v *visitor) tryRequest(method, path string, form url.Values, accept string) (int, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, v.base+path, body)
	if err != nil {
		return 0, "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// tryViewCount visits /session-example and returns the viewCount it shows.
func (v *visitor) tryViewCount() (int, error) {
	status, body, err := v.tryRequest(http.MethodGet, "/session-example", nil, "application/json")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET /session-example: got status %d, want 200", status)
	}
	var got struct {
		ViewCount int `json:"viewCount"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		return 0, fmt.Errorf("GET /session-example: %v: %s", err, body)
	}
	return got.ViewCount, nil
}

// newBusyVisitor is a visitor whose client keeps enough idle connections
// for n requests in parallel, so a burst does not open and close sockets.
func newBusyVisitor(t *testing.T, base string, n int) *visitor {
	t.Helper()
	v := newVisitor(t, base)
	v.client.Transport = &http.Transport{MaxIdleConnsPerHost: n}
	t.Cleanup(v.client.CloseIdleConnections)
	return v
}

// inParallel runs f(0) … f(n-1) in n goroutines, all released at once, and
// returns their errors.
func inParallel(n int, f func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return slices.DeleteFunc(errs, func(err error) bool { return err == nil })
}

// Two requests of one session must not both load it, change it, and save
// over each other: the server runs them one after the other.
func TestConcurrentRequestsOfOneSessionAreSerialised(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	t.Run("100 parallel visits to /session-example count to 100", func(t *testing.T) {
		const n = 100
		v := newBusyVisitor(t, srv.URL, n)
		wantStatus(t, "GET / (starts the session)", v.get("/"), http.StatusOK)

		counts := make([]int, n)
		if errs := inParallel(n, func(i int) (err error) {
			counts[i], err = v.tryViewCount()
			return err
		}); len(errs) > 0 {
			t.Fatalf("%d of %d requests failed, first: %v", len(errs), n, errs[0])
		}
		// Run one at a time, the visits saw 1, 2, …, 100, each once.
		slices.Sort(counts)
		for i, c := range counts {
			if c != i+1 {
				t.Fatalf("got counts %v, want each of 1…%d once", counts, n)
			}
		}
	})

	t.Run("50 parallel adds of one ingredient make quantity 50", func(t *testing.T) {
		const n = 50
		v := newBusyVisitor(t, srv.URL, n)
		wantStatus(t, "GET / (starts the session)", v.get("/"), http.StatusOK)

		form := url.Values{"ingredient_id": {"2"}, "qty": {"1"}}
		if errs := inParallel(n, func(int) error {
			status, _, err := v.tryRequest(http.MethodPost, "/cart/items", form, "")
			if err == nil && status != http.StatusSeeOther {
				err = fmt.Errorf("POST /cart/items: got status %d, want 303", status)
			}
			return err
		}); len(errs) > 0 {
			t.Fatalf("%d of %d requests failed, first: %v", len(errs), n, errs[0])
		}
		if got := v.cart().quantities(); got[2] != n || len(got) != 1 {
			t.Errorf("got cart %v, want only ingredient 2 × %d", got, n)
		}
	})
}

// Many visitors at once, each doing a mix of reads and writes: SQLite's
// single writer must queue them, never fail one with "database is locked".
func TestConcurrentLoadHasNoErrors(t *testing.T) {
	t.Parallel()
	const (
		workers  = 64
		duration = 3 * time.Second
	)
	srv := startServer(t)
	deadline := time.Now().Add(duration)
	var requests atomic.Int64
	visitors := make([]*visitor, workers)
	for i := range visitors {
		visitors[i] = newBusyVisitor(t, srv.URL, 1)
	}

	errs := inParallel(workers, func(i int) error {
		v := visitors[i]
		// /session-example resets the cart to the tutorial's [{id:1,qty:3}],
		// so ingredient 3 holds the adds since the last visit there.
		visits, adds := 0, 0
		for op := 0; time.Now().Before(deadline); op++ {
			var status int
			var err error
			switch op % 3 {
			case 0:
				var got int
				if got, err = v.tryViewCount(); err == nil {
					visits++
					adds = 0
					status = http.StatusOK
					if got != visits {
						return fmt.Errorf("visitor %d: got viewCount %d, want %d", i, got, visits)
					}
				}
			case 1:
				status, _, err = v.tryRequest(http.MethodPost, "/cart/items",
					url.Values{"ingredient_id": {"3"}, "qty": {"1"}}, "")
				adds++
			case 2:
				status, _, err = v.tryRequest(http.MethodGet, "/cart", nil, "application/json")
			}
			requests.Add(1)
			if err != nil {
				return fmt.Errorf("visitor %d: %v", i, err)
			}
			if status >= 500 {
				return fmt.Errorf("visitor %d, operation %d: got status %d", i, op, status)
			}
		}
		// The visitor's own adds, and only those, are in its cart.
		status, body, err := v.tryRequest(http.MethodGet, "/cart", nil, "application/json")
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("visitor %d: final GET /cart: %d %v", i, status, err)
		}
		var c cartJSON
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			return err
		}
		if got, want := c.quantities()[3], min(adds, 99); got != want {
			return fmt.Errorf("visitor %d: got quantity %d after %d adds since the last visit, want %d", i, got, adds, want)
		}
		return nil
	})
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("%d requests from %d visitors in %v", requests.Load(), workers, duration)

	log := srv.Log()
	for _, bad := range []string{"database is locked", "SQLITE_BUSY", "level=ERROR"} {
		if strings.Contains(log, bad) {
			t.Errorf("server log contains %q", bad)
		}
	}
}

// Stopping the server with SIGTERM lets the requests in flight finish and
// save their sessions: every visit a client saw answered is in the database.
func TestSIGTERMLosesNoAnsweredVisit(t *testing.T) {
	t.Parallel()
	const jars = 20
	srv := startServer(t)

	visitors := make([]*visitor, jars)
	answered := make([]atomic.Int64, jars) // 200s each jar received
	for i := range visitors {
		visitors[i] = newBusyVisitor(t, srv.URL, 1)
	}
	var stopping atomic.Bool
	var wg sync.WaitGroup
	loopErrs := make([]error, jars)
	for i, v := range visitors {
		wg.Go(func() {
			for {
				got, err := v.tryViewCount()
				if err != nil {
					if !stopping.Load() {
						loopErrs[i] = err
					}
					return // the server has gone
				}
				if want := answered[i].Add(1); int64(got) != want {
					loopErrs[i] = fmt.Errorf("jar %d: got viewCount %d, want %d", i, got, want)
					return
				}
			}
		})
	}

	// Stop only once every jar is in full swing.
	if !waitFor(20*time.Second, func() bool {
		for i := range answered {
			if answered[i].Load() < 3 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("the jars did not get going")
	}
	stopping.Store(true)
	srv.stop() // SIGTERM; fails the test unless the exit status is 0
	wg.Wait()
	for _, err := range loopErrs {
		if err != nil {
			t.Error(err)
		}
	}

	srv.start() // the same database, a new port
	var total int64
	for i, v := range visitors {
		v.base = srv.URL // cookies are per host, not per port: the jar still has them
		got, err := v.tryViewCount()
		if err != nil {
			t.Fatalf("jar %d after restart: %v", i, err)
		}
		want := answered[i].Load()
		total += want
		if int64(got-1) != want {
			t.Errorf("jar %d: viewCount after restart is %d, so %d visits were saved; got %d answered, want the same",
				i, got, got-1, want)
		}
	}
	t.Logf("%d visits answered before the stop", total)
}

// dialRaw opens a plain TCP connection to srv, closed when the test ends,
// for tests that write HTTP by hand; it also returns the Host to send.
func dialRaw(t *testing.T, srv *server) (net.Conn, string) {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, u.Host
}

// A client that sends its request headers slowly (slowloris) is cut off
// after the server's ReadHeaderTimeout, and others are served meanwhile.
func TestSlowHeadersAreCutOff(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	conn, host := dialRaw(t, srv)
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+host+"\r\n"); err != nil {
		t.Fatal(err)
	}

	// Dribble one byte of an endless header a second; never end the headers.
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		io.Copy(io.Discard, conn) // returns when the server closes the connection
	}()
	go func() {
		for {
			select {
			case <-closed:
				return
			case <-time.After(time.Second):
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()

	// While the slow client hangs on, an ordinary visitor is served.
	v := newVisitor(t, srv.URL)
	wantStatus(t, "GET /session-example during the slow request", v.getJSON("/session-example"), http.StatusOK)
	select {
	case <-closed:
		t.Fatal("the slow connection was closed before an ordinary request was served; want it open for a while")
	default:
	}

	// A bound far above the server's 5s ReadHeaderTimeout: it catches a
	// server that never cuts the client off, and no slowness of this machine.
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("the server kept a connection whose headers never ended for 30s")
	}
	wantStatus(t, "GET /session-example after", v.getJSON("/session-example"), http.StatusOK)
}

// Request headers are capped: a client cannot make the server buffer
// megabytes before a handler even runs.
func TestHugeHeadersAreRefused(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	conn, host := dialRaw(t, srv)
	// Write in the background: the server may answer and close before it
	// has read all of it.
	go io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+host+"\r\nX-Big: "+strings.Repeat("a", 1<<20)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MiB header: got status %d, want %d", resp.StatusCode, http.StatusRequestHeaderFieldsTooLarge)
	}
}
