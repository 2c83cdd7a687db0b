package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/cart"
)

func TestSameValue(t *testing.T) {
	tests := []struct {
		name string
		a, b any
		want bool
	}{
		{"equal ints", 2, 2, true},
		{"different ints", 1, 2, false},
		{"an int and an int64", 1, int64(1), false},
		{"an int and a cart", 1, cart.Cart{}, false},
		{"equal strings", "a", "a", true},
		{"equal carts", cart.Cart{{ID: 1, Qty: 3}}, cart.Cart{{ID: 1, Qty: 3}}, true},
		{"carts of other quantities", cart.Cart{{ID: 1, Qty: 3}}, cart.Cart{{ID: 1, Qty: 4}}, false},
		{"a cart and an id list", cart.Cart{}, []int64{}, false},
		{"equal id lists", []int64{3, 1}, []int64{3, 1}, true},
		{"id lists in another order", []int64{3, 1}, []int64{1, 3}, false},
		{"equal times in other zones", time.Unix(5, 0), time.Unix(5, 0).UTC(), true},
		{"other types, by reflection", map[string]int{"a": 1}, map[string]int{"a": 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameValue(tt.a, tt.b); got != tt.want {
				t.Errorf("sameValue(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	long := strings.Repeat("é", maxValueRunes+5)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"an int", 42, "42"},
		{"an int64", int64(-7), "-7"},
		{"a bool", false, "false"},
		{"a string, quoted", `Added 1 × "Eggs"`, `"Added 1 × \"Eggs\""`},
		{"a long string, cut at a rune", long, `"` + strings.Repeat("é", maxValueRunes) + `"…`},
		{"a cart, as its JSON", cart.Cart{{ID: 1, Qty: 3}, {ID: 2, Qty: 1}}, `[{"id":1,"qty":3},{"id":2,"qty":1}]`},
		{"an empty cart", cart.Cart{}, `[]`},
		{"recently viewed ids", []int64{4, 2}, `[4,2]`},
		{"a long id list, cut", []int64{1111111111, 2222222222, 3333333333, 4444444444, 5555555555, 6666666666},
			`[1111111111,2222222222,3333333333,4444444444,5555555555,6666…`},
		{"another type, as JSON", map[string]int{"a": 1}, `{"a":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue(tt.v); got != tt.want {
				t.Errorf("formatValue(%#v) = %q, want %q", tt.v, got, tt.want)
			}
		})
	}
}

func TestReportCookie(t *testing.T) {
	p := panelReport{Request: "POST /cart/items", Cookie: "abcdef", Origin: originLoaded, Token: tokenKept,
		Changes: []panelChange{{Key: keyFlash, Change: "added", After: `"Added"`}}, Unchanged: 2,
		Save: saveModified, SetCookie: setCookieToken, Persistent: true}

	t.Run("a report comes back as it went", func(t *testing.T) {
		v, ok := encodeReport(p)
		if !ok {
			t.Fatal("encodeReport refused a small report")
		}
		got, ok := decodeReport(v)
		if !ok || got.Request != p.Request || len(got.Changes) != 1 || got.Changes[0] != p.Changes[0] || got.Save != p.Save {
			t.Errorf("got %+v, %v; want %+v", got, ok, p)
		}
	})

	t.Run("a report too long for a cookie loses its values, not its keys", func(t *testing.T) {
		big := p
		big.Changes = nil
		for i := range 40 {
			big.Changes = append(big.Changes, panelChange{Key: strings.Repeat("k", 10) + string(rune('a'+i%26)),
				Change: "changed", Before: strings.Repeat("b", 60), After: strings.Repeat("a", 60)})
		}
		v, ok := encodeReport(big)
		if !ok || len(v) > maxPanelCookie {
			t.Fatalf("got a cookie of %d bytes (%v), want at most %d", len(v), ok, maxPanelCookie)
		}
		got, _ := decodeReport(v)
		if len(got.Changes) != 40 || got.Changes[0].Before != "" || got.Changes[0].Key != big.Changes[0].Key {
			t.Errorf("got changes %+v, want the 40 keys without values", got.Changes)
		}
		if big.Changes[0].Before == "" {
			t.Errorf("encodeReport changed the report it was given")
		}
	})

	for _, bad := range []string{"", "not base64!", "bm90IGpzb24", "e30"} { // e30 is {}
		t.Run("a cookie that is not a report: "+bad, func(t *testing.T) {
			if _, ok := decodeReport(bad); ok {
				t.Errorf("decodeReport(%q) accepted it", bad)
			}
		})
	}
}

// A HEAD runs the GET handler, which pops the flash and renders the page,
// but saves nothing: the panel says so.
func TestPanelOfAHead(t *testing.T) {
	s := newServer(t)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/session-example", nil))
	cookie := rec.Result().Cookies()[0]

	req := httptest.NewRequest(http.MethodHead, "/session-example", nil)
	req.AddCookie(cookie)
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{
		`<h2>This page: <code>HEAD /session-example</code></h2>`,
		`<dd data-fact="save">not saved: a HEAD never saves, nor moves the expiry on</dd>`,
		`<dd data-fact="set-cookie">none:`,
		`<code>viewCount</code></td><td class="change">changed</td>`, // the handler's Put, never saved
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the HEAD's page does not contain %s:\n%s", want, body)
		}
	}
	if c := rec.Header().Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("got Set-Cookie %q on a HEAD, want none", c)
	}
}

// A server with the panel off, as the benchmarks compare, renders none.
func TestPanelOff(t *testing.T) {
	s := newServer(t)
	s.panelOff = true
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/session-example", nil))
	if strings.Contains(rec.Body.String(), "session-panel") {
		t.Errorf("the page has a panel although it is off")
	}
}
