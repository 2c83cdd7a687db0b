package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	gosessions "example.com/gosessions"
	"example.com/gosessions/sqlite"
)

func TestDatabaseID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	a, err := sqlite.Open(ctx, path, gosessions.Migrations())
	if err != nil {
		t.Fatal(err)
	}
	id := a.ID()
	a.Close()

	t.Run("is random, and stays the same across restarts", func(t *testing.T) {
		again, err := sqlite.Open(ctx, path, gosessions.Migrations())
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if len(id) != 32 || again.ID() != id {
			t.Errorf("got id %q, then %q after reopening; want one 32-digit hex id", id, again.ID())
		}
	})

	t.Run("differs between two database files", func(t *testing.T) {
		if other := openDB(t).ID(); other == id {
			t.Errorf("two files got the same id %q", id)
		}
	})
}

func TestAccountSessionWithUser(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	s := mustAddSession(t, db, ada.ID, "h1", "curl", 0, day)

	got, u, err := db.AccountSessionWithUser(ctx, "h1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got != s {
		t.Errorf("got session %+v, want %+v", got, s)
	}
	if u.ID != ada.ID || u.Name != "Ada" || u.Email != "ada@example.com" || u.PasswordHash != "" {
		t.Errorf("got user %+v, want Ada's id, name and email, and no password hash", u)
	}
	for name, at := range map[string]time.Time{"expired": t0.Add(day)} {
		if _, _, err := db.AccountSessionWithUser(ctx, "h1", at); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := db.AccountSessionWithUser(ctx, "nobody", t0); !errors.Is(err, sqlite.ErrNotFound) {
		t.Errorf("unknown hash: got %v, want ErrNotFound", err)
	}
}

func TestDeleteUnrememberedAccountSessions(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	mustAddSession(t, db, ada.ID, "plain", "curl", 0, day)
	remembered := mustAddSession(t, db, ada.ID, "remembered", "curl", 0, day)
	if err := db.SetRememberToken(ctx, remembered.ID, "sel", "secret-hash", t0.Add(30*day)); err != nil {
		t.Fatal(err)
	}
	lapsed := mustAddSession(t, db, ada.ID, "lapsed", "curl", 0, day)
	if err := db.SetRememberToken(ctx, lapsed.ID, "old", "secret-hash", t0.Add(2*day)); err != nil {
		t.Fatal(err)
	}

	if n, err := db.DeleteUnrememberedAccountSessions(ctx, t0.Add(2*day)); err != nil || n != 2 {
		t.Errorf("got %d, %v; want 2 deleted (without remember me, and remembered until now)", n, err)
	}
	if got, _, err := db.RememberedSession(ctx, "sel", t0.Add(2*day)); err != nil || got.ID != remembered.ID {
		t.Errorf("got %+v, %v; want the remembered row %s kept", got, err, remembered.ID)
	}
	assertRows(t, db, "account_sessions", 1)
}

func TestRememberToken(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*sqlite.DB, sqlite.AccountSession) {
		db := openDB(t)
		ada := mustCreateUser(t, db, "Ada", "ada@example.com")
		s := mustAddSession(t, db, ada.ID, "h1", "curl", 0, day)
		if err := db.SetRememberToken(ctx, s.ID, "sel", "secret-hash", t0.Add(30*day)); err != nil {
			t.Fatal(err)
		}
		return db, s
	}

	t.Run("is found by its selector, with the hash of its secret, until it expires", func(t *testing.T) {
		db, s := setup(t)
		got, secrets, err := db.RememberedSession(ctx, "sel", t0.Add(29*day))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != s.ID || !got.RememberExpiresAt.Equal(t0.Add(30*day)) {
			t.Errorf("got %+v, want row %s, remembered until day 30", got, s.ID)
		}
		if want := (sqlite.RememberSecrets{Hash: "secret-hash"}); secrets != want {
			t.Errorf("got secrets %+v, want %+v: no previous one yet", secrets, want)
		}
		if _, _, err := db.RememberedSession(ctx, "sel", t0.Add(30*day)); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("on day 30: got %v, want ErrNotFound", err)
		}
		if _, _, err := db.RememberedSession(ctx, "other", t0); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("unknown selector: got %v, want ErrNotFound", err)
		}
	})

	t.Run("keeps its row active as long as it lasts, through touches", func(t *testing.T) {
		db, s := setup(t)
		if err := db.TouchAccountSession(ctx, s.ID, t0.Add(time.Hour), t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// The session itself ended on day 1; the device is still signed in.
		list, err := db.AccountSessions(ctx, s.UserID, t0.Add(10*day))
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || !list[0].ExpiresAt.Equal(t0.Add(30*day)) {
			t.Errorf("got %+v on day 10, want the row, expiring on day 30", list)
		}
	})

	t.Run("restoring moves the row to the new token and rotates the secret", func(t *testing.T) {
		db, s := setup(t)
		at := t0.Add(5 * day)
		if err := db.RestoreAccountSession(ctx, s.ID, "h2", "new-secret-hash", at, at.Add(day)); err != nil {
			t.Fatal(err)
		}
		got, err := db.AccountSessionByTokenHash(ctx, "h2", at)
		if err != nil {
			t.Fatalf("the new token's row: %v", err)
		}
		if got.ID != s.ID || !got.LastSeenAt.Equal(at) || !got.ExpiresAt.Equal(t0.Add(30*day)) {
			t.Errorf("got %+v, want row %s seen on day 5, lasting until day 30", got, s.ID)
		}
		if _, err := db.AccountSessionByTokenHash(ctx, "h1", at); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("the old token: got %v, want ErrNotFound", err)
		}
		want := sqlite.RememberSecrets{Hash: "new-secret-hash", PreviousHash: "secret-hash", RotatedAt: at}
		if _, got, _ := db.RememberedSession(ctx, "sel", at); got != want {
			t.Errorf("got secrets %+v, want %+v", got, want)
		}
		assertRows(t, db, "account_sessions", 1)
	})

	t.Run("restoring with the secret kept moves the row and leaves the token as it is", func(t *testing.T) {
		db, s := setup(t)
		rotated := t0.Add(5 * day)
		if err := db.RestoreAccountSession(ctx, s.ID, "h2", "new-secret-hash", rotated, rotated.Add(day)); err != nil {
			t.Fatal(err)
		}
		at := rotated.Add(time.Second)
		if err := db.RestoreAccountSessionKeepingSecret(ctx, s.ID, "h3", at, at.Add(day)); err != nil {
			t.Fatal(err)
		}
		got, err := db.AccountSessionByTokenHash(ctx, "h3", at)
		if err != nil {
			t.Fatalf("the new token's row: %v", err)
		}
		if got.ID != s.ID || !got.LastSeenAt.Equal(at) || !got.ExpiresAt.Equal(t0.Add(30*day)) {
			t.Errorf("got %+v, want row %s seen a second later, lasting until day 30", got, s.ID)
		}
		want := sqlite.RememberSecrets{Hash: "new-secret-hash", PreviousHash: "secret-hash", RotatedAt: rotated}
		if _, secrets, _ := db.RememberedSession(ctx, "sel", at); secrets != want {
			t.Errorf("got secrets %+v, want %+v", secrets, want)
		}
		if err := db.RestoreAccountSessionKeepingSecret(ctx, "gone", "h4", at, at.Add(day)); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("a row that is gone: got %v, want ErrNotFound", err)
		}
	})

	t.Run("a new token forgets the previous secret", func(t *testing.T) {
		db, s := setup(t)
		at := t0.Add(5 * day)
		if err := db.RestoreAccountSession(ctx, s.ID, "h2", "new-secret-hash", at, at.Add(day)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetRememberToken(ctx, s.ID, "sel2", "other-hash", t0.Add(30*day)); err != nil {
			t.Fatal(err)
		}
		want := sqlite.RememberSecrets{Hash: "other-hash"}
		if _, secrets, _ := db.RememberedSession(ctx, "sel2", at); secrets != want {
			t.Errorf("got secrets %+v, want %+v", secrets, want)
		}
	})

	t.Run("goes with its row when the session is signed out", func(t *testing.T) {
		db, s := setup(t)
		if _, err := db.DeleteAccountSession(ctx, s.UserID, s.ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RememberedSession(ctx, "sel", t0); !errors.Is(err, sqlite.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestOrdersOfUser(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	place := func(key string, userID int64) int64 {
		t.Helper()
		id, _, err := db.CreateOrder(ctx, sqlite.NewOrder{Key: key, UserID: userID, Items: []sqlite.OrderItem{{IngredientID: 1, Qty: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	first, second := place("a1", ada.ID), place("a2", ada.ID)
	place("b1", bob.ID)
	guest := place("g1", 0)

	t.Run("lists the account's orders, newest first, up to the limit", func(t *testing.T) {
		list, err := db.OrdersOfUser(ctx, ada.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != second || list[1].ID != first {
			t.Fatalf("got %+v, want orders %d then %d", list, second, first)
		}
		if list[0].TotalCents != 500 || list[0].CreatedAt.IsZero() {
			t.Errorf("got %+v, want total 500 and a creation time", list[0])
		}
		if list, _ := db.OrdersOfUser(ctx, ada.ID, 1); len(list) != 1 || list[0].ID != second {
			t.Errorf("limit 1: got %+v, want the newest only", list)
		}
	})

	t.Run("records the account on the order, and none on a guest's", func(t *testing.T) {
		if o, _ := db.Order(ctx, first); o.UserID != ada.ID {
			t.Errorf("got user %d, want Ada's %d", o.UserID, ada.ID)
		}
		if o, _ := db.Order(ctx, guest); o.UserID != 0 {
			t.Errorf("guest's order: got user %d, want 0", o.UserID)
		}
	})
}
