package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// viewCount reads the count from /session-example as JSON, which also
// counts the visit.
func (v *visitor) sessionExample() sessionExample {
	v.t.Helper()
	r := v.getJSON("/session-example")
	if r.Status != http.StatusOK {
		v.t.Fatalf("GET /session-example: status %d, want 200\n%s", r.Status, r.Body)
	}
	var got sessionExample
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		v.t.Fatalf("GET /session-example: %v\n%s", err, r.Body)
	}
	return got
}

type sessionExample struct {
	ViewCount         int `json:"viewCount"`
	ChosenIngredients []struct {
		ID  int `json:"id"`
		Qty int `json:"qty"`
	} `json:"chosenIngredients"`
}

func TestSessionExampleCounts(t *testing.T) {
	srv := startServer(t)
	alice := newVisitor(t, srv.URL)
	for want := 1; want <= 3; want++ {
		if got := alice.sessionExample().ViewCount; got != want {
			t.Fatalf("visit %d: viewCount = %d, want %d", want, got, want)
		}
	}
}
