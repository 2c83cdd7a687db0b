package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/datatest"
	"example.com/gosessions/internal/data/sqlite"
)

// TestStore runs the suite that every data.Store passes, each test on a
// file of its own.
func TestStore(t *testing.T) {
	datatest.Run(t, func(t *testing.T) datatest.DB {
		path := filepath.Join(t.TempDir(), "test.db")
		return testDB{openPath(t, path), path}
	})
}

// testDB gives the suite its look behind the Store.
type testDB struct {
	*sqlite.DB
	path string
}

func (db testDB) Exec(ctx context.Context, query string) error {
	_, err := db.Write.ExecContext(ctx, query)
	return err
}

func (db testDB) Count(ctx context.Context, query string) (n int, err error) {
	err = db.Read.QueryRowContext(ctx, query).Scan(&n)
	return n, err
}

func (db testDB) Reopen(t *testing.T) data.Store {
	return openPath(t, db.path)
}

// openDB opens a fresh database with the application's migrations in a
// temporary folder.
func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "test.db"))
}

// openPath opens the database at path, and closes it when the test ends.
func openPath(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
