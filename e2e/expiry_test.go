package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// visitWithToken visits /session-example sending exactly this session
// token, as a client would that kept the cookie past its expiry, and returns
// the viewCount shown and the token the answer sets.
func visitWithToken(t *testing.T, base, token string) (viewCount int, newToken string) {
	t.Helper()
	v := newVisitor(t, base)
	v.client.Jar = nil // send the token as given, whatever its cookie's expiry
	r := v.do(v.request(http.MethodGet, "/session-example", nil,
		http.Header{"Accept": {"application/json"}, "Cookie": {"session=" + token}}))
	wantStatus(t, "GET /session-example", r, http.StatusOK)
	var got struct {
		ViewCount int `json:"viewCount"`
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("GET /session-example: %v: %s", err, r.Body)
	}
	if c := sessionCookie(r); c != nil {
		newToken = c.Value
	}
	return got.ViewCount, newToken
}

// expiryWait bounds the waits below; it is far above the lifetimes used, so
// it only stops a test whose session never expires.
const expiryWait = 20 * time.Second

func TestIdleSessionExpiresAndIsDeleted(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-idle-timeout", "1s", "-cleanup-interval", "200ms")
	db := dbReadOnly(t, srv.DBPath)

	_, token := visitWithToken(t, srv.URL, "")
	if got, _ := visitWithToken(t, srv.URL, token); got != 2 {
		t.Fatalf("second visit: got viewCount %d, want 2", got)
	}
	if !dbHasSession(t, db, token) {
		t.Fatal("the session is not stored")
	}

	// Left idle, the session expires and the cleanup deletes its row.
	if !waitFor(expiryWait, func() bool { return !dbHasSession(t, db, token) }) {
		t.Fatalf("the idle session's row is still there after %v", expiryWait)
	}
	got, newToken := visitWithToken(t, srv.URL, token)
	if got != 1 || newToken == "" || newToken == token {
		t.Errorf("visit with the expired token: got viewCount %d and token %q, want 1 and a new token", got, newToken)
	}
}

func TestIdleSessionIsNotServedBeforeCleanup(t *testing.T) {
	t.Parallel()
	// No cleanup: the expired row stays, and must still not be served.
	srv := startServer(t, "-idle-timeout", "1s", "-cleanup-interval", "0")
	db := dbReadOnly(t, srv.DBPath)

	_, token := visitWithToken(t, srv.URL, "")
	time.Sleep(1500 * time.Millisecond) // longer than the idle timeout; wall-clock expiry, not a timing check
	if !dbHasSession(t, db, token) {
		t.Fatal("the row is gone although the cleanup is off")
	}
	if got, newToken := visitWithToken(t, srv.URL, token); got != 1 || newToken == token {
		t.Errorf("visit after the idle timeout: got viewCount %d, token %q; want 1 and a new token", got, newToken)
	}
}

func TestSessionEndsAfterItsLifetimeEvenWhenActive(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "-lifetime", "2s", "-cleanup-interval", "200ms")
	db := dbReadOnly(t, srv.DBPath)

	_, token := visitWithToken(t, srv.URL, "")
	highest := 1
	deadline := time.Now().Add(expiryWait)
	for {
		got, newToken := visitWithToken(t, srv.URL, token)
		if got == 1 {
			if newToken == token {
				t.Fatalf("the fresh session kept the old token")
			}
			break // the lifetime is over: a fresh session
		}
		if got != highest+1 {
			t.Fatalf("got viewCount %d, want %d", got, highest+1)
		}
		highest = got
		if time.Now().After(deadline) {
			t.Fatalf("the session was still served after %v of a 2s lifetime", expiryWait)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if highest < 2 {
		t.Errorf("the session was never served twice (highest viewCount %d); the test did not keep it active", highest)
	}
	if !waitFor(expiryWait, func() bool { return !dbHasSession(t, db, token) }) {
		t.Errorf("the expired session's row is still there after %v", expiryWait)
	}
}
