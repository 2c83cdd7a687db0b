package e2e

import (
	"encoding/gob"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/alexedwards/scs/v2"
)

// TestMinimal drives cmd/minimal, the original route with scs's own pieces
// only, as a browser would: one cookie jar per visitor.
func TestMinimal(t *testing.T) {
	t.Parallel()
	// A folder that does not exist yet: the program creates it.
	dbPath := filepath.Join(t.TempDir(), "data", "minimal.db")
	srv := startMinimal(t, dbPath)

	alice := newVisitor(t, srv.URL)
	for want := 1; want <= 3; want++ {
		alice.wantMinimalCount(want)
	}

	t.Run("the session holds viewCount and chosenIngredients", func(t *testing.T) {
		// sqlite3store keeps the token itself (the full app keeps a hash),
		// and scs's gob encoding of the values.
		var data []byte
		if err := dbReadOnly(t, dbPath).QueryRow("SELECT data FROM sessions WHERE token = ?", alice.cookie()).Scan(&data); err != nil {
			t.Fatalf("read alice's row: %v", err)
		}
		values := decodeMinimalSession(t, data)
		if got := values["viewCount"]; got != 3 {
			t.Errorf("got viewCount %v, want 3", got)
		}
		want := []minimalIngredient{{ID: 1, Qty: 3}}
		if got := values["chosenIngredients"]; !reflect.DeepEqual(got, want) {
			t.Errorf("got chosenIngredients %#v, want %#v", got, want)
		}
	})

	t.Run("the count survives a restart on the same database", func(t *testing.T) {
		srv.restart()
		alice.base = srv.URL
		alice.wantMinimalCount(4)
	})

	t.Run("a second visitor starts at 1", func(t *testing.T) {
		newVisitor(t, srv.URL).wantMinimalCount(1)
		alice.wantMinimalCount(5)
	})
}

// wantMinimalCount visits cmd/minimal's /session-example and fails unless
// it answers "All good" and then the count.
func (v *visitor) wantMinimalCount(want int) {
	v.t.Helper()
	r := v.get("/session-example")
	wantStatus(v.t, "GET /session-example", r, http.StatusOK)
	if body := fmt.Sprintf("All good\nviewCount: %d\n", want); r.Body != body {
		v.t.Fatalf("GET /session-example: got %q, want %q", r.Body, body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		v.t.Errorf("GET /session-example: got Content-Type %q, want plain text", ct)
	}
}

// minimalIngredient has the fields of cmd/minimal's ingredient, so that
// gob can decode it.
type minimalIngredient struct{ ID, Qty int }

// decodeMinimalSession decodes a row of cmd/minimal with scs's gob codec.
// gob finds a value's type by the name it was registered under: cmd/minimal
// registers []ingredient of package main.
func decodeMinimalSession(t *testing.T, data []byte) map[string]any {
	t.Helper()
	gob.RegisterName("[]main.ingredient", []minimalIngredient{})
	_, values, err := scs.GobCodec{}.Decode(data)
	if err != nil {
		t.Fatalf("decode the session: %v", err)
	}
	return values
}
