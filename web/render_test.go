package web

import (
	"net/http/httptest"
	"testing"
)

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		accept string
		want   bool
	}{
		{"application/json", true},
		{"Application/JSON", true},
		{"application/json;q=0.9, text/html;q=0.8", true},
		{"text/html, application/json;q=0.9", false},
		{"application/json, text/html", false}, // a tie goes to HTML
		{"text/html", false},
		{"*/*", false}, // curl's default
		{"", false},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false}, // a browser
		{"application/json;q=0", false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			if got := prefersJSON(r); got != tt.want {
				t.Errorf("prefersJSON(Accept: %q) = %t, want %t", tt.accept, got, tt.want)
			}
		})
	}
}

func TestFormatCents(t *testing.T) {
	tests := []struct {
		cents int64
		want  string
	}{
		{0, "$0.00"},
		{5, "$0.05"},
		{250, "$2.50"},
		{123456, "$1234.56"},
		{-1, "-$0.01"},
	}
	for _, tt := range tests {
		if got := formatCents(tt.cents); got != tt.want {
			t.Errorf("formatCents(%d) = %q, want %q", tt.cents, got, tt.want)
		}
	}
}
