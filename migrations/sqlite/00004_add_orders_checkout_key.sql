-- A checkout key names the cart an order was placed from. It is kept in the
-- visitor's session with the cart, and a checkout that is tried again with
-- the same key finds the order it placed instead of placing another. The
-- UNIQUE index is what makes that hold, whatever the application does:
-- one key, at most one order. Orders placed before this migration have no
-- key (NULL), and a UNIQUE index lets any number of NULLs stand.

-- +goose Up
ALTER TABLE orders ADD COLUMN checkout_key TEXT;

CREATE UNIQUE INDEX orders_checkout_key_idx ON orders (checkout_key);

-- +goose Down
DROP INDEX orders_checkout_key_idx;
ALTER TABLE orders DROP COLUMN checkout_key;
