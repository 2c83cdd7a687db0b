package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	gosessions "example.com/gosessions"
	"example.com/gosessions/sqlite"
)

// openDB opens a fresh database with the application's migrations in a
// temporary folder.
func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), gosessions.Migrations())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesTheMissingDataFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.Migrations())
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: got %v, want it created", err)
	}
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}

func TestOpenTwiceKeepsTheData(t *testing.T) {
	// Migrations already applied are skipped, so a restart keeps every row.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(ctx, path, gosessions.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: "k", Items: []sqlite.OrderItem{{IngredientID: 1, Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = sqlite.Open(ctx, path, gosessions.Migrations())
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer db.Close()
	if _, err := db.Order(ctx, id); err != nil {
		t.Errorf("Order(%d) after reopening: got %v, want the order", id, err)
	}
}

func TestOpenRefusesAPathWithAQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db?mode=memory")
	if db, err := sqlite.Open(context.Background(), path, gosessions.Migrations()); err == nil {
		db.Close()
		t.Errorf("Open(%q): got nil error, want one", path)
	}
}

func TestCheckFailsWhenTheFileIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(context.Background()); err == nil {
		t.Errorf("Check after removing %s: got nil, want an error", path)
	}
}

func TestCatalog(t *testing.T) {
	db := openDB(t)
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
		if _, err := db.Ingredient(ctx, 9999); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestCreateOrder(t *testing.T) {
	ctx := context.Background()

	t.Run("writes the order and its lines at catalog prices", func(t *testing.T) {
		db := openDB(t)
		id, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: "k", CustomerName: "Ada", CustomerEmail: "ada@example.com",
			Items: []sqlite.OrderItem{
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
		want := []sqlite.OrderLine{
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
		db := openDB(t)
		_, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: "k", Items: []sqlite.OrderItem{
			{IngredientID: 1, Qty: 1}, // valid, and written before the bad line
			{IngredientID: 9999, Qty: 1},
		}})
		if !errors.Is(err, sqlite.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		// The first line and the order row were written inside the
		// transaction; the rollback must have removed both.
		assertRows(t, db, "orders", 0)
		assertRows(t, db, "order_lines", 0)
	})

	t.Run("a quantity the table refuses creates no order", func(t *testing.T) {
		db := openDB(t)
		if _, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: "k", Items: []sqlite.OrderItem{{IngredientID: 1, Qty: 100}}}); err == nil {
			t.Fatal("got nil error, want the CHECK constraint to refuse qty 100")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("no items is an error", func(t *testing.T) {
		db := openDB(t)
		if _, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: "k"}); err == nil {
			t.Fatal("got nil error, want one")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("Order of an unknown id is ErrNotFound", func(t *testing.T) {
		db := openDB(t)
		if _, err := db.Order(ctx, 42); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func assertRows(t *testing.T, db *sqlite.DB, table string, want int) {
	t.Helper()
	var n int
	if err := db.Read.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("%s: got %d rows, want %d", table, n, want)
	}
}
