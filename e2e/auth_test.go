package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)

	t.Run("the form asks for name and email", func(t *testing.T) {
		r := v.get("/login")
		wantStatus(t, "GET /login", r, http.StatusOK)
		for _, s := range []string{`action="/login"`, `name="name"`, `name="email"`} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("login page has no %s", s)
			}
		}
	})

	v.add(4, "2")
	tokenBefore := v.cookie()

	t.Run("signing in renews the token, keeps the cart, stores the user", func(t *testing.T) {
		r := v.post("/login", url.Values{"name": {"  Ada Lovelace  "}, "email": {"ada@example.com"}})
		redirectsTo(t, "POST /login", r, "/")
		if v.cookie() == tokenBefore {
			t.Errorf("the session token did not change on sign-in")
		}
		if got := v.cart().quantities(); len(got) != 1 || got[4] != 2 {
			t.Errorf("got cart %v after sign-in, want ingredient 4 × 2", got)
		}
		vals := v.values()
		if vals["userName"] != "Ada Lovelace" || vals["userEmail"] != "ada@example.com" {
			t.Errorf("got userName %q, userEmail %q; want the trimmed name and the email", vals["userName"], vals["userEmail"])
		}
		wantText(t, "home after sign-in", v.get("/"), "Signed in as Ada Lovelace.", "Signed in yes, as Ada Lovelace")
	})

	t.Run("the token from before sign-in no longer leads to the session", func(t *testing.T) {
		thief := newVisitor(t, srv.URL)
		u, _ := url.Parse(srv.URL)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: tokenBefore, Path: "/"}})
		vals := thief.values()
		if _, ok := vals["userName"]; ok {
			t.Errorf("the old token still reads the signed-in user: %v", vals)
		}
		if _, ok := vals["chosenIngredients"]; ok {
			t.Errorf("the old token still reads the cart: %v", vals)
		}
	})

	t.Run("another visitor sees neither the user nor the cart", func(t *testing.T) {
		bob := newVisitor(t, srv.URL)
		wantText(t, "bob's home", bob.get("/"), "Signed in no", "Items in your cart 0")
		if got := bob.cart(); len(got.Items) != 0 {
			t.Errorf("got bob's cart %v, want empty", got.Items)
		}
	})

	t.Run("the form shows the signed-in user's details", func(t *testing.T) {
		r := v.get("/login")
		if !strings.Contains(r.Body, `value="Ada Lovelace"`) || !strings.Contains(r.Body, `value="ada@example.com"`) {
			t.Errorf("login form does not hold the signed-in name and email")
		}
	})

	t.Run("signing out destroys the session", func(t *testing.T) {
		tokenSignedIn := v.cookie()
		redirectsTo(t, "POST /logout", v.post("/logout", nil), "/")
		if v.cookie() == tokenSignedIn || v.cookie() == "" {
			t.Errorf("got token %q after sign-out, want a new one", v.cookie())
		}
		wantText(t, "home after sign-out", v.get("/"), "Signed out.", "Signed in no", "Items in your cart 0")
		vals := v.values()
		for _, k := range []string{"userName", "userEmail", "chosenIngredients"} {
			if _, ok := vals[k]; ok {
				t.Errorf("got %s = %v after sign-out, want it gone", k, vals[k])
			}
		}
	})
}

func TestSignInEscapesTheName(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	redirectsTo(t, "POST /login", v.post("/login", url.Values{
		"name": {`<script>alert(1)</script>`}, "email": {"x@example.com"},
	}), "/")
	r := v.get("/")
	if strings.Contains(r.Body, "<script>alert(1)") {
		t.Errorf("the name is in the page unescaped")
	}
	if !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the escaped name is not on the page:\n%s", r.Body)
	}
}

// TestSignInRefusesBadInput: an invalid form comes back with 422, a
// message next to each wrong field, the values as typed, and the session
// exactly as it was, token included.
func TestSignInRefusesBadInput(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.add(1, "2")
	v.get("/cart") // show, and so drop, the flash of that add

	long := strings.Repeat("a", 101)
	tests := []struct {
		name, formName, formEmail string
		wantMessages              []string
	}{
		{"empty name", "", "ada@example.com", []string{"Please enter your name."}},
		{"blank name", "   ", "ada@example.com", []string{"Please enter your name."}},
		{"name over 100 characters", long, "ada@example.com", []string{"Your name can be at most 100 characters long."}},
		{"empty email", "Ada", "", []string{"Please enter your email address."}},
		{"email without @", "Ada", "ada.example.com", []string{"Please enter a valid email address"}},
		{"email without a dot in the domain", "Ada", "ada@localhost", []string{"Please enter a valid email address"}},
		{"email with a display name", "Ada", "Ada <ada@example.com>", []string{"Please enter a valid email address"}},
		{"both wrong", "", "nope", []string{"Please enter your name.", "Please enter a valid email address"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, token := v.values(), v.cookie()
			r := v.post("/login", url.Values{"name": {tt.formName}, "email": {tt.formEmail}})
			wantStatus(t, "POST /login", r, http.StatusUnprocessableEntity)
			wantText(t, "POST /login", r, tt.wantMessages...)
			if name := strings.TrimSpace(tt.formName); name != "" && !strings.Contains(r.Body, `value="`+name+`"`) {
				t.Errorf("the typed name %q is not kept in the form", name)
			}
			if tt.formEmail != "" && !strings.Contains(r.Body, `value="`+htmlAttr(tt.formEmail)+`"`) {
				t.Errorf("the typed email %q is not kept in the form", tt.formEmail)
			}
			if v.cookie() != token {
				t.Errorf("the token changed on a refused sign-in")
			}
			wantUnchanged(t, "POST /login", before, v.values())
		})
	}
}

// htmlAttr escapes s as html/template does inside an attribute value.
func htmlAttr(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "&", "&amp;", "+", "&#43;").Replace(s)
}
