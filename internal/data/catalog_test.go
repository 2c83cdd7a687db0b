package data_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/sqlite"
)

// countingStore is a real SQLite store that counts the catalog reads.
type countingStore struct {
	*sqlite.DB
	reads atomic.Int64
}

func (s *countingStore) Ingredients(ctx context.Context) ([]data.Ingredient, error) {
	s.reads.Add(1)
	return s.DB.Ingredients(ctx)
}

func openCounting(t *testing.T) *countingStore {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &countingStore{DB: db}
}

func TestCatalog(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		maxAge    time.Duration
		wantReads int64 // for four calls
		wantNew   bool  // an ingredient added after the first call shows
	}{
		{"within its age the copy is used", time.Hour, 1, false},
		{"an old copy is read again", 0, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openCounting(t)
			c := data.NewCatalog(store, tt.maxAge)
			first, err := c.Ingredients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := store.Write.Exec(`INSERT INTO ingredients (id, name, description, price_cents) VALUES (100, 'Honey', 'Runny honey, 340 g.', 400)`); err != nil {
				t.Fatal(err)
			}
			list, err := c.Ingredients(ctx)
			if err != nil {
				t.Fatal(err)
			}
			in, err := c.Ingredient(ctx, 100)
			if gotNew := err == nil && in.Name == "Honey" && len(list) == len(first)+1; gotNew != tt.wantNew {
				t.Errorf("after adding Honey: Ingredient(100) = %+v, %v; %d ingredients (%d before); want it shown %v",
					in, err, len(list), len(first), tt.wantNew)
			}
			if _, err := c.Ingredient(ctx, 1); err != nil {
				t.Errorf("Ingredient(1): %v", err)
			}
			if got := store.reads.Load(); got != tt.wantReads {
				t.Errorf("catalog reads for 4 calls: got %d, want %d", got, tt.wantReads)
			}
		})
	}
}

func TestCatalogUnknownIngredient(t *testing.T) {
	c := data.NewCatalog(openCounting(t), time.Hour)
	if _, err := c.Ingredient(context.Background(), 999); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("Ingredient(999): got %v, want ErrNotFound", err)
	}
}

// A failed read is the caller's error, and the next call reads again.
func TestCatalogReadError(t *testing.T) {
	store := openCounting(t)
	c := data.NewCatalog(store, 0)
	store.Close()
	for i := range 2 {
		if _, err := c.Ingredients(context.Background()); err == nil {
			t.Fatalf("call %d on a closed database: got nil error", i+1)
		}
	}
	if got := store.reads.Load(); got != 2 {
		t.Errorf("reads: got %d, want 2", got)
	}
}

// Requests arriving before the first copy wait for one read, not one each.
func TestCatalogFirstReadIsShared(t *testing.T) {
	store := openCounting(t)
	c := data.NewCatalog(store, time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Ingredient(context.Background(), 1) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if got := store.reads.Load(); got != 1 {
		t.Errorf("reads for 32 concurrent first calls: got %d, want 1", got)
	}
}

// panickingStore panics on its first catalog read, as a broken driver
// might; the request's recover turns that into one 500.
type panickingStore struct {
	*countingStore
	panicked bool
}

func (s *panickingStore) Ingredients(ctx context.Context) ([]data.Ingredient, error) {
	if !s.panicked {
		s.panicked = true
		panic("driver bug")
	}
	return s.countingStore.Ingredients(ctx)
}

// A read that panicked does not leave the next ones waiting for it.
func TestCatalogReadPanic(t *testing.T) {
	c := data.NewCatalog(&panickingStore{countingStore: openCounting(t)}, time.Hour)
	func() {
		defer func() { recover() }()
		c.Ingredients(context.Background())
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // only so a broken Catalog fails rather than hangs
	defer cancel()
	if _, err := c.Ingredient(ctx, 1); err != nil {
		t.Fatalf("Ingredient after a read that panicked: %v", err)
	}
}
