// Package datatest is the one suite of tests that every data.Store must
// pass: the behaviour of each method, which the web layer relies on
// whatever database is behind it. The tests of each implementation call
// Run with a function that opens a fresh, empty database:
//
//	func TestStore(t *testing.T) {
//		datatest.Run(t, func(t *testing.T) datatest.DB { ... })
//	}
//
// What one database alone does (SQLite's WAL, PostgreSQL's pool coming
// back after a restart) is tested beside its implementation.
package datatest

import (
	"context"
	"testing"

	"example.com/gosessions/internal/data"
)

// DB is a freshly opened Store, with what the suite needs to look behind
// it. Each implementation's test wraps its own type to provide it.
type DB interface {
	data.Store

	// Exec runs a statement without parameters, in SQL that both SQLite
	// and PostgreSQL accept: what no method of Store does, such as
	// deleting an account.
	Exec(ctx context.Context, query string) error
	// Count runs a query of one integer, such as SELECT count(*) FROM
	// orders: how the suite checks that a failed call wrote nothing.
	Count(ctx context.Context, query string) (int, error)
	// Reopen opens another Store on the same database, as a second
	// instance of the application or a restart does. It is closed when the
	// test ends.
	Reopen(t *testing.T) data.Store
}

// Run runs the suite; open must return a new, empty database each time,
// closed when its test ends.
func Run(t *testing.T, open func(t *testing.T) DB) {
	tests := []struct {
		name string
		run  func(*testing.T, func(*testing.T) DB)
	}{
		{"Catalog", testCatalog},
		{"CreateOrder", testCreateOrder},
		{"CreateOrderPlacesOneOrderPerKey", testCreateOrderPlacesOneOrderPerKey},
		{"ConcurrentCheckouts", testConcurrentCheckouts},
		{"OrderIDByKey", testOrderIDByKey},
		{"OrdersOfUser", testOrdersOfUser},

		{"CreateUser", testCreateUser},
		{"UserByEmail", testUserByEmail},
		{"UserByIDOfAnUnknownIDIsErrNotFound", testUserByIDOfAnUnknownIDIsErrNotFound},
		{"SetPasswordHash", testSetPasswordHash},
		{"ChangePassword", testChangePassword},

		{"RecordLoginAttempt", testRecordLoginAttempt},
		{"ForgetLoginAttempt", testForgetLoginAttempt},
		{"ClearLoginAttempts", testClearLoginAttempts},
		{"LoginAttemptsStayBounded", testLoginAttemptsStayBounded},
		{"LoginAttemptsAreExactUnderConcurrency", testLoginAttemptsAreExactUnderConcurrency},
		{"LoginAttemptsAreExactPerEmailUnderConcurrency", testLoginAttemptsAreExactPerEmailUnderConcurrency},
		{"LoginAttemptsSurviveARestart", testLoginAttemptsSurviveARestart},
		{"RecordLoginAttemptRefusesAnInvalidLimit", testRecordLoginAttemptRefusesAnInvalidLimit},

		{"AddAccountSession", testAddAccountSession},
		{"FindingAnAccountSession", testFindingAnAccountSession},
		{"AccountSessions", testAccountSessions},
		{"TouchAccountSession", testTouchAccountSession},
		{"SigningOutSessions", testSigningOutSessions},
		{"SignOutIsSeenByAnotherInstanceSharingTheDatabase", testSignOutIsSeenByAnotherInstanceSharingTheDatabase},
		{"AccountSessionWithUser", testAccountSessionWithUser},
		{"DeleteUnrememberedAccountSessions", testDeleteUnrememberedAccountSessions},
		{"RememberToken", testRememberToken},

		{"ReopenKeepsTheData", testReopenKeepsTheData},
		{"DatabaseID", testDatabaseID},
		{"Check", testCheck},
		{"CloseTwice", testCloseTwice},
	}
	for _, tt := range tests {
		// Each test has databases of its own, so they may run side by
		// side: a server's CREATE DATABASE takes a moment.
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, open)
		})
	}
}

// count runs query, a query of one integer.
func count(t *testing.T, db DB, query string) int {
	t.Helper()
	n, err := db.Count(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func assertRows(t *testing.T, db DB, table string, want int) {
	t.Helper()
	if n := count(t, db, "SELECT count(*) FROM "+table); n != want {
		t.Errorf("%s: got %d rows, want %d", table, n, want)
	}
}
