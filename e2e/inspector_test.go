package e2e

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSessionInspector(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.signUp("Ada", "ada@example.com", "correct horse battery")
	v.add(2, "4")
	v.get("/cart")

	bob := newVisitor(t, srv.URL)
	bob.sessionExample()

	t.Run("the page shows the cookie, a token prefix, expiry, values, row and count", func(t *testing.T) {
		r := v.get("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		token := v.cookie()
		if strings.Contains(r.Body, token) {
			t.Fatalf("the page shows the whole token")
		}
		wantText(t, "GET /session", r,
			"Name session",
			"HttpOnly; SameSite=Lax; Path=/",
			"Token "+token[:6]+"…",
			"Ends at the latest",
			"Ends if idle until",
			"userId 1", // the first account of this database
			`accountDb "`,
			`chosenIngredients [{"id":2,"qty":4}]`,
			"pageViews",
		)
		text := pageText(r.Body)
		if !regexp.MustCompile(`Stored row \d+ bytes, expiring \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC`).MatchString(text) {
			t.Errorf("no stored row size and expiry in:\n%s", text)
		}
		// The count is taken in the background every few seconds.
		activeRE := regexp.MustCompile(`Active sessions in the store about (\d+)`)
		active := func(text string) int {
			m := activeRE.FindStringSubmatch(text)
			if m == nil {
				t.Fatalf("no active session count in:\n%s", text)
			}
			n, _ := strconv.Atoi(m[1])
			return n
		}
		if n := active(text); n < 2 && !waitFor(15*time.Second, func() bool { return active(pageText(v.get("/session").Body)) >= 2 }) {
			t.Errorf("got %d active sessions, want at least 2 (ada and bob)", n)
		}
		if strings.Contains(r.Body, bob.cookie()[:6]) {
			t.Errorf("ada's inspector shows bob's token prefix")
		}
	})

	t.Run("the page of a new visitor says the token comes with the answer", func(t *testing.T) {
		r := newVisitor(t, srv.URL).get("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		wantText(t, "GET /session", r, "a new session: its token is created with this response")
	})

	t.Run("JSON has every fact of the page, under names scripts can rely on", func(t *testing.T) {
		r := v.getJSON("/session")
		wantStatus(t, "GET /session", r, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("got Content-Type %q, want application/json", ct)
		}
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(r.Body), &top); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"values", "expiresAt", "tokenPrefix", // the names scripts have always read
			"tokenHashPrefix", "cookieName", "secureCookie", "persistentCookie", "absoluteExpiry", "idleExpiry",
			"storedRow", "activeSessions", "sqliteCommand", "scsKeys"} {
			if top[name] == nil {
				t.Errorf("the JSON has no %q: %s", name, r.Body)
			}
		}
		in := v.session()
		if in.TokenPrefix == "" || !strings.HasPrefix(v.cookie(), in.TokenPrefix) || len(in.TokenPrefix) > 8 {
			t.Errorf("got tokenPrefix %q, want a short prefix of the cookie's token", in.TokenPrefix)
		}
		expires, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			t.Errorf("expiresAt %q is not RFC 3339: %v", in.ExpiresAt, err)
		} else if !expires.After(time.Now()) {
			t.Errorf("got expiresAt %v, want a time in the future", expires)
		}
		if in.Values["userId"] != 1.0 {
			t.Errorf("got values %v, want userId 1 among them", in.Values)
		}

		full := v.inspectorFacts()
		if full.CookieName != "session" || full.SecureCookie || full.PersistentCookie {
			t.Errorf("got cookie %q, secure %v, persistent %v; want session, not secure, not persistent (signed in without Remember me)",
				full.CookieName, full.SecureCookie, full.PersistentCookie)
		}
		absolute, err1 := time.Parse(time.RFC3339, full.AbsoluteExpiry)
		idle, err2 := time.Parse(time.RFC3339, full.IdleExpiry)
		if err1 != nil || err2 != nil || !idle.Before(absolute) {
			t.Errorf("got absoluteExpiry %q and idleExpiry %q, want RFC 3339 times, idle first (2h idle timeout, 24h lifetime)",
				full.AbsoluteExpiry, full.IdleExpiry)
		}
		if full.ExpiresAt != full.IdleExpiry {
			t.Errorf("got expiresAt %q, want the earlier of the two, idleExpiry %q", full.ExpiresAt, full.IdleExpiry)
		}
		if full.StoredRow == nil || full.StoredRow.Bytes <= 0 {
			t.Errorf("got storedRow %+v, want the row's size", full.StoredRow)
		} else if _, err := time.Parse(time.RFC3339, full.StoredRow.ExpiresAt); err != nil {
			t.Errorf("storedRow.expiresAt %q is not RFC 3339", full.StoredRow.ExpiresAt)
		}
		if full.ActiveSessions == nil || *full.ActiveSessions < 0 {
			t.Errorf("got activeSessions %v, want a count", full.ActiveSessions)
		}
		if len(full.ScsKeys) != 1 || full.ScsKeys[0] != "__rememberMe" {
			t.Errorf("got scsKeys %v, want [__rememberMe]", full.ScsKeys)
		}
	})

	t.Run("the hash prefix is the start of the stored row's key, and the sqlite3 command finds that row alone", func(t *testing.T) {
		db := dbReadOnly(t, srv.DBPath)
		full := v.inspectorFacts()
		key := storeKey(v.cookie())
		if len(full.TokenHashPrefix) < 12 || !strings.HasPrefix(key, full.TokenHashPrefix) {
			t.Fatalf("got tokenHashPrefix %q, want at least 12 characters of the stored key %q", full.TokenHashPrefix, key)
		}
		var rowsWithPrefix int
		for k := range dbSessionRows(t, db) {
			if strings.HasPrefix(k, full.TokenHashPrefix) {
				rowsWithPrefix++
			}
		}
		if rowsWithPrefix != 1 {
			t.Errorf("got %d rows whose key starts with %q, want 1", rowsWithPrefix, full.TokenHashPrefix)
		}
		wantText(t, "GET /session", v.get("/session"), "Stored under "+full.TokenHashPrefix+"…", full.SQLiteCommand)

		out := runSQLiteCommand(t, db, full.SQLiteCommand)
		if !regexp.MustCompile(`^\d+\|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$`).MatchString(out) {
			t.Errorf("%s\nprinted %q, want one row: its size and expiry", full.SQLiteCommand, out)
		}
	})

	t.Run("an underscore in the hash prefix matches itself only", func(t *testing.T) {
		// LIKE would read '_' as any character: the command compares with substr.
		if !strings.Contains(v.inspectorFacts().SQLiteCommand, "substr(token, 1, 12) = '") {
			t.Errorf("the command does not compare the prefix with substr")
		}
	})

	t.Run("looking at the session through JSON pops no flash", func(t *testing.T) {
		v.add(1, "1") // leaves a flash for the next page
		for range 2 {
			if flash, _ := v.values()["flash"].(string); !strings.HasPrefix(flash, "Added 1 × Flour") {
				t.Fatalf("got flash %q in the JSON, want the cart's message, still there", flash)
			}
		}
		wantText(t, "the next page", v.get("/session"), "Added 1 × Flour")
		if _, ok := v.values()["flash"]; ok {
			t.Errorf("the flash is still there after the page showed it")
		}
	})

	t.Run("scs's own key is labelled as such", func(t *testing.T) {
		wantText(t, "GET /session", v.get("/session"), "__rememberMe (scs's own) false", "__rememberMe is scs's own key")
	})

	t.Run("another visitor sees only their own values", func(t *testing.T) {
		vals := bob.values()
		if _, ok := vals["userId"]; ok {
			t.Errorf("bob's session shows a userId: %v", vals)
		}
		if vals["viewCount"] != 1.0 {
			t.Errorf("got bob's viewCount %v, want 1", vals["viewCount"])
		}
		if r := bob.get("/session"); strings.Contains(r.Body, "ada@example.com") {
			t.Errorf("bob's inspector page shows ada's email")
		}
	})

	t.Run("destroying the session starts a new one", func(t *testing.T) {
		old := v.cookie()
		redirectsTo(t, "POST /session/destroy", v.post("/session/destroy", nil), "/session")
		if v.cookie() == old || v.cookie() == "" {
			t.Errorf("got token %q, want a new one", v.cookie())
		}
		wantText(t, "page after destroying", v.get("/session"), "Session destroyed.")
		vals := v.values("pageViews") // the page just viewed counted in the new session
		if len(vals) != 0 {
			t.Errorf("got values %v in the new session, want none", vals)
		}

		thief := newVisitor(t, srv.URL)
		u, _ := url.Parse(srv.URL)
		thief.jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: old, Path: "/"}})
		if vals := thief.values(); len(vals) != 0 {
			t.Errorf("the destroyed token still reads %v", vals)
		}
	})
}

