package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"example.com/gosessions/internal/data"
)

// Ingredients returns the whole catalog, ordered by id.
func (db *DB) Ingredients(ctx context.Context) ([]data.Ingredient, error) {
	rows, err := db.reads.QueryContext(ctx, "SELECT id, name, description, price_cents FROM ingredients ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var list []data.Ingredient
	for rows.Next() {
		var in data.Ingredient
		if err := rows.Scan(&in.ID, &in.Name, &in.Description, &in.PriceCents); err != nil {
			return nil, err
		}
		list = append(list, in)
	}
	return list, rows.Err()
}

// Ingredient returns one ingredient, or ErrNotFound.
func (db *DB) Ingredient(ctx context.Context, id int64) (data.Ingredient, error) {
	in := data.Ingredient{ID: id}
	err := db.reads.QueryRowContext(ctx,
		"SELECT name, description, price_cents FROM ingredients WHERE id = ?", id,
	).Scan(&in.Name, &in.Description, &in.PriceCents)
	if errors.Is(err, sql.ErrNoRows) {
		return data.Ingredient{}, data.ErrNotFound
	}
	return in, err
}
