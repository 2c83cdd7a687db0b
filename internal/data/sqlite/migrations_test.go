package sqlite_test

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/sqlite"
)

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
