package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/sqlite"
)

// openDB opens a fresh database with the application's migrations in a
// temporary folder.
func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesTheMissingDataFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
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
	db, err := sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", Items: []data.OrderItem{{IngredientID: 1, Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
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
	if db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations()); err == nil {
		db.Close()
		t.Errorf("Open(%q): got nil error, want one", path)
	}
}

func TestCheckFailsWhenTheFileIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
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
		if _, err := db.Ingredient(ctx, 9999); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestCreateOrder(t *testing.T) {
	ctx := context.Background()

	t.Run("writes the order and its lines at catalog prices", func(t *testing.T) {
		db := openDB(t)
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
		db := openDB(t)
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
		db := openDB(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k", Items: []data.OrderItem{{IngredientID: 1, Qty: 100}}}); err == nil {
			t.Fatal("got nil error, want the CHECK constraint to refuse qty 100")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("no items is an error", func(t *testing.T) {
		db := openDB(t)
		if _, _, err := db.CreateOrder(ctx, data.NewOrder{Key: "k"}); err == nil {
			t.Fatal("got nil error, want one")
		}
		assertRows(t, db, "orders", 0)
	})

	t.Run("Order of an unknown id is ErrNotFound", func(t *testing.T) {
		db := openDB(t)
		if _, err := db.Order(ctx, 42); !errors.Is(err, data.ErrNotFound) {
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

// TestCheckProbesAWrite checks that Check fails while another process
// holds SQLite's write lock, so that /healthz does not say a session can be
// saved when it cannot, and passes again once the lock is released.
func TestCheckProbesAWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Another process, as far as SQLite is concerned: a connection of its
	// own in the middle of a write transaction.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	// A deadline far beyond the probe's own bounds: the check must fail
	// by itself, with the lock's error, not by running out of time.
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = db.Check(checkCtx)
	if err == nil {
		t.Fatal("Check while another connection holds the write lock: got nil, want an error")
	}
	if errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("Check while the write lock is held: got %v, want a database is locked error", err)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("release the write lock: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the lock is released: got %v, want nil", err)
	}
}

// TestCheckPassesWhileTheWriterIsBusy checks that our own writes, however
// many, do not make Check fail: it waits its turn for the writer.
func TestCheckPassesWhileTheWriterIsBusy(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for range 3 {
		writers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A transaction that holds the write lock for a few
				// milliseconds, as a group commit does; with several in
				// turn, it is almost never free.
				if err := holdTheWriteLock(db, 5*time.Millisecond); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 20 {
		if err := db.Check(ctx); err != nil {
			t.Errorf("check %d while the writer is busy: got %v, want nil", i, err)
		}
	}
	close(stop)
	writers.Wait()
	// The probe's row was rolled back every time.
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE token != 'busy'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rows left by the probe: got %d, want 0", n)
	}
}

// holdTheWriteLock writes a row in a transaction that it keeps open for d.
func holdTheWriteLock(db *sqlite.DB, d time.Duration) error {
	tx, err := db.Write.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`REPLACE INTO sessions (token, data, expiry) VALUES ('busy', x'00', julianday('now') + 1)`); err != nil {
		return err
	}
	time.Sleep(d)
	return tx.Commit()
}

// TestCheckFailsWhileTheFileCannotBeWritten makes the database's files
// immutable (chattr +i, which needs root and a file system that has it):
// reads still work, every commit fails, and Check must fail too rather
// than pass on a write that it rolls back.
func TestCheckFailsWhileTheFileCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check of a healthy database: %v", err)
	}
	// Not the -shm file, which SQLite maps into memory: with it immutable
	// too, the test binary crashed under the race detector. The database
	// and its WAL are what a commit writes.
	files := []string{path, path + "-wal"}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("cannot make the files immutable (chattr +i needs root and ext4 or similar): %v %s", err, out)
	}
	defer exec.Command("chattr", append([]string{"-i"}, files...)...).Run()

	if err := db.Check(ctx); err == nil {
		t.Errorf("Check while the files are immutable: got nil, want an error")
	}
	if out, err := exec.Command("chattr", append([]string{"-i"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check once the files can be written again: got %v, want nil", err)
	}
}

func TestDatabaseID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	a, err := sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID()
	a.Close()

	t.Run("is random, and stays the same across restarts", func(t *testing.T) {
		again, err := sqlite.Open(ctx, path, gosessions.SQLiteMigrations())
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if len(id) != 32 || again.ID() != id {
			t.Errorf("got id %q, then %q after reopening; want one 32-digit hex id", id, again.ID())
		}
	})

	t.Run("differs between two database files", func(t *testing.T) {
		if other := openDB(t).ID(); other == id {
			t.Errorf("two files got the same id %q", id)
		}
	})
}
