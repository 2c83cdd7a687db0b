package e2e

// The container files are checked here without a Docker engine: the
// -healthcheck mode the image relies on is run for real, and the Dockerfile
// and docker-compose.yml are read for the facts that must agree with the
// code and with each other. CI also runs `docker-compose config`, which
// checks the compose file's syntax.

import (
	"errors"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestHealthcheckMode(t *testing.T) {
	srv := startServer(t)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()

	// The container sets ADDR=:8080 and runs `server -healthcheck` with no
	// flags, so an address without a host must reach the local server.
	cases := []struct {
		name string
		args []string
		env  []string
	}{
		{"the -addr flag with the server's host and port", []string{"-addr", u.Host}, nil},
		{"an -addr with no host means localhost", []string{"-addr", ":" + port}, nil},
		{"an -addr of 0.0.0.0 means localhost", []string{"-addr", "0.0.0.0:" + port}, nil},
		{"ADDR from the environment, as in the image", nil, []string{"ADDR=:" + port}},
	}

	t.Run("exits 0 while the server is up", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if code, out := runHealthcheck(t, c.args, c.env); code != 0 {
					t.Errorf("exit code %d, want 0\n%s", code, out)
				}
			})
		}
	})

	srv.stop()

	t.Run("exits 1 once the server has stopped", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if code, out := runHealthcheck(t, c.args, c.env); code != 1 {
					t.Errorf("exit code %d, want 1\n%s", code, out)
				}
			})
		}
	})
}

// runHealthcheck runs `server -healthcheck` and returns its exit code and
// what it printed.
func runHealthcheck(t *testing.T, args, env []string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"-healthcheck"}, args...)...)
	cmd.Env = env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("run %s -healthcheck: %v", binary, err)
	return 0, ""
}

func TestDockerfileGoVersionMatchesGoMod(t *testing.T) {
	goMod := readRepoFile(t, "go.mod")
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	want := m[1]

	stages := dockerfileStages(t)
	var got []string
	for _, st := range stages {
		if v, ok := strings.CutPrefix(st.from, "golang:"); ok {
			got = append(got, v)
		}
	}
	if len(got) == 0 {
		t.Fatal("no stage of the Dockerfile is built FROM golang:<version>")
	}
	for _, v := range got {
		if v != want && !strings.HasPrefix(v, want+"-") && !strings.HasPrefix(v, want+".") && !strings.HasPrefix(v, want+"@") {
			t.Errorf("Dockerfile builds with golang:%s, want golang:%s (the go directive in go.mod)", v, want)
		}
	}
}

func TestDockerfileRunsAsNonRootWithWritableData(t *testing.T) {
	stages := dockerfileStages(t)
	final := stages[len(stages)-1]

	user, _ := final.last("USER")
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "root" || uid == "0" {
		t.Errorf("final stage USER = %q, want a non-root user", user)
	}

	env := final.env()
	dbDir := path.Dir(env["DB_PATH"])
	if !path.IsAbs(env["DB_PATH"]) {
		t.Fatalf("final stage ENV DB_PATH = %q, want an absolute path", env["DB_PATH"])
	}
	// The folder of the database must belong to the user the server runs
	// as, or SQLite cannot create the file (nor its -wal and -shm files).
	uid, _, _ := strings.Cut(user, ":")
	owned := false
	for _, args := range final.all("COPY") {
		f := strings.Fields(args)
		if len(f) > 0 && f[len(f)-1] == dbDir && slices.ContainsFunc(f, func(s string) bool {
			return strings.HasPrefix(s, "--chown="+uid+":") || s == "--chown="+uid
		}) {
			owned = true
		}
	}
	if !owned {
		t.Errorf("no COPY --chown=%s:... creates %s, the folder of DB_PATH=%s", uid, dbDir, env["DB_PATH"])
	}

	entry := final.execForm(t, "ENTRYPOINT")
	health := final.execForm(t, "HEALTHCHECK")
	if want := []string{entry[0], "-healthcheck"}; !slices.Equal(health, want) {
		t.Errorf("HEALTHCHECK runs %q, want %q (the ENTRYPOINT binary)", health, want)
	}
}

