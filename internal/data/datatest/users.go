package datatest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/data"
)

// A stand-in for an argon2id PHC string: a Store keeps the hash and
// never reads it.
const someHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$aGFzaA"

func mustCreateUser(t *testing.T, db data.Store, name, email string) data.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), name, email, someHash)
	if err != nil {
		t.Fatalf("CreateUser(%q, %q): %v", name, email, err)
	}
	return u
}

func testCreateUser(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()

	t.Run("returns the new account with its id and creation time", func(t *testing.T) {
		db := open(t)
		before := time.Now().Truncate(time.Millisecond)
		u := mustCreateUser(t, db, "Ada", "Ada@Example.com")
		after := time.Now()
		if u.ID == 0 || u.Name != "Ada" || u.Email != "Ada@Example.com" || u.PasswordHash != someHash {
			t.Errorf("got %+v, want Ada <Ada@Example.com> with an id and the hash", u)
		}
		if u.CreatedAt.Before(before) || u.CreatedAt.After(after) {
			t.Errorf("CreatedAt: got %v, want between %v and %v", u.CreatedAt, before, after)
		}
		got, err := db.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got != u {
			t.Errorf("UserByID: got %+v, want %+v", got, u)
		}
	})

	t.Run("two accounts get different ids", func(t *testing.T) {
		db := open(t)
		a := mustCreateUser(t, db, "Ada", "ada@example.com")
		b := mustCreateUser(t, db, "Bob", "bob@example.com")
		if a.ID == b.ID {
			t.Errorf("got id %d twice, want two ids", a.ID)
		}
	})

	taken := []struct{ name, second string }{
		{"the same email is taken", "ada@example.com"},
		{"the same email in capitals is taken", "ADA@EXAMPLE.COM"},
		{"the same email in mixed case is taken", "Ada@Example.Com"},
	}
	for _, tt := range taken {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			first := mustCreateUser(t, db, "Ada", "ada@example.com")
			_, err := db.CreateUser(ctx, "Impostor", tt.second, "other")
			if !errors.Is(err, data.ErrEmailTaken) {
				t.Fatalf("CreateUser(%q): got %v, want ErrEmailTaken", tt.second, err)
			}
			assertRows(t, db, "users", 1)
			if got, _ := db.UserByID(ctx, first.ID); got != first {
				t.Errorf("first account: got %+v, want it unchanged: %+v", got, first)
			}
		})
	}

	t.Run("letters beyond ASCII are compared as they are", func(t *testing.T) {
		// Only A-Z fold, as SQLite's NOCASE does: é and É are different
		// letters. (Few mail servers fold them either.)
		db := open(t)
		mustCreateUser(t, db, "Élodie", "élodie@example.com")
		if _, err := db.CreateUser(ctx, "Élodie", "Élodie@example.com", someHash); err != nil {
			t.Errorf("got %v, want a second account", err)
		}
	})

	refused := []struct{ name, userName, email string }{
		{"an empty name", "", "ada@example.com"},
		{"a name over 100 characters", strings.Repeat("a", 101), "ada@example.com"},
		{"an email over 254 characters", "Ada", strings.Repeat("a", 243) + "@example.com"},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused by the table", func(t *testing.T) {
			db := open(t)
			_, err := db.CreateUser(ctx, tt.userName, tt.email, someHash)
			if err == nil || errors.Is(err, data.ErrEmailTaken) {
				t.Errorf("got %v, want a constraint error", err)
			}
			assertRows(t, db, "users", 0)
		})
	}

	t.Run("a name of 100 characters beyond ASCII fits", func(t *testing.T) {
		// length() counts characters, not bytes, as the form does.
		db := open(t)
		mustCreateUser(t, db, strings.Repeat("é", 100), "ada@example.com")
	})
}

func testUserByEmail(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "Ada@Example.com")
	mustCreateUser(t, db, "Bob", "bob@example.com")

	for _, email := range []string{"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"} {
		t.Run("finds the account as "+email, func(t *testing.T) {
			got, err := db.UserByEmail(ctx, email)
			if err != nil {
				t.Fatal(err)
			}
			if got != ada {
				t.Errorf("got %+v, want %+v", got, ada)
			}
		})
	}
	for _, email := range []string{"", "ada@example.co", "ada@example.com ", "%@example.com", "nobody@example.com"} {
		t.Run("no account has "+email, func(t *testing.T) {
			if got, err := db.UserByEmail(ctx, email); !errors.Is(err, data.ErrNotFound) {
				t.Errorf("got %+v, %v; want ErrNotFound", got, err)
			}
		})
	}
}

