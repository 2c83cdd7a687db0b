package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data"
	"example.com/gosessions/internal/data/postgres"
	"example.com/gosessions/internal/pgtest"
)

// password is the password of every URL below: no error may show it, nor
// tail, which ends it in the URLs where an unescaped / or @ makes it
// ambiguous.
const (
	password = "s3cr3t-Pa55"
	tail     = "Tail99"
)

// withPassword returns the URL u (of pgtest, which has none) with
// password, and database if not empty.
func withPassword(t *testing.T, u, database string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.User = url.UserPassword(parsed.User.Username(), password)
	if database != "" {
		parsed.Path = "/" + database
	}
	return parsed.String()
}

// closedPort returns an address where nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer returns the address of a server that takes connections and
// never answers, as a host behind a firewall that drops packets seems to.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestOpenErrorsNameTheServerButNotThePassword(t *testing.T) {
	server := pgtest.NewDatabase(t)
	refused := closedPort(t)
	refusedHost, refusedPort, _ := net.SplitHostPort(refused)
	silent := silentServer(t)
	silentHost, silentPort, _ := net.SplitHostPort(silent)
	serverURL, _ := url.Parse(server)

	tests := []struct {
		name string
		url  string
		want []string // in the message
	}{
		{"a refused port", "postgres://app:" + password + "@" + refused + "/app",
			[]string{"host=" + refusedHost, "port=" + refusedPort, "database=app", "user=app", "connection refused"}},
		{"an unknown host", "postgres://app:" + password + "@no-such-host.invalid:5432/app",
			[]string{"host=no-such-host.invalid", "port=5432", "database=app", "no such host"}},
		{"an unknown database", withPassword(t, server, "no_such_database"),
			[]string{"host=" + serverURL.Hostname(), "port=" + serverURL.Port(), "database=no_such_database",
				`database "no_such_database" does not exist`}},
		{"a server that never answers", "postgres://app:" + password + "@" + silent + "/app",
			[]string{"host=" + silentHost, "port=" + silentPort, "database=app", "no answer within 10s"}},
		{"a URL with a port that is not a number", "postgres://app:" + password + "@db.example.com:port/app",
			[]string{"db.example.com", "invalid port"}},
		{"a URL with a bad escape in its password", "postgres://app:" + password + "%zz@db.example.com/app",
			[]string{"db.example.com", "cannot parse"}},
		{"a URL whose IPv6 host is not closed", "postgres://app:" + password + "@[::1/app",
			[]string{"::1", "cannot parse"}},
		{"a URL with a / in its password", "postgres://app:" + password + "/" + tail + "@db.example.com/app",
			[]string{"db.example.com", "cannot parse"}},
		{"a URL with an @ in its password", "postgres://app:" + password + "@" + tail + "@" + refused + "/app",
			[]string{"%40"}},
		{"a URL with an @ and a : in its password", "postgres://app:pa@" + tail + ":zz@" + refused + "/app",
			[]string{"cannot parse"}},
		{"a URL with the password as a parameter", "postgres://app@db.example.com/app?password=" + password + "&connect_timeout=x",
			[]string{"db.example.com", "connect_timeout"}},
		{"key=value settings with a bad port", "host=db.example.com port=x user=app password=" + password,
			[]string{"db.example.com", "invalid port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // the server that never answers takes its 10 s
			// A deadline only against hanging: Open must give up by itself.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			db, err := postgres.Open(ctx, tt.url, gosessions.PostgresMigrations())
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s): got nil error, want one", tt.url)
			}
			msg := err.Error()
			for _, secret := range []string{password, url.QueryEscape(password), "Pa55", tail} {
				if strings.Contains(msg, secret) {
					t.Errorf("the message shows the password (%q): %s", secret, msg)
				}
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("got %q, want it to name %q", msg, want)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("got a message of several lines, want one: %q", msg)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ url, want string }{
		{"postgres://app:" + password + "@db.example.com:5433/shop?sslmode=require",
			"host=db.example.com port=5433 database=shop user=app"},
		{"postgres://app:" + password + "@a.example.com,b.example.com:5433/shop?sslmode=disable",
			"host=a.example.com,b.example.com port=5432,5433 database=shop user=app"},
		{"host=db.example.com user=app password=" + password + " dbname=shop",
			"host=db.example.com port=5432 database=shop user=app"},
		{"postgres://app:" + password + "@db.example.com:port/shop",
			"postgres://app:xxxxx@db.example.com:port/shop"},
		// A short password masks nothing else: the fields come parsed.
		{"postgres://u:1@127.0.0.1:5433/x", "host=127.0.0.1 port=5433 database=x user=u"},
		// A field that is the password is masked, whole.
		{"postgres://shop:shop@postgres:5432/shopping", "host=postgres port=5432 database=shopping user=xxxxx"},
	}
	for _, tt := range tests {
		if got := postgres.Redact(tt.url); got != tt.want {
			t.Errorf("Redact(%q): got %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestPoolComesBackAfterTheServerRestarts stops the server under an open
// DB: Check fails while it is away, and once it is back the same DB works
// again, without being opened again.
func TestPoolComesBackAfterTheServerRestarts(t *testing.T) {
	ctx := context.Background()
	server := pgtest.Start(t)
	db := openURL(t, server.NewDatabase(t))
	ada, err := db.CreateUser(ctx, "Ada", "ada@example.com", "hash")
	if err != nil {
		t.Fatal(err)
	}

	server.Stop()
	// A deadline far beyond the probe's own: Check must fail by itself.
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.Check(checkCtx); err == nil {
		t.Fatal("Check while the server is stopped: got nil, want an error")
	}
	if checkCtx.Err() != nil {
		t.Fatalf("Check while the server is stopped ran out the test's deadline")
	}

	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	// A connection that was open when the server stopped fails its next
	// query, once, and the pool drops it (one idle for over a second is
	// pinged first and dropped without failing any). So one of the first
	// MaxConns+1 queries works, on a new connection.
	var got data.User
	for i := range int(db.Pool().Config().MaxConns) + 1 {
		if got, err = db.UserByID(ctx, ada.ID); err == nil {
			break
		}
		t.Logf("query %d after the restart: %v", i+1, err)
	}
	if err != nil || got != ada {
		t.Fatalf("after the restart: got %+v, %v; want Ada", got, err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the restart: got %v, want nil", err)
	}
}

// TestConcurrentOpensApplyTheMigrationsOnce starts instances together on
// a new database, as a deployment of several does.
func TestConcurrentOpensApplyTheMigrationsOnce(t *testing.T) {
	u := pgtest.NewDatabase(t)
	const instances = 4
	dbs := make([]*postgres.DB, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range instances {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(context.Background(), u, gosessions.PostgresMigrations())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	for i, db := range dbs {
		if db.ID() != dbs[0].ID() {
			t.Errorf("instance %d: got database id %q, want %q as instance 0", i, db.ID(), dbs[0].ID())
		}
	}
	var twice, ids int
	if err := dbs[0].Pool().QueryRow(context.Background(), `
		SELECT (SELECT count(*) FROM (SELECT version_id FROM goose_db_version GROUP BY version_id HAVING count(*) > 1) v),
		       (SELECT count(*) FROM app_database)`).Scan(&twice, &ids); err != nil {
		t.Fatal(err)
	}
	if twice != 0 || ids != 1 {
		t.Errorf("got %d migrations applied more than once and %d database ids, want 0 and 1", twice, ids)
	}
}

// TestCheckFailsWhileTheDatabaseIsReadOnly: reads still work, every write
// fails, and Check must fail too.
func TestCheckFailsWhileTheDatabaseIsReadOnly(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	db := openURL(t, u)
	admin, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var name string
	if err := admin.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	setReadOnly := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s SET default_transaction_read_only = %v", name, on)); err != nil {
			t.Fatal(err)
		}
		db.Pool().Reset() // the setting applies to new connections
	}

	setReadOnly(true)
	err = db.Check(ctx)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Check of a read-only database: got %v, want a read-only error", err)
	}
	if _, err := db.Ingredients(ctx); err != nil {
		t.Errorf("a read meanwhile: got %v, want it to work", err)
	}

	setReadOnly(false)
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check once the database can be written again: got %v, want nil", err)
	}
}

// TestCheckFailsRatherThanWaitForALock: while another connection holds a
// lock that the probe's write waits for, Check gives up by itself, in a
// fraction of /healthz's time.
func TestCheckFailsRatherThanWaitForALock(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDatabase(t)
	db := openURL(t, u)
	other, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE login_attempts IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}

	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = db.Check(checkCtx)
	if err == nil {
		t.Fatal("Check while the table is locked: got nil, want an error")
	}
	if checkCtx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Check while the table is locked: got %v, want its own deadline exceeded", err)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check once the lock is released: got %v, want nil", err)
	}
}

