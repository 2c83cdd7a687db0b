package data

import (
	"context"
	"sync"
	"time"
)

// Catalog keeps a copy of the catalog read from a Store, and reads it again
// once the copy is older than MaxAge.
//
// Nearly every page names ingredients, and the catalog changes only when
// someone edits the table: the app itself never writes it. Reading it from
// the database on every page cost a query per page: on SQLite about a
// tenth of a /session-example page's CPU, on PostgreSQL a round trip. A
// change made with sqlite3 or psql shows within MaxAge, on every instance
// (plus the time one read of the table takes: requests that come while it
// runs get the copy before it).
// Only pages read the copy: checkout prices an order from the table itself,
// inside the order's transaction (Store.CreateOrder).
type Catalog struct {
	store  Store
	maxAge time.Duration

	mu       sync.Mutex
	list     []Ingredient // ordered by id; never changed once read
	byID     map[int64]int
	readAt   time.Time
	reading  bool          // a request is reading the table again
	readDone chan struct{} // closed when that read ends
}

// NewCatalog returns a Catalog of store's ingredients, read at most every
// maxAge.
func NewCatalog(store Store, maxAge time.Duration) *Catalog {
	return &Catalog{store: store, maxAge: maxAge}
}

// Ingredients returns the whole catalog, ordered by id. The slice is shared:
// callers must not change it.
func (c *Catalog) Ingredients(ctx context.Context) ([]Ingredient, error) {
	list, _, err := c.current(ctx)
	return list, err
}

// Ingredient returns one ingredient, or ErrNotFound.
func (c *Catalog) Ingredient(ctx context.Context, id int64) (Ingredient, error) {
	list, byID, err := c.current(ctx)
	if err != nil {
		return Ingredient{}, err
	}
	i, ok := byID[id]
	if !ok {
		return Ingredient{}, ErrNotFound
	}
	return list[i], nil
}

// current returns the copy, reading the table first if the copy is older
// than maxAge. One request reads it while the others go on with the old
// copy; with no copy yet, they wait for that read, or for ctx. A failed read
// keeps the old copy, and the next request tries again.
func (c *Catalog) current(ctx context.Context) ([]Ingredient, map[int64]int, error) {
	for {
		c.mu.Lock()
		fresh := c.list != nil && time.Since(c.readAt) < c.maxAge
		if fresh || (c.list != nil && c.reading) {
			list, byID := c.list, c.byID
			c.mu.Unlock()
			return list, byID, nil
		}
		if !c.reading {
			c.reading, c.readDone = true, make(chan struct{})
			c.mu.Unlock()
			return c.read(ctx)
		}
		done := c.readDone // no copy yet, and another request is reading
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// read reads the table and, if that worked, makes it the copy.
func (c *Catalog) read(ctx context.Context) ([]Ingredient, map[int64]int, error) {
	readAt := time.Now()
	defer func() {
		// Also if the store panicked: otherwise every later request would
		// wait for a read that never ends.
		c.mu.Lock()
		c.reading = false
		close(c.readDone)
		c.mu.Unlock()
	}()
	list, err := c.store.Ingredients(ctx)
	if err != nil {
		return nil, nil, err
	}
	if list == nil {
		list = []Ingredient{} // an empty catalog is a copy too
	}
	byID := make(map[int64]int, len(list))
	for i, in := range list {
		byID[in.ID] = i
	}
	c.mu.Lock()
	c.list, c.byID, c.readAt = list, byID, readAt
	c.mu.Unlock()
	return list, byID, nil
}
