package postgres

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Redact returns where connString points, for a log line or an error:
// host, port, database and user, as in
//
//	host=db.example.com port=5432 database=app user=app
//
// never the password nor any other setting. A connection string that
// cannot be parsed comes back as it is, with anything that may be a
// password masked.
func Redact(connString string) string {
	cfg, err := pgconn.ParseConfig(connString)
	if err != nil {
		return maskPasswords(connString, connString)
	}
	// Fallbacks repeat a host once per TLS mode to try (sslmode=prefer).
	var hosts, ports []string
	for _, h := range append([]*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port}}, cfg.Fallbacks...) {
		port := fmt.Sprint(h.Port)
		if n := len(hosts); n > 0 && hosts[n-1] == h.Host && ports[n-1] == port {
			continue
		}
		hosts, ports = append(hosts, h.Host), append(ports, port)
	}
	// The fields come from the parsed settings, not from the text, so no
	// piece of the password is in them, unless a field is the password.
	field := func(v string) string {
		if cfg.Password != "" && v == cfg.Password {
			return "xxxxx"
		}
		return v
	}
	return fmt.Sprintf("host=%s port=%s database=%s user=%s",
		strings.Join(hosts, ","), strings.Join(ports, ","), field(cfg.Database), field(cfg.User))
}

// openError is an error of Open: its message has been through
// maskPasswords, and it unwraps to the error of pgx or goose, so that
// errors.Is still finds context.DeadlineExceeded and the like in it.
type openError struct {
	msg string
	err error
}

func (e *openError) Error() string { return e.msg }
func (e *openError) Unwrap() error { return e.err }

// redactedError is prefix followed by err's message, with connString's
// password masked wherever it appears.
//
// pgx masks passwords in its own messages, but only as well as it can
// tell where they are: a URL that does not parse has no certain parts
// (pgx says so). So every error of Open goes through maskPasswords as
// well, which masks anything that could be the password.
func redactedError(connString, prefix string, err error) error {
	return &openError{msg: maskPasswords(connString, prefix+err.Error()), err: err}
}

// passwordSetting finds password= and sslpassword= in key=value settings
// and URL query parameters, quoted or not.
var passwordSetting = regexp.MustCompile(`(?:^|[\s?&])(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]*)`)

// minMasked is the length of the shortest candidate maskPasswords masks.
const minMasked = 4

// maskPasswords replaces in msg every string that connString may hold as a
// password with xxxxx. It errs on the side of masking: when connString is
// malformed, each reading of it gives a candidate, and a short password
// may mask some other text of msg too.
func maskPasswords(connString, msg string) string {
	var candidates []string
	add := func(s string) {
		s = strings.Trim(s, "'")
		candidates = append(candidates, s)
		for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if u, err := unescape(s); err == nil {
				candidates = append(candidates, u)
			}
		}
	}
	if cfg, err := pgconn.ParseConfig(connString); err == nil {
		add(cfg.Password) // also the one from PGPASSWORD or a passfile
	}
	// The userinfo of a URL ends at an @: any of them, if the password has
	// one that was not escaped. Then a parser may take pieces of the
	// password for a host or a path: they are masked too, but for the
	// shortest, which tell little and would mask the same letters in the
	// host's name.
	if _, rest, ok := strings.Cut(connString, "://"); ok {
		for i := range len(rest) {
			if rest[i] != '@' {
				continue
			}
			if _, pw, ok := strings.Cut(rest[:i], ":"); ok {
				add(pw)
				for _, piece := range strings.FieldsFunc(pw, func(r rune) bool { return strings.ContainsRune("@:/?#", r) }) {
					add(piece)
				}
			}
		}
	}
	for _, m := range passwordSetting.FindAllStringSubmatch(connString, -1) {
		add(m[1])
	}

	// Longest first, so that a password is masked whole before any
	// candidate inside it.
	// Candidates shorter than minMasked are left: they tell little, and
	// would mask the same letters all over the message (a password "p"
	// would turn "postgres" into "xxxxxostgres").
	candidates = slices.DeleteFunc(candidates, func(s string) bool { return len(s) < minMasked })
	slices.SortFunc(candidates, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	for _, c := range slices.Compact(candidates) {
		msg = strings.ReplaceAll(msg, c, "xxxxx")
	}
	return msg
}
