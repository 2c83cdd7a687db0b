-- Orders are what a checkout leaves behind, as in migrations/sqlite/00003,
-- 00004 and 00009. They outlive any session, so they belong in tables of
-- their own; the session only remembers their ids.
--
-- id is random (see newOrderID in orders.go). checkout_key names the cart
-- the order was placed from: a checkout tried again with the same key
-- finds the order it placed instead of placing another, and the UNIQUE
-- constraint makes that hold whatever the application does. It may be
-- NULL, as on orders placed before SQLite had keys; UNIQUE lets any number
-- of NULLs stand.
--
-- An order placed while signed in belongs to the account (user_id); a
-- guest's has none, and deleting an account keeps its orders, as a
-- guest's. account_order numbers an account's orders 1, 2, 3... in the
-- order they were placed, so that /account lists the newest first even
-- when two were placed within the same second; the unique index makes the
-- numbering hold, and answers the list.
--
-- created_at is to the second, as on SQLite.

-- +goose Up
CREATE TABLE orders (
	id             bigint      PRIMARY KEY,
	checkout_key   text        UNIQUE,
	user_id        bigint      REFERENCES users (id) ON DELETE SET NULL,
	account_order  integer,
	customer_name  text        NOT NULL DEFAULT '',
	customer_email text        NOT NULL DEFAULT '',
	total_cents    bigint      NOT NULL,
	created_at     timestamptz NOT NULL DEFAULT date_trunc('seconds', now())
);

CREATE UNIQUE INDEX orders_user_idx ON orders (user_id, account_order);

CREATE TABLE order_lines (
	order_id         bigint  NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
	ingredient_id    bigint  NOT NULL REFERENCES ingredients (id),
	qty              integer NOT NULL CHECK (qty BETWEEN 1 AND 99),
	unit_price_cents bigint  NOT NULL,
	PRIMARY KEY (order_id, ingredient_id)
);

-- +goose Down
DROP TABLE order_lines;
DROP TABLE orders;
