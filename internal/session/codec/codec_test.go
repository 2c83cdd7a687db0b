package codec_test

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/session/codec"
)

// notKnown is a type the codec has no tag for. It is registered with gob,
// as every custom session type must be, so sessions holding it fall back to
// gob. The types the codec knows are registered by the codec itself.
type notKnown struct{ A, B string }

func init() {
	gob.Register(notKnown{})
}

// sameValues is reflect.DeepEqual, except that times are compared as
// instants with their zone offset: like gob, the codec keeps a time's offset
// but not its zone's name.
func sameValues(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if wt, isTime := w.(time.Time); isTime {
			gt, isTime := g.(time.Time)
			_, goff := gt.Zone()
			_, woff := wt.Zone()
			if !isTime || !gt.Equal(wt) || goff != woff {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}

var deadline = time.Date(2030, 5, 6, 7, 8, 9, 123456789, time.UTC)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	paris := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name   string
		values map[string]any
	}{
		{"no values", map[string]any{}},
		{"the session example", map[string]any{"viewCount": 3, "chosenIngredients": cart.Cart{{ID: 1, Qty: 3}}}},
		{"ints at their limits", map[string]any{"min": math.MinInt, "max": math.MaxInt, "zero": 0}},
		{"int64s", map[string]any{"a": int64(math.MinInt64), "b": int64(-1), "c": int64(1 << 40)}},
		{"floats", map[string]any{"a": 1.5, "b": math.Inf(-1), "c": -0.0}},
		{"bools", map[string]any{"yes": true, "no": false}},
		{"strings", map[string]any{"empty": "", "text": "Grüße, 世界", "bytes": "\x00\xff"}},
		{"byte slices", map[string]any{"nil": []byte(nil), "empty": []byte{}, "some": []byte{0, 1, 255}}},
		{"times", map[string]any{"utc": deadline, "zoned": time.Date(2001, 2, 3, 4, 5, 6, 7, paris), "zero": time.Time{}}},
		{"int64 slices", map[string]any{"nil": []int64(nil), "empty": []int64{}, "ids": []int64{3, -2, math.MaxInt64}}},
		{"string slices", map[string]any{"nil": []string(nil), "empty": []string{}, "some": []string{"", "a"}}},
		{"carts", map[string]any{"nil": cart.Cart(nil), "empty": cart.Cart{}, "two": cart.Cart{{ID: 7, Qty: 99}, {ID: 1, Qty: 1}}}},
		{"a type it does not know, through gob", map[string]any{"other": notKnown{"x", "y"}, "n": 1}},
		{"a type it does not know beside every type it knows, through gob", map[string]any{
			"other": notKnown{"x", "y"},
			"int":   7, "int64": int64(-8), "float": 2.5, "bool": true, "string": "s",
			"bytes": []byte{1}, "time": time.Date(2001, 2, 3, 4, 5, 6, 7, paris),
			"ids": []int64{1, 2}, "strings": []string{"a"}, "cart": cart.Cart{{ID: 1, Qty: 3}},
		}},
		{"an empty key", map[string]any{"": "value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := codec.Codec{}.Encode(deadline, tt.values)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			gotDeadline, got, err := codec.Codec{}.Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !gotDeadline.Equal(deadline) || gotDeadline.Location() != time.UTC {
				t.Errorf("deadline: got %v, want %v", gotDeadline, deadline)
			}
			if !sameValues(got, tt.values) {
				t.Errorf("values: got %#v, want %#v", got, tt.values)
			}
		})
	}
}

// Sessions saved by scs's gob codec, as every session was before this codec
// was used, must still load.
func TestDecodesGobSessions(t *testing.T) {
	t.Parallel()
	values := map[string]any{"viewCount": 2, "chosenIngredients": cart.Cart{{ID: 1, Qty: 3}}}
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := codec.Codec{}.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if !gotDeadline.Equal(deadline) || !sameValues(got, values) {
		t.Errorf("got %v %#v, want %v %#v", gotDeadline, got, deadline, values)
	}
}

// The known types must not fall back to gob: that is the point of the codec.
func TestKnownTypesAreNotGob(t *testing.T) {
	t.Parallel()
	values := map[string]any{"viewCount": 2, "chosenIngredients": cart.Cart{{ID: 1, Qty: 3}}, "ids": []int64{1}}
	b, err := codec.Codec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	g, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) >= len(g)/2 {
		t.Errorf("encoded size: got %d bytes, want less than half of gob's %d", len(b), len(g))
	}
}

func TestEncodeFailsOnTypesNeitherFormatKnows(t *testing.T) {
	t.Parallel()
	type unregistered struct{ X int }
	for name, v := range map[string]any{
		"a channel":                  make(chan int),
		"a function":                 func() {},
		"a type gob was not told of": unregistered{1},
	} {
		t.Run(name, func(t *testing.T) {
			if b, err := (codec.Codec{}).Encode(deadline, map[string]any{"v": v}); err == nil {
				t.Errorf("got %d bytes and no error, want an error", len(b))
			}
		})
	}
}

