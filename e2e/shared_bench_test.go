package e2e

import (
	"io"
	"net"
	"testing"

	"example.com/gosessions/internal/pgtest"
	"example.com/gosessions/internal/redistest"
)

// loadRedis and loadPostgres run the load benchmark (BenchmarkLoad's
// runLoad) against instances servers sharing one Redis, or one PostgreSQL
// database for both their data and their sessions. With more than one, the
// load goes through a round-robin front. runLoad gives each visitor to one
// worker and each worker one connection, so a visitor's requests all reach
// the instance its worker's connection landed on: the figures are two
// instances sharing one store, not sessions moving between them
// (BenchmarkMix alternates every request between the instances). Every process runs on this one machine: two
// instances share its cores (with Redis or PostgreSQL too), so the figures
// show what sharing costs, not how far it scales.
//
//	go test ./e2e -run '^$' -bench 'Load/(sqlite|redis.*|postgres.*)$' -benchtime 1x
func loadRedis(b *testing.B, instances int) {
	rds := redistest.Start(b)
	loadShared(b, instances, func() *server { return startServer(b, "-store", "redis", "-redis-url", rds.URL) })
}

func loadPostgres(b *testing.B, instances int, args ...string) {
	loadShared(b, instances, postgresServers(b, args...))
}

// postgresServers makes a PostgreSQL database and returns a function that
// starts a server on it, with args: its data, and unless args say another
// -store, its sessions.
func postgresServers(b *testing.B, args ...string) func() *server {
	db := pgtest.Start(b).NewDatabase(b)
	return func() *server { return startServerOn(b, db, args...) }
}

// loadShared starts instances servers with start and loads them.
func loadShared(b *testing.B, instances int, start func() *server) {
	addrs, pid := startInstances(b, instances, start)
	base := "http://" + addrs[0]
	if instances > 1 {
		base = "http://" + roundRobinFront(b, addrs)
	}
	res := runLoad(b, base, "session", pid, fixedTime(*loadDuration))
	res.report(b)
}

// startInstances starts instances servers with start and returns their
// host:port addresses, and the process id of the server if there is only
// one: with several, the CPU and memory of one of them would mislead.
func startInstances(b *testing.B, instances int, start func() *server) (addrs []string, pid int) {
	for range instances {
		srv := start()
		addrs = append(addrs, srv.URL[len("http://"):])
		pid = srv.cmd.Process.Pid
	}
	if instances > 1 {
		pid = 0
	}
	return addrs, pid
}

// roundRobinFront listens on a free loopback port and hands each new
// connection to the next of addrs, as a layer-4 load balancer (a
// Kubernetes Service, HAProxy in TCP mode) does.
func roundRobinFront(b *testing.B, addrs []string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			client, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go forward(client, addrs[i%len(addrs)])
		}
	}()
	return ln.Addr().String()
}

// forward copies bytes both ways between client and the server at addr
// until either side closes.
func forward(client net.Conn, addr string) {
	defer client.Close()
	server, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	defer server.Close()
	go func() {
		io.Copy(server, client)
		server.(*net.TCPConn).CloseWrite()
	}()
	io.Copy(client, server)
}
