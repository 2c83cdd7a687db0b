package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

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
func (db *DB) CreateOrder(ctx context.Context, o data.NewOrder) (id int64, created bool, err error) {
	if o.Key == "" {
		return 0, false, errors.New("create order: no checkout key")
	}
	if len(o.Items) == 0 {
		return 0, false, errors.New("create order: no items")
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback() // no-op after Commit

	// The transaction holds the write lock from its start (txlock=immediate),
	// so no other writer can place an order with this key between this look
	// and the insert below; the UNIQUE index would refuse it anyway.
	err = tx.QueryRowContext(ctx, "SELECT id FROM orders WHERE checkout_key = ?", o.Key).Scan(&id)
	switch {
	case err == nil:
		same, err := hasItems(ctx, tx, id, o.Items)
		if err != nil {
			return 0, false, err
		}
		if !same {
			return id, false, fmt.Errorf("create order: order %d: %w", id, data.ErrKeyUsed)
		}
		return id, false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, false, err
	}

	id = newOrderID()
	var userID, accountOrder sql.Null[int64]
	if o.UserID != 0 {
		// The account's next number: no other writer can take it first,
		// as above.
		userID = sql.Null[int64]{V: o.UserID, Valid: true}
		if err := tx.QueryRowContext(ctx,
			"SELECT coalesce(max(account_order), 0) + 1 FROM orders WHERE user_id = ?", o.UserID).Scan(&accountOrder); err != nil {
			return 0, false, err
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO orders (id, checkout_key, user_id, account_order, customer_name, customer_email, total_cents)
		VALUES (?, ?, ?, ?, ?, ?, 0)`,
		id, o.Key, userID, accountOrder, o.CustomerName, o.CustomerEmail); err != nil {
		return 0, false, err
	}
	for _, it := range o.Items {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO order_lines (order_id, ingredient_id, qty, unit_price_cents)
			SELECT ?, id, ?, price_cents FROM ingredients WHERE id = ?`,
			id, it.Qty, it.IngredientID)
		if err != nil {
			return 0, false, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, false, fmt.Errorf("create order: ingredient %d: %w", it.IngredientID, data.ErrNotFound)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE orders SET total_cents =
			(SELECT sum(qty * unit_price_cents) FROM order_lines WHERE order_id = ?)
		WHERE id = ?`, id, id); err != nil {
		return 0, false, err
	}
	if err := tx.Commit(); err != nil {
		return 0, false, err
	}
	return id, true, nil
}

// hasItems reports whether order id holds exactly items: the same
// ingredients in the same quantities, in any order.
func hasItems(ctx context.Context, tx *sql.Tx, id int64, items []data.OrderItem) (bool, error) {
	want := make(map[int64]int, len(items))
	for _, it := range items {
		want[it.IngredientID] = it.Qty
	}
	rows, err := tx.QueryContext(ctx, "SELECT ingredient_id, qty FROM order_lines WHERE order_id = ?", id)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	lines := 0
	for rows.Next() {
		var ingredient int64
		var qty int
		if err := rows.Scan(&ingredient, &qty); err != nil {
			return false, err
		}
		if want[ingredient] != qty {
			return false, nil
		}
		lines++
	}
	return lines == len(want), rows.Err()
}

// OrderIDByKey returns the id of the order that checkout key placed, or
// ErrNotFound.
func (db *DB) OrderIDByKey(ctx context.Context, key string) (int64, error) {
	var id int64
	err := db.reads.QueryRowContext(ctx, "SELECT id FROM orders WHERE checkout_key = ?", key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, data.ErrNotFound
	}
	return id, err
}

// newOrderID returns a random order id. Ids counted 1, 2, 3 would clash
// between several instances that each keep their own orders (a session that
// moved to another instance would find someone else's order 1 there), and
// would tell anyone how many orders the shop has had. 53 bits keep the id
// exact in JavaScript's numbers.
func newOrderID() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return int64(binary.BigEndian.Uint64(b[:])>>11) + 1
}

// Order returns one order with its lines, or ErrNotFound.
func (db *DB) Order(ctx context.Context, id int64) (data.Order, error) {
	o := data.Order{ID: id}
	var userID sql.Null[int64]
	err := db.reads.QueryRowContext(ctx,
		"SELECT user_id, customer_name, customer_email, total_cents, created_at FROM orders WHERE id = ?", id,
	).Scan(&userID, &o.CustomerName, &o.CustomerEmail, &o.TotalCents, &o.CreatedAt)
	o.UserID = userID.V
	if errors.Is(err, sql.ErrNoRows) {
		return data.Order{}, data.ErrNotFound
	}
	if err != nil {
		return data.Order{}, err
	}

	rows, err := db.reads.QueryContext(ctx, `
		SELECT l.ingredient_id, i.name, l.qty, l.unit_price_cents
		FROM order_lines l JOIN ingredients i ON i.id = l.ingredient_id
		WHERE l.order_id = ? ORDER BY l.ingredient_id`, id)
	if err != nil {
		return data.Order{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var l data.OrderLine
		if err := rows.Scan(&l.IngredientID, &l.Name, &l.Qty, &l.UnitPriceCents); err != nil {
			return data.Order{}, err
		}
		o.Lines = append(o.Lines, l)
	}
	return o, rows.Err()
}

// OrdersOfUser returns the latest limit orders of account userID, the
// newest first.
func (db *DB) OrdersOfUser(ctx context.Context, userID int64, limit int) ([]data.OrderSummary, error) {
	rows, err := db.reads.QueryContext(ctx,
		"SELECT id, total_cents, created_at FROM orders WHERE user_id = ? ORDER BY account_order DESC LIMIT ?",
		userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	orders := []data.OrderSummary{}
	for rows.Next() {
		var o data.OrderSummary
		var created string
		if err := rows.Scan(&o.ID, &o.TotalCents, &created); err != nil {
			return nil, err
		}
		if o.CreatedAt, err = time.Parse(time.RFC3339, created); err != nil {
			return nil, fmt.Errorf("order %d: %w", o.ID, err)
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}
