package datatest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"example.com/gosessions/internal/data"
)

func testCatalog(t *testing.T, open func(*testing.T) DB) {
	db := open(t)
	ctx := context.Background()

	t.Run("Ingredients lists at least ten, ordered by id, with prices", func(t *testing.T) {
		list, err := db.Ingredients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) < 10 {
			t.Fatalf("got %d ingredients, want at least 10", len(list))
		}
		for i, in := range list {
			if i > 0 && in.ID <= list[i-1].ID {
				t.Errorf("ingredient %d has id %d after %d, want ascending ids", i, in.ID, list[i-1].ID)
			}
			if in.Name == "" || in.PriceCents <= 0 {
				t.Errorf("ingredient %d: got name %q, price %d; want a name and a positive price", in.ID, in.Name, in.PriceCents)
			}
		}
	})

	t.Run("Ingredient returns one by id", func(t *testing.T) {
		in, err := db.Ingredient(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if in.ID != 1 || in.Name != "Flour" || in.PriceCents != 250 {
			t.Errorf("got %+v, want Flour at 250 cents", in)
		}
	})

	t.Run("Ingredient of an unknown id is ErrNotFound", func(t *testing.T) {
		if _, err := db.Ingredient(ctx, 9999); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func testCreateOrder(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()

	t.Run("writes the order and its lines at catalog prices", func(t *testing.T) {
		db := open(t)
		id, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", CustomerName: "Ada", CustomerEmail: "ada@example.com",
			Items: []data.OrderItem{
				{IngredientID: 2, Qty: 2}, // Eggs, 320
				{IngredientID: 1, Qty: 3}, // Flour, 250
			}})
		if err != nil {
			t.Fatal(err)
		}
		o, err := db.Order(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if o.CustomerName != "Ada" || o.CustomerEmail != "ada@example.com" {
			t.Errorf("got customer %q <%s>, want Ada <ada@example.com>", o.CustomerName, o.CustomerEmail)
		}
		if o.TotalCents != 2*320+3*250 {
			t.Errorf("got total %d, want %d", o.TotalCents, 2*320+3*250)
		}
		want := []data.OrderLine{
			{IngredientID: 1, Name: "Flour", Qty: 3, UnitPriceCents: 250},
			{IngredientID: 2, Name: "Eggs", Qty: 2, UnitPriceCents: 320},
		}
		if len(o.Lines) != len(want) {
			t.Fatalf("got %d lines, want %d: %+v", len(o.Lines), len(want), o.Lines)
		}
		for i := range want {
			if o.Lines[i] != want[i] {
				t.Errorf("line %d: got %+v, want %+v", i, o.Lines[i], want[i])
			}
		}
		if got := o.Lines[0].LineTotalCents(); got != 750 {
			t.Errorf("LineTotalCents: got %d, want 750", got)
		}
		if o.CreatedAt == "" {
			t.Errorf("CreatedAt: got empty, want a timestamp")
		}
	})

	t.Run("an unknown ingredient creates no order at all", func(t *testing.T) {
		db := open(t)
		_, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", Items: []data.OrderItem{
			{IngredientID: 1, Qty: 1}, // valid, and written before the bad line
			{IngredientID: 9999, Qty: 1},
		}})
		if !errors.Is(err, data.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		// The first line and the order row were written inside the
		// transaction; the rollback must have removed both.
		assertRows(t, db, "orders", 0)
		assertRows(t, db, "order_lines", 0)
	})

	t.Run("a quantity the table refuses creates no order", func(t *testing.T) {
		db := open(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", Items: []data.OrderItem{{IngredientID: 1, Qty: 100}}}); err == nil {
			t.Fatal("got nil error, want the CHECK constraint to refuse qty 100")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("no items is an error", func(t *testing.T) {
		db := open(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k"}); err == nil {
			t.Fatal("got nil error, want one")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("Order of an unknown id is ErrNotFound", func(t *testing.T) {
		db := open(t)
		if _, err := db.Order(ctx, 42); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func testCreateOrderPlacesOneOrderPerKey(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	flourAndEggs := []data.OrderItem{{IngredientID: 1, Qty: 3}, {IngredientID: 2, Qty: 2}}

	t.Run("the same key and items again return the order placed, and write nothing", func(t *testing.T) {
		db := open(t)
		first, created, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", CustomerName: "Ada", Items: flourAndEggs})
		if err != nil || !created {
			t.Fatalf("first CreateOrder: got created %v, error %v; want created, nil", created, err)
		}
		// The same lines in another order are the same cart.
		again := []data.OrderItem{flourAndEggs[1], flourAndEggs[0]}
		id, created, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", CustomerName: "Bob", Items: again})
		if err != nil || created || id != first {
			t.Fatalf("second CreateOrder: got id %d, created %v, error %v; want id %d, not created, nil", id, created, err, first)
		}
		assertRows(t, db, "orders", 1)
		assertRows(t, db, "order_lines", 2)
		if o, _ := db.Order(ctx, first); o.CustomerName != "Ada" {
			t.Errorf("got customer %q, want the first call's Ada", o.CustomerName)
		}
	})

	t.Run("the same key with other items is ErrKeyUsed with the order placed", func(t *testing.T) {
		db := open(t)
		first, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: flourAndEggs})
		if err != nil {
			t.Fatal(err)
		}
		for _, items := range [][]data.OrderItem{
			{{IngredientID: 1, Qty: 3}},                                                       // a line fewer
			{{IngredientID: 1, Qty: 3}, {IngredientID: 2, Qty: 1}},                            // another quantity
			{{IngredientID: 1, Qty: 3}, {IngredientID: 2, Qty: 2}, {IngredientID: 5, Qty: 1}}, // a line more
		} {
			id, created, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: items})
			if !errors.Is(err, data.ErrKeyUsed) || created || id != first {
				t.Errorf("CreateOrder(%v): got id %d, created %v, error %v; want id %d, not created, ErrKeyUsed",
					items, id, created, err, first)
			}
		}
		assertRows(t, db, "orders", 1)
		assertRows(t, db, "order_lines", 2)
	})

	t.Run("another key places another order", func(t *testing.T) {
		db := open(t)
		a, _, errA := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: flourAndEggs})
		b, created, errB := db.CreateOrder(ctx, data.NewOrder{Key: "k2", Items: flourAndEggs})
		if errA != nil || errB != nil || !created || a == b {
			t.Fatalf("got orders %d and %d (created %v, errors %v, %v), want two new ones", a, b, created, errA, errB)
		}
		assertRows(t, db, "orders", 2)
	})

	t.Run("no key is an error", func(t *testing.T) {
		db := open(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Items: flourAndEggs}); err == nil {
			t.Fatal("got nil error, want one")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("the table itself refuses a second order with a key", func(t *testing.T) {
		db := open(t)
		if err := db.Exec(ctx, "INSERT INTO orders (id, checkout_key, total_cents) VALUES (1, 'k1', 0)"); err != nil {
			t.Fatal(err)
		}
		if err := db.Exec(ctx, "INSERT INTO orders (id, checkout_key, total_cents) VALUES (2, 'k1', 0)"); err == nil {
			t.Errorf("got nil error, want the UNIQUE index to refuse a second order with key k1")
		}
	})
}

func testOrderIDByKey(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	id, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: []data.OrderItem{{IngredientID: 1, Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.OrderIDByKey(ctx, "k1"); err != nil || got != id {
		t.Errorf("OrderIDByKey(k1): got %d, %v; want %d, nil", got, err, id)
	}
	for _, key := range []string{"k2", ""} {
		if _, err := db.OrderIDByKey(ctx, key); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("OrderIDByKey(%q): got %v, want ErrNotFound", key, err)
		}
	}
}

func testOrdersOfUser(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	place := func(key string, userID int64) int64 {
		t.Helper()
		id, _, err := db.CreateOrder(ctx, data.NewOrder{Key: key, UserID: userID, Items: []data.OrderItem{{IngredientID: 1, Qty: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first, second := place("a1", ada.ID), place("a2", ada.ID)
	place("b1", bob.ID)
	guest := place("g1", 0)

	t.Run("lists the account's orders, newest first, up to the limit", func(t *testing.T) {
		list, err := db.OrdersOfUser(ctx, ada.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != second || list[1].ID != first {
			t.Fatalf("got %+v, want orders %d then %d", list, second, first)
		}
		if list[0].TotalCents != 500 || list[0].CreatedAt.IsZero() {
			t.Errorf("got %+v, want total 500 and a creation time", list[0])
		}
		if list, _ := db.OrdersOfUser(ctx, ada.ID, 1); len(list) != 1 || list[0].ID != second {
			t.Errorf("limit 1: got %+v, want the newest only", list)
		}
	})

	t.Run("records the account on the order, and none on a guest's", func(t *testing.T) {
		if o, _ := db.Order(ctx, first); o.UserID != ada.ID {
			t.Errorf("got user %d, want Ada's %d", o.UserID, ada.ID)
		}
		if o, _ := db.Order(ctx, guest); o.UserID != 0 {
			t.Errorf("guest's order: got user %d, want 0", o.UserID)
		}
	})
}

// SQLite runs one write at a time; a server runs many. Either way, the
// answers must be the ones of some order of the calls.
func testConcurrentCheckouts(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	items := []data.OrderItem{{IngredientID: 1, Qty: 1}}

	t.Run("one key tried at once by many places one order", func(t *testing.T) {
		db := open(t)
		ids := make([]int64, 10)
		created := make([]bool, 10)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range ids {
			wg.Go(func() {
				<-start
				var err error
				if ids[i], created[i], err = db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: items}); err != nil {
					t.Errorf("checkout %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := count(t, db, "SELECT count(*) FROM orders"); n != 1 {
			t.Fatalf("got %d orders, want 1", n)
		}
		placed := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Errorf("checkout %d: got order %d, want %d as the others", i, ids[i], ids[0])
			}
			if created[i] {
				placed++
			}
		}
		if placed != 1 {
			t.Errorf("got %d checkouts that placed the order, want 1", placed)
		}
	})

	t.Run("one account's checkouts at once are all numbered", func(t *testing.T) {
		db := open(t)
		ada := mustCreateUser(t, db, "Ada", "ada@example.com")
		const n = 10
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				if _, _, err := db.CreateOrder(ctx, data.NewOrder{Key: fmt.Sprint("k", i), UserID: ada.ID, Items: items}); err != nil {
					t.Errorf("checkout %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		list, err := db.OrdersOfUser(ctx, ada.ID, 2*n)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != n {
			t.Errorf("got %d orders listed, want %d", len(list), n)
		}
		if got := count(t, db, "SELECT count(DISTINCT account_order) FROM orders"); got != n {
			t.Errorf("got %d numbers for %d orders, want one each", got, n)
		}
	})
}
