package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/redistest"
	"example.com/gosessions/internal/session"
)

// The Redis lock of a session is a key with a time to live, so that a server
// that dies holding it does not lock its visitor out for good. A request
// slower than that time to live must keep its lock all the same, and a
// request that loses it anyway must not save.

// redisLockTTL is the lock's time to live in these tests: short, so that a
// request of a few seconds outlives it several times.
const redisLockTTL = time.Second

func TestRedisSlowRequestKeepsItsLock(t *testing.T) {
	t.Parallel()
	rds := redistest.Start(t)
	srv := make([]*server, 2)
	for i := range srv {
		srv[i] = startServer(t, "-store", "redis", "-redis-url", rds.URL,
			"-redis-lock-ttl", redisLockTTL.String())
	}
	admin := newRedisLockClient(t, rds)

	t.Run("a request of the same session on another instance waits for the slow one, and both changes are kept", func(t *testing.T) {
		onA := newVisitor(t, srv[0].URL)
		onB := onA.onServer(srv[1].URL)
		wantStatus(t, "GET /", onA.get("/"), http.StatusOK) // the session the two requests share
		admin.waitLockFree(t, onA.cookie())                 // GET / may release it after its answer

		finish := onA.slowPost("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1"}})
		admin.waitLockHeld(t, onA.cookie())
		added := make(chan response, 1)
		go func() { added <- onB.postWithin("/cart/items", url.Values{"ingredient_id": {"5"}, "qty": {"1"}}) }()
		time.Sleep(3 * redisLockTTL) // the slow request outlives its lock's time to live
		redirectsTo(t, "slow POST /cart/items on A", finish(), "/cart")
		redirectsTo(t, "POST /cart/items on B meanwhile", <-added, "/cart")

		want := map[int64]int{2: 1, 5: 1}
		if got := onA.cart().quantities(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cart: got %v, want %v (a change acknowledged with a redirect was lost)", got, want)
		}
	})

	t.Run("a request that lost its lock answers 503 and saves nothing", func(t *testing.T) {
		onA := newVisitor(t, srv[0].URL)
		onB := onA.onServer(srv[1].URL)
		wantStatus(t, "GET /", onA.get("/"), http.StatusOK)
		admin.waitLockFree(t, onA.cookie())

		finish := onA.slowPost("/cart/items", url.Values{"ingredient_id": {"2"}, "qty": {"1"}})
		admin.waitLockHeld(t, onA.cookie())
		admin.takeLockAway(t, onA.cookie()) // as if it had expired
		onB.add(5, "1")                     // runs at once: the lock is free
		wantStatus(t, "slow POST /cart/items on A, whose lock was taken", finish(), http.StatusServiceUnavailable)

		want := map[int64]int{5: 1}
		if got := onA.cart().quantities(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("cart: got %v, want %v (only the change of the request that held the lock)", got, want)
		}
	})
}

// slowPost starts a same-origin form POST of path whose body arrives but for
// its last byte, so that the request holds its session's lock while the
// server waits for the rest. finish sends that byte and returns the answer.
func (v *visitor) slowPost(path string, form url.Values) (finish func() response) {
	v.t.Helper()
	body := form.Encode()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, v.base+path, pr)
	if err != nil {
		v.t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")

	type result struct {
		r   response
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := v.client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, err}
	}()
	go func() { _, _ = io.WriteString(pw, body[:len(body)-1]) }()

	return func() response {
		v.t.Helper()
		go func() {
			_, _ = io.WriteString(pw, body[len(body)-1:])
			pw.Close()
		}()
		res := <-done
		if res.err != nil {
			v.t.Fatalf("slow POST %s: %v", path, res.err)
		}
		return res.r
	}
}

// postWithin is post for a goroutine other than the test's: it reports a
// failed request as a response with status 0 and the error as its body,
// rather than calling t.Fatal.
func (v *visitor) postWithin(path string, form url.Values) response {
	req, err := http.NewRequest(http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return response{Body: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := v.client.Do(req)
	if err != nil {
		return response{Body: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// redisLockClient looks at and takes away the servers' session locks, which
// live in Redis under "session-lock:" and the hash of the cookie token.
type redisLockClient struct{ *goredis.Client }

func newRedisLockClient(t *testing.T, rds *redistest.Server) redisLockClient {
	t.Helper()
	opts, err := goredis.ParseURL(rds.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return redisLockClient{c}
}

func redisLockKey(cookie string) string { return "session-lock:" + session.HashToken(cookie) }

// waitLockHeld waits until a request holds the lock of the session with this
// cookie, and waitLockFree until none does.
func (c redisLockClient) waitLockHeld(t *testing.T, cookie string) {
	t.Helper()
	c.waitLock(t, cookie, true)
}

func (c redisLockClient) waitLockFree(t *testing.T, cookie string) {
	t.Helper()
	c.waitLock(t, cookie, false)
}

func (c redisLockClient) waitLock(t *testing.T, cookie string, held bool) {
	t.Helper()
	waitLockState(t, held, func() bool {
		n, err := c.Exists(context.Background(), redisLockKey(cookie)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	})
}

// waitLockState polls isHeld, a check of a session lock in its store,
// until it says held. The 10 s only keep a broken server from hanging the
// test.
func waitLockState(t *testing.T, held bool, isHeld func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for isHeld() != held {
		if time.Now().After(deadline) {
			t.Fatalf("session lock: still held=%v after 10s, want held=%v", !held, held)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// takeLockAway deletes the lock of the session with this cookie behind its
// holder's back.
func (c redisLockClient) takeLockAway(t *testing.T, cookie string) {
	t.Helper()
	if err := c.Del(context.Background(), redisLockKey(cookie)).Err(); err != nil {
		t.Fatal(err)
	}
}
