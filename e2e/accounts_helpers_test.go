package e2e

import (
	"net/url"
)

// signUp creates an account through the sign-up form; the visitor is then
// signed in to it.
func (v *visitor) signUp(name, email, password string) {
	v.t.Helper()
	r := v.post("/signup", url.Values{"name": {name}, "email": {email}, "password": {password}})
	redirectsTo(v.t, "POST /signup", r, "/account")
}

// signIn signs the visitor in through the sign-in form, ticking "Remember
// me" when remember is true.
func (v *visitor) signIn(email, password string, remember bool) {
	v.t.Helper()
	form := url.Values{"email": {email}, "password": {password}}
	if remember {
		form.Set("remember", "on")
	}
	redirectsTo(v.t, "POST /login", v.post("/login", form), "/account")
}