func TestDecodeRejectsCorruptData(t *testing.T) {
	t.Parallel()
	good, err := codec.Codec{}.Encode(deadline, map[string]any{
		"n": 1, "s": "text", "c": cart.Cart{{ID: 1, Qty: 2}}, "t": deadline, "ids": []int64{5},
	})
	if err != nil {
		t.Fatal(err)
	}
	gobbed, err := scs.GobCodec{}.Encode(deadline, map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	// Every error is ErrCorrupt, so that the web layer can tell a session
	// that cannot be read from a store that does not answer.
	t.Run("every truncation is ErrCorrupt", func(t *testing.T) {
		for _, b := range [][]byte{good, gobbed} {
			for n := 1; n < len(b); n++ {
				if _, _, err := (codec.Codec{}).Decode(b[:n]); !errors.Is(err, codec.ErrCorrupt) {
					t.Errorf("first %d of %d bytes of % x: got error %v, want ErrCorrupt", n, len(b), b, err)
				}
			}
		}
	})
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"an unknown version", append([]byte{good[0], 99}, good[2:]...)},
		{"a later version", []byte{0xa7, 2, 0}},
		{"trailing bytes", append(append([]byte{}, good...), 0)},
		{"an unknown type tag", corruptOneValue(t, 200)},
		{"a bool that is neither 0 nor 1", []byte{0xa7, 1, 1, 0xff, 1, 1, 'b', 4, 2}},
		{"a huge length", []byte{0xa7, 1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"a bad time length", []byte{0xa7, 0x01, 0x99, 0xff, 0x00}},
		{"neither form", []byte("not a session")},
		{"gob of a type this program does not register", gobOfUnregistered(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, values, err := codec.Codec{}.Decode(tt.data)
			if !errors.Is(err, codec.ErrCorrupt) {
				t.Errorf("got %#v and error %v, want ErrCorrupt", values, err)
			}
		})
	}
}

// gobOfUnregistered returns a gob session, as scs's gob codec writes it,
// holding a type registered under a name that this program has never
// registered: a session written by another program, or by a later version
// of this one.
func gobOfUnregistered(t *testing.T) []byte {
	t.Helper()
	type elsewhere struct{ X int }
	gob.RegisterName("gosessions.test.elsewhere", elsewhere{})
	b, err := scs.GobCodec{}.Encode(deadline, map[string]any{"v": elsewhere{1}})
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes under a name no type is registered with.
	return bytes.Replace(b, []byte("gosessions.test.elsewhere"), []byte("gosessions.test.nowhere!!"), 1)
}

// corruptOneValue encodes one int and replaces its type tag with tag.
func corruptOneValue(t *testing.T, tag byte) []byte {
	t.Helper()
	b, err := codec.Codec{}.Encode(deadline, map[string]any{"k": 1})
	if err != nil {
		t.Fatal(err)
	}
	// magic, version, time (length byte + bytes), count, key length, key, tag
	i := 2 + 1 + int(b[2]) + 1 + 1 + 1
	b[i] = tag
	return b
}

// FuzzRoundTrip encodes sessions built from random values and checks they
// come back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add(3, int64(7), "viewCount", "text", true, []byte{1, 2}, int64(1e18), 1.5)
	f.Add(0, int64(0), "", "", false, []byte(nil), int64(0), 0.0)
	f.Fuzz(func(t *testing.T, n int, id int64, key, s string, flag bool, raw []byte, nanos int64, x float64) {
		if math.IsNaN(x) {
			x = 0 // NaN never equals itself
		}
		values := map[string]any{
			key:       n,
			key + "s": s,
			"flag":    flag,
			"raw":     raw,
			"ids":     []int64{id, nanos},
			"cart":    cart.Cart{{ID: id, Qty: n}},
			"when":    time.Unix(0, nanos).UTC(),
			"x":       x,
			"list":    []string{s, key},
		}
		dl := time.Unix(0, nanos).UTC()
		b, err := codec.Codec{}.Encode(dl, values)
		if err != nil {
			t.Fatal(err)
		}
		gotDeadline, got, err := codec.Codec{}.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !gotDeadline.Equal(dl) || !sameValues(got, values) {
			t.Errorf("got %v %#v, want %v %#v", gotDeadline, got, dl, values)
		}
	})
}

// FuzzDecode feeds arbitrary bytes to Decode: it must return an error or
// values that encode and decode back to themselves, and never panic.
func FuzzDecode(f *testing.F) {
	for _, values := range []map[string]any{
		{"viewCount": 1, "chosenIngredients": cart.Cart{{ID: 1, Qty: 3}}},
		{"ids": []int64{1, 2}, "name": "Ann", "t": deadline, "ok": true, "f": 2.5, "b": []byte("x"), "l": []string{"a"}},
	} {
		b, err := codec.Codec{}.Encode(deadline, values)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 || data[0] != 0xa7 {
			return // gob's form: encoding/gob has its own fuzzing
		}
		dl, values, err := codec.Codec{}.Decode(data)
		if err != nil {
			return
		}
		for k, v := range values {
			if f, ok := v.(float64); ok && math.IsNaN(f) {
				delete(values, k) // NaN never equals itself
			}
		}
		b, err := codec.Codec{}.Encode(dl, values)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		dl2, values2, err := codec.Codec{}.Decode(b)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		if !dl2.Equal(dl) || !sameValues(values2, values) {
			t.Errorf("got %v %#v, want %v %#v", dl2, values2, dl, values)
		}
	})
}
