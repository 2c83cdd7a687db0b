-- The catalog, as in migrations/sqlite/00002_create_ingredients.sql: the
-- same for every visitor, with the same rows. A session only refers to
-- ingredients by id.

-- +goose Up
CREATE TABLE ingredients (
	id          bigint PRIMARY KEY,
	name        text   NOT NULL UNIQUE,
	description text   NOT NULL,
	price_cents bigint NOT NULL CHECK (price_cents > 0)
);

INSERT INTO ingredients (id, name, description, price_cents) VALUES
	(1,  'Flour',         'Plain wheat flour, 1 kg bag.',                  250),
	(2,  'Eggs',          'Free-range eggs, box of six.',                  320),
	(3,  'Butter',        'Unsalted butter, 250 g block.',                 280),
	(4,  'Sugar',         'Caster sugar, 1 kg bag.',                       190),
	(5,  'Milk',          'Whole milk, 1 litre.',                          120),
	(6,  'Yeast',         'Dried fast-action yeast, 7 g sachets x 6.',     150),
	(7,  'Salt',          'Fine sea salt, 500 g.',                          90),
	(8,  'Olive oil',     'Extra virgin olive oil, 500 ml.',               650),
	(9,  'Tomatoes',      'Ripe vine tomatoes, 500 g.',                    230),
	(10, 'Basil',         'Fresh basil, one pot.',                         175),
	(11, 'Mozzarella',    'Fresh mozzarella, 125 g ball.',                 210),
	(12, 'Dark chocolate','70% cocoa dark chocolate, 100 g bar.',          260);

-- +goose Down
DROP TABLE ingredients;
