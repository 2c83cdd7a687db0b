package web

import (
	"strings"
	"testing"
)

func TestLoginFormValidate(t *testing.T) {
	tests := []struct {
		name       string
		form       loginForm
		wantErrors []string // fields with a message
		wantName   string   // the name as kept, after trimming
	}{
		{"a name and an email are valid", loginForm{Name: "Ada", Email: "ada@example.com"}, nil, "Ada"},
		{"spaces around the name are trimmed", loginForm{Name: "  Ada  ", Email: " ada@example.com "}, nil, "Ada"},
		{"100 characters is the longest name", loginForm{Name: strings.Repeat("é", 100), Email: "a@b.co"}, nil, strings.Repeat("é", 100)},
		{"an empty name", loginForm{Name: "", Email: "ada@example.com"}, []string{"name"}, ""},
		{"a name of spaces", loginForm{Name: " \t ", Email: "ada@example.com"}, []string{"name"}, ""},
		{"101 characters", loginForm{Name: strings.Repeat("a", 101), Email: "ada@example.com"}, []string{"name"}, strings.Repeat("a", 101)},
		{"invalid UTF-8 in the name", loginForm{Name: "Ada\xff", Email: "ada@example.com"}, []string{"name"}, "Ada\xff"},
		{"an empty email", loginForm{Name: "Ada", Email: ""}, []string{"email"}, "Ada"},
		{"no @", loginForm{Name: "Ada", Email: "ada.example.com"}, []string{"email"}, "Ada"},
		{"no dot in the domain", loginForm{Name: "Ada", Email: "ada@localhost"}, []string{"email"}, "Ada"},
		{"a trailing dot", loginForm{Name: "Ada", Email: "ada@example."}, []string{"email"}, "Ada"},
		{"a display name", loginForm{Name: "Ada", Email: "Ada <ada@example.com>"}, []string{"email"}, "Ada"},
		{"two addresses", loginForm{Name: "Ada", Email: "a@example.com, b@example.com"}, []string{"email"}, "Ada"},
		{"an email over 254 characters", loginForm{Name: "Ada", Email: strings.Repeat("a", 250) + "@example.com"}, []string{"email"}, "Ada"},
		{"both wrong", loginForm{Name: "", Email: "x"}, []string{"name", "email"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.form
			valid := f.validate()
			if valid != (len(tt.wantErrors) == 0) {
				t.Errorf("got valid %t with errors %v, want errors for %v", valid, f.Errors, tt.wantErrors)
			}
			if len(f.Errors) != len(tt.wantErrors) {
				t.Errorf("got errors %v, want messages for %v", f.Errors, tt.wantErrors)
			}
			for _, field := range tt.wantErrors {
				if f.Errors[field] == "" {
					t.Errorf("got no message for %s, want one", field)
				}
			}
			if f.Name != tt.wantName {
				t.Errorf("got name %q, want %q", f.Name, tt.wantName)
			}
		})
	}
}
