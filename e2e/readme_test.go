package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCommands runs every shell command of the README against a real
// server, in order, as a reader following the tour would: the address and
// the database path are swapped for the test server's, and each command
// must succeed and print what the README says it prints.
//
// A line `go run ./cmd/server FLAGS` (or ./cmd/minimal) starts that program
// with those flags, as the reader does in another terminal, on its -addr
// (localhost:8080 unless given) and its -db (data/sessions.db, or
// data/minimal.db for cmd/minimal): later commands reach it there. One
// already running there is stopped first, unless it was started by the
// same line. The first server, with no flags, runs from the start, so the
// Quickstart's `go run ./cmd/server` finds it running. Other go commands
// are not run: `go test ./...` is this very run.
func TestReadmeCommands(t *testing.T) {
	commands := readmeCommands(t, "../README.md")
	if len(commands) < 5 {
		t.Fatalf("found %d commands in README.md, want the tour's commands", len(commands))
	}

	// What the README says some commands print. Each expectation is for
	// the first command, in README order, that contains its part and that
	// no earlier expectation took: a command repeated, such as a second
	// visit, gets the next one.
	wantOutput := []struct{ part, want string }{
		{"grep -i '^set-cookie'", "HttpOnly; SameSite=Lax"},
		{"Accept: application/json' http://localhost:8080/session-example", `{"viewCount":2,"chosenIngredients":[{"id":1,"qty":3}]}`},
		{"-d ingredient_id=2 -d qty=4", "303 http://localhost:8080/cart"},
		{"http://localhost:8080/cart\n", `"totalCents":2030}`},
		{"http://localhost:8080/session\n", `"tokenPrefix":`},
		{"length(data) AS bytes", "|"},

		// Experiments.
		{"jar-1.txt -H 'Accept: application/json' http://localhost:8080/session-example", `"viewCount":1,`},
		{"jar-1.txt -H 'Accept: application/json' http://localhost:8080/session-example", `"viewCount":2,`},
		{"jar-2.txt -H 'Accept: application/json' http://localhost:8080/session-example", `"viewCount":1,`},
		{"-b session=made-up-by-mallory", "Set-Cookie: session="},
		{"-d name=Grace", "303 http://localhost:8080/account"},
		{"-c jar-cafe.txt -d email=grace@example.com", "303 http://localhost:8080/account"},
		{"-b jar-cafe.txt http://localhost:8080/account", "200"},
		{"-b jar-mallory.txt http://localhost:8080/account", "303 http://localhost:8080/login?next=/account"},
		{"jar-lock.txt -H 'Accept: application/json' http://localhost:8080/cart |", `"qty":50` + "\n"},
		{"jar-nolock.txt -H 'Accept: application/json' http://localhost:8081/cart |", `"qty":`},
		{"jar-idle.txt -H 'Accept: application/json' http://localhost:8082/session-example", `"viewCount":1,`},
		{"jar-idle.txt -H 'Accept: application/json' http://localhost:8082/session-example", `"viewCount":2,`},
		{"SELECT count(*) FROM sessions", "0\n"},
		{"jar-idle.txt)\" -H 'Accept: application/json' http://localhost:8082/session-example", `"viewCount":1,`},
	}
	matched := make([]bool, len(wantOutput))
	// expectation returns the index of the expectation for cmd, or -1.
	expectation := func(cmd string) int {
		for i, w := range wantOutput {
			if !matched[i] && strings.Contains(cmd+"\n", w.part) {
				matched[i] = true
				return i
			}
		}
		return -1
	}

	servers := readmeServers{t: t, byAddr: map[string]*readmeServer{}, files: map[string]string{}}
	servers.start("go run ./cmd/server")
	dir := t.TempDir() // where curl keeps its jars
	for _, cmd := range commands {
		want := expectation(cmd)
		if strings.HasPrefix(cmd, "go run ./cmd/server") || strings.HasPrefix(cmd, "go run ./cmd/minimal") {
			servers.start(cmd)
			continue
		}
		if strings.HasPrefix(cmd, "go ") {
			continue
		}
		if strings.HasPrefix(cmd, "sqlite3 ") {
			if _, err := exec.LookPath("sqlite3"); err != nil {
				t.Logf("skipping %q: the sqlite3 shell is not installed", cmd)
				continue
			}
		}
		c := exec.Command("bash", "-o", "pipefail", "-c", servers.swap(cmd))
		c.Dir = dir
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("README command failed: %s\n%v\n%s", cmd, err, out)
		}
		if want >= 0 {
			if w := servers.swap(wantOutput[want].want); !strings.Contains(string(out), w) {
				t.Errorf("README command %s\nprinted %s\nwant it to contain %s", cmd, out, w)
			}
		}
	}
	for i, w := range wantOutput {
		if !matched[i] {
			t.Errorf("no README command (or not enough of them) contains %q, which should print %q", w.part, w.want)
		}
	}
}

// readmeServers are the programs that the README's `go run` lines start, by
// the address they give them.
type readmeServers struct {
	t      *testing.T
	byAddr map[string]*readmeServer
	files  map[string]string // the test's file for each README -db
}

type readmeServer struct {
	line string // the go run line that started it
	srv  *server
}

// start runs the program of a go run line, as described at
// TestReadmeCommands.
func (rs *readmeServers) start(line string) {
	rs.t.Helper()
	fields := strings.Fields(line)
	program, args := fields[2], fields[3:]
	addr, db := "localhost:8080", "data/sessions.db"
	if program == "./cmd/minimal" {
		db = "data/minimal.db"
	}
	var flags []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(args[i], "=")
		if (name == "-addr" || name == "-db") && !hasValue && i+1 < len(args) {
			i++
			value, hasValue = args[i], true
		}
		switch {
		case name == "-addr" && hasValue:
			addr = value
		case name == "-db" && hasValue:
			db = value
		default:
			flags = append(flags, args[i])
		}
	}
	old, ok := rs.byAddr[addr]
	if ok && old.line == line {
		return // already running, as this line asks
	}
	if ok && old.srv.running() {
		old.srv.stop()
	}
	// The same -db is the same file, as for the reader.
	dbPath, ok := rs.files[db]
	if !ok {
		dbPath = filepath.Join(rs.t.TempDir(), filepath.Base(db))
		rs.files[db] = dbPath
	}
	var srv *server
	switch program {
	case "./cmd/server":
		srv = startServerOn(rs.t, dbPath, flags...)
	case "./cmd/minimal":
		if len(flags) > 0 {
			rs.t.Fatalf("README line %q: cmd/minimal has only -addr and -db", line)
		}
		srv = startMinimal(rs.t, dbPath)
	default:
		rs.t.Fatalf("README line %q: unknown program %s", line, program)
	}
	rs.byAddr[addr] = &readmeServer{line: line, srv: srv}
}

// swap replaces, in s, each README address by its test server's URL and
// each README database path by the test's file.
func (rs *readmeServers) swap(s string) string {
	for addr, rsrv := range rs.byAddr {
		s = strings.ReplaceAll(s, "http://"+addr, rsrv.srv.URL)
	}
	for db, path := range rs.files {
		s = strings.ReplaceAll(s, db, path)
	}
	return s
}

// readmeCommands returns the lines of the README's ```sh blocks, without
// trailing comments.
func readmeCommands(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []string
	inSh := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
		case strings.HasPrefix(line, "```"):
			inSh = false
		case inSh && strings.TrimSpace(line) != "":
			if i := strings.Index(line, "   # "); i >= 0 {
				line = line[:i]
			}
			cmds = append(cmds, strings.TrimSpace(line))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cmds
}
