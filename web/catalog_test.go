package web

import (
	"slices"
	"testing"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/data"
)

func TestPushRecent(t *testing.T) {
	tests := []struct {
		name string
		ids  []int64
		id   int64
		want []int64
	}{
		{"the first view", nil, 5, []int64{5}},
		{"a new id goes first", []int64{2, 1}, 3, []int64{3, 2, 1}},
		{"a repeat moves to the front", []int64{3, 2, 1}, 1, []int64{1, 3, 2}},
		{"the front one again changes nothing", []int64{3, 2, 1}, 3, []int64{3, 2, 1}},
		{"the oldest falls off at ten", []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 11, []int64{11, 10, 9, 8, 7, 6, 5, 4, 3, 2}},
		{"a repeat in a full list keeps all ten", []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 1, []int64{1, 10, 9, 8, 7, 6, 5, 4, 3, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.ids)
			if got := pushRecent(tt.ids, tt.id); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !slices.Equal(tt.ids, before) {
				t.Errorf("the input changed to %v, want it left as %v", tt.ids, before)
			}
		})
	}
}

func TestViewedNotChosen(t *testing.T) {
	catalog := []data.Ingredient{{ID: 1, Name: "Flour"}, {ID: 2, Name: "Eggs"}, {ID: 3, Name: "Butter"}}
	got := viewedNotChosen([]int64{3, 99, 2, 1}, cart.Cart{{ID: 2, Qty: 1}}, catalog)
	var names []string
	for _, in := range got {
		names = append(names, in.Name)
	}
	// 99 is not in the catalog and 2 is in the cart; the rest keep their order.
	if want := []string{"Butter", "Flour"}; !slices.Equal(names, want) {
		t.Errorf("got %v, want %v", names, want)
	}
}
