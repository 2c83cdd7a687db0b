package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReadmeCommands runs every shell command of the README against a real
// server, in order, as a reader following the tour would: the address and
// the database path are swapped for the test server's, and each command
// must succeed and print what the README says it prints.
//
// The Quickstart's own two commands are not run here: `go test ./...` is
// this very run, and `go run ./cmd/server` is what the e2e harness builds
// and starts.
func TestReadmeCommands(t *testing.T) {
	commands := readmeCommands(t, "../README.md")
	if len(commands) < 5 {
		t.Fatalf("found %d commands in README.md, want the tour's commands", len(commands))
	}

	// What the README says some commands print, by a part of the command.
	wantOutput := map[string]string{
		"grep -i '^set-cookie'": "HttpOnly; SameSite=Lax",
		"Accept: application/json' http://localhost:8080/session-example": `{"viewCount":2,"chosenIngredients":[{"id":1,"qty":3}]}`,
		"-d ingredient_id=2 -d qty=4":                                     "303 http://localhost:8080/cart",
		"http://localhost:8080/cart\n":                                    `"totalCents":2030}`,
		"http://localhost:8080/session\n":                                 `"tokenPrefix":`,
		"length(data) AS bytes":                                           "|",
	}

	srv := startServer(t)
	dir := t.TempDir() // where curl keeps jar.txt
	for _, cmd := range commands {
		if strings.HasPrefix(cmd, "go ") {
			continue
		}
		if strings.HasPrefix(cmd, "sqlite3 ") {
			if _, err := exec.LookPath("sqlite3"); err != nil {
				t.Logf("skipping %q: the sqlite3 shell is not installed", cmd)
				continue
			}
		}
		run := strings.ReplaceAll(cmd, "http://localhost:8080", srv.URL)
		run = strings.ReplaceAll(run, "data/sessions.db", srv.DBPath)
		c := exec.Command("bash", "-o", "pipefail", "-c", run)
		c.Dir = dir
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("README command failed: %s\n%v\n%s", cmd, err, out)
		}
		for part, want := range wantOutput {
			want = strings.ReplaceAll(want, "http://localhost:8080", srv.URL)
			if strings.Contains(cmd+"\n", part) && !strings.Contains(string(out), want) {
				t.Errorf("README command %s\nprinted %s\nwant it to contain %s", cmd, out, want)
			}
		}
	}
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
