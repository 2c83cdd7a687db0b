package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	binenc "encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/pgtest"
	"example.com/gosessions/internal/redistest"
)

// With a PostgreSQL -db, every instance of the server keeps the catalog,
// the accounts and the orders in one database, and by default the sessions
// and their locks too (-store postgres): what a load balancer needs to send
// each request to any instance. These tests run two instances of the real
// binary on one real PostgreSQL database.

// startPostgresInstances starts n servers on the PostgreSQL database at
// dbURL, each with the extra flags args.
func startPostgresInstances(t *testing.T, dbURL string, n int, args ...string) []*server {
	t.Helper()
	servers := make([]*server, n)
	for i := range servers {
		servers[i] = startServerOn(t, dbURL, args...)
	}
	return servers
}

// pgConnect opens a connection of the test's own to the database at dbURL,
// to look at what the servers stored and at the locks they hold.
func pgConnect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx := withTimeout(t, 10*time.Second)
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// pgCount returns the number of rows of table.
func pgCount(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// waitPgLockHeld waits until some connection holds the advisory lock of the
// session with this cookie, and waitPgLockFree until none does. The lock's
// key is the first 8 bytes of the SHA-256 of the token, big-endian, written
// out here rather than taken from the application; pg_locks shows a
// bigint key as its high 32 bits (classid) and low 32 bits (objid).
func waitPgLockHeld(t *testing.T, conn *pgx.Conn, cookie string) {
	t.Helper()
	waitPgLock(t, conn, cookie, true)
}

func waitPgLockFree(t *testing.T, conn *pgx.Conn, cookie string) {
	t.Helper()
	waitPgLock(t, conn, cookie, false)
}

func waitPgLock(t *testing.T, conn *pgx.Conn, cookie string, held bool) {
	t.Helper()
	sum, err := base64.RawURLEncoding.DecodeString(storeKey(cookie))
	if err != nil {
		t.Fatal(err)
	}
	key := binenc.BigEndian.Uint64(sum)
	waitLockState(t, held, func() bool {
		var n int
		err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks
			WHERE locktype = 'advisory' AND granted AND objsubid = 1
			AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND classid::bigint = $1 AND objid::bigint = $2`,
			int64(key>>32), int64(key&0xffffffff)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
}

// tbodyRE finds the table body of the order page: its lines.
var tbodyRE = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)

// orderLines is the text of the order page's lines: name, quantity, unit
// price and line total of each.
func orderLines(t *testing.T, what string, r response) string {
	t.Helper()
	wantStatus(t, what, r, http.StatusOK)
	m := tbodyRE.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("%s: no order lines on the page:\n%s", what, r.Body)
	}
	return pageText(m[1])
}

var orderPathRE = regexp.MustCompile(`^/orders/[0-9]+$`)

// checkout places the visitor's cart as an order and returns its page's
// address.
func (v *visitor) checkout() string {
	v.t.Helper()
	r := v.post("/checkout", nil)
	wantStatus(v.t, "POST /checkout", r, http.StatusSeeOther)
	loc := r.Header.Get("Location")
	if !orderPathRE.MatchString(loc) {
		v.t.Fatalf("POST /checkout: got Location %q, want /orders/{id}", loc)
	}
	return loc
}

// TestPostgresInstancesShareEverything: behind a load balancer that sends
// each request to either instance, a visitor sees one shop: the orders, the
// accounts, the sessions and the sign-outs of one instance hold on the other.
func TestPostgresInstancesShareEverything(t *testing.T) {
	t.Parallel()
	srv := startPostgresInstances(t, pgtest.NewDatabase(t), 2)
	a, b := srv[0].URL, srv[1].URL

	t.Run("a checkout on A shows its order on B, with the same lines", func(t *testing.T) {
		onA := newVisitor(t, a)
		onB := onA.onServer(b)
		onA.add(1, "3") // Flour, 3 × $2.50
		onB.add(2, "2") // Eggs, 2 × $3.20
		order := onA.checkout()
		want := "Flour 3 $2.50 $7.50 Eggs 2 $3.20 $6.40"
		if got := orderLines(t, "GET "+order+" on A", onA.get(order)); got != want {
			t.Errorf("order lines on A: got %q, want %q", got, want)
		}
		if got := orderLines(t, "GET "+order+" on B", onB.get(order)); got != want {
			t.Errorf("order lines on B: got %q, want %q", got, want)
		}
		if got := onB.cart(); len(got.Items) != 0 {
			t.Errorf("cart on B after the checkout on A: got %v, want it empty", got.Items)
		}
	})

	t.Run("an order placed signed in on A is the account's on B, in another browser", func(t *testing.T) {
		onA := newVisitor(t, a)
		onA.signUp("Ada Lovelace", "ada@example.com", adaPassword)
		onA.add(3, "1")
		order := onA.checkout()
		other := newVisitor(t, b)
		other.signIn("ada@example.com", adaPassword, false)
		orderLines(t, "GET "+order+" on B, signed in to the account", other.get(order))
		if got := accountOf(t, other).Orders; len(got) != 1 || "/orders/"+fmt.Sprint(got[0].ID) != order {
			t.Errorf("orders of the account on B: got %+v, want %s alone", got, order)
		}
	})

	t.Run("a sign-up on A is signed in on B, and its password signs in on B", func(t *testing.T) {
		onA := newVisitorWithUA(t, a, curlUA)
		onA.signUp("Grace Hopper", "grace@example.com", bobPassword)
		onB := onA.onServer(b)
		if got := accountOf(t, onB); got.Name != "Grace Hopper" || got.Email != "grace@example.com" {
			t.Errorf("account of the same cookie on B: got %q <%s>, want Grace Hopper <grace@example.com>", got.Name, got.Email)
		}
		fresh := newVisitorWithUA(t, b, firefoxUA)
		fresh.signIn("grace@example.com", bobPassword, false)
		if got := accountOf(t, fresh).devices(); fmt.Sprint(got) != fmt.Sprint([]string{firefoxDevice, curlDevice}) {
			t.Errorf("sessions of the account seen on B: got %q, want %q", got, []string{firefoxDevice, curlDevice})
		}
	})

	t.Run("one browser alternating between A and B keeps one count and one cart", func(t *testing.T) {
		onA := newVisitor(t, a)
		onB := onA.onServer(b)
		wantOneCountAlternating(t, onA, onB)
		onA.add(2, "2")
		onB.add(5, "")
		onA.add(5, "3")
		want := map[int64]int{1: 3, 2: 2, 5: 4} // the session example's first visit put 3 of flour in the cart
		for name, v := range map[string]*visitor{"A": onA, "B": onB} {
			if got := v.cart().quantities(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("cart read on %s: got %v, want %v", name, got, want)
			}
		}
	})

	t.Run("a session signed out from A is a guest on B at its next request", func(t *testing.T) {
		ada := newVisitorWithUA(t, a, curlUA)
		ada.signUp("Ada Byron", "byron@example.com", adaPassword)
		other := newVisitorWithUA(t, b, firefoxUA)
		other.add(2, "1")
		other.signIn("byron@example.com", adaPassword, false)
		r := ada.post("/account/sessions/"+sessionIDOf(t, other)+"/sign-out", nil)
		wantStatus(t, "POST /account/sessions/{id}/sign-out on A", r, http.StatusSeeOther)
		wantGuest(t, "the signed-out session on B", other)
		if got := other.cart(); len(got.Items) != 0 {
			t.Errorf("cart of the signed-out session on B: got %v, want it empty", got.Items)
		}
		accountOf(t, ada.onServer(b)) // the session that signed it out stays signed in
	})

	t.Run("sign out other devices on A makes them guests on B", func(t *testing.T) {
		ada := newVisitorWithUA(t, a, curlUA)
		ada.signUp("Ada King", "king@example.com", adaPassword)
		plain := newVisitorWithUA(t, b, firefoxUA)
		plain.signIn("king@example.com", adaPassword, false)
		remembered := newVisitor(t, b)
		rememberCookie := signInRemembered(t, remembered, "king@example.com", adaPassword)
		if got := len(accountOf(t, ada).Sessions); got != 3 {
			t.Fatalf("got %d sessions before, want 3", got)
		}
		r := ada.post("/account/sessions/sign-out-others", nil)
		wantStatus(t, "POST /account/sessions/sign-out-others on A", r, http.StatusSeeOther)
		wantGuest(t, "the plain session on B", plain)
		wantGuest(t, "the remembered session on B", remembered)
		wantGuest(t, "a browser with only the remember cookie, on B",
			newVisitorWithCookies(t, b, &http.Cookie{Name: "remember", Value: rememberCookie.Value}))
		if a := accountOf(t, ada.onServer(b)); len(a.Sessions) != 1 || a.current(t).Device != curlDevice {
			t.Errorf("sessions seen on B: got %+v, want only the one that signed the others out", a.Sessions)
		}
	})
}

// TestPostgresLockHoldsAcrossInstances sends many requests of one session
// at once, spread over two instances. Each request reads the count and
// writes it back plus one; only a lock that holds across both instances
// (PostgreSQL's advisory lock) lets every one of them be counted.
func TestPostgresLockHoldsAcrossInstances(t *testing.T) {
	t.Parallel()
	srv := startPostgresInstances(t, pgtest.NewDatabase(t), 2)
	wantEveryVisitCounted(t, newVisitor(t, srv[0].URL), srv, 100)
}

// TestPostgresLockWaitIsBounded holds a request of a session on A (its
// body arrives but for the last byte), and sends another request of that
// session to B. B waits for the lock for pgstore.DefaultLockWait (5 s; no
// flag changes it), then answers 503 rather than hang, and changes nothing.
func TestPostgresLockWaitIsBounded(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	srv := startPostgresInstances(t, dbURL, 2)
	conn := pgConnect(t, dbURL)

	onA := newVisitor(t, srv[0].URL)
	onB := onA.onServer(srv[1].URL)
	wantStatus(t, "GET /", onA.get("/"), http.StatusOK)
	waitPgLockFree(t, conn, onA.cookie()) // GET / may release it after its answer

	finish := onA.slowPost("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1"}})
	waitPgLockHeld(t, conn, onA.cookie())
	// The client gives up after 30 s: a hang fails the test, it does not
	// block it. The server cuts the slow request off at its ReadTimeout
	// (8 s), so B's answer must come before that for the lock to be held
	// all the while: it does, at about 5 s.
	busy := onB.post("/cart/items", url.Values{"ingredient_id": {"5"}, "qty": {"1"}})
	wantStatus(t, "POST /cart/items on B while A holds the session", busy, http.StatusServiceUnavailable)
	wantText(t, "the 503 page", busy, "Another request of your session is still running")
	redirectsTo(t, "slow POST /cart/items on A", finish(), "/cart")

	want := map[int64]int{2: 1}
	if got := onB.cart().quantities(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cart: got %v, want %v (the request refused with 503 must change nothing)", got, want)
	}
	onB.add(5, "1") // the lock is free again
	want = map[int64]int{2: 1, 5: 1}
	if got := onA.cart().quantities(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cart: got %v, want %v", got, want)
	}
}

// outageWriter is two browsers that keep changing their sessions, on A
// and B in turn, while PostgreSQL is stopped under them: one counts its
// visits to /session-example, the other adds to its cart (which a visit to
// /session-example would reset).
type outageWriter struct {
	viewer   [2]*visitor
	adder    [2]*visitor
	views    int        // the last viewCount a 200 of /session-example reported
	tries    int        // requests sent, whatever their answer
	adds     int        // POST /cart/items answered 303: one more of ingredient 3
	down     []response // answers to the requests sent once the stop was over
	ready    chan struct{}
	failures []string
}

// run sends requests until it has had two answers sent after the stop.
// The answer to each request is what the visitor was told: a 200 or a
// 303 says the change was saved.
func (w *outageWriter) run(stopped *atomic.Bool) {
	for i := 0; len(w.down) < 2; i++ {
		after := stopped.Load() // before sending: this request cannot have been saved
		var r response
		if i%4 < 2 {
			r = w.viewer[i%2].getJSONWithin("/session-example")
			if r.Status == http.StatusOK {
				var got sessionExample
				if err := json.Unmarshal([]byte(r.Body), &got); err != nil || got.ViewCount != w.views+1 {
					w.failures = append(w.failures, fmt.Sprintf("visit %d: got %s, want viewCount %d", w.tries, r.Body, w.views+1))
				}
				w.views = got.ViewCount
			}
		} else {
			r = w.adder[i%2].postWithin("/cart/items", url.Values{"ingredient_id": {"3"}, "qty": {"1"}})
			if r.Status == http.StatusSeeOther {
				w.adds++
			}
		}
		w.tries++
		if after {
			w.down = append(w.down, r)
		}
		if w.views >= 3 && w.adds >= 3 && w.ready != nil {
			close(w.ready)
			w.ready = nil
		}
		if w.ready == nil {
			time.Sleep(20 * time.Millisecond) // keep requests in flight across the stop, but not too many
		}
	}
}

// getJSONWithin is getJSON for a goroutine other than the test's, as
// postWithin is post's.
func (v *visitor) getJSONWithin(path string) response {
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		return response{Body: err.Error()}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return response{Body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// TestPostgresOutage stops PostgreSQL (its fast shutdown, which ends every
// connection) under two running instances while browsers keep changing
// their sessions, then starts it again. Every change that was acknowledged
// must be there after the start; while it is down no change is
// acknowledged; and the instances serve again by themselves.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	srv := startPostgresInstances(t, pg.NewDatabase(t), 2)
	a, b := srv[0].URL, srv[1].URL

	// Changes acknowledged before the stop, of every kind the database holds.
	ada := newVisitor(t, a)
	ada.signUp("Ada Lovelace", "ada@example.com", adaPassword)
	ada.add(1, "2")
	order := ada.onServer(b).checkout()
	counter := newVisitor(t, a)
	const acknowledged = 4
	for want := 1; want <= acknowledged; want++ {
		v := counter
		if want%2 == 0 {
			v = counter.onServer(b)
		}
		if got := v.sessionExample().ViewCount; got != want {
			t.Fatalf("visit %d: viewCount = %d, want %d", want, got, want)
		}
	}

	// Browsers whose requests are in flight when PostgreSQL stops.
	var stopped atomic.Bool
	writers := make([]*outageWriter, 4)
	var wg sync.WaitGroup
	t.Cleanup(func() { // should the test end early: the writers end at the stop
		stopped.Store(true)
		wg.Wait()
	})
	for i := range writers {
		viewer, adder := newVisitor(t, a), newVisitor(t, b)
		w := &outageWriter{
			viewer: [2]*visitor{viewer, viewer.onServer(b)},
			adder:  [2]*visitor{adder, adder.onServer(a)},
			ready:  make(chan struct{}),
		}
		writers[i] = w
		ready := w.ready
		wg.Go(func() { w.run(&stopped) })
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			t.Fatalf("writer %d: not 3 visits and 3 adds saved within 30s", i)
		}
	}
	pg.Stop()
	stoppedAt := time.Now()
	stopped.Store(true)
	wg.Wait()
	for i, w := range writers {
		t.Logf("writer %d: %d requests, %d visits and %d adds acknowledged", i, w.tries, w.views, w.adds)
		for _, f := range w.failures {
			t.Errorf("writer %d: %s", i, f)
		}
		for _, r := range w.down {
			if r.Status != http.StatusInternalServerError {
				t.Errorf("writer %d: a request sent while PostgreSQL was down got status %d, want 500: %s", i, r.Status, r.Body)
			}
		}
	}

	t.Run("pages answer the 500 page while PostgreSQL is down", func(t *testing.T) {
		for _, tt := range []struct {
			what string
			r    response
		}{
			{"GET /session-example of a returning visitor on A", counter.getJSON("/session-example")},
			{"POST /cart/items of a returning visitor on B", counter.onServer(b).post("/cart/items", url.Values{"ingredient_id": {"4"}, "qty": {"1"}})},
			{"GET / of a new visitor on B", newVisitor(t, b).get("/")},
			{"POST /login on A", newVisitor(t, a).post("/login", url.Values{"email": {"ada@example.com"}, "password": {adaPassword}})},
		} {
			wantStatus(t, tt.what, tt.r, http.StatusInternalServerError)
			wantText(t, tt.what, tt.r, "Something went wrong on our side")
		}
	})
	t.Run("/healthz answers 503 while PostgreSQL is down", func(t *testing.T) {
		for _, s := range srv {
			wantStatus(t, "GET /healthz", newVisitor(t, s.URL).get("/healthz"), http.StatusServiceUnavailable)
		}
	})

	// The outage lasts over a second, as a real restart does. pgxpool pings
	// a pooled connection before use only once it has been idle for a
	// second: after a quicker restart, each connection that the stop ended
	// still fails one request with a 500 when it is next taken.
	time.Sleep(time.Until(stoppedAt.Add(1500 * time.Millisecond)))
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	for _, s := range srv {
		s.waitHealthy() // the same processes: nothing restarted them
		if !s.running() {
			t.Fatal("a server exited while PostgreSQL was down")
		}
	}

	t.Run("no acknowledged change was lost, and the counts continue", func(t *testing.T) {
		if got := counter.onServer(b).sessionExample().ViewCount; got != acknowledged+1 {
			t.Errorf("first visit after the start, on B: viewCount = %d, want %d", got, acknowledged+1)
		}
		if got := counter.sessionExample().ViewCount; got != acknowledged+2 {
			t.Errorf("second visit after the start, on A: viewCount = %d, want %d", got, acknowledged+2)
		}
		if got := counter.cart().quantities(); got[4] != 0 {
			t.Errorf("cart of the visitor whose add got a 500: got %v, want no ingredient 4", got)
		}
		for i, w := range writers {
			// A request that failed may still have been saved (its answer
			// lost, say), so a count may be higher than acknowledged; it
			// may never be lower.
			next := w.viewer[1].sessionExample().ViewCount
			if next <= w.views || next > w.tries+1 {
				t.Errorf("writer %d: viewCount after the start = %d, want more than %d acknowledged and at most %d tried",
					i, next, w.views, w.tries+1)
			}
			if got := w.adder[0].cart().quantities()[3]; got < w.adds || got > w.tries {
				t.Errorf("writer %d: cart after the start holds %d of ingredient 3, want at least the %d acknowledged",
					i, got, w.adds)
			}
		}
	})
	t.Run("the account and its order are there after the start", func(t *testing.T) {
		if got := accountOf(t, ada).Name; got != "Ada Lovelace" {
			t.Errorf("account on A: got %q, want Ada Lovelace", got)
		}
		orderLines(t, "GET "+order+" on A", ada.get(order))
		fresh := newVisitor(t, b)
		fresh.signIn("ada@example.com", adaPassword, false)
		orderLines(t, "GET "+order+" on B, signed in afresh", fresh.get(order))
	})
}

// TestPostgresStartUpFaults runs the binary against a PostgreSQL it cannot
// use: it must exit 1 at once, saying which server and why, and never
// print the password of the URL. Nor may the start-up log of a server that
// starts.
func TestPostgresStartUpFaults(t *testing.T) {
	t.Parallel()
	shared, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	// pgtest's own server trusts loopback and never asks for a password:
	// any will do. It has an escaped / in it, so that both its forms are
	// looked for. A server of TEST_DATABASE_URL keeps its own.
	user := shared.User.Username()
	password, ok := shared.User.Password()
	if !ok {
		password = "pg-s3cret/1843"
		shared.User = url.UserPassword(user, password)
	}
	_, rawPassword, _ := strings.Cut(shared.User.String(), ":")
	withDatabase := func(u url.URL, db string) string {
		u.User = shared.User
		if db != "" {
			u.Path = "/" + db
		}
		return u.String()
	}
	noSecret := func(t *testing.T, what, out string) {
		t.Helper()
		for _, s := range []string{password, rawPassword} {
			if strings.Contains(out, s) {
				t.Errorf("%s holds the password %q:\n%s", what, s, out)
			}
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	closedHost, closedPort, _ := net.SplitHostPort(closed)

	for _, tt := range []struct {
		name, dbURL string
		want        []string // in stderr
	}{
		{
			"an unreachable server",
			withDatabase(url.URL{Scheme: "postgres", Host: closed, RawQuery: "sslmode=disable"}, "shop"),
			[]string{"host=" + closedHost + " port=" + closedPort, "connection refused"},
		},
		{
			"a database that does not exist",
			withDatabase(*shared, "no_such_database"),
			[]string{"host=" + shared.Hostname() + " port=" + shared.Port(), `database "no_such_database" does not exist`},
		},
	} {
		t.Run(tt.name+": exit 1 naming the server and the cause", func(t *testing.T) {
			ctx := withTimeout(t, 30*time.Second)
			cmd := exec.CommandContext(ctx, binary, "-addr", "127.0.0.1:0", "-db", tt.dbURL)
			cmd.Env = []string{}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: got %v, want exit status 1\nstderr:\n%s", err, stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
				}
			}
			noSecret(t, "stderr", stderr.String())
			noSecret(t, "stdout", stdout.String())
			if strings.Contains(stdout.String(), "msg=listening") {
				t.Errorf("the server started listening:\n%s", stdout.String())
			}
		})
	}

	t.Run("the start-up log names the server without its password", func(t *testing.T) {
		srv := startServerOn(t, withDatabase(*shared, ""))
		var listening string
		for line := range strings.Lines(srv.Log()) {
			if strings.Contains(line, "msg=listening") {
				listening = line
			}
		}
		want := "host=" + shared.Hostname() + " port=" + shared.Port() + " database=" + strings.TrimPrefix(shared.Path, "/") + " user=" + user
		if !strings.Contains(listening, want) {
			t.Errorf("the listening line does not name %q:\n%s", want, listening)
		}
		v := newVisitor(t, srv.URL)
		for _, path := range []string{"/", "/session"} {
			noSecret(t, "GET "+path, v.get(path).Body)
		}
		noSecret(t, "the server log", srv.Log())
	})
}

// TestPostgresDataWithRedisSessions runs two instances with -store redis on
// one PostgreSQL database: sessions and their locks in Redis, accounts and
// orders in PostgreSQL. Both are shared, so the instances are
// interchangeable as with -store postgres.
func TestPostgresDataWithRedisSessions(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	dbURL := pgtest.NewDatabase(t)
	srv := startPostgresInstances(t, dbURL, 2, "-store", "redis", "-redis-url", rds.URL)
	a, b := srv[0].URL, srv[1].URL

	t.Run("a sign-up on A is signed in on B, and its password signs in on B", func(t *testing.T) {
		onA := newVisitor(t, a)
		onA.signUp("Ada Lovelace", "ada@example.com", adaPassword)
		if got := accountOf(t, onA.onServer(b)).Name; got != "Ada Lovelace" {
			t.Errorf("account of the same cookie on B: got %q, want Ada Lovelace", got)
		}
		fresh := newVisitor(t, b)
		fresh.signIn("ada@example.com", adaPassword, false)
		if got := len(accountOf(t, fresh).Sessions); got != 2 {
			t.Errorf("sessions of the account seen on B: got %d, want 2", got)
		}
	})
	t.Run("an order on A opens on B", func(t *testing.T) {
		onA := newVisitor(t, a)
		onA.add(2, "2")
		order := onA.checkout()
		if got, want := orderLines(t, "GET "+order+" on B", onA.onServer(b).get(order)), "Eggs 2 $3.20 $6.40"; got != want {
			t.Errorf("order lines on B: got %q, want %q", got, want)
		}
	})
	t.Run("the sessions are in Redis, none in PostgreSQL", func(t *testing.T) {
		v := newVisitor(t, a)
		v.add(4, "1")
		if got := pgCount(t, pgConnect(t, dbURL), "sessions"); got != 0 {
			t.Errorf("PostgreSQL's sessions table: got %d rows, want none", got)
		}
		n, err := newRedisLockClient(t, rds).Exists(context.Background(), "scs:session:"+storeKey(v.cookie())).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("Redis holds no session for the visitor's cookie")
		}
	})
}

// TestPostgresQuickRestart: a PostgreSQL server that restarts faster than
// the pool's own idle check (one second) ends every pooled connection while
// they look alive. No request after the restart may fail for that: the
// lock and the session's load try a live connection, and the pool checks
// every connection before use once one was found dead.
func TestPostgresQuickRestart(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	srv := startServerOn(t, pg.NewDatabase(t))
	visitors := make([]*visitor, 20)
	for i := range visitors {
		visitors[i] = newVisitor(t, srv.URL)
	}
	// Each round sends one request per visitor at once, so that the pool
	// holds many connections, and returns the statuses that came back.
	round := func() map[int]int {
		var mu sync.Mutex
		got := map[int]int{}
		var wg sync.WaitGroup
		for _, v := range visitors {
			wg.Go(func() {
				r := v.getJSONWithin("/session-example")
				mu.Lock()
				got[r.Status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return got
	}
	if got := round(); got[http.StatusOK] != len(visitors) {
		t.Fatalf("before the restart: got statuses %v, want %d × 200", got, len(visitors))
	}
	pg.Stop()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got := round(); got[http.StatusOK] != len(visitors) {
			t.Errorf("round %d after the restart: got statuses %v, want %d × 200", i+1, got, len(visitors))
		}
	}
	for _, v := range visitors {
		if got := v.getJSONWithin("/session-example"); !strings.Contains(got.Body, `"viewCount":5`) {
			t.Errorf("after four rounds: got %d %s, want viewCount 5", got.Status, got.Body)
		}
	}
}

// TestPostgresStallIsBounded: a database that stalls (here, the sessions
// table locked from outside, as a long migration or a careless psql would)
// fails the requests that need it with the 500 page after the request's
// deadline, while it still stalls, instead of holding them for as long as
// it lasts; and the change they carried is not saved.
func TestPostgresStallIsBounded(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	srv := startServerOn(t, db)
	v := newVisitor(t, srv.URL)
	v.add(1, "2")

	ctx := context.Background()
	conn := pgConnect(t, db)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// The stall lasts until this test ends it: far longer than the
	// server's deadline, and than the client's patience below.
	// The answer must come while the table is still locked: the lock is
	// released only after it, so a server that waited out the stall
	// would give the client its 30 s timeout instead.
	r := v.post("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1"}})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "a cart change while the sessions table is locked", r, http.StatusInternalServerError)
	if got := v.cart().quantities(); got[1] != 2 || got[2] != 0 {
		t.Errorf("after the stall: got cart %v, want only the 2 flour added before it", got)
	}
}
