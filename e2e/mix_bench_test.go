package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/gosessions/internal/redistest"
)

// The mixed-load benchmark drives the whole shop, not one page: returning
// visitors, each with an account made through the sign-up form and a
// cookie jar of its own, browse the catalog, fill and change their carts,
// look at the session pages, sign out and in again, and check out, for
// -load.duration, from -load.conns connections. Run it alone, once per
// sub-benchmark:
//
//	go test ./e2e -run '^$' -bench Mix -benchtime 1x -load.duration 8s
//	go test ./e2e -run '^$' -bench Mix/sqlite$ -benchtime 1x -load.duration 2s -mix.visitors 100
//
// Each redirect (the 303 after a form) is followed as a browser does, and
// the page it leads to is timed and counted as a request of its own, under
// its own route: a cart-add is one POST /cart/items ("cart-add") and one
// GET /cart ("cart").
//
// Every answer is checked, and the benchmark fails on any that a real
// visitor would not get: a status other than the page's, a page that no
// longer shows the visitor signed in (a lost session), a cart or a view
// count other than the one the visitor's own requests made (a lost update).
// One answer is expected now and then and only counted: a 503 to a sign-in
// with Retry-After, when the server already hashes as many passwords as it
// has cores (the visitor waits and sends the form again).
var (
	mixVisitors = flag.Int("mix.visitors", 500, "returning visitors of the mixed load, each with an account")
	mixOnly     = flag.String("mix.only", "", "one action of mixActions (such as \"cart add\") for every visit, to see what it costs alone")
)

// mixActions are what a visitor does, with how often, in percent. Most
// visits read the catalog. A sign-in is rare, as in a real shop where a
// session lasts for days, and costly: it hashes a password, some 40 ms of
// a core on an idle machine, where any other page takes well under one.
// At 2% the sign-ins still take most of the server's CPU; at 5% the
// server hashes as fast as it can and answers 503s.
var mixActions = []struct {
	name    string
	percent int
	do      func(*mixWorker, *mixVisitor) error
}{
	{"ingredient page", 30, (*mixWorker).openIngredient},
	{"catalog", 15, (*mixWorker).browseCatalog},
	{"cart add", 15, (*mixWorker).addToCart},
	{"cart change", 10, (*mixWorker).changeCart},
	{"session example", 10, (*mixWorker).sessionExample},
	{"inspector", 5, (*mixWorker).inspect},
	{"cart view", 8, (*mixWorker).viewCart},
	{"sign out and in", 2, (*mixWorker).signOutAndIn},
	{"checkout", 5, (*mixWorker).checkOut},
}

// mixRoutes are the routes the figures are reported for, in this order.
var mixRoutes = []string{
	"ingredient", "catalog", "cart-add", "cart-change", "cart", "session-example", "inspector",
	"logout", "home", "login-form", "login", "account", "checkout", "order",
}

// catalogSize is how many ingredients the catalog holds (ids 1 to 12).
const catalogSize = 12

func BenchmarkMix(b *testing.B) {
	for _, store := range []string{"memory", "sqlite"} {
		b.Run(store, func(b *testing.B) {
			runMix(b, 1, func() *server { return startServer(b, "-store", store) })
		})
	}
	// Two instances must share the accounts and orders as well as the
	// sessions: an instance ignores a session signed in to an account of
	// another database. So with Redis for the sessions, the data is in
	// PostgreSQL, for one instance too, to compare like with like.
	redis := func(b *testing.B) func() *server {
		rds := redistest.Start(b)
		return postgresServers(b, "-store", "redis", "-redis-url", rds.URL)
	}
	b.Run("redis", func(b *testing.B) { runMix(b, 1, redis(b)) })
	b.Run("redis-two-instances", func(b *testing.B) { runMix(b, 2, redis(b)) })
	// PostgreSQL for the data and the sessions (shared_bench_test.go).
	b.Run("postgres", func(b *testing.B) { runMix(b, 1, postgresServers(b)) })
	b.Run("postgres-two-instances", func(b *testing.B) { runMix(b, 2, postgresServers(b)) })
}

// mixVisitor is one returning visitor: its cookie jar, its account, and
// what its session should hold, as its own requests left it.
type mixVisitor struct {
	jar         *cookiejar.Jar
	name, email string
	signedIn    bool
	cart        map[int64]int // ingredient id → quantity
	views       int           // the session example's view count
	failed      bool          // had a wrong answer: it sends no more
}

