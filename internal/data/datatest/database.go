package datatest

import (
	"context"
	"testing"

	"example.com/gosessions/internal/data"
)

func testReopenKeepsTheData(t *testing.T, open func(*testing.T) DB) {
	// Migrations already applied are skipped, so a restart keeps every row.
	ctx := context.Background()
	db := open(t)
	id, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", Items: []data.OrderItem{{IngredientID: 1, Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := db.Reopen(t).Order(ctx, id); err != nil {
		t.Errorf("Order(%d) after reopening: got %v, want the order", id, err)
	}
}

func testDatabaseID(t *testing.T, open func(*testing.T) DB) {
	a := open(t)
	id := a.ID()
	a.Close()

	t.Run("is random, and stays the same across restarts", func(t *testing.T) {
		again := a.Reopen(t)
		if len(id) != 32 || again.ID() != id {
			t.Errorf("got id %q, then %q after reopening; want one 32-digit hex id", id, again.ID())
		}
		for _, r := range id {
			if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
				t.Errorf("got id %q, want lowercase hexadecimal digits", id)
				break
			}
		}
	})

	t.Run("differs between two databases", func(t *testing.T) {
		if other := open(t).ID(); other == id {
			t.Errorf("two databases got the same id %q", id)
		}
	})
}

func testCheck(t *testing.T, open func(*testing.T) DB) {
	// What makes Check fail depends on the database; see the tests beside
	// each implementation.
	db := open(t)
	for i := range 3 {
		if err := db.Check(context.Background()); err != nil {
			t.Fatalf("Check %d of a healthy database: got %v, want nil", i, err)
		}
	}
	for _, table := range []string{"login_attempts", "orders", "users", "account_sessions"} {
		assertRows(t, db, table, 0) // the probe leaves nothing behind
	}
}

func testCloseTwice(t *testing.T, open func(*testing.T) DB) {
	db := open(t)
	for i := range 2 {
		if err := db.Close(); err != nil {
			t.Errorf("Close %d: got %v, want nil", i+1, err)
		}
	}
}
