package e2e

// The README's experiments, one test each, on the real binary. The README's
// own commands run in TestReadmeCommands; these pin what they show.

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestExperimentTwoVisitorsTwoCounts(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	alice, bob := newVisitor(t, srv.URL), newVisitor(t, srv.URL)

	// Interleaved, each jar keeps its own count.
	for _, step := range []struct {
		who  *visitor
		name string
		want int
	}{{alice, "alice", 1}, {alice, "alice", 2}, {bob, "bob", 1}, {alice, "alice", 3}, {bob, "bob", 2}} {
		if got := step.who.sessionExample().ViewCount; got != step.want {
			t.Fatalf("%s: got viewCount %d, want %d", step.name, got, step.want)
		}
	}
	if alice.cookie() == bob.cookie() {
		t.Errorf("both jars hold the token %q, want one each", alice.cookie())
	}
}

func TestExperimentFixation(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	db := dbReadOnly(t, srv.DBPath)
	u, _ := url.Parse(srv.URL)
	plant := func(v *visitor, token string) {
		v.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: token, Path: "/"}})
	}
	const email, password = "grace@example.com", "cobol-is-fine-1959"
	newVisitor(t, srv.URL).signUp("Grace Hopper", email, password)

	t.Run("a made-up token is never adopted", func(t *testing.T) {
		v := newVisitor(t, srv.URL)
		plant(v, "made-up-by-mallory")
		if got := v.sessionExample().ViewCount; got != 1 {
			t.Errorf("got viewCount %d, want 1 (a new session)", got)
		}
		if got := v.cookie(); got == "made-up-by-mallory" || got == "" {
			t.Errorf("got token %q, want one the server made", got)
		}
	})

	t.Run("a planted token is worthless once its victim signs in", func(t *testing.T) {
		// Mallory gets a real token, and plants it in the browser Grace
		// will sign in with.
		mallory := newVisitor(t, srv.URL)
		mallory.sessionExample()
		planted := mallory.cookie()
		grace := newVisitor(t, srv.URL)
		plant(grace, planted)

		grace.signIn(email, password, false)
		if got := grace.cookie(); got == planted || got == "" {
			t.Fatalf("after sign-in Grace's token is %q, want a new one", got)
		}
		if dbHasSession(t, db, planted) {
			t.Errorf("the planted token's session is still stored")
		}
		wantStatus(t, "GET /account as Grace", grace.get("/account"), http.StatusOK)
		redirectsTo(t, "GET /account with the planted token", mallory.get("/account"), "/login?next=/account")
	})
}

func TestExperimentLostUpdate(t *testing.T) {
	t.Parallel()

	t.Run("with the lock, 50 concurrent adds make 50", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t)
		const n = 50
		v := newBusyVisitor(t, srv.URL, n)
		wantStatus(t, "POST /cart/clear (starts the session)", v.post("/cart/clear", nil), http.StatusSeeOther)

		form := url.Values{"ingredient_id": {"1"}}
		if errs := inParallel(n, func(int) error {
			status, _, err := v.tryRequest(http.MethodPost, "/cart/items", form, "")
			if err == nil && status != http.StatusSeeOther {
				err = fmt.Errorf("POST /cart/items: got status %d, want 303", status)
			}
			return err
		}); len(errs) > 0 {
			t.Fatalf("%d of %d requests failed, first: %v", len(errs), n, errs[0])
		}
		if got := v.cart().quantities(); got[1] != n || len(got) != 1 {
			t.Errorf("got cart %v, want only ingredient 1 × %d", got, n)
		}
	})

	// Without the lock the loss is certain, not likely, when one add runs
	// entirely while another holds its copy of the session: the first add
	// has loaded the (empty) cart and waits for its form; the second adds
	// one and saves; then the first gets its form, adds one to its stale
	// copy and saves over the second's cart.
	t.Run("without the lock, an add made while another runs is lost", func(t *testing.T) {
		t.Parallel()
		srv := startServer(t, "-session-lock=false")
		v := newVisitor(t, srv.URL)
		wantStatus(t, "POST /cart/clear (starts the session)", v.post("/cart/clear", nil), http.StatusSeeOther)

		first := v.addWithHeldForm(1)
		v.add(1, "") // the second add, answered while the first is held
		if got := first(); got != http.StatusSeeOther {
			t.Fatalf("the first add: got status %d, want 303", got)
		}
		if got := v.cart().quantities(); got[1] != 1 {
			t.Errorf("got ingredient 1 × %d after two adds answered 303, want × 1: one add lost to the other's save", got[1])
		}
	})
}

