package e2e

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/cart"
	"example.com/gosessions/internal/pgtest"
	"example.com/gosessions/internal/redistest"
	"example.com/gosessions/internal/session/codec"
)

// BenchmarkSessionSize measures how the cost of a request grows with the
// session it loads and saves: returning visitors whose sessions hold 1, 10
// or 100 cart lines and a full recently-viewed list (the last 10
// ingredients seen), on each session store, load GET /cart and then
// GET /session-example. Each case also reports the bytes of one stored
// session. Run it alone:
//
//	go test ./e2e -run '^$' -bench SessionSize -benchtime 1x -load.duration 6s
//	go test ./e2e -run '^$' -bench 'SessionSize/sqlite/lines=100/cart' -benchtime 1x
//
// A cart holds each ingredient once, so 100 lines need 100 ingredients:
// the benchmark adds 88 to the catalog's 12 before any visitor comes, for
// every size alike (the cart page lists the whole catalog in its form).
// The carts are then built through the app, POST /cart/items.
//
// GET /session-example is the tutorial's route: it sets the cart to
// [{id: 1, qty: 3}] on every visit, so after a visitor's first request
// there the session is back to one line; stored-bytes-after says so.
//
// cookie-4KB computes, with the app's codec, at how many cart lines the
// session would no longer fit a 4,096-byte cookie.
var sizeVisitors = flag.Int("size.visitors", 100, "returning visitors per cart size in BenchmarkSessionSize")

// The catalog, once the benchmark has added to it, and what each visitor
// does before the load.
const (
	sizeCatalog = 100 // ingredients, ids 1 to 100
	sizeQty     = 2   // of each cart line
)

// sizeStore is one session store: how to start the server on it, and how
// to read the size of a stored session by its key (the token's hash).
type sizeStore struct {
	name    string
	start   func(b *testing.B) *server
	catalog func(b *testing.B, srv *server) // adds the ingredients
	stored  func(b *testing.B, srv *server, key string) int
}

func BenchmarkSessionSize(b *testing.B) {
	var rdb *goredis.Client // the Redis of the redis case
	stores := []sizeStore{
		{
			name:    "memory",
			start:   func(b *testing.B) *server { return startServer(b, "-store", "memory") },
			catalog: addIngredientsSQLite,
			stored:  nil, // the inspector's figure, the only one there is
		},
		{
			name:    "sqlite",
			start:   func(b *testing.B) *server { return startServer(b) },
			catalog: addIngredientsSQLite,
			stored: func(b *testing.B, srv *server, key string) int {
				var n int
				if err := dbReadOnly(b, srv.DBPath).QueryRow(`SELECT length(data) FROM sessions WHERE token = ?`, key).Scan(&n); err != nil {
					b.Fatalf("read the session's row: %v", err)
				}
				return n
			},
		},
		{
			name: "redis",
			start: func(b *testing.B) *server {
				rds := redistest.Start(b)
				opts, err := goredis.ParseURL(rds.URL)
				if err != nil {
					b.Fatal(err)
				}
				rdb = goredis.NewClient(opts)
				b.Cleanup(func() { rdb.Close() })
				return startServer(b, "-store", "redis", "-redis-url", rds.URL)
			},
			catalog: addIngredientsSQLite, // the data stays in SQLite
			stored: func(b *testing.B, srv *server, key string) int {
				// The key naming of internal/session/redisstore.
				n, err := rdb.StrLen(context.Background(), "scs:session:"+key).Result()
				if err != nil {
					b.Fatalf("STRLEN of the session's key: %v", err)
				}
				return int(n)
			},
		},
		{
			name:    "postgres",
			start:   func(b *testing.B) *server { return startServerOn(b, pgtest.Start(b).NewDatabase(b)) },
			catalog: addIngredientsPostgres,
			stored: func(b *testing.B, srv *server, key string) int {
				var n int
				err := pgQuery(b, srv.DBPath, func(conn *pgx.Conn) error {
					return conn.QueryRow(context.Background(), `SELECT octet_length(data) FROM sessions WHERE token = $1`, key).Scan(&n)
				})
				if err != nil {
					b.Fatalf("read the session's row: %v", err)
				}
				return n
			},
		},
	}

	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			srv := st.start(b)
			st.catalog(b, srv)
			for _, lines := range []int{1, 10, 100} {
				b.Run(fmt.Sprintf("lines=%d", lines), func(b *testing.B) {
					visitors := buildSessions(b, srv.URL, lines, sizeCatalog)
					// The size of one session, as the store holds it, and as
					// the inspector reports it; they must agree.
					bytes := storedBytes(b, st, srv, visitors[0])
					b.Run("cart", func(b *testing.B) {
						res := loadSessions(b, srv.URL, "/cart", visitors, srv.cmd.Process.Pid)
						res.report(b)
						b.ReportMetric(float64(bytes), "stored-bytes")
					})
					b.Run("session-example", func(b *testing.B) {
						res := loadSessions(b, srv.URL, "/session-example", visitors, srv.cmd.Process.Pid)
						res.report(b)
						b.ReportMetric(float64(bytes), "stored-bytes")
						b.ReportMetric(float64(storedBytes(b, st, srv, visitors[0])), "stored-bytes-after")
					})
				})
			}
		})
	}

	// The cart page lists the whole catalog: the same carts with the 12
	// ingredients the app ships with, to tell what the catalog costs from
	// what the lines cost.
	b.Run("sqlite-catalog12", func(b *testing.B) {
		srv := startServer(b)
		for _, lines := range []int{1, 10} {
			b.Run(fmt.Sprintf("lines=%d/cart", lines), func(b *testing.B) {
				res := loadSessions(b, srv.URL, "/cart", buildSessions(b, srv.URL, lines, 12), srv.cmd.Process.Pid)
				res.report(b)
			})
		}
	})

	b.Run("cookie-4KB", cookieMark)
}

