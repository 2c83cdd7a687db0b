-- Orders placed while signed in belong to the account: /orders/{id} shows
-- them to every session signed in to it, and /account lists them. A guest's
-- order has no account (NULL), as every order placed before this migration.
-- Deleting an account keeps its orders, as a guest's.
--
-- account_order numbers an account's orders 1, 2, 3... in the order they
-- were placed, so that /account lists the newest first even when two were
-- placed within the same second (created_at has seconds; order ids are
-- random). The unique index makes the numbering hold, and answers the list.

-- +goose Up
ALTER TABLE orders ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE orders ADD COLUMN account_order INTEGER;

CREATE UNIQUE INDEX orders_user_idx ON orders (user_id, account_order);

-- +goose Down
DROP INDEX orders_user_idx;
ALTER TABLE orders DROP COLUMN account_order;
ALTER TABLE orders DROP COLUMN user_id;
