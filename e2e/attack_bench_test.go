package e2e

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BenchmarkSignInAttack is the load benchmark (runLoad: returning visitors
// on GET /session-example) while attackers send wrong passwords to
// POST /login as fast as they can, on the default store (SQLite):
//
//	go test ./e2e -run '^$' -bench SignInAttack -benchtime 1x -load.duration 6s
//
// To compare with the server as another commit builds it, in the same run
// and alternating (build that commit's cmd/server to a file first):
//
//	go test ./e2e -run '^$' -bench SignInAttack/attack -benchtime 1x -attack.compare /tmp/server-old
//
// Every wrong password costs an argon2id hash, which takes a core for some
// 40 ms. Half the attempts name an account (after five in 15 minutes, each
// email gets 429 without a hash), half an email no account has, a new one
// each time, which costs a hash too (DummyVerify) and is never limited.
// A sign-in that waits over a second for a free hashing slot gets 503 with
// Retry-After. The visitors must all get 200; the attackers only 422, 429,
// and 503 with Retry-After.
var attackCompare = flag.String("attack.compare", "", "another server binary to run the attack against too, alternating with this one")

func BenchmarkSignInAttack(b *testing.B) {
	// The same load without the attack, for comparison in the same run.
	b.Run("no-attack", func(b *testing.B) {
		srv := startServer(b)
		res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, fixedTime(*loadDuration))
		res.report(b)
		reportHandlerTimes(b, srv)
	})
	for range 2 {
		b.Run("attack", func(b *testing.B) { attackLoad(b, binary) })
		if *attackCompare != "" {
			b.Run("attack-compare", func(b *testing.B) { attackLoad(b, *attackCompare) })
		}
	}
}

// attackLoad runs the server program bin, signs up attackAccounts accounts
// and loads it with returning visitors and attackers at once.
func attackLoad(b *testing.B, bin string) {
	srv := startProgram(b, bin, filepath.Join(b.TempDir(), "sessions.db"))
	var accounts []string
	for i := range attackAccounts {
		email := fmt.Sprintf("victim%d@example.com", i)
		newVisitor(b, srv.URL).signUp(fmt.Sprintf("Victim %d", i), email, "the right password, long enough")
		accounts = append(accounts, email)
	}

	var counts attackCounts
	res := runLoad(b, srv.URL, "session", srv.cmd.Process.Pid, func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, *loadDuration)
		defer cancel()
		counts = attack(ctx, srv.URL, accounts)
	})
	res.report(b)
	reportHandlerTimes(b, srv)
	b.ReportMetric(float64(counts.status[http.StatusUnprocessableEntity]), "attack-422")
	b.ReportMetric(float64(counts.status[http.StatusTooManyRequests]), "attack-429")
	b.ReportMetric(float64(counts.status[http.StatusServiceUnavailable]), "attack-503")
	b.ReportMetric(float64(counts.other), "attack-other")
	b.ReportMetric(float64(counts.total())/res.elapsed.Seconds(), "attack-req/s")
	if counts.other > 0 {
		b.Errorf("attack: got %d answers other than 422, 429 and 503 with Retry-After (first: %s), want none",
			counts.other, counts.firstOther)
	}
}

const (
	attackConns    = 32 // attackers, each on a connection of its own
	attackAccounts = 8  // accounts the attackers name
)

// attackCounts is how the server answered the attackers: a count per
// status, and the answers that should not happen.
type attackCounts struct {
	status     map[int]int
	other      int    // any other status, a 503 without Retry-After, or no answer
	firstOther string // what the first of those was
}

func (c attackCounts) total() int {
	n := c.other
	for _, v := range c.status {
		n += v
	}
	return n
}

// attack sends wrong passwords to POST /login from attackConns connections
// until ctx is done, then returns how the server answered. Attackers send
// no cookie: each attempt is a new visitor, as in a credential-stuffing run.
func attack(ctx context.Context, base string, accounts []string) attackCounts {
	u, _ := url.Parse(base)
	results := make([]attackCounts, attackConns)
	var wg sync.WaitGroup
	for w := range attackConns {
		wg.Go(func() {
			t := &connTransport{addr: u.Host}
			defer t.close()
			client := http.Client{Transport: t}
			res := attackCounts{status: map[int]int{}}
			for i := 0; ctx.Err() == nil; i++ {
				email := accounts[(w+i)%len(accounts)]
				if i%2 == 1 {
					email = fmt.Sprintf("nobody-%d-%d@example.com", w, i)
				}
				form := url.Values{"email": {email}, "password": {"wrong password"}}
				status, retryAfter, err := postForm(&client, base+"/login", form)
				switch {
				case err != nil && ctx.Err() != nil:
					// Cut off by the end of the run.
				case err == nil && (status == http.StatusUnprocessableEntity || status == http.StatusTooManyRequests ||
					status == http.StatusServiceUnavailable && retryAfter != ""):
					res.status[status]++
				default:
					if res.other == 0 {
						res.firstOther = fmt.Sprintf("status %d, Retry-After %q, error %v", status, retryAfter, err)
					}
					res.other++
				}
			}
			results[w] = res
		})
	}
	wg.Wait()
	all := attackCounts{status: map[int]int{}}
	for _, r := range results {
		for s, n := range r.status {
			all.status[s] += n
		}
		if all.other == 0 {
			all.firstOther = r.firstOther
		}
		all.other += r.other
	}
	return all
}

// postForm submits form to target and returns the answer's status and its
// Retry-After header, having read the whole body.
func postForm(client *http.Client, target string, form url.Values) (status int, retryAfter string, err error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}
