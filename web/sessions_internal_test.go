package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	gosessions "example.com/gosessions"
	"example.com/gosessions/internal/data/sqlite"
	"example.com/gosessions/internal/password"
	"example.com/gosessions/internal/session/sqlitestore"
)

// newSessionServer returns a test server that runs handler through the
// session chain of the pages (lockSession and loadAndSave), for handlers
// that no route has.
func newSessionServer(t *testing.T, handler func(s *Server) http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := newServer(t)
	ts := httptest.NewServer(s.lockSession(s.loadAndSave(handler(s))))
	t.Cleanup(ts.Close)
	return ts
}

// newServer returns a Server on a real SQLite file.
func newServer(t *testing.T) *Server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sessions.db"), gosessions.SQLiteMigrations())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	logger := slog.New(slog.DiscardHandler)
	store, err := sqlitestore.New(db, time.Minute, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	hasher, err := password.New(password.Config{Params: password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{
		DB:        db,
		Sessions:  NewSessionManager(store, SessionOptions{Lifetime: time.Hour}),
		Logger:    logger,
		Templates: gosessions.Templates(),
		Static:    gosessions.Static(),
		Passwords: hasher,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newJarClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func getBody(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFlusher and TestHijacker are scs's own tests of its LoadAndSave
// (session_go120_test.go in scs v2.9.0), run through ours.
func TestFlusher(t *testing.T) {
	ts := newSessionServer(t, func(*Server) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, ok := w.(http.Flusher)
			fmt.Fprint(w, ok)
		}
	})
	if body := getBody(t, newJarClient(t), ts.URL+"/get"); body != "true" {
		t.Errorf("want %q; got %q", "true", body)
	}
}

func TestHijacker(t *testing.T) {
	ts := newSessionServer(t, func(*Server) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, ok := w.(http.Hijacker)
			fmt.Fprint(w, ok)
		}
	})
	if body := getBody(t, newJarClient(t), ts.URL+"/get"); body != "true" {
		t.Errorf("want %q; got %q", "true", body)
	}
}

// A handler that flushes before it writes sends the headers then: the
// session must be committed first, so that its cookie goes with them.
func TestFlushCommitsTheSessionFirst(t *testing.T) {
	flushes := []struct {
		name  string
		flush func(http.ResponseWriter) error
	}{
		{"http.NewResponseController", func(w http.ResponseWriter) error {
			return http.NewResponseController(w).Flush()
		}},
		{"http.Flusher", func(w http.ResponseWriter) error {
			f, ok := w.(http.Flusher)
			if !ok {
				return fmt.Errorf("%T is not an http.Flusher", w)
			}
			f.Flush()
			return nil
		}},
	}
	for _, tt := range flushes {
		t.Run(tt.name, func(t *testing.T) {
			headersSeen := make(chan struct{})
			ts := newSessionServer(t, func(s *Server) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/read" {
						fmt.Fprint(w, s.sessions.GetString(r.Context(), "streamed"))
						return
					}
					s.sessions.Put(r.Context(), "streamed", "yes")
					if err := tt.flush(w); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					select { // the client has the headers while the handler still runs
					case <-headersSeen:
					case <-r.Context().Done():
						return
					}
					fmt.Fprint(w, "the rest")
				}
			})
			c := newJarClient(t)
			resp, err := c.Get(ts.URL + "/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			close(headersSeen)
			if resp.StatusCode != http.StatusOK {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("got status %d (%s), want 200", resp.StatusCode, b)
			}
			if len(resp.Cookies()) != 1 || resp.Cookies()[0].Name != "session" {
				t.Fatalf("got cookies %v with the flushed headers, want the session cookie", resp.Cookies())
			}
			if b, _ := io.ReadAll(resp.Body); string(b) != "the rest" {
				t.Errorf("got body %q, want %q", b, "the rest")
			}
			if got := getBody(t, c, ts.URL+"/read"); got != "yes" {
				t.Errorf("the next request read %q, want the value saved before the flush", got)
			}
		})
	}
}

// Hijack passes through to the connection, where the server can hijack it.
func TestHijackPassesThrough(t *testing.T) {
	ts := newSessionServer(t, func(*Server) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			buf.Flush()
		}
	})
	resp, err := http.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(bufio.NewReader(resp.Body)); string(b) != "hijacked" {
		t.Errorf("got %d %q, want what the handler wrote on the hijacked connection", resp.StatusCode, b)
	}
}
