package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/gosessions/internal/session/lock"
	"example.com/gosessions/internal/session/sqlitestore"
)

// testLocker is lock.Local, the lock the program uses, with what the
// tests below need to order requests without luck: it counts the requests
// that have queued for each token's lock, it can stop the next request that
// takes a lock until the test lets it go on, and its leases can be told to
// lose their lock, as a lock in a shared store does when it expires.
type testLocker struct {
	local *lock.Local

	mu     sync.Mutex
	queued map[string]int // per token: requests counted by Local as holding or waiting
	gate   *lockGate      // stops the next request that takes a lock, if set

	checksLeft atomic.Int64 // Checks that succeed before the lock is lost; -1: never lost
}

func newTestLocker() *testLocker {
	l := &testLocker{local: lock.NewLocal(), queued: make(map[string]int)}
	l.checksLeft.Store(-1)
	return l
}

func (l *testLocker) Lock(ctx context.Context, token string) (lock.Lease, error) {
	lease, err := l.local.Lock(&queuedContext{Context: ctx, queued: func() { l.countQueued(token) }}, token)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	gate := l.gate
	l.gate = nil
	l.mu.Unlock()
	if gate != nil {
		close(gate.reached)
		<-gate.open
	}
	return testLease{Lease: lease, locker: l}, nil
}

// queuedContext reports the first call of its Done method. Local.Lock
// calls it only once it has counted the request among the lock's holders
// and waiters, in the select that then waits for the lock: from that moment
// the request surely learns whether the holder before it retired the token.
type queuedContext struct {
	context.Context
	once   sync.Once
	queued func()
}

func (c *queuedContext) Done() <-chan struct{} {
	c.once.Do(c.queued)
	return c.Context.Done()
}

func (l *testLocker) countQueued(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queued[token]++
}

// queuedCount returns how many requests have queued for token's lock.
func (l *testLocker) queuedCount(token string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queued[token]
}

// waitQueued waits until n requests in all have queued for token's lock.
func (l *testLocker) waitQueued(t *testing.T, token string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // bounds a broken test; nothing is timed
	for {
		l.mu.Lock()
		got := l.queued[token]
		l.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d requests queued for the session's lock, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// lockGate holds a request that has taken its session's lock, before it
// loads the session, until the test opens the gate.
type lockGate struct {
	reached chan struct{} // closed when a request is held at the gate
	open    chan struct{} // closed by the test to let it go on
}

// holdNext makes the next request that takes a lock wait at the returned
// gate.
func (l *testLocker) holdNext() *lockGate {
	g := &lockGate{reached: make(chan struct{}), open: make(chan struct{})}
	l.mu.Lock()
	l.gate = g
	l.mu.Unlock()
	return g
}

func (g *lockGate) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-g.reached:
	case <-time.After(10 * time.Second):
		t.Fatal("no request took the lock")
	}
}

// loseAfter makes the lock be lost after n more successful Checks, for
// every lease; n < 0 keeps it forever.
func (l *testLocker) loseAfter(n int64) { l.checksLeft.Store(n) }

type testLease struct {
	lock.Lease
	locker *testLocker
}

func (le testLease) Check(ctx context.Context) error {
	for {
		n := le.locker.checksLeft.Load()
		if n < 0 {
			return le.Lease.Check(ctx)
		}
		if n == 0 {
			return fmt.Errorf("test lock expired: %w", lock.ErrLost)
		}
		if le.locker.checksLeft.CompareAndSwap(n, n-1) {
			return le.Lease.Check(ctx)
		}
	}
}

// fencedStore is the SQLite store with the fence that a store in Redis can
// put on its own commit: it refuses to save for a request whose lease says
// that the lock is lost. scs calls CommitCtx, when a store has it, with the
// request's context.
type fencedStore struct{ *sqlitestore.Store }

func (s fencedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if lease, ok := lock.FromContext(ctx); ok {
		if err := lease.Check(ctx); err != nil {
			return fmt.Errorf("fenced commit: %w", err)
		}
	}
	return s.Store.Commit(token, b, expiry)
}

// DeleteCtx is fenced the same way: RenewToken and Destroy delete the old
// row through it.
func (s fencedStore) DeleteCtx(ctx context.Context, token string) error {
	if lease, ok := lock.FromContext(ctx); ok {
		if err := lease.Check(ctx); err != nil {
			return fmt.Errorf("fenced delete: %w", err)
		}
	}
	return s.Store.Delete(token)
}

// async sends a request in a goroutine; the answer arrives on the channel.
// Unlike do, it never calls t.Fatal, which only the test's goroutine may.
func (b *browser) async(method, path string, form url.Values) <-chan answer {
	done := make(chan answer, 1)
	go func() {
		req, err := http.NewRequest(method, b.base+path, strings.NewReader(form.Encode()))
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Accept", "text/html")
		resp, err := b.client.Do(req)
		if err != nil {
			done <- answer{body: err.Error()}
			return
		}
		resp.Body.Close()
		done <- answer{status: resp.StatusCode, header: resp.Header}
	}()
	return done
}

