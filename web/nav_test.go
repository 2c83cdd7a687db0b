package web_test

import (
	"regexp"
	"slices"
	"testing"
)

// currentLink finds the navigation links marked as the current page.
var currentLink = regexp.MustCompile(`<a href="([^"]*)" aria-current="page">`)

func TestNavigationMarksTheCurrentPage(t *testing.T) {
	app := newTestApp(t, appOptions{})
	tests := []struct {
		path string
		want []string // the links marked current
	}{
		{"/", nil},
		{"/session-example", []string{"/session-example"}},
		{"/ingredients", []string{"/ingredients"}},
		{"/ingredients/1", nil},
		{"/cart", []string{"/cart"}},
		{"/session", []string{"/session"}},
		{"/login", []string{"/login"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := newBrowser(t, app.url).get(tt.path)
			wantStatus(t, "GET "+tt.path, a, 200)
			var got []string
			for _, m := range currentLink.FindAllStringSubmatch(a.body, -1) {
				got = append(got, m[1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("links marked current: got %q, want %q", got, tt.want)
			}
		})
	}
}
