package e2e

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sendFormHead starts a form POST to path on a connection of its own: it
// sends the request's headers, announcing a body of length bytes, with
// "Expect: 100-continue", and waits for the server's "100 Continue", which
// net/http sends when a handler starts reading the body. From then on the
// request is in flight, in a handler, waiting for its body. cookie is the
// session cookie to send, or "" for none.
func sendFormHead(t *testing.T, srv *server, path, cookie string, length int) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, host := dialRaw(t, srv)
	head := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\n" +
		"Content-Length: " + strconv.Itoa(length) + "\r\n" +
		"Expect: 100-continue\r\n"
	if cookie != "" {
		head += "Cookie: session=" + cookie + "\r\n"
	}
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	answers := bufio.NewReader(conn)
	resp := readRawResponse(t, conn, answers)
	if resp.StatusCode != http.StatusContinue {
		t.Fatalf("POST %s: got status %d before the body, want %d", path, resp.StatusCode, http.StatusContinue)
	}
	return conn, answers
}

// readRawResponse reads one answer from a connection opened by dialRaw,
// waiting for it at most 30 s.
func readRawResponse(t *testing.T, conn net.Conn, answers *bufio.Reader) *http.Response {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer conn.SetReadDeadline(time.Time{})
	resp, err := http.ReadResponse(answers, nil)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("read answer's body: %v", err)
	}
	resp.Body.Close()
	return resp
}

// SIGTERM stops the server with exit status 0 whatever its clients do. A
// request in flight at the signal that completes within the grace is
// answered and its session saved; a client that trickles its body, a byte
// at a time, never finishes its request, and is cut off when the grace
// (-shutdown-timeout) is over, rather than holding the stop up until the
// server's read timeout or failing it.
func TestSIGTERMWithASlowClientExitsZero(t *testing.T) {
	t.Parallel()
	// A grace well under the 8 s read timeout: the slow client is still
	// sending when it ends.
	srv := startServer(t, "-shutdown-timeout", "4s")

	// A visitor whose next change is in flight at the SIGTERM: its headers
	// are sent before, its body after.
	v := newVisitor(t, srv.URL)
	v.add(1, "1")
	form := url.Values{"ingredient_id": {"2"}, "qty": {"3"}}.Encode()
	inFlight, inFlightAnswers := sendFormHead(t, srv, "/cart/items", v.cookie(), len(form))

	// A client that announces a form and sends it a byte every 100 ms, for
	// far longer than the test lasts.
	slow, _ := sendFormHead(t, srv, "/cart/items", "", 1<<16)
	go func() {
		for {
			select {
			case <-t.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := slow.Write([]byte("a")); err != nil {
				return // the server closed the connection
			}
		}
	}()

	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if !waitFor(10*time.Second, func() bool { return strings.Contains(srv.Log(), `msg="shutting down"`) }) {
		t.Fatal(`the server did not log "shutting down" within 10s of SIGTERM`)
	}
	if _, err := io.WriteString(inFlight, form); err != nil {
		t.Fatalf("send the body of the request in flight: %v", err)
	}
	if resp := readRawResponse(t, inFlight, inFlightAnswers); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /cart/items in flight at SIGTERM: got status %d, want %d", resp.StatusCode, http.StatusSeeOther)
	}

	// A bound far above the grace: it catches a server that waits for the
	// slow client, and no slowness of this machine.
	select {
	case <-srv.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the server was still running 30s after SIGTERM, with a grace of 4s")
	}
	if srv.err != nil {
		t.Fatalf("got exit %v after SIGTERM, want exit status 0", srv.err)
	}

	srv.start() // the same database, a new port
	v.base = srv.URL
	got, want := v.cart().quantities(), map[int64]int{1: 1, 2: 3}
	if !maps.Equal(got, want) {
		t.Errorf("cart after the restart: got %v, want %v (the change in flight at SIGTERM saved)", got, want)
	}
}

