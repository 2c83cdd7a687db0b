package sqlite

import (
	"context"
	"database/sql"
	"errors"
)

// Ingredient is one item of the catalog.
type Ingredient struct {
	ID          int64
	Name        string
	Description string
	PriceCents  int64
}

// Ingredients returns the whole catalog, ordered by id.
func (db *DB) Ingredients(ctx context.Context) ([]Ingredient, error) {
	rows, err := db.Read.QueryContext(ctx, "SELECT id, name, description, price_cents FROM ingredients ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var list []Ingredient
	for rows.Next() {
		var in Ingredient
		if err := rows.Scan(&in.ID, &in.Name, &in.Description, &in.PriceCents); err != nil {
			return nil, err
		}
		list = append(list, in)
	}
	return list, rows.Err()
}

// Ingredient returns one ingredient, or ErrNotFound.
func (db *DB) Ingredient(ctx context.Context, id int64) (Ingredient, error) {
	in := Ingredient{ID: id}
	err := db.Read.QueryRowContext(ctx,
		"SELECT name, description, price_cents FROM ingredients WHERE id = ?", id,
	).Scan(&in.Name, &in.Description, &in.PriceCents)
	if errors.Is(err, sql.ErrNoRows) {
		return Ingredient{}, ErrNotFound
	}
	return in, err
}
