package postgres_test

import (
	"context"
	"testing"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/datatest"
	"example.com/gosessions/internal/data/postgres"
	"example.com/gosessions/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStore runs the suite that every data.Store passes, each test on a
// database of its own.
func TestStore(t *testing.T) {
	datatest.Run(t, func(t *testing.T) datatest.DB {
		url := pgtest.NewDatabase(t)
		return testDB{openURL(t, url), url}
	})
}

// testDB gives the suite its look behind the Store.
type testDB struct {
	*postgres.DB
	url string
}

func (db testDB) Exec(ctx context.Context, query string) error {
	_, err := db.Pool().Exec(ctx, query)
	return err
}

func (db testDB) Count(ctx context.Context, query string) (n int, err error) {
	err = db.Pool().QueryRow(ctx, query).Scan(&n)
	return n, err
}

func (db testDB) Reopen(t *testing.T) data.Store { return openURL(t, db.url) }

// openURL opens the database at url with the application's migrations,
// and closes it when the test ends.
func openURL(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, gosessions.PostgresMigrations())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
