-- Orders placed while signed in belong to the account: /orders/{id} shows
-- them to every session signed in to it, and /account lists them. A guest's
-- order has no account (NULL), as every order placed before this migration.
-- Deleting an account keeps its orders, as a guest's.

-- +goose Up
ALTER TABLE orders ADD COLUMN user_id INTEGER REFERENCES users (id) ON DELETE SET NULL;

CREATE INDEX orders_user_idx ON orders (user_id, created_at);

-- +goose Down
DROP INDEX orders_user_idx;
ALTER TABLE orders DROP COLUMN user_id;
