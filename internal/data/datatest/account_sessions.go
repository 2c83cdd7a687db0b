package datatest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"example.com/gosessions/internal/data"
)

const day = 24 * time.Hour

func mustAddSession(t *testing.T, db data.Store, userID int64, tokenHash, device string, at, expires time.Duration) data.AccountSession {
	t.Helper()
	s, err := db.AddAccountSession(context.Background(), userID, tokenHash, device, t0.Add(at), t0.Add(expires))
	if err != nil {
		t.Fatalf("AddAccountSession(%d, %q): %v", userID, tokenHash, err)
	}
	return s
}

// ids returns the ids of list, in order.
func ids(list []data.AccountSession) []string {
	out := []string{}
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func testAddAccountSession(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")

	s := mustAddSession(t, db, ada.ID, "hash-1", "Firefox on Linux", 0, day)

	t.Run("returns the row as stored", func(t *testing.T) {
		want := data.AccountSession{ID: s.ID, UserID: ada.ID, Device: "Firefox on Linux",
			SignedInAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(day)}
		if s != want {
			t.Errorf("got %+v, want %+v", s, want)
		}
		got, err := db.AccountSessionByTokenHash(ctx, "hash-1", t0)
		if err != nil {
			t.Fatal(err)
		}
		if got != s {
			t.Errorf("AccountSessionByTokenHash: got %+v, want %+v", got, s)
		}
	})

	t.Run("gives each session a random id that is not its token hash", func(t *testing.T) {
		other := mustAddSession(t, db, ada.ID, "hash-2", "curl", 0, day)
		if len(s.ID) < 20 || s.ID == other.ID || strings.Contains(s.ID, "hash") {
			t.Errorf("got ids %q and %q, want two different random handles", s.ID, other.ID)
		}
	})

	refused := []struct {
		name      string
		userID    int64
		tokenHash string
		device    string
	}{
		{"of an account that does not exist", 42, "hash-3", "curl"},
		{"with a token hash already in the index", ada.ID, "hash-1", "curl"},
		{"with a device name over 100 characters", ada.ID, "hash-3", strings.Repeat("x", 101)},
	}
	for _, tt := range refused {
		t.Run("refuses a session "+tt.name, func(t *testing.T) {
			if _, err := db.AddAccountSession(ctx, tt.userID, tt.tokenHash, tt.device, t0, t0.Add(day)); err == nil {
				t.Error("got nil error, want one")
			}
			assertRows(t, db, "account_sessions", 2)
		})
	}
}

func testFindingAnAccountSession(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	s := mustAddSession(t, db, ada.ID, "ada-hash", "Firefox on Linux", 0, day)
	mustAddSession(t, db, bob.ID, "bob-hash", "curl", 0, day)

	tests := []struct {
		name   string
		find   func() (data.AccountSession, error)
		wantOK bool
	}{
		{"by token hash", func() (data.AccountSession, error) {
			return db.AccountSessionByTokenHash(ctx, "ada-hash", t0.Add(time.Hour))
		}, true},
		{"by token hash, a moment before it expires", func() (data.AccountSession, error) {
			return db.AccountSessionByTokenHash(ctx, "ada-hash", t0.Add(day-time.Millisecond))
		}, true},
		{"by token hash, once it has expired: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByTokenHash(ctx, "ada-hash", t0.Add(day))
		}, false},
		{"by a token hash nobody has: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByTokenHash(ctx, "unknown", t0)
		}, false},
		{"by the id itself as a token hash: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByTokenHash(ctx, s.ID, t0)
		}, false},
		{"by id, for its account", func() (data.AccountSession, error) {
			return db.AccountSessionByID(ctx, ada.ID, s.ID, t0)
		}, true},
		{"by id, for another account: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByID(ctx, bob.ID, s.ID, t0)
		}, false},
		{"by id, once it has expired: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByID(ctx, ada.ID, s.ID, t0.Add(2*day))
		}, false},
		{"by the token hash as an id: not found", func() (data.AccountSession, error) {
			return db.AccountSessionByID(ctx, ada.ID, "ada-hash", t0)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.find()
			switch {
			case tt.wantOK && err != nil:
				t.Errorf("got %v, want Ada's session", err)
			case tt.wantOK && got != s:
				t.Errorf("got %+v, want %+v", got, s)
			case !tt.wantOK && !errors.Is(err, data.ErrNotFound):
				t.Errorf("got %+v, %v; want ErrNotFound", got, err)
			}
		})
	}
}