// Names and email addresses with characters that are not seen as what they
// are (control characters, zero-width and bidirectional-override
// characters) are refused with 422 and a message next to the field, and the
// session stays as it was, signed out.
func TestSignUpRefusesHiddenCharacters(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	v := newVisitor(t, srv.URL)
	v.add(1, "2")
	v.get("/cart") // show, and so drop, the flash of that add

	const (
		nameMessage  = "Your name contains control or invisible characters"
		emailMessage = "Your email address contains control or invisible characters"
	)
	tests := []struct {
		name, formName, formEmail string
		wantMessages              []string
	}{
		{"a NUL in the name", "Ada\x00", "ada@example.com", []string{nameMessage}},
		{"a newline inside the name", "Ada\nLovelace", "ada@example.com", []string{nameMessage}},
		{"a terminal escape in the name", "\x1b[2JAda", "ada@example.com", []string{nameMessage}},
		{"a zero-width space in the name", "Ada\u200bLovelace", "ada@example.com", []string{nameMessage}},
		{"a right-to-left override in the name", "\u202eecalevoL adA", "ada@example.com", []string{nameMessage}},
		{"a zero-width space in the email", "Ada", "ada\u200b@example.com", []string{emailMessage}},
		{"a right-to-left override in the email", "Ada", "ada@\u202emoc.elpmaxe", []string{emailMessage}},
		{"both", "A\u200bda", "a\x00@b.co", []string{nameMessage, emailMessage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, token := v.values(), v.cookie()
			r := v.post("/signup", url.Values{"name": {tt.formName}, "email": {tt.formEmail}, "password": {"correct horse battery"}})
			wantStatus(t, "POST /signup", r, http.StatusUnprocessableEntity)
			wantText(t, "POST /signup", r, tt.wantMessages...)
			if v.cookie() != token {
				t.Errorf("the token changed on a refused sign-up")
			}
			wantUnchanged(t, "POST /signup", before, v.values())
		})
	}
}

// postChunked sends a form POST with the session cookie on a connection of
// its own, its body in chunks and with no Content-Length, as a client that
// streams its body does, and returns the answer's status.
func postChunked(t *testing.T, srv *server, path, cookie, body string) int {
	t.Helper()
	conn, host := dialRaw(t, srv)
	var req strings.Builder
	req.WriteString("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\n" +
		"Cookie: session=" + cookie + "\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\n" +
		"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
	for rest := body; rest != ""; {
		n := min(len(rest), 4<<10)
		fmt.Fprintf(&req, "%x\r\n%s\r\n", n, rest[:n])
		rest = rest[n:]
	}
	req.WriteString("0\r\n\r\n")
	// Write in the background: the server may answer and close before it
	// has read all of it.
	go io.WriteString(conn, req.String())
	return readRawResponse(t, conn, bufio.NewReader(conn)).StatusCode
}

// A form body over the 64 KiB cap is refused with 413 before any handler
// runs, also when it comes without a Content-Length, and also to a handler
// that reads no field (clearing the cart): the cart stays as it was. A body
// within the cap reaches the handler whole.
func TestChunkedFormsAreCappedBeforeTheHandler(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	const maxBody = 64 << 10
	filler := func(n int) string { return "x=" + strings.Repeat("a", n-len("x=")) }

	tests := []struct {
		name       string
		path, body string
		wantStatus int
		wantCart   map[int64]int
	}{
		{"over the cap to a handler that reads no field", "/cart/clear", filler(maxBody + 1), http.StatusRequestEntityTooLarge, map[int64]int{1: 2}},
		{"far over the cap to a handler that reads no field", "/cart/clear", filler(1 << 20), http.StatusRequestEntityTooLarge, map[int64]int{1: 2}},
		{"over the cap to a handler that reads the form", "/cart/items", "ingredient_id=2&qty=3&" + filler(maxBody), http.StatusRequestEntityTooLarge, map[int64]int{1: 2}},
		{"exactly the cap is served", "/cart/clear", filler(maxBody), http.StatusSeeOther, map[int64]int{}},
		{"a small form reaches the handler", "/cart/items", "ingredient_id=2&qty=3", http.StatusSeeOther, map[int64]int{1: 2, 2: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVisitor(t, srv.URL)
			v.add(1, "2")
			if got := postChunked(t, srv, tt.path, v.cookie(), tt.body); got != tt.wantStatus {
				t.Errorf("chunked POST %s of %d bytes: got status %d, want %d", tt.path, len(tt.body), got, tt.wantStatus)
			}
			if got := v.cart().quantities(); !maps.Equal(got, tt.wantCart) {
				t.Errorf("cart after the POST: got %v, want %v", got, tt.wantCart)
			}
		})
	}
}
