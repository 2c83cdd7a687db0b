package web

import (
	"strings"
	"testing"
)

func TestSignupFormValidate(t *testing.T) {
	tests := []struct {
		name       string
		form       signupForm
		wantErrors []string // fields with a message
		wantName   string   // the name as kept, after trimming
	}{
		{"a name and an email are valid", signupForm{Name: "Ada", Email: "ada@example.com"}, nil, "Ada"},
		{"spaces around the name are trimmed", signupForm{Name: "  Ada  ", Email: " ada@example.com "}, nil, "Ada"},
		{"100 characters is the longest name", signupForm{Name: strings.Repeat("é", 100), Email: "a@b.co"}, nil, strings.Repeat("é", 100)},
		{"an empty name", signupForm{Name: "", Email: "ada@example.com"}, []string{"name"}, ""},
		{"a name of spaces", signupForm{Name: " \t ", Email: "ada@example.com"}, []string{"name"}, ""},
		{"101 characters", signupForm{Name: strings.Repeat("a", 101), Email: "ada@example.com"}, []string{"name"}, strings.Repeat("a", 101)},
		{"invalid UTF-8 in the name", signupForm{Name: "Ada\xff", Email: "ada@example.com"}, []string{"name"}, "Ada\xff"},
		{"an empty email", signupForm{Name: "Ada", Email: ""}, []string{"email"}, "Ada"},
		{"no @", signupForm{Name: "Ada", Email: "ada.example.com"}, []string{"email"}, "Ada"},
		{"no dot in the domain", signupForm{Name: "Ada", Email: "ada@localhost"}, []string{"email"}, "Ada"},
		{"a trailing dot", signupForm{Name: "Ada", Email: "ada@example."}, []string{"email"}, "Ada"},
		{"a display name", signupForm{Name: "Ada", Email: "Ada <ada@example.com>"}, []string{"email"}, "Ada"},
		{"two addresses", signupForm{Name: "Ada", Email: "a@example.com, b@example.com"}, []string{"email"}, "Ada"},
		{"an email over 254 characters", signupForm{Name: "Ada", Email: strings.Repeat("a", 250) + "@example.com"}, []string{"email"}, "Ada"},
		{"both wrong", signupForm{Name: "", Email: "x"}, []string{"name", "email"}, ""},

		// Characters that are not seen as what they are.
		{"a NUL in the name", signupForm{Name: "Ada\x00", Email: "ada@example.com"}, []string{"name"}, "Ada\x00"},
		{"a newline inside the name", signupForm{Name: "Ada\nLovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\nLovelace"},
		{"a terminal escape in the name", signupForm{Name: "\x1b[31mAda", Email: "ada@example.com"}, []string{"name"}, "\x1b[31mAda"},
		{"DEL in the name", signupForm{Name: "Ad\x7fa", Email: "ada@example.com"}, []string{"name"}, "Ad\x7fa"},
		{"a C1 control in the name", signupForm{Name: "Ada\u0085Lovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u0085Lovelace"},
		{"a zero-width space in the name", signupForm{Name: "Ada\u200bLovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u200bLovelace"},
		{"a zero-width joiner in the name", signupForm{Name: "Ad\u200da", Email: "ada@example.com"}, []string{"name"}, "Ad\u200da"},
		{"a right-to-left override in the name", signupForm{Name: "\u202eecalevoL adA", Email: "ada@example.com"}, []string{"name"}, "\u202eecalevoL adA"},
		{"a bidi isolate in the name", signupForm{Name: "Ada \u2066x\u2069", Email: "ada@example.com"}, []string{"name"}, "Ada \u2066x\u2069"},
		{"a byte order mark before the name", signupForm{Name: "\ufeffAda", Email: "ada@example.com"}, []string{"name"}, "\ufeffAda"},
		{"a line separator inside the name", signupForm{Name: "Ada\u2028Lovelace", Email: "ada@example.com"}, []string{"name"}, "Ada\u2028Lovelace"},
		{"a NUL in the email", signupForm{Name: "Ada", Email: "ada\x00@example.com"}, []string{"email"}, "Ada"},
		{"a zero-width space in the email", signupForm{Name: "Ada", Email: "ada\u200b@example.com"}, []string{"email"}, "Ada"},
		{"a right-to-left override in the email", signupForm{Name: "Ada", Email: "ada@\u202emoc.elpmaxe"}, []string{"email"}, "Ada"},
		{"hidden characters in both", signupForm{Name: "A\u200bda", Email: "a\u200b@b.co"}, []string{"name", "email"}, "A\u200bda"},
		{"a blank Hangul filler in the name", signupForm{Name: "A\u3164da", Email: "ada@example.com"}, []string{"name"}, "A\u3164da"},
		{"a blank Braille pattern in the name", signupForm{Name: "\u2800", Email: "ada@example.com"}, []string{"name"}, "\u2800"},
		{"a name of a combining accent only", signupForm{Name: "\u0301", Email: "ada@example.com"}, []string{"name"}, "\u0301"},
		{"a private-use character in the name", signupForm{Name: "Ada\uE000", Email: "ada@example.com"}, []string{"name"}, "Ada\uE000"},
		{"a noncharacter in the name", signupForm{Name: "Ada\uFFFF", Email: "ada@example.com"}, []string{"name"}, "Ada\uFFFF"},
		{"a no-break space inside the email", signupForm{Name: "Ada", Email: "ada\u00a0x@example.com"}, []string{"email"}, "Ada"},

		// What people's names hold.
		{"letters of any script", signupForm{Name: "Zoë 李小龍 Ἀριστοτέλης", Email: "zoe@example.com"}, nil, "Zoë 李小龍 Ἀριστοτέλης"},
		{"a combining accent", signupForm{Name: "Zoe\u0308", Email: "zoe@example.com"}, nil, "Zoe\u0308"},
		{"punctuation", signupForm{Name: "Seán O'Brien-Smith, Jr.", Email: "sean@example.com"}, nil, "Seán O'Brien-Smith, Jr."},
		{"a no-break space", signupForm{Name: "Ada\u00a0Lovelace", Email: "ada@example.com"}, nil, "Ada\u00a0Lovelace"},
		{"an emoji", signupForm{Name: "Ada 🎉", Email: "ada@example.com"}, nil, "Ada 🎉"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.form
			valid := f.validate(okPassword)
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

const okPassword = "correct horse"

func TestNewPasswordLength(t *testing.T) {
	tests := []struct {
		name     string
		password string
		valid    bool
	}{
		{"7 characters is too short", "1234567", false},
		{"8 characters is enough", "12345678", true},
		{"characters are counted, not bytes", "éééééééé", true},
		{"7 characters of 2 bytes each are still too short", "ééééééé", false},
		{"128 characters is the longest", strings.Repeat("é", 128), true},
		{"129 characters is too long", strings.Repeat("a", 129), false},
		{"spaces and symbols are allowed, with no rules", "        ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := signupForm{Name: "Ada", Email: "ada@example.com"}
			if got := f.validate(tt.password); got != tt.valid {
				t.Errorf("got valid %t (errors %v), want %t", got, f.Errors, tt.valid)
			}
			if !tt.valid && f.Errors["password"] == "" {
				t.Errorf("got no message for the password, want one")
			}
		})
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		next string
		ok   bool
	}{
		{"/account", true},
		{"/orders/12?x=1#top", true},
		{"/", true},
		{"/%2F%2Fevil.example", true}, // a path on this site: browsers do not unescape it into //
		{"", false},
		{"account", false},
		{"//evil.example", false},
		{"///evil.example", false},
		{"/\\evil.example", false},
		{"https://evil.example", false},
		{"https:/evil.example", false},
		{"javascript:alert(1)", false},
		{"/\t/evil.example", false},
		{"/account\r\nSet-Cookie: x=1", false},
		{" /account", false},
	}
	for _, tt := range tests {
		t.Run(tt.next, func(t *testing.T) {
			if got := localPath(tt.next); got != tt.ok {
				t.Errorf("localPath(%q): got %t, want %t", tt.next, got, tt.ok)
			}
		})
	}
}