// A request that waited for its session's lock while the request before it
// renewed (sign-in) or destroyed (sign-out) the token must neither start a
// session of its own nor send a cookie, which would reach the browser last
// and replace the one the first request gave it.
func TestRequestQueuedBehindATokenChange(t *testing.T) {
	locker := newTestLocker()
	app := newTestApp(t, appOptions{locker: locker})
	app.createUser(t, "Ada", "ada@example.com", "correct horse")
	signIn := url.Values{"email": {"ada@example.com"}, "password": {"correct horse"}}

	t.Run("a double-clicked sign-in keeps the visitor signed in, cart and all", func(t *testing.T) {
		for try := range 30 {
			b := newBrowser(t, app.url)
			wantStatus(t, "add to the cart", b.post("/cart/items", url.Values{"ingredient_id": {"3"}, "qty": {"2"}}), http.StatusSeeOther)
			old := b.cookie()

			// The first click takes the lock and stays there until the
			// second one is queued behind it.
			gate := locker.holdNext()
			first := b.async(http.MethodPost, "/login", signIn)
			gate.waitReached(t)
			second := b.async(http.MethodPost, "/login", signIn)
			locker.waitQueued(t, old, 2)
			close(gate.open)

			a1, a2 := <-first, <-second
			for i, a := range []answer{a1, a2} {
				if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" {
					t.Fatalf("try %d, click %d: got status %d to %q (%s), want 303 to /account",
						try, i+1, a.status, a.header.Get("Location"), a.body)
				}
			}
			if a1.setCookie() == "" || a2.setCookie() != "" {
				t.Fatalf("try %d: got cookies %q and %q, want one from the first click only",
					try, a1.setCookie(), a2.setCookie())
			}
			wantSignedInWithCart(t, b)
			if app.storedRow(t, old).found {
				t.Errorf("try %d: the token from before sign-in still leads to a session", try)
			}
		}
	})

	t.Run("a GET queued behind a sign-out is sent to try again, without a cookie", func(t *testing.T) {
		b := newBrowser(t, app.url)
		wantStatus(t, "sign in", b.post("/login", signIn), http.StatusSeeOther)
		old := b.cookie()

		gate := locker.holdNext()
		signOut := b.async(http.MethodPost, "/logout", nil)
		gate.waitReached(t)
		queued := b.async(http.MethodGet, "/cart?sort=name", nil)
		locker.waitQueued(t, old, 2)
		close(gate.open)

		if a := <-signOut; a.status != http.StatusSeeOther || a.setCookie() == "" {
			t.Fatalf("sign-out: got status %d and cookie %q, want 303 with a new cookie", a.status, a.setCookie())
		}
		a := <-queued
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/cart?sort=name" {
			t.Errorf("queued GET: got status %d to %q, want 303 to the same URL", a.status, a.header.Get("Location"))
		}
		if c := a.header.Values("Set-Cookie"); len(c) != 0 {
			t.Errorf("queued GET: got Set-Cookie %q, want none", c)
		}
		if b.cookie() == old {
			t.Errorf("the browser still holds the token from before sign-out")
		}
		if a := b.get("/"); !strings.Contains(a.body, "Signed out.") {
			t.Errorf("GET / after the retry: want the sign-out's flash:\n%s", a.body)
		}
	})

	for _, tt := range []struct {
		path    string
		form    url.Values
		leadsTo string
	}{
		{"/cart/items", url.Values{"ingredient_id": {"1"}}, "/cart"},
		{"/cart/clear", nil, "/cart"},
		{"/logout", nil, "/"},
		{"/session/destroy", nil, "/session"},
	} {
		t.Run("a form to "+tt.path+" queued behind a sign-in is sent to "+tt.leadsTo, func(t *testing.T) {
			b := newBrowser(t, app.url)
			wantStatus(t, "add to the cart", b.post("/cart/items", url.Values{"ingredient_id": {"3"}, "qty": {"2"}}), http.StatusSeeOther)
			old := b.cookie()

			gate := locker.holdNext()
			first := b.async(http.MethodPost, "/login", signIn)
			gate.waitReached(t)
			queued := b.async(http.MethodPost, tt.path, tt.form)
			locker.waitQueued(t, old, 2)
			close(gate.open)

			if a := <-first; a.status != http.StatusSeeOther {
				t.Fatalf("sign-in: got status %d, want 303", a.status)
			}
			a := <-queued
			if a.status != http.StatusSeeOther || a.header.Get("Location") != tt.leadsTo {
				t.Errorf("got status %d to %q, want 303 to %s", a.status, a.header.Get("Location"), tt.leadsTo)
			}
			if c := a.header.Values("Set-Cookie"); len(c) != 0 {
				t.Errorf("got Set-Cookie %q, want none", c)
			}
			wantSignedInWithCart(t, b) // the queued form was not run
		})
	}
}

