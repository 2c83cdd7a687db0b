package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
)

func TestOpenCreatesTheMissingDataFolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "nested", "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file: got %v, want it created", err)
	}
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check: got %v, want nil", err)
	}
}

func TestOpenRefusesAPathWithAQuery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db?mode=memory")
	if db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations()); err == nil {
		db.Close()
		t.Errorf("Open(%q): got nil error, want one", path)
	}
}

func TestCheckFailsWhenTheFileIsGone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := db.Check(context.Background()); err == nil {
		t.Errorf("Check after removing %s: got nil, want an error", path)
	}
}

// TestCheckProbesAWrite checks that Check fails while another process
// holds SQLite's write lock, so that /healthz does not say a session can be
// saved when it cannot, and passes again once the lock is released.
func TestCheckProbesAWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Another process, as far as SQLite is concerned: a connection of its
	// own in the middle of a write transaction.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take the write lock: %v", err)
	}

	// A deadline far beyond the probe's own bounds: the check must fail
	// by itself, with the lock's error, not by running out of time.
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = db.Check(checkCtx)
	if err == nil {
		t.Fatal("Check while another connection holds the write lock: got nil, want an error")
	}
	if errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "locked") {
		t.Errorf("Check while the write lock is held: got %v, want a database is locked error", err)
	}

	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatalf("release the write lock: %v", err)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check after the lock is released: got %v, want nil", err)
	}
}

// TestCheckPassesWhileTheWriterIsBusy checks that our own writes, however
// many, do not make Check fail: it waits its turn for the writer.
func TestCheckPassesWhileTheWriterIsBusy(t *testing.T) {
	db := openDB(t)
	ctx := context.Background()
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for range 3 {
		writers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A transaction that holds the write lock for a few
				// milliseconds, as a group commit does; with several in
				// turn, it is almost never free.
				if err := holdTheWriteLock(db, 5*time.Millisecond); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := range 20 {
		if err := db.Check(ctx); err != nil {
			t.Errorf("check %d while the writer is busy: got %v, want nil", i, err)
		}
	}
	close(stop)
	writers.Wait()
	// The probe's row was rolled back every time.
	var n int
	if err := db.Read.QueryRow(`SELECT count(*) FROM sessions WHERE token != 'busy'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rows left by the probe: got %d, want 0", n)
	}
}

// holdTheWriteLock writes a row in a transaction that it keeps open for d.
func holdTheWriteLock(db *sqlite.DB, d time.Duration) error {
	tx, err := db.Write.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`REPLACE INTO sessions (token, data, expiry) VALUES ('busy', x'00', julianday('now') + 1)`); err != nil {
		return err
	}
	time.Sleep(d)
	return tx.Commit()
}

// TestCheckFailsWhileTheFileCannotBeWritten makes the database's files
// immutable (chattr +i, which needs root and a file system that has it):
// reads still work, every commit fails, and Check must fail too rather
// than pass on a write that it rolls back.
func TestCheckFailsWhileTheFileCannotBeWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	db, err := sqlite.Open(context.Background(), path, gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.Check(ctx); err != nil {
		t.Fatalf("Check of a healthy database: %v", err)
	}
	// Not the -shm file, which SQLite maps into memory: with it immutable
	// too, the test binary crashed under the race detector. The database
	// and its WAL are what a commit writes.
	files := []string{path, path + "-wal"}
	if out, err := exec.Command("chattr", append([]string{"+i"}, files...)...).CombinedOutput(); err != nil {
		t.Skipf("cannot make the files immutable (chattr +i needs root and ext4 or similar): %v %s", err, out)
	}
	defer exec.Command("chattr", append([]string{"-i"}, files...)...).Run()

	if err := db.Check(ctx); err == nil {
		t.Errorf("Check while the files are immutable: got nil, want an error")
	}
	if out, err := exec.Command("chattr", append([]string{"-i"}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("chattr -i: %v %s", err, out)
	}
	if err := db.Check(ctx); err != nil {
		t.Errorf("Check once the files can be written again: got %v, want nil", err)
	}
}