const mixPassword = "correct horse battery staple"

// fingerprint writes the expected cart as the cart page's checkout form
// does: "1x3,2x2", by ingredient id.
func (v *mixVisitor) fingerprint() string {
	parts := []string{}
	for _, id := range slices.Sorted(maps.Keys(v.cart)) {
		parts = append(parts, fmt.Sprintf("%dx%d", id, v.cart[id]))
	}
	return strings.Join(parts, ",")
}

// mixWorker sends the requests of its share of the visitors, one at a
// time, and keeps what it measured. With several instances it has a
// connection to each and sends each request to the next one, as a load
// balancer without sticky sessions does: every visitor's requests land on
// every instance, so the instances must share each session to pass.
type mixWorker struct {
	addrs      []string // host:port of each instance
	transports []*connTransport
	turn       int
	rng        *rand.Rand
	latencies  map[string][]time.Duration // by route
	busy       int                        // sign-ins answered 503 with Retry-After
	limited    int                        // sign-ins answered 429
	failures   int
	firstError error
}

// mixAnswer is what a worker reads of an answer.
type mixAnswer struct {
	status int
	header http.Header
	body   string
}

// mixRoute names the route of a request for the figures.
func mixRoute(method, path string) string {
	switch {
	case method == http.MethodGet && path == "/":
		return "home"
	case method == http.MethodGet && path == "/ingredients":
		return "catalog"
	case method == http.MethodGet && strings.HasPrefix(path, "/ingredients/"):
		return "ingredient"
	case method == http.MethodPost && path == "/cart/items":
		return "cart-add"
	case method == http.MethodPost && strings.HasPrefix(path, "/cart/items/"):
		return "cart-change"
	case method == http.MethodGet && path == "/session":
		return "inspector"
	case method == http.MethodGet && path == "/login":
		return "login-form"
	case method == http.MethodGet && strings.HasPrefix(path, "/orders/"):
		return "order"
	}
	return strings.TrimPrefix(path, "/") // cart, session-example, logout, login, account, checkout, signup
}