func TestComposeFile(t *testing.T) {
	compose := parseYAMLBlock(readRepoFile(t, "docker-compose.yml"))
	app := compose.block(t, "services").block(t, "app")
	stages := dockerfileStages(t)
	binaryPath := stages[len(stages)-1].execForm(t, "ENTRYPOINT")[0]

	t.Run("restarts the server unless it was stopped", func(t *testing.T) {
		if got := app.value(t, "restart"); got != "unless-stopped" {
			t.Errorf("restart: %q, want unless-stopped", got)
		}
	})

	t.Run("publishes port 8080", func(t *testing.T) {
		if got := app.block(t, "ports").items(); !slices.Contains(got, "8080:8080") {
			t.Errorf("ports: %q, want 8080:8080 among them", got)
		}
	})

	env := app.block(t, "environment").env()
	t.Run("listens on all interfaces on 8080", func(t *testing.T) {
		if got := env["ADDR"]; got != ":8080" {
			t.Errorf("ADDR = %q, want :8080", got)
		}
	})

	t.Run("keeps the database on the named volume", func(t *testing.T) {
		var target string
		for _, v := range app.block(t, "volumes").items() {
			if src, dst, ok := strings.Cut(v, ":"); ok && src == "sessions-data" {
				target, _, _ = strings.Cut(dst, ":")
			}
		}
		if target == "" {
			t.Fatalf("app volumes do not mount sessions-data")
		}
		if !strings.HasPrefix(env["DB_PATH"], target+"/") {
			t.Errorf("DB_PATH = %q, want a file in %s, where sessions-data is mounted", env["DB_PATH"], target)
		}
		if !compose.block(t, "volumes").has("sessions-data") {
			t.Errorf("top-level volumes do not declare sessions-data")
		}
	})

	t.Run("checks health with the binary's -healthcheck mode", func(t *testing.T) {
		hc := app.block(t, "healthcheck")
		want := []string{"CMD", binaryPath, "-healthcheck"}
		if got := flowSequence(hc.value(t, "test")); !slices.Equal(got, want) {
			t.Errorf("healthcheck test: %q, want %q", got, want)
		}
		for _, key := range []string{"interval", "timeout", "retries"} {
			if hc.value(t, key) == "" {
				t.Errorf("healthcheck has no %s", key)
			}
		}
	})
}

// readRepoFile reads a file at the root of the module.
func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// stage is one FROM of a Dockerfile and the instructions that follow it.
type stage struct {
	from  string // the image, without "AS name"
	instr [][2]string
}

// dockerfileStages reads the Dockerfile's instructions, stage by stage, with
// comments dropped and continued lines joined.
func dockerfileStages(t *testing.T) []stage {
	t.Helper()
	src := readRepoFile(t, "Dockerfile")
	var stages []stage
	var line string
	for raw := range strings.Lines(src) {
		raw = strings.TrimSpace(raw)
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(raw, `\`); ok {
			line += cont + " "
			continue
		}
		line += raw
		cmd, args, _ := strings.Cut(line, " ")
		cmd, args = strings.ToUpper(cmd), strings.TrimSpace(args)
		line = ""
		if cmd == "FROM" {
			f := strings.Fields(args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--") })
			stages = append(stages, stage{from: f[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", cmd)
		}
		st := &stages[len(stages)-1]
		st.instr = append(st.instr, [2]string{cmd, args})
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no FROM")
	}
	return stages
}

func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.instr {
		if in[0] == cmd {
			out = append(out, in[1])
		}
	}
	return out
}

func (s stage) last(cmd string) (string, bool) {
	all := s.all(cmd)
	if len(all) == 0 {
		return "", false
	}
	return all[len(all)-1], true
}

// env returns the variables the stage's ENV instructions set (key=value
// form, values without spaces).
func (s stage) env() map[string]string {
	env := map[string]string{}
	for _, args := range s.all("ENV") {
		for _, kv := range strings.Fields(args) {
			if k, v, ok := strings.Cut(kv, "="); ok {
				env[k] = strings.Trim(v, `"`)
			}
		}
	}
	return env
}

