package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/password"
)

// A sign-in whose password could not be checked, because every hashing
// slot was busy, is a 503 and does not count towards the limit of 5 failed
// sign-ins: once the server is less busy, the right password signs in,
// rather than being refused with 429 for 15 minutes.
func TestSignInsThatFoundTheHasherBusyDoNotCount(t *testing.T) {
	tests := []struct {
		name     string
		failures int // wrong passwords before the busy sign-ins
	}{
		{"busy sign-ins alone", 0},
		{"busy sign-ins after 4 failures", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fillableHasher(t)
			app := newTestApp(t, appOptions{passwords: h})
			app.createUser(t, "Ada", "ada@example.com", adaPassword)
			b := newBrowser(t, app.url)
			right := url.Values{"email": {"ada@example.com"}, "password": {adaPassword}}

			for i := range tt.failures {
				a := b.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"not the password"}})
				wantStatus(t, "failure "+strconv.Itoa(i+1), a, http.StatusUnprocessableEntity)
			}

			release1, release2 := h.HoldSlot(), h.HoldSlot()
			for i := range 10 {
				a := b.post("/login", right)
				wantStatus(t, "busy sign-in "+strconv.Itoa(i+1), a, http.StatusServiceUnavailable)
				if got := a.header.Get("Retry-After"); got != "1" {
					t.Errorf("busy sign-in %d: got Retry-After %q, want 1", i+1, got)
				}
			}
			release1()
			release2()

			a := b.post("/login", right)
			wantStatus(t, "sign-in once the hasher is free", a, http.StatusSeeOther)
			if !b.signedIn() {
				t.Errorf("not signed in after the sign-in with the right password")
			}
		})
	}
}

// A sign-in whose request ends while it waits for a hashing slot (the
// visitor gave up) is not counted either: the attempt is forgotten after
// the request's context has ended, so not with it.
func TestSignInsWhoseRequestEndedDoNotCount(t *testing.T) {
	// Slots held, and a wait that only the request's end cuts short.
	h, err := password.New(password.Config{Params: testParams, Concurrency: 2, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t, appOptions{passwords: h})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)
	right := url.Values{"email": {"ada@example.com"}, "password": {adaPassword}}
	attempts := func() int {
		t.Helper()
		var n int
		if err := app.db.Write.QueryRow("SELECT count(*) FROM login_attempts").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	release1, release2 := h.HoldSlot(), h.HoldSlot()
	for i := range 6 {
		before := attempts()
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, "POST", app.url+"/login", strings.NewReader(right.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		type result struct {
			status int
			err    error
		}
		done := make(chan result, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- result{0, err}
				return
			}
			resp.Body.Close()
			done <- result{resp.StatusCode, nil}
		}()
		// Counted, so now waiting for a slot (or refused, if the attempts
		// before it still count): the visitor gives up.
		var answered *result
		waitUntil(t, "the attempt is counted", func() bool {
			select {
			case r := <-done:
				answered = &r
				return true
			default:
				return attempts() > before
			}
		})
		cancel()
		if answered == nil {
			r := <-done
			answered = &r
		}
		if !errors.Is(answered.err, context.Canceled) {
			t.Fatalf("sign-in %d: got status %d, error %v; want to give up waiting (context.Canceled)", i+1, answered.status, answered.err)
		}
		// The server's answer, which nobody reads, is logged last.
		waitUntil(t, "the server is done with the request", func() bool {
			return strings.Count(app.log.String(), "context canceled") > i
		})
	}
	release1()
	release2()

	b := newBrowser(t, app.url)
	a := b.post("/login", right)
	wantStatus(t, "sign-in once the hasher is free", a, http.StatusSeeOther)
}

// waitUntil waits until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // bounds a broken test; nothing is timed
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for this, in vain: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// The same holds at the change of password, whose attempts count against
// the same limit, for the account's email.
func TestPasswordChangesThatFoundTheHasherBusyDoNotCount(t *testing.T) {
	h := fillableHasher(t)
	app := newTestApp(t, appOptions{passwords: h})
	app.createUser(t, "Ada", "ada@example.com", adaPassword)
	b := newBrowser(t, app.url)
	b.signIn("ada@example.com", adaPassword, false)
	change := url.Values{"current_password": {adaPassword}, "new_password": {"a new password"}}

	release1, release2 := h.HoldSlot(), h.HoldSlot()
	for i := range 10 {
		a := b.post("/account/password", change)
		wantStatus(t, "busy change "+strconv.Itoa(i+1), a, http.StatusServiceUnavailable)
	}
	release1()
	release2()

	a := b.post("/account/password", change)
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/account" {
		t.Errorf("change once the hasher is free: got status %d to %q, want 303 to /account", a.status, a.header.Get("Location"))
	}
}

// fillableHasher returns a Hasher of two slots, for a test to hold with
// HoldSlot; a call that finds both held gives up with ErrBusy after a
// millisecond rather than a second.
func fillableHasher(t *testing.T) *password.Hasher {
	t.Helper()
	h, err := password.New(password.Config{Params: testParams, Concurrency: 2, MaxWait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