// wantSignedInWithCart checks that b's session is signed in as Ada with
// 2 × ingredient 3 in the cart.
func wantSignedInWithCart(t *testing.T, b *browser) {
	t.Helper()
	if a := b.getJSON("/account"); a.status != http.StatusOK || !strings.Contains(a.body, `"name":"Ada"`) {
		t.Errorf("GET /account: got status %d, %s; want Ada's account", a.status, a.body)
	}
	a := b.getJSON("/session")
	wantStatus(t, "GET /session", a, http.StatusOK)
	for _, want := range []string{`"userId":`, `"chosenIngredients":[{"id":3,"qty":2}]`} {
		if !strings.Contains(a.body, want) {
			t.Errorf("got session %s, want %s in it", a.body, want)
		}
	}
}

// No request may save without holding its session's lock: when the lock
// was lost (a lock in a shared store that expired under a slow request),
// the answer is a 503 and nothing is saved.
func TestRequestThatLostItsLockSavesNothing(t *testing.T) {
	tests := []struct {
		name   string
		checks int64 // Checks that succeed before the loss
		fence  bool
	}{
		{"lost before the commit", 0, false},
		{"lost when the store commits", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locker := newTestLocker()
			app := newTestApp(t, appOptions{locker: locker, fence: tt.fence})
			b := newBrowser(t, app.url)
			for range 2 { // the second one holds the lock and checks it
				wantStatus(t, "add", b.post("/cart/items", url.Values{"ingredient_id": {"1"}}), http.StatusSeeOther)
			}
			before := app.storedRow(t, b.cookie())

			locker.loseAfter(tt.checks)
			a := b.post("/cart/items", url.Values{"ingredient_id": {"2"}})
			locker.loseAfter(-1)

			wantStatus(t, "add after the lock was lost", a, http.StatusServiceUnavailable)
			if !strings.Contains(a.body, "nothing was saved") {
				t.Errorf("got body without the message:\n%s", a.body)
			}
			if loc, c := a.header.Get("Location"), a.header.Values("Set-Cookie"); loc != "" || len(c) != 0 {
				t.Errorf("got Location %q and Set-Cookie %q, want neither", loc, c)
			}
			if after := app.storedRow(t, b.cookie()); string(after.data) != string(before.data) {
				t.Errorf("the stored session changed although the lock was lost")
			}
			if !strings.Contains(app.log.String(), "session lock lost") {
				t.Errorf("the lost lock was not logged:\n%s", app.log.String())
			}
			cart := b.getJSON("/cart")
			if !strings.Contains(cart.body, `"id":1,"name":"Flour","qty":2`) || strings.Contains(cart.body, `"id":2`) {
				t.Errorf("got cart %s, want only the two saved adds of ingredient 1", cart.body)
			}
		})
	}
}

// A sign-in renews the token, which deletes the old row; a store that
// fences its deletes refuses that once the lock is lost. The visitor gets
// the same 503 as for a lost commit, not a 500, and keeps the old session.
func TestSignInThatLostItsLockAnswers503(t *testing.T) {
	locker := newTestLocker()
	app := newTestApp(t, appOptions{locker: locker, fence: true})
	app.createUser(t, "Ada", "ada@example.com", "correct horse")
	b := newBrowser(t, app.url)
	for range 2 { // the second one holds the lock
		wantStatus(t, "add", b.post("/cart/items", url.Values{"ingredient_id": {"1"}}), http.StatusSeeOther)
	}
	before := app.storedRow(t, b.cookie())

	locker.loseAfter(0)
	a := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"correct horse"}})
	locker.loseAfter(-1)

	wantStatus(t, "sign-in after the lock was lost", a, http.StatusServiceUnavailable)
	if c := a.header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("got Set-Cookie %q, want none", c)
	}
	if after := app.storedRow(t, b.cookie()); string(after.data) != string(before.data) {
		t.Errorf("the stored session changed although the lock was lost")
	}
}

// failingLocker fails every Lock with err, as a locker in a shared store
// does when it cannot take the lock.
type failingLocker struct{ err error }

func (l failingLocker) Lock(context.Context, string) (lock.Lease, error) { return nil, l.err }

// TestLockFailuresSayWhy: a locker that timed out on the session's own
// lock, one at capacity, and one whose store failed give three different
// answers, and none of them runs the handler.
func TestLockFailuresSayWhy(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		text       string
		retryAfter string
	}{
		{"the session's lock stayed taken", fmt.Errorf("session lock: %w", context.DeadlineExceeded),
			http.StatusServiceUnavailable, "Another request of your session is still running", ""},
		{"every lock connection is in use", fmt.Errorf("%w: pool full", lock.ErrBusy),
			http.StatusServiceUnavailable, "The server is busy", "1"},
		{"the lock's store failed", errors.New("session lock: connection refused"),
			http.StatusInternalServerError, "Something went wrong", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, appOptions{locker: failingLocker{tt.err}})
			b := newBrowser(t, app.url)
			// A first visit has no token, so nothing to lock: it gets one.
			wantStatus(t, "the first visit", b.get("/"), http.StatusOK)
			a := b.post("/cart/items", url.Values{"ingredient_id": {"1"}, "qty": {"1"}})
			wantStatus(t, "POST /cart/items", a, tt.status)
			if !strings.Contains(a.body, tt.text) {
				t.Errorf("got body %q, want it to say %q", a.body, tt.text)
			}
			if got := a.header.Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After: got %q, want %q", got, tt.retryAfter)
			}
		})
	}
}
