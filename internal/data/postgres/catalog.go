package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"example.com/gosessions/internal/data"
)

// Ingredients returns the whole catalog, ordered by id.
func (db *DB) Ingredients(ctx context.Context) ([]data.Ingredient, error) {
	rows, err := db.pool.Query(ctx, "SELECT id, name, description, price_cents FROM ingredients ORDER BY id")
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[data.Ingredient])
	if len(list) == 0 {
		return nil, err // as the sqlite package: no rows, no slice
	}
	return list, err
}

// Ingredient returns one ingredient, or ErrNotFound.
func (db *DB) Ingredient(ctx context.Context, id int64) (data.Ingredient, error) {
	in := data.Ingredient{ID: id}
	err := db.pool.QueryRow(ctx,
		"SELECT name, description, price_cents FROM ingredients WHERE id = $1", id,
	).Scan(&in.Name, &in.Description, &in.PriceCents)
	if err != nil {
		return data.Ingredient{}, notFound(err)
	}
	return in, nil
}