// addWithHeldForm starts adding one of ingredient id to v's cart, and
// returns once the server has loaded the session and waits for the form.
// It knows when from "100 Continue": Go's server sends it to a request that
// asks for it (Expect: 100-continue) when the handler first reads the body,
// and the session is loaded before the handler runs. send sends the form
// and returns the answer's status.
func (v *visitor) addWithHeldForm(id int64) (send func() int) {
	v.t.Helper()
	form := url.Values{"ingredient_id": {fmt.Sprint(id)}}.Encode()
	body, sendBody := io.Pipe()
	loaded := make(chan struct{})
	ctx := httptrace.WithClientTrace(withTimeout(v.t, 30*time.Second),
		&httptrace.ClientTrace{Got100Continue: func() { close(loaded) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.base+"/cart/items", body)
	if err != nil {
		v.t.Fatal(err)
	}
	req.ContentLength = int64(len(form)) // a body of known length: read by the handler, not before
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Expect", "100-continue")
	for _, c := range v.jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	// A client of its own, which waits for "100 Continue" before the body.
	transport := &http.Transport{ExpectContinueTimeout: time.Minute}
	v.t.Cleanup(transport.CloseIdleConnections)
	status := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		resp, err := transport.RoundTrip(req)
		if err != nil {
			errc <- err
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	select {
	case <-loaded:
	case err := <-errc:
		v.t.Fatalf("POST /cart/items with a held form: %v", err)
	case s := <-status:
		v.t.Fatalf("POST /cart/items with a held form: answered %d before reading the form", s)
	case <-ctx.Done():
		v.t.Fatal("POST /cart/items with a held form: no 100 Continue")
	}
	return func() int {
		v.t.Helper()
		if _, err := io.Copy(sendBody, strings.NewReader(form)); err != nil {
			v.t.Fatal(err)
		}
		sendBody.Close()
		select {
		case s := <-status:
			return s
		case err := <-errc:
			v.t.Fatalf("POST /cart/items with a held form: %v", err)
		}
		return 0
	}
}

func TestExperimentExpiry(t *testing.T) {
	t.Parallel()
	// The README's -idle-timeout 10s -cleanup-interval 5s, five times faster.
	srv := startServer(t, "-idle-timeout", "2s", "-cleanup-interval", "1s")
	db := dbReadOnly(t, srv.DBPath)

	v := newVisitor(t, srv.URL)
	v.sessionExample()
	if got := v.sessionExample().ViewCount; got != 2 {
		t.Fatalf("second visit: got viewCount %d, want 2", got)
	}
	token := v.cookie()

	// Left idle, the session expires, and the cleanup deletes its row.
	if !waitFor(expiryWait, func() bool { return !dbHasSession(t, db, token) }) {
		t.Fatalf("the idle session's row is still there after %v", expiryWait)
	}
	// The jar drops the cookie once it expires, as a browser does; sent
	// anyway, the old token gets a new session too.
	if got, newToken := visitWithToken(t, srv.URL, token); got != 1 || newToken == token {
		t.Errorf("visit with the old token: got viewCount %d and token %q, want 1 and a new token", got, newToken)
	}
	if got := v.sessionExample().ViewCount; got != 1 {
		t.Errorf("visit with the jar: got viewCount %d, want 1", got)
	}
}
