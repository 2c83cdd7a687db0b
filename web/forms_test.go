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

		// Characters that are not seen as what they are.
		{"a NUL in the name", loginForm{Name: "Ada\x00", Email: "ada@example.com"}, []string{"name"}, "Ada\x00"},
		{"a newline inside the name", loginForm{Name: "Ada\nLovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\nLovelace"},
		{"a terminal escape in the name", loginForm{Name: "\x1b[31mAda", Email: "ada@example.com"}, []string{"name"}, "\x1b[31mAda"},
		{"DEL in the name", loginForm{Name: "Ad\x7fa", Email: "ada@example.com"}, []string{"name"}, "Ad\x7fa"},
		{"a C1 control in the name", loginForm{Name: "Ada\u0085Lovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u0085Lovelace"},
		{"a zero-width space in the name", loginForm{Name: "Ada\u200bLovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u200bLovelace"},
		{"a zero-width joiner in the name", loginForm{Name: "Ad\u200da", Email: "ada@example.com"}, []string{"name"}, "Ad\u200da"},
		{"a right-to-left override in the name", loginForm{Name: "\u202eecalevoL adA", Email: "ada@example.com"}, []string{"name"}, "\u202eecalevoL adA"},
		{"a bidi isolate in the name", loginForm{Name: "Ada \u2066x\u2069", Email: "ada@example.com"}, []string{"name"}, "Ada \u2066x\u2069"},
		{"a byte order mark before the name", loginForm{Name: "\ufeffAda", Email: "ada@example.com"}, []string{"name"}, "\ufeffAda"},
		{"a line separator inside the name", loginForm{Name: "Ada\u2028Lovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u2028Lovelace"},
		{"a NUL in the email", loginForm{Name: "Ada", Email: "ada\x00@example.com"}, []string{"email"}, "Ada"},
		{"a zero-width space in the email", loginForm{Name: "Ada", Email: "ada\u200b@example.com"}, []string{"email"}, "Ada"},
		{"a right-to-left override in the email", loginForm{Name: "Ada", Email: "ada@\u202emoc.elpmaxe"}, []string{"email"}, "Ada"},
		{"hidden characters in both", loginForm{Name: "A\u200bda", Email: "a\u200b@b.co"}, []string{"name", "email"}, "A\u200bda"},

		// What people's names hold.
		{"letters of any script", loginForm{Name: "Zoë 李小龍 Ἀριστοτέλης", Email: "zoe@example.com"}, nil, "Zoë 李小龍 Ἀριστοτέλης"},
		{"a combining accent", loginForm{Name: "Zoe\u0308", Email: "zoe@example.com"}, nil, "Zoe\u0308"},
		{"punctuation", loginForm{Name: "Seán O'Brien-Smith, Jr.", Email: "sean@example.com"}, nil, "Seán O'Brien-Smith, Jr."},
		{"a no-break space", loginForm{Name: "Ada\u00a0Lovelace", Email: "ada@example.com"}, nil, "Ada\u00a0Lovelace"},
		{"an emoji", loginForm{Name: "Ada 🎉", Email: "ada@example.com"}, nil, "Ada 🎉"},
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
