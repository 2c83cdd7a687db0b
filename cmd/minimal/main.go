// Command minimal is the original Express route in Go, with scs and its own
// SQLite store and nothing else: the smallest correct start. cmd/server is
// the full app built on the same pieces.
//
//	go run ./cmd/minimal   # http://localhost:8080/session-example
package main

import (
	"context"
	"database/sql"
	"encoding/gob"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver for database/sql, in pure Go
)

// ingredient is one entry of chosenIngredients, {id: 1, qty: 3} in Express.
type ingredient struct{ ID, Qty int }

// schema is the table that sqlite3store reads and writes, as its README
// gives it. expiry is a Julian day, compared with julianday('now').
const schema = `
CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, data BLOB NOT NULL, expiry REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions(expiry);`

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	dbPath := flag.String("db", "data/minimal.db", "SQLite file, created if missing")
	flag.Parse()

	// scs encodes a session's values with gob, which must be told about
	// each type of ours it meets: without this, saving the session fails.
	gob.Register([]ingredient{})

	// Open the database (its folder first) and create the table.
	if err := os.MkdirAll(filepath.Dir(*dbPath), 0o755); err != nil {
		log.Fatal(err)
	}
	db, err := sql.Open("sqlite", *dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // SQLite writes one at a time: queue here, not fail with "database is locked"
	if _, err := db.Exec(schema); err != nil {
		log.Fatal(err)
	}

	// app.use(session(...)): sessions in SQLite, expired ones deleted every 5 minutes.
	sm := scs.New()
	sm.Store = sqlite3store.New(db)

	r := chi.NewRouter()
	r.Use(sm.LoadAndSave) // load the session before the handler, save it before the answer's first byte
	r.Get("/session-example", func(w http.ResponseWriter, r *http.Request) {
		viewCount := sm.GetInt(r.Context(), "viewCount") + 1 // 0 when missing: Express's "if" line
		sm.Put(r.Context(), "viewCount", viewCount)
		sm.Put(r.Context(), "chosenIngredients", []ingredient{{ID: 1, Qty: 3}})
		fmt.Fprintf(w, "All good\nviewCount: %d\n", viewCount) // every Put before this first write
	})

	// Listen first, so that -addr 127.0.0.1:0 (any free port) can say which.
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening addr=%s url=http://%s/session-example", ln.Addr(), ln.Addr())
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}()

	// On Ctrl-C or SIGTERM, let the requests in flight finish (and save).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if err := srv.Shutdown(context.Background()); err != nil {
		log.Print(err)
	}
}
