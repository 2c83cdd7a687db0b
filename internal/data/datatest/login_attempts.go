package datatest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"example.com/gosessions/internal/data"
)

var loginLimit = data.LoginLimit{Attempts: 5, Window: 15 * time.Minute}

// t0 is the clock's start in these tests; every time is t0 plus an offset.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type attempt struct {
	email   string
	at      time.Duration // after t0
	blocked bool
	retryAt time.Duration // after t0, when blocked
}

// runAttempts records each attempt in order and checks what it returned.
func runAttempts(t *testing.T, db data.Store, attempts []attempt) {
	t.Helper()
	for i, a := range attempts {
		retryAt, blocked, err := db.RecordLoginAttempt(context.Background(), loginLimit, a.email, t0.Add(a.at))
		if err != nil {
			t.Fatalf("attempt %d (%s at t0+%v): %v", i, a.email, a.at, err)
		}
		if blocked != a.blocked {
			t.Errorf("attempt %d (%s at t0+%v): got blocked %v, want %v", i, a.email, a.at, blocked, a.blocked)
			continue
		}
		if want := t0.Add(a.retryAt); blocked && !retryAt.Equal(want) {
			t.Errorf("attempt %d (%s at t0+%v): got retry at t0+%v, want t0+%v", i, a.email, a.at, retryAt.Sub(t0), want.Sub(t0))
		}
	}
}