// send sends one request of visitor v to the next instance, reads the
// whole answer, and records its latency under its route. A form goes as a
// same-origin browser form would.
func (w *mixWorker) send(v *mixVisitor, method, path string, form url.Values) (mixAnswer, error) {
	i := w.turn % len(w.addrs)
	w.turn++
	base := "http://" + w.addrs[i]
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return mixAnswer{}, err
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	client := http.Client{
		Jar:           v.jar,
		Transport:     w.transports[i],
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return mixAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	route := mixRoute(method, path)
	w.latencies[route] = append(w.latencies[route], time.Since(start))
	if err != nil {
		return mixAnswer{}, fmt.Errorf("%s %s: read the answer: %w", method, path, err)
	}
	return mixAnswer{resp.StatusCode, resp.Header, string(b)}, nil
}

// page gets path as a browser does and checks that it answers 200 and
// shows the visitor signed in, or not, as it should be.
func (w *mixWorker) page(v *mixVisitor, path string) (string, error) {
	a, err := w.send(v, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	if a.status != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d, want 200", path, a.status)
	}
	who := `<span class="who">` + v.name + `</span>`
	if shown := strings.Contains(a.body, who); shown != v.signedIn {
		return "", fmt.Errorf("GET %s: signed in as %s: %t, want %t (a lost session?)", path, v.name, shown, v.signedIn)
	}
	return a.body, nil
}

// submit posts a form and checks that it answers 303 to a page starting
// with want, which it returns.
func (w *mixWorker) submit(v *mixVisitor, path string, form url.Values, want string) (string, error) {
	a, err := w.send(v, http.MethodPost, path, form)
	if err != nil {
		return "", err
	}
	loc := a.header.Get("Location")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(loc, want) {
		return "", fmt.Errorf("POST %s: status %d to %q, want 303 to %s…\n%s", path, a.status, loc, want, pageText(a.body))
	}
	return loc, nil
}

var (
	checkoutKeyRE = regexp.MustCompile(`name="checkout_key" value="([^"]*)"`)
	cartFieldRE   = regexp.MustCompile(`name="cart" value="([^"]*)"`)
)

// cartPage gets the cart page and checks that it lists the cart the
// visitor expects. It returns the checkout form's fields (empty for an
// empty cart, which has no checkout form).
func (w *mixWorker) cartPage(v *mixVisitor) (key, fingerprint string, err error) {
	body, err := w.page(v, "/cart")
	if err != nil {
		return "", "", err
	}
	if m := checkoutKeyRE.FindStringSubmatch(body); m != nil {
		key = m[1]
	}
	if m := cartFieldRE.FindStringSubmatch(body); m != nil {
		fingerprint = m[1]
	}
	if want := v.fingerprint(); fingerprint != want {
		return "", "", fmt.Errorf("GET /cart: cart %q, want %q (a lost update?)", fingerprint, want)
	}
	if fingerprint != "" && key == "" {
		return "", "", errors.New("GET /cart: a cart without a checkout key")
	}
	return key, fingerprint, nil
}

func (w *mixWorker) openIngredient(v *mixVisitor) error {
	_, err := w.page(v, "/ingredients/"+strconv.Itoa(1+w.rng.IntN(catalogSize)))
	return err
}

func (w *mixWorker) browseCatalog(v *mixVisitor) error {
	_, err := w.page(v, "/ingredients")
	return err
}

// addToCart adds one to three of an ingredient, as the ingredient page's
// form does, and follows the redirect to the cart.
func (w *mixWorker) addToCart(v *mixVisitor) error {
	id, qty := int64(1+w.rng.IntN(catalogSize)), 1+w.rng.IntN(3)
	form := url.Values{"ingredient_id": {strconv.FormatInt(id, 10)}, "qty": {strconv.Itoa(qty)}}
	if _, err := w.submit(v, "/cart/items", form, "/cart"); err != nil {
		return err
	}
	v.cart[id] = min(v.cart[id]+qty, 99)
	_, _, err := w.cartPage(v)
	return err
}

// changeCart sets the quantity of one line of the cart, from 0 (its
// Remove button) to 3; with an empty cart, the visitor adds instead.
func (w *mixWorker) changeCart(v *mixVisitor) error {
	if len(v.cart) == 0 {
		return w.addToCart(v)
	}
	ids := slices.Sorted(maps.Keys(v.cart))
	id, qty := ids[w.rng.IntN(len(ids))], w.rng.IntN(4)
	form := url.Values{"qty": {strconv.Itoa(qty)}}
	if _, err := w.submit(v, fmt.Sprintf("/cart/items/%d", id), form, "/cart"); err != nil {
		return err
	}
	if qty == 0 {
		delete(v.cart, id)
	} else {
		v.cart[id] = qty
	}
	_, _, err := w.cartPage(v)
	return err
}

// sessionExample is the original tutorial's page: one more view, and the
// cart replaced by three of ingredient 1.
func (w *mixWorker) sessionExample(v *mixVisitor) error {
	body, err := w.page(v, "/session-example")
	if err != nil {
		return err
	}
	v.views++
	v.cart = map[int64]int{1: 3}
	if want := "You have viewed this page " + plural(v.views, "time", "times") + "."; !strings.Contains(body, want) {
		return fmt.Errorf("GET /session-example: %q not on the page (a lost update?)", want)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (w *mixWorker) inspect(v *mixVisitor) error {
	_, err := w.page(v, "/session")
	return err
}

func (w *mixWorker) viewCart(v *mixVisitor) error {
	_, _, err := w.cartPage(v)
	return err
}

// signOutAndIn is a visitor signed in who signs in again, as a real one
// does: signs out (which ends the session, cart included), lands on the
// home page, opens the sign-in form and sends it, and lands on the
// account page.
func (w *mixWorker) signOutAndIn(v *mixVisitor) error {
	loc, err := w.submit(v, "/logout", url.Values{}, "/")
	if err != nil {
		return err
	}
	if loc != "/" {
		return fmt.Errorf("POST /logout: 303 to %q, want /", loc)
	}
	v.signedIn, v.cart, v.views = false, map[int64]int{}, 0
	if _, err := w.page(v, "/"); err != nil {
		return err
	}
	if _, err := w.page(v, "/login"); err != nil {
		return err
	}
	form := url.Values{"email": {v.email}, "password": {mixPassword}}
	if err := w.hashingForm(v, "/login", form); err != nil {
		return err
	}
	v.signedIn = true
	_, err = w.page(v, "/account")
	return err
}

// hashingForm sends a form that hashes a password (sign-up, sign-in) until
// it is answered 303 to /account. A 503 with Retry-After says that the
// server hashes as many passwords as it can already: the visitor waits as
// long as it says and sends the form again.
func (w *mixWorker) hashingForm(v *mixVisitor, path string, form url.Values) error {
	for range 10 {
		a, err := w.send(v, http.MethodPost, path, form)
		if err != nil {
			return err
		}
		switch {
		case a.status == http.StatusSeeOther && a.header.Get("Location") == "/account":
			return nil
		case a.status == http.StatusServiceUnavailable && a.header.Get("Retry-After") != "" &&
			strings.Contains(a.body, "busy checking other passwords"):
			w.busy++
			seconds, _ := strconv.Atoi(a.header.Get("Retry-After"))
			time.Sleep(time.Duration(max(seconds, 1)) * time.Second)
		case a.status == http.StatusTooManyRequests:
			w.limited++
			return fmt.Errorf("POST %s: 429, the account's sign-in limit: %s", path, pageText(a.body))
		default:
			return fmt.Errorf("POST %s: status %d to %q, want 303 to /account\n%s", path, a.status, a.header.Get("Location"), pageText(a.body))
		}
	}
	return fmt.Errorf("POST %s: 503 ten times", path)
}

// checkOut opens the cart page and sends its checkout form, with the key
// and the cart it shows, and follows the redirect to the order. With an
// empty cart, the visitor adds an ingredient first.
func (w *mixWorker) checkOut(v *mixVisitor) error {
	if len(v.cart) == 0 {
		if err := w.addToCart(v); err != nil {
			return err
		}
	}
	key, fingerprint, err := w.cartPage(v)
	if err != nil {
		return err
	}
	form := url.Values{"checkout_key": {key}, "cart": {fingerprint}}
	loc, err := w.submit(v, "/checkout", form, "/orders/")
	if err != nil {
		return err
	}
	v.cart = map[int64]int{}
	body, err := w.page(v, loc)
	if err != nil {
		return err
	}
	if want := "<h1>Order " + strings.TrimPrefix(loc, "/orders/") + "</h1>"; !strings.Contains(body, want) {
		return fmt.Errorf("GET %s: %q not on the page", loc, want)
	}
	return nil
}

// runMix starts instances servers with start, signs up *mixVisitors
// visitors through them, and runs the mixed load for -load.duration.
func runMix(b *testing.B, instances int, start func() *server) {
	b.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as in runLoad
	total := 0
	for _, a := range mixActions {
		total += a.percent
	}
	if total != 100 {
		b.Fatalf("mixActions add up to %d%%, want 100%%", total)
	}
	var only func(*mixWorker, *mixVisitor) error
	if *mixOnly != "" {
		for _, a := range mixActions {
			if a.name == *mixOnly {
				only = a.do
			}
		}
		if only == nil {
			b.Fatalf("-mix.only %q: no such action", *mixOnly)
		}
	}
	var servers []*server
	addrs, pid := startInstances(b, instances, func() *server {
		srv := start()
		servers = append(servers, srv)
		return srv
	})
	conns := *loadConns
	workers := make([]*mixWorker, conns)
	for i := range workers {
		w := &mixWorker{addrs: addrs, rng: rand.New(rand.NewPCG(uint64(i), 1)), latencies: map[string][]time.Duration{}}
		for _, addr := range addrs {
			t := &connTransport{addr: addr}
			defer t.close()
			w.transports = append(w.transports, t)
		}
		workers[i] = w
	}
	visitors := make([]*mixVisitor, *mixVisitors)
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // emails unused in this database
	for i := range visitors {
		jar, err := cookiejar.New(nil)
		if err != nil {
			b.Fatal(err)
		}
		visitors[i] = &mixVisitor{
			jar:   jar,
			name:  fmt.Sprintf("Visitor %d", i),
			email: fmt.Sprintf("visitor-%d-%s@example.com", i, run),
			cart:  map[int64]int{},
		}
	}

	// Sign-ups hash a password each: a few at a time, so that few wait long
	// enough for a 503.
	var wg sync.WaitGroup
	signups := min(conns, 4)
	errs := make([]error, signups)
	for s := range signups {
		wg.Go(func() {
			w := workers[s]
			for i := s; i < len(visitors) && errs[s] == nil; i += signups {
				v := visitors[i]
				form := url.Values{"name": {v.name}, "email": {v.email}, "password": {mixPassword}}
				if errs[s] = w.hashingForm(v, "/signup", form); errs[s] == nil {
					v.signedIn = true
				}
			}
			delete(w.latencies, "signup")
			w.busy = 0
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatalf("sign up: %v", err)
	}

	// The load: each worker takes its share of the visitors in turn, and
	// each visitor does one action, picked by mixActions's percentages.
	pick := func(w *mixWorker) func(*mixWorker, *mixVisitor) error {
		if only != nil {
			return only
		}
		n := w.rng.IntN(100)
		for _, a := range mixActions {
			if n -= a.percent; n < 0 {
				return a.do
			}
		}
		panic("unreachable")
	}
	ctx, stop := context.WithCancel(context.Background())
	actions := make([]int, conns)
	finish := measure(b, pid)
	for wi, w := range workers {
		wg.Go(func() {
			var mine []*mixVisitor
			for i := wi; i < len(visitors); i += conns {
				mine = append(mine, visitors[i])
			}
			for ctx.Err() == nil && len(mine) > 0 {
				for _, v := range mine {
					if ctx.Err() != nil {
						break
					}
					if err := pick(w)(w, v); err != nil {
						// A visitor that got a wrong answer no longer knows
						// what its session holds: it stops.
						v.failed = true
						w.failures++
						if w.firstError == nil {
							w.firstError = fmt.Errorf("%s: %w", v.name, err)
						}
					}
					actions[wi]++
				}
				mine = slices.DeleteFunc(mine, func(v *mixVisitor) bool { return v.failed })
			}
		})
	}
	fixedTime(*loadDuration)(ctx)
	stop()
	wg.Wait()
	res := finish()

	// The figures: every request together, then each route.
	byRoute := map[string][]time.Duration{}
	busy, limited, failures, done := 0, 0, 0, 0
	var firstError error
	for wi, w := range workers {
		for route, l := range w.latencies {
			byRoute[route] = append(byRoute[route], l...)
			res.latencies = append(res.latencies, l...)
		}
		busy += w.busy
		limited += w.limited
		failures += w.failures
		done += actions[wi]
		if firstError == nil {
			firstError = w.firstError
		}
	}
	slices.Sort(res.latencies)
	serverTimes := map[string][]time.Duration{}
	for _, srv := range servers {
		for route, l := range handlerTimes(b, srv) {
			serverTimes[route] = append(serverTimes[route], l...)
		}
	}
	res.report(b)
	b.ReportMetric(float64(done)/res.elapsed.Seconds(), "actions/s")
	for _, route := range mixRoutes {
		l := byRoute[route]
		if len(l) == 0 {
			continue
		}
		slices.Sort(l)
		pct := func(p float64) float64 { return ms(l[min(len(l)-1, int(p*float64(len(l))))]) }
		b.ReportMetric(float64(len(l)), route+"-count")
		b.ReportMetric(float64(len(l))/res.elapsed.Seconds(), route+"-req/s")
		b.ReportMetric(pct(0.50), route+"-p50-ms")
		b.ReportMetric(pct(0.99), route+"-p99-ms")
		if l := serverTimes[route]; len(l) > 0 {
			slices.Sort(l)
			b.ReportMetric(ms(l[len(l)/2]), route+"-server-p50-ms")
			b.ReportMetric(ms(l[min(len(l)-1, int(0.99*float64(len(l))))]), route+"-server-p99-ms")
		}
	}
	b.ReportMetric(float64(busy), "login-503")
	b.ReportMetric(float64(limited), "login-429")
	if failures > 0 {
		b.Errorf("%d visitors got a wrong answer, want none; the first: %v", failures, firstError)
	}
}

var requestLineRE = regexp.MustCompile(`method=(\S+) path=(\S+) status=\d+ duration=(\S+)`)

// handlerTimes returns the time the server itself took for each request,
// by route, from its log (see reportHandlerTimes).
func handlerTimes(b *testing.B, srv *server) map[string][]time.Duration {
	b.Helper()
	times := map[string][]time.Duration{}
	for line := range strings.Lines(srv.Log()) {
		m := requestLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[3])
		if err != nil {
			b.Fatalf("request log line with a wrong duration: %s", line)
		}
		route := mixRoute(m[1], m[2])
		times[route] = append(times[route], d)
	}
	return times
}
