package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The server gives every request an id, in the X-Request-Id answer header
// and in the log line. It keeps the id a client (or a proxy) sent only if it
// is short and plain; otherwise it makes its own.
func TestRequestID(t *testing.T) {
	app := newTestApp(t, appOptions{})
	generated := regexp.MustCompile(`^[A-Z2-7]{26}$`) // crypto/rand.Text

	tests := []struct {
		name string
		sent string // "" sends no header
		kept bool   // whether the server uses the id sent
	}{
		{"no id gets a new one", "", false},
		{"a plain id is kept", "req-42_a.B", true},
		{"an nginx $request_id is kept", "0123456789abcdef0123456789abcdef", true},
		{"64 characters is the longest kept", strings.Repeat("a", 64), true},
		{"65 characters get a new id", strings.Repeat("a", 65), false},
		{"60 KB get a new id", strings.Repeat("x", 60<<10), false},
		{"a space gets a new id", "two words", false},
		{"a slash gets a new id", "host/abc-000001", false},
		{"a quote gets a new id", `a"b`, false},
		{"a log field gets a new id", "x level=ERROR", false},
		{"non-ASCII gets a new id", "réquest", false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, app.url+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			id := resp.Header.Get("X-Request-Id")
			switch {
			case tt.kept && id != tt.sent:
				t.Errorf("got id %.80q, want %q as sent", id, tt.sent)
			case !tt.kept && !generated.MatchString(id):
				t.Errorf("got id %.80q, want a new one of 26 letters and digits", id)
			case !tt.kept && seen[id]:
				t.Errorf("got id %q twice, want a new one per request", id)
			}
			seen[id] = true
			if !regexp.MustCompile(`request_id=` + regexp.QuoteMeta(id) + `(\s|$)`).MatchString(app.log.String()) {
				t.Errorf("the log has no request_id=%.80s", id)
			}
		})
	}
	if log := app.log.String(); strings.Contains(log, "xxxxxxxx") || strings.Contains(log, "level=ERROR") {
		t.Errorf("the log holds a refused id:\n%.2000s", log)
	}
}
