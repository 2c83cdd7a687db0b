package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
)

// Order is a completed checkout.
type Order struct {
	ID            int64
	CustomerName  string
	CustomerEmail string
	TotalCents    int64
	CreatedAt     string
	Lines         []OrderLine
}

// OrderLine is one ingredient of an order, at the price it was bought for.
type OrderLine struct {
	IngredientID   int64
	Name           string
	Qty            int
	UnitPriceCents int64
}

// LineTotalCents is the line's quantity times its unit price.
func (l OrderLine) LineTotalCents() int64 { return int64(l.Qty) * l.UnitPriceCents }

// OrderItem is what CreateOrder is asked to buy.
type OrderItem struct {
	IngredientID int64
	Qty          int
}

// CreateOrder records an order for items in one transaction, pricing each
// line from the catalog, and returns its id. Either the whole order is
// written or nothing is.
func (db *DB) CreateOrder(ctx context.Context, name, email string, items []OrderItem) (int64, error) {
	if len(items) == 0 {
		return 0, errors.New("create order: no items")
	}
	tx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // no-op after Commit

	id := newOrderID()
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO orders (id, customer_name, customer_email, total_cents) VALUES (?, ?, ?, 0)",
		id, name, email); err != nil {
		return 0, err
	}
	for _, it := range items {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO order_lines (order_id, ingredient_id, qty, unit_price_cents)
			SELECT ?, id, ?, price_cents FROM ingredients WHERE id = ?`,
			id, it.Qty, it.IngredientID)
		if err != nil {
			return 0, err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, fmt.Errorf("create order: ingredient %d: %w", it.IngredientID, ErrNotFound)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE orders SET total_cents =
			(SELECT sum(qty * unit_price_cents) FROM order_lines WHERE order_id = ?)
		WHERE id = ?`, id, id); err != nil {
		return 0, err
	}
	return id, tx.Commit()
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
func (db *DB) Order(ctx context.Context, id int64) (Order, error) {
	o := Order{ID: id}
	err := db.Read.QueryRowContext(ctx,
		"SELECT customer_name, customer_email, total_cents, created_at FROM orders WHERE id = ?", id,
	).Scan(&o.CustomerName, &o.CustomerEmail, &o.TotalCents, &o.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, ErrNotFound
	}
	if err != nil {
		return Order{}, err
	}

	rows, err := db.Read.QueryContext(ctx, `
		SELECT l.ingredient_id, i.name, l.qty, l.unit_price_cents
		FROM order_lines l JOIN ingredients i ON i.id = l.ingredient_id
		WHERE l.order_id = ? ORDER BY l.ingredient_id`, id)
	if err != nil {
		return Order{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var l OrderLine
		if err := rows.Scan(&l.IngredientID, &l.Name, &l.Qty, &l.UnitPriceCents); err != nil {
			return Order{}, err
		}
		o.Lines = append(o.Lines, l)
	}
	return o, rows.Err()
}