func testAccountSessions(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
	ada := mustCreateUser(t, db, "Ada", "ada@example.com")
	bob := mustCreateUser(t, db, "Bob", "bob@example.com")
	laptop := mustAddSession(t, db, ada.ID, "h1", "Firefox on Linux", 30*time.Minute, 30*day)
	phone := mustAddSession(t, db, ada.ID, "h2", "Safari on iPhone", time.Hour, 30*day)
	old := mustAddSession(t, db, ada.ID, "h3", "curl", 0, 2*day)
	mustAddSession(t, db, bob.ID, "h4", "Chrome on Android", 2*time.Hour, 30*day)

	tests := []struct {
		name string
		at   time.Duration
		want []string
	}{
		{"lists the account's sessions, the most recently seen first", 3 * time.Hour,
			[]string{phone.ID, laptop.ID, old.ID}},
		{"leaves out the sessions that have expired", 2 * day,
			[]string{phone.ID, laptop.ID}},
		{"is empty once all have expired", 30 * day, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := db.AccountSessions(ctx, ada.ID, t0.Add(tt.at))
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(list); strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("an account without sessions has an empty list", func(t *testing.T) {
		carol := mustCreateUser(t, db, "Carol", "carol@example.com")
		list, err := db.AccountSessions(ctx, carol.ID, t0)
		if err != nil || len(list) != 0 {
			t.Errorf("got %v, %v; want no sessions", list, err)
		}
	})

	t.Run("a touch moves a session to the top", func(t *testing.T) {
		if err := db.TouchAccountSession(ctx, old.ID, t0.Add(4*time.Hour), t0.Add(3*day)); err != nil {
			t.Fatal(err)
		}
		list, err := db.AccountSessions(ctx, ada.ID, t0.Add(5*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(list), []string{old.ID, phone.ID, laptop.ID}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("got %v, want %v", got, want)
		}
		if list[0].LastSeenAt != t0.Add(4*time.Hour) || list[0].ExpiresAt != t0.Add(3*day) || list[0].SignedInAt != t0 {
			t.Errorf("touched session: got %+v, want last seen t0+4h, expiring t0+3d, signed in at t0", list[0])
		}
	})
}

func testTouchAccountSession(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()

	t.Run("of a session signed out is ErrNotFound", func(t *testing.T) {
		db := open(t)
		ada := mustCreateUser(t, db, "Ada", "ada@example.com")
		s := mustAddSession(t, db, ada.ID, "h1", "curl", 0, day)
		if _, err := db.DeleteAccountSession(ctx, ada.ID, s.ID, t0); err != nil {
			t.Fatal(err)
		}
		if err := db.TouchAccountSession(ctx, s.ID, t0, t0.Add(day)); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
		assertRows(t, db, "account_sessions", 0)
	})

	t.Run("of a session expired is ErrNotFound, and does not bring it back", func(t *testing.T) {
		db := open(t)
		ada := mustCreateUser(t, db, "Ada", "ada@example.com")
		s := mustAddSession(t, db, ada.ID, "h1", "curl", 0, day)
		if err := db.TouchAccountSession(ctx, s.ID, t0.Add(day), t0.Add(2*day)); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
		if _, err := db.AccountSessionByTokenHash(ctx, "h1", t0.Add(day)); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("AccountSessionByTokenHash: got %v, want ErrNotFound", err)
		}
	})
}

func testSigningOutSessions(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()

	// setup gives Ada three sessions and Bob one.
	setup := func(t *testing.T) (db DB, ada, bob int64, sessions []data.AccountSession) {
		db = open(t)
		ada = mustCreateUser(t, db, "Ada", "ada@example.com").ID
		bob = mustCreateUser(t, db, "Bob", "bob@example.com").ID
		for i, device := range []string{"Firefox on Linux", "Safari on iPhone", "curl"} {
			sessions = append(sessions, mustAddSession(t, db, ada, "ada-"+device, device, time.Duration(i)*time.Minute, day))
		}
		sessions = append(sessions, mustAddSession(t, db, bob, "bob-curl", "curl", 0, day))
		return db, ada, bob, sessions
	}
	active := func(t *testing.T, db DB, userID int64) []string {
		t.Helper()
		list, err := db.AccountSessions(ctx, userID, t0)
		if err != nil {
			t.Fatal(err)
		}
		return ids(list)
	}

	t.Run("DeleteAccountSession signs out that session only", func(t *testing.T) {
		db, ada, bob, s := setup(t)
		if _, err := db.DeleteAccountSession(ctx, ada, s[1].ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := db.AccountSessionByTokenHash(ctx, "ada-Safari on iPhone", t0); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("its next request: got %v, want ErrNotFound (a guest)", err)
		}
		if got, want := active(t, db, ada), []string{s[2].ID, s[0].ID}; strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Ada's sessions: got %v, want %v", got, want)
		}
		if got := active(t, db, bob); len(got) != 1 {
			t.Errorf("Bob's sessions: got %v, want his one", got)
		}
	})

	notFound := []struct {
		name string
		run  func(db DB, ada, bob int64, s []data.AccountSession) error
	}{
		{"another account's session", func(db DB, ada, bob int64, s []data.AccountSession) error {
			_, err := db.DeleteAccountSession(ctx, bob, s[0].ID, t0)
			return err
		}},
		{"a session already signed out", func(db DB, ada, bob int64, s []data.AccountSession) error {
			db.DeleteAccountSession(ctx, ada, s[0].ID, t0)
			_, err := db.DeleteAccountSession(ctx, ada, s[0].ID, t0)
			return err
		}},
		{"a session that has expired", func(db DB, ada, bob int64, s []data.AccountSession) error {
			_, err := db.DeleteAccountSession(ctx, ada, s[0].ID, t0.Add(day))
			return err
		}},
		{"an id nobody has", func(db DB, ada, bob int64, s []data.AccountSession) error {
			_, err := db.DeleteAccountSession(ctx, ada, "no-such-id", t0)
			return err
		}},
	}
	for _, tt := range notFound {
		t.Run("DeleteAccountSession of "+tt.name+" is ErrNotFound", func(t *testing.T) {
			db, ada, bob, s := setup(t)
			if err := tt.run(db, ada, bob, s); !errors.Is(err, data.ErrNotFound) {
				t.Errorf("got %v, want ErrNotFound", err)
			}
			if got := active(t, db, bob); len(got) != 1 {
				t.Errorf("Bob's sessions: got %v, want his one", got)
			}
		})
	}

	t.Run("DeleteOtherAccountSessions keeps the current one and the other accounts'", func(t *testing.T) {
		db, ada, bob, s := setup(t)
		hashes, err := db.DeleteOtherAccountSessions(ctx, ada, s[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(hashes) // RETURNING gives no order
		if got, want := strings.Join(hashes, ","), "ada-Safari on iPhone,ada-curl"; got != want {
			t.Errorf("got token hashes %q deleted, want %q", got, want)
		}
		if got := active(t, db, ada); len(got) != 1 || got[0] != s[0].ID {
			t.Errorf("Ada's sessions: got %v, want only %s", got, s[0].ID)
		}
		if got := active(t, db, bob); len(got) != 1 {
			t.Errorf("Bob's sessions: got %v, want his one", got)
		}
	})

	t.Run("DeleteOtherAccountSessions with no id to keep signs out all of them", func(t *testing.T) {
		db, ada, bob, _ := setup(t)
		if hashes, err := db.DeleteOtherAccountSessions(ctx, ada, ""); err != nil || len(hashes) != 3 {
			t.Errorf("got %v, %v; want 3 deleted", hashes, err)
		}
		if got := active(t, db, bob); len(got) != 1 {
			t.Errorf("Bob's sessions: got %v, want his one", got)
		}
	})

	t.Run("DeleteExpiredAccountSessions deletes only the expired rows", func(t *testing.T) {
		db, ada, _, _ := setup(t)
		mustAddSession(t, db, ada, "lasting", "curl", 0, 2*day)
		if n, err := db.DeleteExpiredAccountSessions(ctx, t0.Add(day)); err != nil || n != 4 {
			t.Errorf("got %d, %v; want 4 deleted", n, err)
		}
		assertRows(t, db, "account_sessions", 1)
	})

	t.Run("an account's rows go with it", func(t *testing.T) {
		// No query deletes accounts yet; the foreign key will.
		db, ada, _, _ := setup(t)
		if err := db.Exec(ctx, fmt.Sprintf("DELETE FROM users WHERE id = %d", ada)); err != nil {
			t.Fatal(err)
		}
		assertRows(t, db, "account_sessions", 1)
	})
}

func testSignOutIsSeenByAnotherInstanceSharingTheDatabase(t *testing.T, open func(*testing.T) DB) {
	// Two instances on one database: a session signed out through one is
	// not found by the other's next check, with no other message between
	// them.
	ctx := context.Background()
	a := open(t)
	b := a.Reopen(t)

	ada := mustCreateUser(t, a, "Ada", "ada@example.com")
	s := mustAddSession(t, a, ada.ID, "h1", "curl", 0, day)
	if _, err := b.AccountSessionByTokenHash(ctx, "h1", t0); err != nil {
		t.Fatalf("before the sign-out, instance B: got %v, want the session", err)
	}
	if _, err := a.DeleteAccountSession(ctx, ada.ID, s.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AccountSessionByTokenHash(ctx, "h1", t0); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("after the sign-out, instance B: got %v, want ErrNotFound", err)
	}
}

func testAccountSessionWithUser(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
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
		if _, _, err := db.AccountSessionWithUser(ctx, "h1", at); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}
	if _, _, err := db.AccountSessionWithUser(ctx, "nobody", t0); !errors.Is(err, data.ErrNotFound) {
		t.Errorf("unknown hash: got %v, want ErrNotFound", err)
	}
}

func testDeleteUnrememberedAccountSessions(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	db := open(t)
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

func testRememberToken(t *testing.T, open func(*testing.T) DB) {
	ctx := context.Background()
	setup := func(t *testing.T) (DB, data.AccountSession) {
		db := open(t)
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
		if want := (data.RememberSecrets{Hash: "secret-hash"}); secrets != want {
			t.Errorf("got secrets %+v, want %+v: no previous one yet", secrets, want)
		}
		if _, _, err := db.RememberedSession(ctx, "sel", t0.Add(30*day)); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("on day 30: got %v, want ErrNotFound", err)
		}
		if _, _, err := db.RememberedSession(ctx, "other", t0); !errors.Is(err, data.ErrNotFound) {
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
		if _, err := db.AccountSessionByTokenHash(ctx, "h1", at); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("the old token: got %v, want ErrNotFound", err)
		}
		want := data.RememberSecrets{Hash: "new-secret-hash", PreviousHash: "secret-hash", RotatedAt: at}
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
		want := data.RememberSecrets{Hash: "new-secret-hash", PreviousHash: "secret-hash", RotatedAt: rotated}
		if _, secrets, _ := db.RememberedSession(ctx, "sel", at); secrets != want {
			t.Errorf("got secrets %+v, want %+v", secrets, want)
		}
		if err := db.RestoreAccountSessionKeepingSecret(ctx, "gone", "h4", at, at.Add(day)); !errors.Is(err, data.ErrNotFound) {
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
		want := data.RememberSecrets{Hash: "other-hash"}
		if _, secrets, _ := db.RememberedSession(ctx, "sel2", at); secrets != want {
			t.Errorf("got secrets %+v, want %+v", secrets, want)
		}
	})

	t.Run("goes with its row when the session is signed out", func(t *testing.T) {
		db, s := setup(t)
		if _, err := db.DeleteAccountSession(ctx, s.UserID, s.ID, t0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.RememberedSession(ctx, "sel", t0); !errors.Is(err, data.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}