// inspectorFacts is the whole JSON form of GET /session.
type inspectorFacts struct {
	inspector
	TokenHashPrefix  string `json:"tokenHashPrefix"`
	CookieName       string `json:"cookieName"`
	SecureCookie     bool   `json:"secureCookie"`
	PersistentCookie bool   `json:"persistentCookie"`
	AbsoluteExpiry   string `json:"absoluteExpiry"`
	IdleExpiry       string `json:"idleExpiry"`
	StoredRow        *struct {
		Bytes     int    `json:"bytes"`
		ExpiresAt string `json:"expiresAt"`
	} `json:"storedRow"`
	ActiveSessions *int     `json:"activeSessions"`
	SQLiteCommand  string   `json:"sqliteCommand"`
	ScsKeys        []string `json:"scsKeys"`
}

func (v *visitor) inspectorFacts() inspectorFacts {
	v.t.Helper()
	r := v.getJSON("/session")
	wantStatus(v.t, "GET /session (JSON)", r, http.StatusOK)
	var in inspectorFacts
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
		v.t.Fatalf("GET /session: %v\n%s", err, r.Body)
	}
	return in
}

var sqliteCommandRE = regexp.MustCompile(`^sqlite3 (\S+) "([^"]+)"$`)

// runSQLiteCommand runs the inspector's sqlite3 command, as printed, with
// the sqlite3 program when it is installed, or else its query on db, and
// returns what sqlite3 prints (or would).
func runSQLiteCommand(t *testing.T, db *sql.DB, command string) string {
	t.Helper()
	m := sqliteCommandRE.FindStringSubmatch(command)
	if m == nil {
		t.Fatalf("got sqlite3 command %q, want sqlite3 FILE \"QUERY\"", command)
	}
	if _, err := exec.LookPath("sqlite3"); err == nil {
		out, err := exec.Command("sh", "-c", command).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	t.Logf("no sqlite3 program: running the query through database/sql")
	rows, err := db.Query(m[2])
	if err != nil {
		t.Fatalf("%s: %v", m[2], err)
	}
	defer rows.Close()
	var out strings.Builder
	for rows.Next() {
		var size int
		var expiry string
		if err := rows.Scan(&size, &expiry); err != nil {
			t.Fatal(err)
		}
		out.WriteString(strconv.Itoa(size) + "|" + expiry + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
