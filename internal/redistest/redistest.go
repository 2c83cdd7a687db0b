// Package redistest runs a real redis-server for tests, on a free loopback
// port with its files in a temporary folder.
package redistest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is one redis-server process.
type Server struct {
	Addr string // 127.0.0.1:port
	URL  string // redis://127.0.0.1:port/0

	t    testing.TB
	dir  string
	args []string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited

	mu  sync.Mutex
	log bytes.Buffer
}

// installHint is what a skipped test says.
const installHint = "redis-server is not installed; install it (Debian: apt-get install redis-server) to run the Redis tests"

// Start starts redis-server and stops it when the test ends. It skips the
// test when redis-server is not installed. Nothing is saved to disk unless
// args ask for it: they are passed on, and win over the defaults, as in
// Start(t, "--appendonly", "yes").
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip(installHint)
	}
	s := &Server{t: t, dir: t.TempDir(), args: args}
	// Another process may take the free port between our look and
	// redis-server's bind; then try another.
	for attempt := 1; ; attempt++ {
		s.Addr = freeAddr(t)
		s.URL = "redis://" + s.Addr + "/0"
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatalf("redis-server did not start: %v\n%s", err, s.Log())
		}
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("redis-server log:\n%s", s.Log())
		}
	})
	return s
}

func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	args := append([]string{
		"--port", port,
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
	}, s.args...)
	s.cmd = exec.Command("redis-server", args...)
	s.cmd.Stdout = &lockedWriter{s}
	s.cmd.Stderr = &lockedWriter{s}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.done = make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ping(s.Addr) {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited: %v", s.cmd.ProcessState)
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.Stop()
	return fmt.Errorf("redis-server did not answer PING on %s within 10s", s.Addr)
}

// Stop kills the server at once, as a crash or a pulled cable would stop
// it, and waits until it has exited. Only what it wrote to disk survives.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	s.cmd.Process.Kill()
	<-s.done
}

// Pause stops the process without ending it (SIGSTOP), as a machine that
// hangs would: connections stay open and nothing answers.
func (s *Server) Pause() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.t.Fatalf("pause redis-server: %v", err)
	}
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.t.Fatalf("resume redis-server: %v", err)
	}
}

// Restart starts the server again on the same port and the same folder,
// so that a server started with --appendonly yes finds its data again.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("restart redis-server: %v\n%s", err, s.Log())
	}
}

// Log returns what redis-server printed.
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

// freeAddr returns a loopback address whose port is free right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// ping reports whether a Redis server at addr answers PING. It speaks the
// protocol by hand, so that this package needs no client library.
func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}
