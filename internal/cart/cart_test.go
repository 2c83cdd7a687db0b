package cart_test

import (
	"errors"
	"slices"
	"testing"

	"example.com/gosessions/internal/cart"
)

func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		cart cart.Cart
		id   int64
		qty  int
		want cart.Cart
	}{
		{"adds a line to an empty cart", nil, 1, 3, cart.Cart{{ID: 1, Qty: 3}}},
		{"appends a new ingredient after the others", cart.Cart{{ID: 1, Qty: 3}}, 2, 1, cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: 1}}},
		{"raises a line already there", cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: 1}}, 1, 4, cart.Cart{{ID: 1, Qty: 7}, {ID: 2, Qty: 1}}},
		{"caps a raised line at MaxQty", cart.Cart{{ID: 1, Qty: 98}}, 1, 5, cart.Cart{{ID: 1, Qty: cart.MaxQty}}},
		{"caps a new line at MaxQty", nil, 1, 150, cart.Cart{{ID: 1, Qty: cart.MaxQty}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.cart)
			got := tt.cart.Add(tt.id, tt.qty)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.Equal(tt.cart, before) {
				t.Errorf("receiver changed to %v, want it left as %v", tt.cart, before)
			}
		})
	}
}

func TestAddNeverWritesIntoTheReceiversBackingArray(t *testing.T) {
	// A cart read from the session may share its array with the session's
	// copy; appending in place would change the stored value behind scs's back.
	base := make(cart.Cart, 1, 10)
	base[0] = cart.Item{ID: 1, Qty: 1}
	a := base.Add(2, 1)
	b := base.Add(3, 1)
	if a[1].ID != 2 || b[1].ID != 3 {
		t.Errorf("got a=%v b=%v, want each to keep its own second line", a, b)
	}
}

func TestSet(t *testing.T) {
	two := cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: 1}}
	tests := []struct {
		name string
		cart cart.Cart
		id   int64
		qty  int
		want cart.Cart
	}{
		{"sets the quantity of a line", two, 1, 5, cart.Cart{{ID: 1, Qty: 5}, {ID: 2, Qty: 1}}},
		{"zero removes the line", two, 1, 0, cart.Cart{{ID: 2, Qty: 1}}},
		{"a negative quantity removes the line", two, 2, -1, cart.Cart{{ID: 1, Qty: 3}}},
		{"zero for an ingredient not in the cart changes nothing", two, 9, 0, two},
		{"an ingredient not in the cart is added", two, 9, 2, cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: 1}, {ID: 9, Qty: 2}}},
		{"caps at MaxQty", two, 2, 1000, cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: cart.MaxQty}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.cart)
			got := tt.cart.Set(tt.id, tt.qty)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.Equal(tt.cart, before) {
				t.Errorf("receiver changed to %v, want it left as %v", tt.cart, before)
			}
		})
	}
}

func TestQtyAndCount(t *testing.T) {
	c := cart.Cart{{ID: 1, Qty: 3}, {ID: 4, Qty: 2}}
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"Qty of a line", c.Qty(4), 2},
		{"Qty of an ingredient not in the cart is 0", c.Qty(2), 0},
		{"Count adds every line", c.Count(), 5},
		{"Count of an empty cart is 0", cart.Cart(nil).Count(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %d, want %d", tt.got, tt.want)
			}
		})
	}
}

func TestPrice(t *testing.T) {
	catalog := map[int64]cart.Product{
		1: {Name: "Flour", PriceCents: 250},
		2: {Name: "Eggs", PriceCents: 320},
	}
	tests := []struct {
		name      string
		cart      cart.Cart
		wantLines []cart.Line
		wantTotal int64
	}{
		{"an empty cart has no lines and costs nothing", nil, []cart.Line{}, 0},
		{"lines are priced in cart order", cart.Cart{{ID: 2, Qty: 2}, {ID: 1, Qty: 3}}, []cart.Line{
			{ID: 2, Name: "Eggs", Qty: 2, UnitPriceCents: 320, LineTotalCents: 640},
			{ID: 1, Name: "Flour", Qty: 3, UnitPriceCents: 250, LineTotalCents: 750},
		}, 1390},
		{"an ingredient gone from the catalog is left out", cart.Cart{{ID: 7, Qty: 1}, {ID: 1, Qty: 1}}, []cart.Line{
			{ID: 1, Name: "Flour", Qty: 1, UnitPriceCents: 250, LineTotalCents: 250},
		}, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, total := tt.cart.Price(catalog)
			if lines == nil {
				t.Errorf("got nil lines, want an empty slice (it is sent as JSON [] rather than null)")
			}
			if !slices.Equal(lines, tt.wantLines) {
				t.Errorf("got lines %v, want %v", lines, tt.wantLines)
			}
			if total != tt.wantTotal {
				t.Errorf("got total %d, want %d", total, tt.wantTotal)
			}
		})
	}
}

func TestParseQty(t *testing.T) {
	tests := []struct {
		in      string
		lo, hi  int
		want    int
		wantErr bool
	}{
		{"1", 1, 99, 1, false},
		{"99", 1, 99, 99, false},
		{" 42 ", 1, 99, 42, false},
		{"007", 1, 99, 7, false},
		{"0", 0, 99, 0, false},
		{"0", 1, 99, 0, true},
		{"100", 1, 99, 0, true},
		{"", 1, 99, 0, true},
		{"   ", 1, 99, 0, true},
		{"-1", 0, 99, 0, true},
		{"+1", 1, 99, 0, true},
		{"1.5", 1, 99, 0, true},
		{"1e1", 1, 99, 0, true},
		{"abc", 1, 99, 0, true},
		{"1 2", 1, 99, 0, true},
		{"٣", 1, 99, 0, true}, // a digit, but not an ASCII one
		{"99999999999999999999", 1, 99, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := cart.ParseQty(tt.in, tt.lo, tt.hi)
			if tt.wantErr {
				if !errors.Is(err, cart.ErrBadQty) {
					t.Errorf("ParseQty(%q, %d, %d) = %d, %v; want ErrBadQty", tt.in, tt.lo, tt.hi, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseQty(%q, %d, %d) = %d, %v; want %d, nil", tt.in, tt.lo, tt.hi, got, err, tt.want)
			}
		})
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in     string
		want   int64
		wantOK bool
	}{
		{"1", 1, true},
		{"12", 12, true},
		{"999999999999999999", 999999999999999999, true},
		{"0", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{" 1", 0, false},
		{"1a", 0, false},
		{"abc", 0, false},
		{"9223372036854775808", 0, false}, // one past the largest int64
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := cart.ParseID(tt.in)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("ParseID(%q) = %d, %t; want %d, %t", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
