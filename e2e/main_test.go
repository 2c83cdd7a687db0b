// Package e2e tests the real server binary over HTTP, the way a browser or
// curl uses it: a cookie jar per visitor, real SQLite files, real signals.
// Read it as the specification of the application.
package e2e

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"example.com/gosessions/internal/pgtest"
)

// binary is the server program, built once by TestMain, in binDir.
var binary, binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gosessions-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir, binary = dir, filepath.Join(dir, "server")
	if err := build("../cmd/server", binary); err != nil {
		fmt.Fprintln(os.Stderr, "build server:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared() // the PostgreSQL server of pgtest.NewDatabase, if a test started it
	os.RemoveAll(dir)
	os.Exit(code)
}

// build compiles the program in pkg to out.
func build(pkg, out string) error {
	// E2E_RACE=1 builds with the race detector, which needs cgo. A program
	// that saw a race exits with status 66, which stop() reports.
	args, cgo := []string{"build", "-o", out}, "CGO_ENABLED=0"
	if os.Getenv("E2E_RACE") == "1" {
		args, cgo = append(args, "-race"), "CGO_ENABLED=1"
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), cgo)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// minimalBinary is cmd/minimal, built by the first test that starts it:
// most runs of this package do not need it.
var (
	minimalBinary string
	minimalOnce   sync.Once
	minimalErr    error
)

// startMinimal starts cmd/minimal on a free port with the given database,
// and stops it when the test ends. It has the server's flags -addr and -db,
// and no /healthz: it is ready once it has printed its address, since it
// listens before it prints.
func startMinimal(t testing.TB, dbPath string) *server {
	t.Helper()
	return startProgram(t, minimalProgram(t), dbPath)
}

// minimalProgram builds cmd/minimal once, and returns its path.
func minimalProgram(t testing.TB) string {
	t.Helper()
	minimalOnce.Do(func() {
		minimalBinary = filepath.Join(binDir, "minimal")
		minimalErr = build("../cmd/minimal", minimalBinary)
	})
	if minimalErr != nil {
		t.Fatalf("build cmd/minimal: %v", minimalErr)
	}
	return minimalBinary
}

// sourcesOnce runs dependOnSources once per test run, from the first test
// that starts a server: go test records what tests look at only once they
// run, not in TestMain.
var sourcesOnce sync.Once

// dependOnSources looks at every file of the module. go test caches a
// package's result until the package or what it imports changes; the
// binary these tests run is built from files that this package does not
// import, so without this a changed handler would get a cached "ok". Files
// and folders that a test looks at become part of the cache's key.
func dependOnSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "data") {
				return filepath.SkipDir
			}
			return nil
		}
		_, err = os.Stat(path)
		return err
	})
}

// server is one running instance of the binary.
//
// What it prints, on stdout and stderr, goes to a file rather than to a
// pipe the test reads: a pipe read too slowly, as on a busy machine, blocks
// the server's log writes and with them its requests, and the load
// benchmark would measure that.
type server struct {
	t       testing.TB
	bin     string // the program: binary, or minimalBinary
	URL     string // http://127.0.0.1:port
	DBPath  string
	args    []string
	cmd     *exec.Cmd
	exited  chan struct{}
	err     error  // the process's exit error, set when exited is closed
	logPath string // everything the process printed, across restarts
}

// listenRE finds the address in the line that says the program listens:
// the server's "msg=listening addr=…", cmd/minimal's "listening addr=…".
var listenRE = regexp.MustCompile(`listening addr=(\S+)`)

// startServer starts the binary on a free port with a database in a new
// temporary folder, and stops it when the test ends. Extra flags are passed
// as given.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return startServerOn(t, filepath.Join(t.TempDir(), "sessions.db"), args...)
}

// startServerOn starts the binary on the given database: a SQLite file,
// or a PostgreSQL URL (see startPostgresInstances).
func startServerOn(t testing.TB, dbPath string, args ...string) *server {
	t.Helper()
	return startProgram(t, binary, dbPath, args...)
}

// startProgram starts the program bin (the server or cmd/minimal).
func startProgram(t testing.TB, bin, dbPath string, args ...string) *server {
	t.Helper()
	s := &server{t: t, bin: bin, DBPath: dbPath, args: args}
	s.start()
	t.Cleanup(func() {
		if s.running() {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log())
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	sourcesOnce.Do(func() {
		if err := dependOnSources(".."); err != nil {
			s.t.Fatal(err)
		}
	})
	args := append([]string{"-addr", "127.0.0.1:0", "-db", s.DBPath}, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Env = []string{} // only flags configure the server under test
	if s.logPath == "" {
		s.logPath = filepath.Join(s.t.TempDir(), "server.log")
	}
	out, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close() // the process gets its own copy

	// What earlier runs printed, before a restart.
	printed, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		s.t.Fatal(err)
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.Dir = filepath.Dir(s.logPath) // a folder of its own, where a relative -db lands
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()

	// Wait for this run's "listening" line.
	deadline := time.After(30 * time.Second)
	for {
		if log := s.Log(); int64(len(log)) >= printed {
			if m := listenRE.FindStringSubmatch(log[printed:]); m != nil {
				s.URL = "http://" + m[1]
				break
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("server exited before listening: %v\n%s", s.err, s.Log())
		case <-deadline:
			s.t.Fatalf("server did not start listening\n%s", s.Log())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if s.bin == binary { // cmd/minimal has no /healthz
		s.waitHealthy()
	}
}

// waitHealthy polls /healthz until it answers 200.
func (s *server) waitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("server never became healthy\n%s", s.Log())
}

func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the process to exit; it fails the test
// unless the exit status is 0.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		s.t.Fatalf("server did not stop within 20s of SIGTERM")
	}
	if s.err != nil {
		s.t.Errorf("server exit after SIGTERM: %v, want exit status 0", s.err)
	}
}

// restart stops the server and starts it again on the same database, on a
// new port.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// Log returns what the server printed so far.
func (s *server) Log() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(server log: %v)", err)
	}
	return string(b)
}

// visitor is one browser: a cookie jar, and a client that does not follow
// redirects, so tests see each 303 and where it points.
type visitor struct {
	t      testing.TB
	base   string
	client *http.Client
	jar    *cookiejar.Jar
}

func newVisitor(t testing.TB, base string) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &visitor{
		t:    t,
		base: base,
		jar:  jar,
		client: &http.Client{
			Jar:     jar,
			Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// response is what a test reads of an answer.
type response struct {
	Status int
	Header http.Header
	Body   string
}

// do sends a request and reads the whole answer.
func (v *visitor) do(req *http.Request) response {
	v.t.Helper()
	resp, err := v.client.Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

// get fetches path as a browser would (asking for HTML).
func (v *visitor) get(path string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	return v.do(req)
}

// getJSON fetches path asking for JSON.
func (v *visitor) getJSON(path string) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodGet, v.base+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	return v.do(req)
}

// post submits a form as a same-origin browser form would.
func (v *visitor) post(path string, form url.Values) response {
	v.t.Helper()
	req, err := http.NewRequest(http.MethodPost, v.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", v.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return v.do(req)
}

// cookie returns the session cookie the jar holds, or "".
func (v *visitor) cookie() string {
	v.t.Helper()
	u, _ := url.Parse(v.base)
	for _, c := range v.jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

// withContext is a helper for tests that need a deadline.
func withTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