func testRecordLoginAttempt(t *testing.T, open func(*testing.T) DB) {
	const ada = "ada@example.com"
	minute := time.Minute
	fiveFailures := []attempt{{ada, 0, false, 0}, {ada, 1 * minute, false, 0}, {ada, 2 * minute, false, 0}, {ada, 3 * minute, false, 0}, {ada, 4 * minute, false, 0}}

	tests := []struct {
		name     string
		attempts []attempt
	}{
		{"five attempts in the window are allowed", fiveFailures},
		{"the sixth is blocked until the first leaves the window", append(fiveFailures,
			attempt{ada, 5 * minute, true, 15 * minute},
			attempt{ada, 15*minute - time.Millisecond, true, 15 * minute},
		)},
		{"blocked attempts are not counted, so the wait does not grow", append(fiveFailures,
			attempt{ada, 5 * minute, true, 15 * minute},
			attempt{ada, 10 * minute, true, 15 * minute},
			attempt{ada, 14 * minute, true, 15 * minute},
			attempt{ada, 15 * minute, false, 0},
		)},
		{"the window slides: one attempt more each time the oldest leaves it", append(fiveFailures,
			attempt{ada, 15 * minute, false, 0},
			attempt{ada, 15*minute + time.Second, true, 16 * minute},
			attempt{ada, 16 * minute, false, 0},
		)},
		{"five attempts spread over more than the window are never blocked", []attempt{
			{ada, 0, false, 0}, {ada, 4 * minute, false, 0}, {ada, 8 * minute, false, 0}, {ada, 12 * minute, false, 0},
			{ada, 16 * minute, false, 0}, {ada, 20 * minute, false, 0}, {ada, 24 * minute, false, 0},
		}},
		{"the case of the email does not matter", []attempt{
			{"ada@example.com", 0, false, 0}, {"ADA@EXAMPLE.COM", 0, false, 0}, {"Ada@Example.com", 0, false, 0},
			{"ada@EXAMPLE.com", 0, false, 0}, {"aDa@example.com", 0, false, 0}, {"ADA@example.com", 0, true, 15 * minute},
		}},
		{"another email is not blocked by Ada's attempts", append(fiveFailures,
			attempt{ada, 5 * minute, true, 15 * minute},
			attempt{"bob@example.com", 5 * minute, false, 0},
		)},
		{"an email without an account is limited the same way", []attempt{
			{"nobody@example.com", 0, false, 0}, {"nobody@example.com", 0, false, 0}, {"nobody@example.com", 0, false, 0},
			{"nobody@example.com", 0, false, 0}, {"nobody@example.com", 0, false, 0}, {"nobody@example.com", 0, true, 15 * minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAttempts(t, open(t), tt.attempts)
		})
	}
}

func testForgetLoginAttempt(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	// Two of Ada's attempts at t0, one a minute later, and one of Bob's at t0.
	runAttempts(t, db, []attempt{
		{"ada@example.com", 0, false, 0}, {"ada@example.com", 0, false, 0},
		{"ada@example.com", time.Minute, false, 0}, {"bob@example.com", 0, false, 0},
	})
	counts := func() (ada, bob int) {
		t.Helper()
		return count(t, db, "SELECT count(*) FROM login_attempts WHERE email = 'ada@example.com'"),
			count(t, db, "SELECT count(*) FROM login_attempts WHERE email = 'bob@example.com'")
	}

	steps := []struct {
		name     string
		email    string
		at       time.Duration // after t0
		ada, bob int           // the attempts left after it
	}{
		{"one of two attempts at the same time, typed in capitals", "ADA@example.com", 0, 2, 1},
		{"the other one", "ada@example.com", 0, 1, 1},
		{"none left at that time: nothing, and no error", "ada@example.com", 0, 1, 1},
		{"an email without attempts: nothing, and no error", "nobody@example.com", 0, 1, 1},
		{"a time without attempts: nothing, and no error", "bob@example.com", time.Second, 1, 1},
		{"Ada's last", "ada@example.com", time.Minute, 0, 1},
	}
	for _, step := range steps {
		if err := db.ForgetLoginAttempt(ctx, step.email, t0.Add(step.at)); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if ada, bob := counts(); ada != step.ada || bob != step.bob {
			t.Errorf("%s: got %d attempts of Ada's and %d of Bob's, want %d and %d", step.name, ada, bob, step.ada, step.bob)
		}
	}

	// A forgotten attempt does not count: five attempts, one forgotten, and
	// a sixth is allowed; the limit then holds as before.
	runAttempts(t, db, []attempt{
		{"carol@example.com", 0, false, 0}, {"carol@example.com", time.Minute, false, 0}, {"carol@example.com", 2 * time.Minute, false, 0},
		{"carol@example.com", 3 * time.Minute, false, 0}, {"carol@example.com", 4 * time.Minute, false, 0},
	})
	if err := db.ForgetLoginAttempt(ctx, "carol@example.com", t0.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	runAttempts(t, db, []attempt{
		{"carol@example.com", 5 * time.Minute, false, 0}, {"carol@example.com", 6 * time.Minute, true, 15 * time.Minute},
	})
}

func testClearLoginAttempts(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	for range 4 {
		runAttempts(t, db, []attempt{{"ada@example.com", 0, false, 0}})
	}
	runAttempts(t, db, []attempt{{"bob@example.com", 0, false, 0}})

	// A successful sign-in, typed in capitals.
	if err := db.ClearLoginAttempts(ctx, "ADA@example.com"); err != nil {
		t.Fatal(err)
	}
	ada := count(t, db, "SELECT count(*) FROM login_attempts WHERE email = 'ada@example.com'")
	bob := count(t, db, "SELECT count(*) FROM login_attempts WHERE email = 'bob@example.com'")
	if ada != 0 || bob != 1 {
		t.Errorf("got %d attempts of Ada's and %d of Bob's, want 0 and 1", ada, bob)
	}
	// Five fresh attempts are allowed again.
	runAttempts(t, db, []attempt{
		{"ada@example.com", 0, false, 0}, {"ada@example.com", 0, false, 0}, {"ada@example.com", 0, false, 0},
		{"ada@example.com", 0, false, 0}, {"ada@example.com", 0, false, 0}, {"ada@example.com", 0, true, 15 * time.Minute},
	})
}

func testLoginAttemptsStayBounded(t *testing.T, open func(*testing.T) DB) {
	db := open(t)

	t.Run("an email never has more rows than the limit", func(t *testing.T) {
		for range 20 {
			db.RecordLoginAttempt(context.Background(), loginLimit, "ada@example.com", t0)
		}
		assertRows(t, db, "login_attempts", loginLimit.Attempts)
	})

	t.Run("attempts that have left the window are deleted by the next one, of any email", func(t *testing.T) {
		runAttempts(t, db, []attempt{{"bob@example.com", 15 * time.Minute, false, 0}})
		assertRows(t, db, "login_attempts", 1)
	})
}

func testLoginAttemptsAreExactUnderConcurrency(t *testing.T, open func(*testing.T) DB) {
	// Twenty guesses at once: only five may go on to a password check.
	db := open(t)
	var mu sync.Mutex
	allowed := 0
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			<-start
			_, blocked, err := db.RecordLoginAttempt(context.Background(), loginLimit, "ada@example.com", t0)
			if err != nil {
				t.Error(err)
				return
			}
			if !blocked {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if allowed != loginLimit.Attempts {
		t.Errorf("got %d attempts allowed, want %d", allowed, loginLimit.Attempts)
	}
}

func testLoginAttemptsSurviveARestart(t *testing.T, open func(*testing.T) DB) {
	db := open(t)
	for range loginLimit.Attempts {
		runAttempts(t, db, []attempt{{"ada@example.com", 0, false, 0}})
	}
	db.Close()
	runAttempts(t, db.Reopen(t), []attempt{{"ada@example.com", time.Minute, true, 15 * time.Minute}})
}

func testRecordLoginAttemptRefusesAnInvalidLimit(t *testing.T, open func(*testing.T) DB) {
	db := open(t)
	for _, limit := range []data.LoginLimit{{}, {Attempts: 0, Window: time.Minute}, {Attempts: 5, Window: 0}, {Attempts: 5, Window: -time.Minute}} {
		if _, _, err := db.RecordLoginAttempt(context.Background(), limit, "ada@example.com", t0); err == nil {
			t.Errorf("RecordLoginAttempt with %+v: got nil error, want one", limit)
		}
	}
	assertRows(t, db, "login_attempts", 0)
}

func testLoginAttemptsAreExactPerEmailUnderConcurrency(t *testing.T, open func(*testing.T) DB) {
	// Guesses at four emails at once, while the attempts of the window
	// before, of other emails, are deleted by each of them: each email gets
	// its five, and no call fails.
	db := open(t)
	for i := range 20 {
		runAttempts(t, db, []attempt{{fmt.Sprintf("old%d@example.com", i), -loginLimit.Window, false, 0}})
	}
	emails := []string{"ada@example.com", "bob@example.com", "carol@example.com", "dan@example.com"}
	var mu sync.Mutex
	allowed := map[string]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 40 {
		email := emails[i%len(emails)]
		wg.Go(func() {
			<-start
			_, blocked, err := db.RecordLoginAttempt(context.Background(), loginLimit, email, t0)
			if err != nil {
				t.Error(err)
				return
			}
			if !blocked {
				mu.Lock()
				allowed[email]++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	for _, email := range emails {
		if allowed[email] != loginLimit.Attempts {
			t.Errorf("%s: got %d attempts allowed, want %d", email, allowed[email], loginLimit.Attempts)
		}
	}
	assertRows(t, db, "login_attempts", len(emails)*loginLimit.Attempts)
}
