// Package codec encodes session data for scs in a compact binary
// form that knows the value types this application keeps in sessions.
//
// scs's default codec, encoding/gob, writes a description of every type
// into each session it saves and reads it back on every load, which costs
// more than the values themselves. Here each value is a one-byte type tag
// and its bytes.
//
// Sessions holding a type this codec does not know are encoded with gob
// instead, and Decode reads both forms, so sessions saved by gob (before
// this codec, or with such a type) stay readable.
package codec

import (
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/alexedwards/scs/v2"

	"example.com/gosessions/internal/cart"
)

// Codec is an scs.Codec. The zero value is ready to use.
type Codec struct{}

var _ scs.Codec = Codec{}

// A session in this form starts with magic, a byte that never starts a gob
// stream (gob starts with a length: below 0x80, or 0xf8 and above), then
// the format's version.
const (
	magic   = 0xa7
	version = 1
)

// Type tags, one per Go type. Never renumber: stored sessions use them.
const (
	tagInt byte = iota + 1
	tagInt64
	tagFloat64
	tagBool
	tagString
	tagBytes
	tagTime
	tagInt64s
	tagStrings
	tagCart
)

func init() {
	// A session that falls back to gob may hold, beside the value that made
	// it fall back, any type this codec knows. gob knows the basic types and
	// their slices already; it must be told of the others, or it fails on
	// them behind the session's interface values.
	gob.Register(time.Time{})
	gob.Register(cart.Cart{})
}

// ErrCorrupt is wrapped by every error of Decode: the data is not a
// session that this codec or gob can read. It may be damaged, or written by
// a later version of the codec, or hold a gob type this program does not
// register. A caller can tell it from a store's error with errors.Is, and
// start a new session instead of failing every request of its visitor.
var ErrCorrupt = errors.New("codec: corrupt session data")

// Encode writes the deadline and every value. If a value's type is not
// one of the known ones, the whole session is encoded with gob.
func (Codec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, magic, version)
	b = appendTime(b, deadline)
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = appendString(b, k)
		var ok bool
		if b, ok = appendValue(b, v); !ok {
			return scs.GobCodec{}.Encode(deadline, values)
		}
	}
	return b, nil
}

// Decode reads what Encode wrote, or a session encoded with gob.
func (Codec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != magic {
		deadline, values, err := scs.GobCodec{}.Decode(b)
		if err != nil {
			return time.Time{}, nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return deadline, values, nil
	}
	if len(b) < 2 || b[1] != version {
		return time.Time{}, nil, fmt.Errorf("%w: unknown version", ErrCorrupt)
	}
	r := reader{b: b[2:]}
	deadline := r.time()
	n := r.length()
	values := make(map[string]any, n)
	for range n {
		k := r.string()
		values[k] = r.value()
		if r.err != nil {
			break
		}
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.b))
	}
	if r.err != nil {
		return time.Time{}, nil, r.err
	}
	return deadline, values, nil
}

// appendValue appends v's tag and bytes, and reports whether it knows v's
// type. Slices are written with their length plus one, and 0 for nil, so
// that nil and empty slices both come back as they were.
func appendValue(b []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case int:
		return binary.AppendVarint(append(b, tagInt), int64(v)), true
	case int64:
		return binary.AppendVarint(append(b, tagInt64), v), true
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(v)), true
	case bool:
		if v {
			return append(b, tagBool, 1), true
		}
		return append(b, tagBool, 0), true
	case string:
		return appendString(append(b, tagString), v), true
	case []byte:
		b = appendLength(append(b, tagBytes), len(v), v == nil)
		return append(b, v...), true
	case time.Time:
		return appendTime(append(b, tagTime), v), true
	case []int64:
		b = appendLength(append(b, tagInt64s), len(v), v == nil)
		for _, x := range v {
			b = binary.AppendVarint(b, x)
		}
		return b, true
	case []string:
		b = appendLength(append(b, tagStrings), len(v), v == nil)
		for _, s := range v {
			b = appendString(b, s)
		}
		return b, true
	case cart.Cart:
		b = appendLength(append(b, tagCart), len(v), v == nil)
		for _, item := range v {
			b = binary.AppendVarint(b, item.ID)
			b = binary.AppendVarint(b, int64(item.Qty))
		}
		return b, true
	}
	return b, false
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendLength(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

// appendTime uses time's own binary form, which keeps the instant and the
// zone offset, as gob does.
func appendTime(b []byte, t time.Time) []byte {
	tb, err := t.MarshalBinary()
	if err != nil {
		// Only for a zone offset that is not a whole minute, which no real
		// zone has; keep the instant.
		tb, _ = t.UTC().MarshalBinary()
	}
	return append(append(b, byte(len(tb))), tb...)
}

// reader reads the encoded form. After the first error every read returns
// a zero value and err keeps that first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", ErrCorrupt, what)
	}
	r.b = nil
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail("length")
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("number")
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *reader) int() int {
	x := r.varint()
	if int64(int(x)) != x {
		r.fail("int")
	}
	return int(x)
}

// length reads a count of items that each take at least one byte, so a
// corrupt count cannot make Decode allocate more than the data's size.
func (r *reader) length() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("length")
		return 0
	}
	return int(n)
}

// sliceLength reads what appendLength wrote: -1 for nil.
func (r *reader) sliceLength() int {
	n := r.uvarint()
	if n > uint64(len(r.b))+1 {
		r.fail("length")
		return 0
	}
	return int(n) - 1
}

func (r *reader) string() string { return string(r.bytes(r.length())) }

// readSlice reads a slice written with appendLength, one element at a time
// with elem; a nil slice stays nil.
func readSlice[S ~[]E, E any](r *reader, elem func() E) S {
	n := r.sliceLength()
	if n < 0 {
		return nil
	}
	v := make(S, n)
	for i := range v {
		v[i] = elem()
	}
	return v
}

func (r *reader) time() time.Time {
	var t time.Time
	if err := t.UnmarshalBinary(r.bytes(int(r.byte()))); err != nil {
		r.fail("time")
	}
	return t
}

func (r *reader) value() any {
	switch tag := r.byte(); tag {
	case tagInt:
		return r.int()
	case tagInt64:
		return r.varint()
	case tagFloat64:
		if b := r.bytes(8); b != nil {
			return math.Float64frombits(binary.LittleEndian.Uint64(b))
		}
		return 0.0
	case tagBool:
		switch r.byte() {
		case 0:
			return false
		case 1:
			return true
		}
		r.fail("bool")
		return false
	case tagString:
		return r.string()
	case tagBytes:
		n := r.sliceLength()
		if n < 0 {
			return []byte(nil)
		}
		return append([]byte{}, r.bytes(n)...)
	case tagTime:
		return r.time()
	case tagInt64s:
		return readSlice[[]int64](r, r.varint)
	case tagStrings:
		return readSlice[[]string](r, r.string)
	case tagCart:
		return readSlice[cart.Cart](r, func() cart.Item { return cart.Item{ID: r.varint(), Qty: r.int()} })
	default:
		r.fail(fmt.Sprintf("type tag %d", tag))
		return nil
	}
}
