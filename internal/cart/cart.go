// Package cart holds the shopping cart that lives in a visitor's session:
// a list of ingredient ids with quantities, and the arithmetic on it.
// It knows nothing of HTTP or storage, so it is easy to test.
package cart

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// MaxQty is the largest quantity of one ingredient a cart can hold.
const MaxQty = 99

// Item is one chosen ingredient. Its JSON form, {"id":1,"qty":3}, is the one
// the original Express tutorial stores in req.session.chosenIngredients.
type Item struct {
	ID  int64 `json:"id"`
	Qty int   `json:"qty"`
}

// Cart is the list of chosen ingredients, in the order they were first added.
// Its methods never modify the receiver: they return a new Cart, so a value
// read from the session is never changed behind the session's back.
type Cart []Item

// Add adds qty of ingredient id, raising the quantity of a line already
// there; the quantity is capped at MaxQty. Like Set, it never leaves a line
// of zero or less: a negative qty lowers the quantity, removing the line
// when it reaches zero, and adds nothing to a cart without it.
func (c Cart) Add(id int64, qty int) Cart {
	// Capping qty first keeps the sum from overflowing.
	return c.Set(id, c.Qty(id)+min(qty, MaxQty))
}

// Set sets the quantity of ingredient id, capped at MaxQty; a quantity of
// zero or less removes the line. Setting an ingredient that is not in the
// cart adds it.
func (c Cart) Set(id int64, qty int) Cart {
	i := c.index(id)
	switch {
	case qty <= 0 && i < 0:
		return c
	case qty <= 0:
		return slices.Delete(slices.Clone(c), i, i+1)
	case i < 0:
		return append(slices.Clip(c), Item{ID: id, Qty: min(qty, MaxQty)})
	}
	out := slices.Clone(c)
	out[i].Qty = min(qty, MaxQty)
	return out
}

// Qty returns the quantity of ingredient id in the cart, or 0.
func (c Cart) Qty(id int64) int {
	if i := c.index(id); i >= 0 {
		return c[i].Qty
	}
	return 0
}

// Count returns the number of units in the cart, all lines together.
func (c Cart) Count() int {
	n := 0
	for _, it := range c {
		n += it.Qty
	}
	return n
}

func (c Cart) index(id int64) int {
	return slices.IndexFunc(c, func(it Item) bool { return it.ID == id })
}

// Line is a cart item priced from the catalog.
type Line struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	Qty            int    `json:"qty"`
	UnitPriceCents int64  `json:"unitPriceCents"`
	LineTotalCents int64  `json:"lineTotalCents"`
}

// Product is what pricing needs to know of a catalog entry.
type Product struct {
	Name       string
	PriceCents int64
}

// Price prices every item from the catalog and returns the lines and the
// total in cents. Items whose ingredient is no longer in the catalog are left
// out. With quantities capped at MaxQty and catalog prices, the sums stay far
// from the limits of int64.
func (c Cart) Price(catalog map[int64]Product) (lines []Line, totalCents int64) {
	lines = make([]Line, 0, len(c))
	for _, it := range c {
		p, ok := catalog[it.ID]
		if !ok {
			continue
		}
		l := Line{ID: it.ID, Name: p.Name, Qty: it.Qty, UnitPriceCents: p.PriceCents,
			LineTotalCents: int64(it.Qty) * p.PriceCents}
		lines = append(lines, l)
		totalCents += l.LineTotalCents
	}
	return lines, totalCents
}

// ErrBadQty is returned by ParseQty for a value that is not a whole number
// in range.
var ErrBadQty = errors.New("quantity must be a whole number")

// ParseQty parses a quantity typed into a form: a whole number from lo to
// hi, written in plain ASCII digits (no sign, no spaces inside, no
// exponent). Surrounding spaces are ignored.
func ParseQty(s string, lo, hi int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 3 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, ErrBadQty
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, ErrBadQty
	}
	return n, nil
}

// ParseID parses an ingredient or order id: a positive whole number.
func ParseID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n > 0
}