func testUserByIDOfAnUnknownIDIsErrNotFound(t *testing.T, open func(*testing.T) DB) {
	db := open(t)
	if _, err := db.UserByID(context.Background(), 42); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("got %v, want ErrNotFound", err)
	}
}

func testSetPasswordHash(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()

	t.Run("replaces the hash of that account only", func(t *testing.T) {
		db := open(t)
		ada := mustCreateUser(t, db, "Ada", "ada@example.com")
		bob := mustCreateUser(t, db, "Bob", "bob@example.com")
		if err := db.SetPasswordHash(ctx, ada.ID, "new hash"); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.UserByID(ctx, ada.ID); got.PasswordHash != "new hash" {
			t.Errorf("Ada's hash: got %q, want %q", got.PasswordHash, "new hash")
		}
		if got, _ := db.UserByID(ctx, bob.ID); got.PasswordHash != someHash {
			t.Errorf("Bob's hash: got %q, want it unchanged", got.PasswordHash)
		}
	})

	t.Run("of an unknown id is ErrNotFound", func(t *testing.T) {
		db := open(t)
		if err := db.SetPasswordHash(ctx, 42, "new hash"); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

// ChangePassword changes the password, renames the asking session's row and
// signs out the others in one transaction, and only while the asking
// session is still signed in.
func testChangePassword(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	here := mustAddSession(t, db, ada.ID, "hash-here", "curl", 0, day)
	mustAddSession(t, db, ada.ID, "hash-phone", "Safari on iPhone", 0, day)
	bobs := mustAddSession(t, db, bob.ID, "hash-bob", "curl", 0, day)

	t.Run("the other sessions go, this one follows its new token", func(t *testing.T) {
		gone, err := db.ChangePassword(ctx, ada.ID, here.ID, "hash-here-renewed", "new-hash")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gone, []string{"hash-phone"}) {
			t.Errorf("signed out %q, want [hash-phone]", gone)
		}
		if u, _ := db.UserByID(ctx, ada.ID); u.PasswordHash != "new-hash" {
			t.Errorf("got password hash %q, want new-hash", u.PasswordHash)
		}
		if row, err := db.AccountSessionByTokenHash(ctx, "hash-here-renewed", t0); err != nil || row.ID != here.ID {
			t.Errorf("the row under the renewed token: got %v, %v; want row %s", row.ID, err, here.ID)
		}
		if _, err := db.AccountSessionByTokenHash(ctx, "hash-bob", t0); err != nil {
			t.Errorf("another account's session: %v, want it kept", err)
		}
	})

	t.Run("a session signed out meanwhile changes nothing", func(t *testing.T) {
		if _, err := db.DeleteAccountSession(ctx, ada.ID, here.ID, t0); err != nil {
			t.Fatal(err)
		}
		other := mustAddSession(t, db, ada.ID, "hash-laptop", "Firefox on Linux", 0, day)
		_, err := db.ChangePassword(ctx, ada.ID, here.ID, "hash-again", "newer-hash")
		if !errors.Is(err, data.ErrNotFound) {
			t.Fatalf("got %v, want ErrNotFound", err)
		}
		if u, _ := db.UserByID(ctx, ada.ID); u.PasswordHash != "new-hash" {
			t.Errorf("got password hash %q, want new-hash, unchanged", u.PasswordHash)
		}
		if _, err := db.AccountSessionByTokenHash(ctx, "hash-laptop", t0); err != nil {
			t.Errorf("the other session %s: %v, want it still signed in", other.ID, err)
		}
	})

	t.Run("a row of another account is not this account's", func(t *testing.T) {
		if _, err := db.ChangePassword(ctx, ada.ID, bobs.ID, "x", "hijack"); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
		if u, _ := db.UserByID(ctx, ada.ID); u.PasswordHash != "new-hash" {
			t.Errorf("got password hash %q, want new-hash, unchanged", u.PasswordHash)
		}
	})
}
