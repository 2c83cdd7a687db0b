-- Orders are what a checkout leaves behind. They outlive any session, so they
-- belong in tables of their own; the session only remembers their ids.

-- +goose Up
CREATE TABLE orders (
	id             INTEGER PRIMARY KEY,
	customer_name  TEXT    NOT NULL DEFAULT '',
	customer_email TEXT    NOT NULL DEFAULT '',
	total_cents    INTEGER NOT NULL,
	created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE order_lines (
	order_id         INTEGER NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	ingredient_id    INTEGER NOT NULL REFERENCES ingredients (id),
	qty              INTEGER NOT NULL CHECK (qty BETWEEN 1 AND 99),
	unit_price_cents INTEGER NOT NULL,
	PRIMARY KEY (order_id, ingredient_id)
);

-- +goose Down
DROP TABLE order_lines;
DROP TABLE orders;
