package postgres

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/data"
)

// CreateOrder records an order in one transaction, pricing each line from
// the catalog, and returns its id with created true. Either the whole order
// is written or nothing is.
//
// A key places at most one order. If o.Key has placed one already for the
// same items (a checkout tried again because its answer never arrived),
// CreateOrder writes nothing and returns that order's id with created false.
// If that order holds other items, it returns the order's id, created false,
// and ErrKeyUsed: the cart changed after the earlier checkout went through.
//
// SQLite's write lock serialises two checkouts; here two may run at once.
// Two with one key: the second's INSERT ... ON CONFLICT waits for the
// first to commit, then inserts nothing, and the order the first placed is
// read as if it had been there from the start. Two of one account: each
// locks the account's row before it numbers the order, so that the second
// counts the first's.
func (db *DB) CreateOrder(ctx context.Context, o data.NewOrder) (id int64, created bool, err error) {
	if o.Key == "" {
		return 0, false, errors.New("create order: no checkout key")
	}
	if len(o.Items) == 0 {
		return 0, false, errors.New("create order: no items")
	}
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback(ctx) // no-op after Commit

	// A checkout tried again finds its order here, without a lock.
	if id, err := orderByKey(ctx, tx, o.Key, o.Items); !errors.Is(err, data.ErrNotFound) {
		return id, false, err
	}

	var userID, accountOrder *int64
	if o.UserID != 0 {
		userID = &o.UserID
		// The account's next number. FOR NO KEY UPDATE does not keep other
		// rows from referring to the account, as a sign-in's does.
		if _, err := tx.Exec(ctx, "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", o.UserID); err != nil {
			return 0, false, err
		}
		if err := tx.QueryRow(ctx,
			"SELECT coalesce(max(account_order), 0) + 1 FROM orders WHERE user_id = $1", o.UserID).Scan(&accountOrder); err != nil {
			return 0, false, err
		}
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO orders (id, checkout_key, user_id, account_order, customer_name, customer_email, total_cents)
		VALUES ($1, $2, $3, $4, $5, $6, 0)
		ON CONFLICT (checkout_key) DO NOTHING
		RETURNING id`,
		newOrderID(), o.Key, userID, accountOrder, o.CustomerName, o.CustomerEmail).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// Another checkout with this key committed its order meanwhile.
		id, err := orderByKey(ctx, tx, o.Key, o.Items)
		return id, false, err
	}
	if err != nil {
		return 0, false, err
	}
	for _, it := range o.Items {
		tag, err := tx.Exec(ctx, `
			INSERT INTO order_lines (order_id, ingredient_id, qty, unit_price_cents)
			SELECT $1, id, $2, price_cents FROM ingredients WHERE id = $3`,
			id, it.Qty, it.IngredientID)
		if err != nil {
			return 0, false, err
		}
		if tag.RowsAffected() != 1 {
			return 0, false, fmt.Errorf("create order: ingredient %d: %w", it.IngredientID, data.ErrNotFound)
		}
	}
	if _, err := tx.Exec(ctx, `
		UPDATE orders SET total_cents =
			(SELECT sum(qty * unit_price_cents) FROM order_lines WHERE order_id = $1)
		WHERE id = $1`, id); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// orderByKey returns the id of the order that key placed, or ErrNotFound;
// if that order does not hold exactly items, the error is ErrKeyUsed.
func orderByKey(ctx context.Context, tx pgx.Tx, key string, items []data.OrderItem) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, "SELECT id FROM orders WHERE checkout_key = $1", key).Scan(&id); err != nil {
		return 0, notFound(err)
	}
	same, err := hasItems(ctx, tx, id, items)
	if err != nil {
		return 0, err
	}
	if !same {
		return id, fmt.Errorf("create order: order %d: %w", id, data.ErrKeyUsed)
	}
	return id, nil
}

// hasItems reports whether order id holds exactly items: the same
// ingredients in the same quantities, in any order.
func hasItems(ctx context.Context, tx pgx.Tx, id int64, items []data.OrderItem) (bool, error) {
	want := make(map[int64]int, len(items))
	for _, it := range items {
		want[it.IngredientID] = it.Qty
	}
	rows, err := tx.Query(ctx, "SELECT ingredient_id, qty FROM order_lines WHERE order_id = $1", id)
	if err != nil {
		return false, err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowToStructByPos[data.OrderItem])
	if err != nil {
		return false, err
	}
	for _, l := range lines {
		if want[l.IngredientID] != l.Qty {
			return false, nil
		}
	}
	return len(lines) == len(want), nil
}

// OrderIDByKey returns the id of the order that checkout key placed, or
// ErrNotFound.
func (db *DB) OrderIDByKey(ctx context.Context, key string) (int64, error) {
	var id int64
	err := db.pool.QueryRow(ctx, "SELECT id FROM orders WHERE checkout_key = $1", key).Scan(&id)
	return id, notFound(err)
}

// newOrderID returns a random order id. Ids counted 1, 2, 3 would clash
// between several databases (a session that moved to an instance with
// another database would find someone else's order 1 there), and would
// tell anyone how many orders the shop has had. 53 bits keep the id exact
// in JavaScript's numbers.
func newOrderID() int64 {
	var b [8]byte
	rand.Read(b[:]) // never fails
	return int64(binary.BigEndian.Uint64(b[:])>>11) + 1
}

// Order returns one order with its lines, or ErrNotFound.
func (db *DB) Order(ctx context.Context, id int64) (data.Order, error) {
	o := data.Order{ID: id}
	var userID *int64
	var created time.Time
	err := db.pool.QueryRow(ctx,
		"SELECT user_id, customer_name, customer_email, total_cents, created_at FROM orders WHERE id = $1", id,
	).Scan(&userID, &o.CustomerName, &o.CustomerEmail, &o.TotalCents, &created)
	if err != nil {
		return data.Order{}, notFound(err)
	}
	if userID != nil {
		o.UserID = *userID
	}
	o.CreatedAt = created.UTC().Format(time.RFC3339) // what SQLite's column holds

	rows, err := db.pool.Query(ctx, `
		SELECT l.ingredient_id, i.name, l.qty, l.unit_price_cents
		FROM order_lines l JOIN ingredients i ON i.id = l.ingredient_id
		WHERE l.order_id = $1 ORDER BY l.ingredient_id`, id)
	if err != nil {
		return data.Order{}, err
	}
	if o.Lines, err = pgx.CollectRows(rows, pgx.RowToStructByPos[data.OrderLine]); err != nil {
		return data.Order{}, err
	}
	if len(o.Lines) == 0 {
		o.Lines = nil
	}
	return o, nil
}

// OrdersOfUser returns the latest limit orders of account userID, the
// newest first.
func (db *DB) OrdersOfUser(ctx context.Context, userID int64, limit int) ([]data.OrderSummary, error) {
	rows, err := db.pool.Query(ctx,
		"SELECT id, total_cents, created_at FROM orders WHERE user_id = $1 ORDER BY account_order DESC LIMIT $2",
		userID, limit)
	if err != nil {
		return nil, err
	}
	orders, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (data.OrderSummary, error) {
		var o data.OrderSummary
		err := row.Scan(&o.ID, &o.TotalCents, &o.CreatedAt)
		o.CreatedAt = o.CreatedAt.UTC()
		return o, err
	})
	if err != nil {
		return nil, err
	}
	return orders, nil
}