// addIngredientsSQLite adds ingredients 13 to sizeCatalog to the catalog
// in the server's SQLite file, which the server has migrated.
func addIngredientsSQLite(b *testing.B, srv *server) {
	b.Helper()
	db, err := sql.Open("sqlite", srv.DBPath+"?_pragma=busy_timeout(5000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(addIngredientsSQL("?"), sizeCatalog); err != nil {
		b.Fatalf("add ingredients: %v", err)
	}
}

// addIngredientsPostgres does the same in the server's PostgreSQL database.
func addIngredientsPostgres(b *testing.B, srv *server) {
	b.Helper()
	err := pgQuery(b, srv.DBPath, func(conn *pgx.Conn) error {
		_, err := conn.Exec(context.Background(), addIngredientsSQL("$1::int"), sizeCatalog)
		return err
	})
	if err != nil {
		b.Fatalf("add ingredients: %v", err)
	}
}

// addIngredientsSQL adds ingredients from 13 up to the parameter, in SQL
// that SQLite and PostgreSQL both read.
func addIngredientsSQL(param string) string {
	return `WITH RECURSIVE n(i) AS (SELECT 13 UNION ALL SELECT i + 1 FROM n WHERE i < ` + param + `)
		INSERT INTO ingredients (id, name, description, price_cents)
		SELECT i, 'Ingredient ' || i, 'One more ingredient, for a longer cart.', 100 + i FROM n`
}

// pgQuery runs query on a connection of its own to the database at dbURL.
func pgQuery(b *testing.B, dbURL string, query func(*pgx.Conn) error) error {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return query(conn)
}

// sizeVisitor is one returning visitor of BenchmarkSessionSize.
type sizeVisitor struct {
	jar   *cookiejar.Jar
	token string // the session cookie, which the load must not change
}

