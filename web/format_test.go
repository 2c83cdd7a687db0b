package web

import (
	"html/template"
	"testing"
	"time"
)

func TestFormatDate(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   any
		want template.HTML
	}{
		{"a time, shown in UTC", time.Date(2026, 12, 1, 23, 15, 30, 0, paris),
			`<time datetime="2026-12-01T22:15:30Z">1 Dec 2026, 22:15 UTC</time>`},
		{"an RFC 3339 string, as an order holds", "2026-12-01T22:15:30.123Z",
			`<time datetime="2026-12-01T22:15:30Z">1 Dec 2026, 22:15 UTC</time>`},
		{"a string that is no time, shown as it is", "yesterday <3",
			`yesterday &lt;3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := formatDate(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("formatDate(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	if _, err := formatDate(42); err == nil {
		t.Errorf("formatDate(42): got no error, want one: 42 is not a time")
	}
}

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 times", 1: "1 time", 2: "2 times", 21: "21 times"} {
		if got := plural(n, "time", "times"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
}
