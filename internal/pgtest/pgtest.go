// Package pgtest runs a real PostgreSQL server for tests: initdb in a
// temporary folder, then postgres on a free loopback port, stopped when the
// tests end. With TEST_DATABASE_URL set, the tests use that server instead.
// Each test gets a database of its own (NewDatabase), so tests that share a
// server never see each other's rows.
//
// PostgreSQL refuses to run as root; as root, the server runs as the
// postgres user that Debian's package creates.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// installHint is what a skipped test says.
const installHint = "PostgreSQL is not installed; install it (Debian: apt-get install postgresql) " +
	"or set TEST_DATABASE_URL to a server where the tests may create databases, to run the PostgreSQL tests"

// Server is one PostgreSQL server.
type Server struct {
	// URL is the server's maintenance database (postgres), as its
	// superuser, without a password: the test server trusts loopback.
	URL  string
	Host string // 127.0.0.1
	Port string

	own  bool   // started by this package: Stop and Start work
	bin  string // folder of initdb and postgres
	dir  string // data folder
	cred *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	log  bytes.Buffer
}

// shared is the server that NewDatabase uses, started once per test binary.
var shared struct {
	once   sync.Once
	server *Server
	err    error
	skip   bool
}

// Main runs the tests of a package, then stops the shared server if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// StopShared stops the shared server if one was started, and removes its
// files. It is for a TestMain that has more to do than Main does: call it
// after m.Run.
func StopShared() {
	if s := shared.server; s != nil && s.own {
		s.Stop()
		os.RemoveAll(filepath.Dir(s.dir))
	}
}

// NewDatabase creates an empty database on the shared server (started the
// first time) and returns its URL; the database is dropped when the test
// ends. It skips the test when PostgreSQL is neither installed nor given by
// TEST_DATABASE_URL. A package that calls it must call Main from TestMain.
func NewDatabase(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
			shared.server = &Server{URL: u}
			return
		}
		bin, ok := binDir()
		if !ok {
			shared.skip = true
			return
		}
		shared.server, shared.err = start(bin)
	})
	if shared.skip {
		t.Skip(installHint)
	}
	if shared.err != nil {
		t.Fatalf("start PostgreSQL: %v", shared.err)
	}
	return shared.server.NewDatabase(t)
}

// Start starts a server of the test's own, which it may stop and start
// again (to test what the app does while the database is away), and stops
// it when the test ends. It skips the test when PostgreSQL is not
// installed. TEST_DATABASE_URL does not apply: that server cannot be
// stopped by a test.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, ok := binDir()
	if !ok {
		t.Skip(installHint)
	}
	s, err := start(bin)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("postgres log:\n%s", s.Log())
		}
		os.RemoveAll(filepath.Dir(s.dir))
	})
	return s
}

// NewDatabase creates an empty database on s and returns its URL; it is
// dropped when the test ends (if the server still runs then).
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "test_" + strings.ToLower(rand.Text()[:12])
	if err := s.exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func (s *Server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// binDir finds initdb and postgres: on PATH, or where Debian puts them
// (/usr/lib/postgresql/VERSION/bin), the newest version first.
func binDir() (string, bool) {
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), true
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], true
		}
	}
	return "", false
}

func start(bin string) (*Server, error) {
	root, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{own: true, bin: bin, dir: filepath.Join(root, "data"), Host: "127.0.0.1"}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (Debian's package creates it): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chmod(root, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(root, uid, gid); err != nil {
			return nil, err
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", s.dir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	// Another process may take the free port between our look and the
	// server's bind; then try another.
	for attempt := 1; ; attempt++ {
		s.Port = freePort()
		s.URL = fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", net.JoinHostPort(s.Host, s.Port))
		err := s.Start()
		if err == nil {
			return s, nil
		}
		if attempt == 3 {
			return nil, fmt.Errorf("%v\n%s", err, s.Log())
		}
	}
}

// Start starts the server again after Stop, on the same port and data.
func (s *Server) Start() error {
	if !s.own {
		return fmt.Errorf("pgtest: the server at TEST_DATABASE_URL cannot be started by a test")
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", s.dir, "-p", s.Port,
		"-c", "listen_addresses="+s.Host,
		"-c", "unix_socket_directories=",
		// A test server needs no durability across power cuts: a crash of
		// the process loses nothing with fsync off, a crash of the machine
		// would lose the test's data, which is thrown away anyway.
		"-c", "fsync=off",
		"-c", "max_connections=200")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Stdout = &lockedWriter{s}
	cmd.Stderr = &lockedWriter{s}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.exec(ctx, "SELECT 1")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited: %v", cmd.ProcessState)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("postgres did not answer on %s:%s within 30s", s.Host, s.Port)
}

// Stop shuts the server down (PostgreSQL's fast shutdown: open
// connections are closed, committed transactions are kept) and waits until
// it has exited.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Log returns what the server has written so far.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

type lockedWriter struct{ s *Server }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	return w.s.log.Write(p)
}

func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}
