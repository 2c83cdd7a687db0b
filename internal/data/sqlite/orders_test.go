package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/sqlite"
)

func TestCreateOrderPlacesOneOrderPerKey(t *testing.T) {
	ctx := context.Background()
	flourAndEggs := []data.OrderItem{{IngredientID: 1, Qty: 3}, {IngredientID: 2, Qty: 2}}

	t.Run("the same key and items again return the order placed, and write nothing", func(t *testing.T) {
		db := openDB(t)
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
		db := openDB(t)
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
		db := openDB(t)
		a, _, errA := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: flourAndEggs})
		b, created, errB := db.CreateOrder(ctx, data.NewOrder{Key: "k2", Items: flourAndEggs})
		if errA != nil || errB != nil || !created || a == b {
			t.Fatalf("got orders %d and %d (created %v, errors %v, %v), want two new ones", a, b, created, errA, errB)
		}
		assertRows(t, db, "orders", 2)
	})

	t.Run("no key is an error", func(t *testing.T) {
		db := openDB(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Items: flourAndEggs}); err == nil {
			t.Fatal("got nil error, want one")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("the table itself refuses a second order with a key", func(t *testing.T) {
		db := openDB(t)
		insert := "INSERT INTO orders (id, checkout_key, total_cents) VALUES (?, 'k1', 0)"
		if _, err := db.Write.Exec(insert, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Write.Exec(insert, 2); err == nil {
			t.Errorf("got nil error, want the UNIQUE index to refuse a second order with key k1")
		}
	})
}

func TestOrderIDByKey(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
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

// TestCheckoutKeyMigrationKeepsOlderOrders opens a database made before
// checkout keys, with orders in it, at the current version.
func TestCheckoutKeyMigrationKeepsOlderOrders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")

	before := fstest.MapFS{}
	for _, name := range []string{"00001_create_sessions.sql", "00002_create_ingredients.sql", "00003_create_orders.sql"} {
		b, err := fs.ReadFile(gosessions.SQLiteMigrations(), name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	// Migrated as Open does, but without Open, which needs the current
	// schema.
	old, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectSQLite3, old, before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{1, 2} {
		if _, err := old.Exec("INSERT INTO orders (id, total_cents) VALUES (?, 250)", id); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()

	db, err := sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatalf("Open at the current version: %v", err)
	}
	defer db.Close()
	var withoutKey int
	if err := db.Read.QueryRow("SELECT count(*) FROM orders WHERE checkout_key IS NULL").Scan(&withoutKey); err != nil {
		t.Fatal(err)
	}
	if withoutKey != 2 {
		t.Errorf("got %d older orders without a key, want 2", withoutKey)
	}
	if _, created, err := db.CreateOrder(ctx, data.NewOrder{Key: "k1", Items: []data.OrderItem{{IngredientID: 1, Qty: 1}}}); err != nil || !created {
		t.Errorf("CreateOrder beside the older orders: got created %v, error %v; want created, nil", created, err)
	}
}

func TestOrdersOfUser(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
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