// execForm returns the command of an ENTRYPOINT or HEALTHCHECK written in
// exec form, ["program", "arg"].
func (s stage) execForm(t *testing.T, cmd string) []string {
	t.Helper()
	args, ok := s.last(cmd)
	if !ok {
		t.Fatalf("final stage of the Dockerfile has no %s", cmd)
	}
	if cmd == "HEALTHCHECK" {
		_, args, ok = strings.Cut(args, "CMD ")
	}
	argv := flowSequence(strings.TrimSpace(args))
	if !ok || len(argv) == 0 {
		t.Fatalf("Dockerfile %s %s: want the exec form [\"program\", ...]", cmd, args)
	}
	return argv
}

// flowSequence splits a one-line JSON or YAML list of strings, such as
// ["CMD", "/server", "-healthcheck"], into its items; it returns nil for
// anything else.
func flowSequence(s string) []string {
	if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
		return nil
	}
	inner := s[1 : len(s)-1]
	var out []string
	for item := range strings.SplitSeq(inner, ",") {
		out = append(out, unquote(strings.TrimSpace(item)))
	}
	return out
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// yamlBlock is a block-style YAML mapping or list, as lines with their
// indentation. It reads only the plain subset docker-compose.yml is written
// in (block mappings and lists, one-line values, full-line comments), but it
// respects nesting, so a key is only ever found where it belongs.
type yamlBlock []yamlLine

type yamlLine struct {
	indent int
	text   string
}

func parseYAMLBlock(src string) yamlBlock {
	var b yamlBlock
	for line := range strings.Lines(src) {
		text := strings.TrimSpace(line)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		b = append(b, yamlLine{indent, text})
	}
	return b
}

// children returns the lines at the block's own level.
func (b yamlBlock) children() []int {
	if len(b) == 0 {
		return nil
	}
	level := b[0].indent
	var idx []int
	for i, l := range b {
		if l.indent == level {
			idx = append(idx, i)
		}
	}
	return idx
}

// find returns the value written after "key:" on the same line, and the
// lines nested under it.
func (b yamlBlock) find(key string) (value string, nested yamlBlock, ok bool) {
	for _, i := range b.children() {
		k, v, found := strings.Cut(b[i].text, ":")
		if !found || strings.TrimSpace(k) != key {
			continue
		}
		end := i + 1
		for end < len(b) && b[end].indent > b[i].indent {
			end++
		}
		return unquote(strings.TrimSpace(v)), b[i+1 : end], true
	}
	return "", nil, false
}

func (b yamlBlock) has(key string) bool {
	_, _, ok := b.find(key)
	return ok
}

func (b yamlBlock) block(t *testing.T, key string) yamlBlock {
	t.Helper()
	_, nested, ok := b.find(key)
	if !ok || len(nested) == 0 {
		t.Fatalf("docker-compose.yml: no %q block where expected", key)
	}
	return nested
}

func (b yamlBlock) value(t *testing.T, key string) string {
	t.Helper()
	v, _, ok := b.find(key)
	if !ok {
		t.Fatalf("docker-compose.yml: no %q key where expected", key)
	}
	return v
}

// items returns the entries of a list ("- item" lines), unquoted.
func (b yamlBlock) items() []string {
	var out []string
	for _, i := range b.children() {
		if item, ok := strings.CutPrefix(b[i].text, "- "); ok {
			out = append(out, unquote(strings.TrimSpace(item)))
		}
	}
	return out
}

// env reads an environment block in either of compose's forms: a mapping
// (KEY: value) or a list (- KEY=value).
func (b yamlBlock) env() map[string]string {
	env := map[string]string{}
	for _, item := range b.items() {
		if k, v, ok := strings.Cut(item, "="); ok {
			env[k] = v
		}
	}
	for _, i := range b.children() {
		if strings.HasPrefix(b[i].text, "- ") {
			continue
		}
		if k, v, ok := strings.Cut(b[i].text, ":"); ok {
			env[strings.TrimSpace(k)] = unquote(strings.TrimSpace(v))
		}
	}
	return env
}
