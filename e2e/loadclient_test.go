package e2e

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// connTransport is the load benchmark's HTTP client transport: one
// keep-alive connection, used by one worker goroutine at a time, each
// request written and its answer read in the caller's goroutine.
//
// http.Transport hands every request to two goroutines of its own per
// connection, one writing and one reading. On a machine where the clients
// share the cores with the server they measure, that costs the server a
// visible part of the CPU; wrk, a load generator written in C, spends far
// less. Cookies still go through each visitor's http.Client and its jar.
//
// The caller must read the whole body of an answer and close it before
// the next request, as the load benchmark does.
type connTransport struct {
	addr      string // host:port
	conn      net.Conn
	r         *bufio.Reader
	w         *bufio.Writer
	closeNext bool // the last answer said the server closes the connection
}

// requestTimeout bounds one request, so that a server that stops
// answering fails the benchmark instead of hanging it.
const requestTimeout = 30 * time.Second

func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.closeNext {
		t.close()
	}
	if t.conn == nil {
		conn, err := net.Dial("tcp", t.addr)
		if err != nil {
			return nil, err
		}
		t.conn, t.r, t.w = conn, bufio.NewReader(conn), bufio.NewWriter(conn)
	}
	t.conn.SetDeadline(time.Now().Add(requestTimeout))
	resp, err := t.exchange(req)
	if err != nil {
		t.close() // the next request dials again
		return nil, err
	}
	// Closed at the next request: the caller still reads this body.
	t.closeNext = resp.Close
	return resp, nil
}

func (t *connTransport) exchange(req *http.Request) (*http.Response, error) {
	if err := req.Write(t.w); err != nil {
		return nil, err
	}
	if err := t.w.Flush(); err != nil {
		return nil, err
	}
	return http.ReadResponse(t.r, req)
}

// close closes the connection, if one is open.
func (t *connTransport) close() {
	if t.conn != nil {
		t.conn.Close()
		t.conn = nil
	}
	t.closeNext = false
}
