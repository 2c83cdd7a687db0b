package web

import (
	"net/mail"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzSignupForm(f *testing.F) {
	seeds := []struct{ name, email string }{
		{"Ada", "ada@example.com"},
		{"  Ada Lovelace  ", " ada@example.com "},
		{"", "ada@example.com"},
		{"Ada", ""},
		{"<script>alert(1)</script>", "x@y.example"},
		{strings.Repeat("é", 100), "a@b.co"},
		{strings.Repeat("é", 101), "a@b.co"},
		{"\xff\xfe", "a@b.co"},
		{"Ada", "Ada <ada@example.com>"},
		{"Ada", "ada@localhost"},
		{"Ada", "ada@example."},
		{"Ada", `"quoted"@example.com`},
		{"\u00a0Ada\u2003", "ada@example.com"},
		{"Ada\x00", "ada@example.com"},
		{"Ada\nLovelace", "ada@example.com"},
		{"\x1b[2JAda", "ada@example.com"},
		{"Ada\u200bLovelace", "ada@example.com"},
		{"\u202eecalevoL adA", "ada@example.com"},
		{"\ufeffAda", "ada@example.com"},
		{"Ada\u2028Lovelace", "ada@example.com"},
		{"Ada", "ada\u200b@example.com"},
		{"Ada", "ada@\u202emoc.elpmaxe"},
		{"Zoë 李小龍", "zoe@example.com"},
	}
	for _, s := range seeds {
		f.Add(s.name, s.email)
	}
	f.Fuzz(func(t *testing.T, name, email string) {
		form := signupForm{Name: name, Email: email}
		valid := form.validate("correct horse")
		if valid != (len(form.Errors) == 0) {
			t.Fatalf("validate() = %t with errors %v", valid, form.Errors)
		}
		if !valid {
			return
		}
		if form.Name != strings.TrimSpace(form.Name) || !utf8.ValidString(form.Name) {
			t.Fatalf("valid name %q is not trimmed, valid UTF-8", form.Name)
		}
		if hasHiddenCharacters(form.Name) || hasHiddenCharacters(form.Email) {
			t.Fatalf("valid name %q or email %q holds control or invisible characters", form.Name, form.Email)
		}
		if n := utf8.RuneCountInString(form.Name); n < 1 || n > maxNameLength {
			t.Fatalf("valid name %q has %d characters, want 1..%d", form.Name, n, maxNameLength)
		}
		addr, err := mail.ParseAddress(form.Email)
		if err != nil || addr.Address != form.Email {
			t.Fatalf("valid email %q does not parse as a bare address: %v", form.Email, err)
		}
	})
}