// TestEmailsFoldOnlyASCIIWhateverTheLocale runs on a database whose locale
// folds É to é, as most servers' do: emails must still compare as on
// SQLite, where only A-Z fold (see migrations/postgres/00003_create_users.sql).
// The suite's own databases have pgtest's locale C, which folds A-Z only.
func TestEmailsFoldOnlyASCIIWhateverTheLocale(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	maintenance := *u
	maintenance.Path = "/postgres"
	admin, err := pgx.Connect(ctx, maintenance.String())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	name := strings.TrimPrefix(u.Path, "/") + "_utf8"
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 LOCALE 'C.UTF-8'"); err != nil {
		t.Skipf("the server has no locale C.UTF-8: %v", err)
	}
	t.Cleanup(func() { admin.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	db := openURL(t, u.String())

	var folded string
	if err := db.Pool().QueryRow(ctx, "SELECT lower('É')").Scan(&folded); err != nil || folded != "é" {
		t.Fatalf("lower('É') in the database's locale: got %q, %v; want é, or this test tests nothing", folded, err)
	}

	lower, err := db.CreateUser(ctx, "Élodie", "élodie@example.com", "hash")
	if err != nil {
		t.Fatal(err)
	}
	upper, err := db.CreateUser(ctx, "Élodie", "Élodie@example.com", "hash")
	if err != nil {
		t.Fatalf("CreateUser of Élodie beside élodie: got %v, want a second account", err)
	}
	for email, want := range map[string]int64{"éLODIE@EXAMPLE.COM": lower.ID, "ÉLODIE@example.com": upper.ID} {
		if got, err := db.UserByEmail(ctx, email); err != nil || got.ID != want {
			t.Errorf("UserByEmail(%s): got %+v, %v; want account %d", email, got, err, want)
		}
	}

	limit := data.LoginLimit{Attempts: 1, Window: time.Hour}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		email   string
		blocked bool
	}{{"élodie@example.com", false}, {"ÉLODIE@example.com", false}, {"éLODIE@example.com", true}} {
		if _, blocked, err := db.RecordLoginAttempt(ctx, limit, tt.email, now); err != nil || blocked != tt.blocked {
			t.Errorf("RecordLoginAttempt(%s): got blocked %v, %v; want %v", tt.email, blocked, err, tt.blocked)
		}
	}
	if err := db.ClearLoginAttempts(ctx, "Élodie@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, blocked, _ := db.RecordLoginAttempt(ctx, limit, "élodie@example.com", now); !blocked {
		t.Errorf("after clearing Élodie's attempts: élodie's were cleared too, want them kept")
	}
}
