package cart_test

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"example.com/gosessions/internal/cart"
)

func FuzzParseQty(f *testing.F) {
	for _, s := range []string{"1", "99", "0", "100", " 5", "+5", "-1", "1e2", "٣", "007", "", " ", "5 5", "0x10", "3.0", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := cart.ParseQty(s, 1, cart.MaxQty)
		if err != nil {
			return
		}
		if n < 1 || n > cart.MaxQty {
			t.Fatalf("ParseQty(%q) = %d, outside 1..%d", s, n, cart.MaxQty)
		}
		// Only plain ASCII digits, maybe with spaces around, are accepted.
		digits := strings.TrimSpace(s)
		if strings.TrimLeft(digits, "0123456789") != "" {
			t.Fatalf("ParseQty(%q) = %d, want an error for anything but ASCII digits", s, n)
		}
		if v, err := strconv.Atoi(digits); err != nil || v != n {
			t.Fatalf("ParseQty(%q) = %d, but the digits say %d (%v)", s, n, v, err)
		}
	})
}

// FuzzCartOps applies a random sequence of Add and Set, read from the
// fuzzer's bytes nine at a time: an operation, an ingredient id out of a
// few (so operations meet on the same line), and a quantity of any size.
func FuzzCartOps(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 1, 3, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0, 1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 200, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 5, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{0, 3, 0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // Add of -5 to an empty cart
	f.Fuzz(func(t *testing.T, ops []byte) {
		var c cart.Cart
		for ; len(ops) >= 9; ops = ops[9:] {
			id := int64(ops[0]>>1%4) + 1
			qty := int(int64(binary.LittleEndian.Uint64(ops[1:9])))
			before := slices.Clone(c)
			prev := c.Qty(id)

			var next cart.Cart
			var want int
			if ops[0]&1 == 0 {
				next = c.Add(id, qty)
				want = max(0, min(prev+min(qty, cart.MaxQty), cart.MaxQty))
			} else {
				next = c.Set(id, qty)
				want = max(0, min(qty, cart.MaxQty))
			}
			if !slices.Equal(c, before) {
				t.Fatalf("the operation changed its receiver: %v, was %v", c, before)
			}
			if got := next.Qty(id); got != want {
				t.Fatalf("after %v with id %d qty %d on %v: got quantity %d, want %d", opName(ops[0]), id, qty, c, got, want)
			}
			checkInvariants(t, next)
			c = next
		}
	})
}

func opName(b byte) string {
	if b&1 == 0 {
		return "Add"
	}
	return "Set"
}

// checkInvariants: every quantity is 1..MaxQty, no id appears twice, and
// Count is the sum of the quantities.
func checkInvariants(t *testing.T, c cart.Cart) {
	t.Helper()
	seen := map[int64]bool{}
	sum := 0
	for _, it := range c {
		if it.Qty < 1 || it.Qty > cart.MaxQty {
			t.Fatalf("cart %v: quantity %d of %d outside 1..%d", c, it.Qty, it.ID, cart.MaxQty)
		}
		if seen[it.ID] {
			t.Fatalf("cart %v: id %d twice", c, it.ID)
		}
		seen[it.ID] = true
		sum += it.Qty
	}
	if c.Count() != sum {
		t.Fatalf("cart %v: Count() = %d, want %d", c, c.Count(), sum)
	}
}