// buildSessions makes *sizeVisitors sessions through the app: each views
// the last 10 ingredients of a catalog of catalog ingredients (a full
// recently-viewed list), adds ingredients 1 to lines with qty sizeQty, and
// shows the cart once, which drops the flash of the last add.
func buildSessions(b *testing.B, base string, lines, catalog int) []sizeVisitor {
	b.Helper()
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	visitors := make([]sizeVisitor, *sizeVisitors)
	conns := min(*loadConns, len(visitors))
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for w := range conns {
		wg.Go(func() {
			t := &connTransport{addr: u.Host}
			defer t.close()
			for i := w; i < len(visitors); i += conns {
				jar, _ := cookiejar.New(nil)
				client := http.Client{Jar: jar, Transport: t,
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				send := func(method, path string, form url.Values, want int) bool {
					req, _ := http.NewRequest(method, base+path, strings.NewReader(form.Encode()))
					if form != nil {
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					}
					resp, err := client.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err == nil && resp.StatusCode != want {
						err = fmt.Errorf("got status %d, want %d", resp.StatusCode, want)
					}
					if err != nil {
						errs <- fmt.Errorf("visitor %d: %s %s: %v", i, method, path, err)
						return false
					}
					return true
				}
				for id := catalog - maxRecent + 1; id <= catalog; id++ {
					if !send(http.MethodGet, fmt.Sprintf("/ingredients/%d", id), nil, http.StatusOK) {
						return
					}
				}
				for id := 1; id <= lines; id++ {
					form := url.Values{"ingredient_id": {fmt.Sprint(id)}, "qty": {fmt.Sprint(sizeQty)}}
					if !send(http.MethodPost, "/cart/items", form, http.StatusSeeOther) {
						return
					}
				}
				if !send(http.MethodGet, "/cart", nil, http.StatusOK) {
					return
				}
				visitors[i] = sizeVisitor{jar: jar, token: jarToken(jar, u)}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return visitors
}

// maxRecent is how many ingredients recentlyViewed keeps (web/sessions.go).
const maxRecent = 10

func jarToken(jar *cookiejar.Jar, u *url.URL) string {
	for _, c := range jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// storedBytes returns the size of v's session in st, and fails unless the
// inspector (GET /session as JSON, which changes nothing) reports the same.
func storedBytes(b *testing.B, st sizeStore, srv *server, v sizeVisitor) int {
	b.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/session", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := (&http.Client{Jar: v.jar, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var in struct {
		StoredRow *struct {
			Bytes int `json:"bytes"`
		} `json:"storedRow"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&in); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET /session: status %d, %v", resp.StatusCode, err)
	}
	if in.StoredRow == nil {
		b.Fatal("GET /session: no storedRow")
	}
	if st.stored == nil {
		return in.StoredRow.Bytes
	}
	n := st.stored(b, srv, storeKey(v.token))
	if n != in.StoredRow.Bytes {
		b.Fatalf("%s holds %d bytes for the session, the inspector says %d", st.name, n, in.StoredRow.Bytes)
	}
	return n
}

// loadSessions is runLoad's load, for visitors whose sessions exist
// already and on any path, for *loadDuration.
func loadSessions(b *testing.B, base, path string, visitors []sizeVisitor, pid int) loadResult {
	b.Helper()
	jars := make([]*cookiejar.Jar, len(visitors))
	for i, v := range visitors {
		jars[i] = v.jar
	}
	res := runLoadPaths(b, base, "session", pid, fixedTime(*loadDuration), jars, func(int) string { return path })
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	// runLoadPaths compares with the tokens of its first visits; a session
	// replaced at that visit already is one of these too.
	res.newTokens = 0
	for _, v := range visitors {
		if jarToken(v.jar, u) != v.token {
			res.newTokens++
		}
	}
	return res
}

// cookieMark finds, with the app's codec, at how many cart lines a
// session would outgrow a 4,096-byte cookie, were it kept in one. It starts
// from a real session (full recently-viewed list, one cart line, as the
// server stored it in SQLite), adds lines to its cart and encodes it again.
//
// Two sizes count: the base64 of the encoded bytes alone, and the whole
// cookie of a signing cookie store, "session=" + base64 + "." + an
// HMAC-SHA256 in base64 (43 characters), as gorilla/securecookie or
// cookie-session (whose signature goes in a second cookie) add.
func cookieMark(b *testing.B) {
	srv := startServer(b)
	addIngredientsSQLite(b, srv)
	v := buildSessions(b, srv.URL, 1, sizeCatalog)[0]
	var stored []byte
	if err := dbReadOnly(b, srv.DBPath).QueryRow(`SELECT data FROM sessions WHERE token = ?`, storeKey(v.token)).Scan(&stored); err != nil {
		b.Fatal(err)
	}
	deadline, values, err := codec.Codec{}.Decode(stored)
	if err != nil {
		b.Fatal(err)
	}
	encode := func(values map[string]any) int {
		enc, err := codec.Codec{}.Encode(deadline, values)
		if err != nil {
			b.Fatal(err)
		}
		return len(enc)
	}
	if n := encode(values); n != len(stored) {
		b.Fatalf("the codec encodes the stored session in %d bytes, the store holds %d", n, len(stored))
	}
	b.ReportMetric(float64(len(stored)), "bytes-at-1-line")

	const signature = len(".") + 43 // base64url of an HMAC-SHA256
	for _, qty := range []int{sizeQty, cart.MaxQty} {
		c := cart.Cart{{ID: 1, Qty: qty}}
		raw, signed := 0, 0
		for lines := 1; raw == 0 || signed == 0; lines++ {
			if lines > 1 {
				c = c.Add(int64(lines), qty)
			}
			values["chosenIngredients"] = c
			b64 := base64.RawURLEncoding.EncodedLen(encode(values))
			if signed == 0 && len("session=")+b64+signature > 4096 {
				signed = lines
			}
			if raw == 0 && b64 > 4096 {
				raw = lines
			}
		}
		b.ReportMetric(float64(raw), fmt.Sprintf("lines-base64-over-4096-qty%d", qty))
		b.ReportMetric(float64(signed), fmt.Sprintf("lines-signed-cookie-over-4096-qty%d", qty))
	}
}
