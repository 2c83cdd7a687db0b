package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// wantStatus fails the test unless r has the given status.
func wantStatus(t testing.TB, what string, r response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("%s: got status %d, want %d\n%s", what, r.Status, want, r.Body)
	}
}

// wantText fails the test unless the visible text of r's page contains
// every one of texts. Tags are removed and spaces collapsed first, so
// "You have viewed this page <strong>3</strong> times" matches
// "You have viewed this page 3 times".
func wantText(t testing.TB, what string, r response, texts ...string) {
	t.Helper()
	body := pageText(r.Body)
	for _, s := range texts {
		if !strings.Contains(body, s) {
			t.Errorf("%s: page text does not contain %q:\n%s", what, s, body)
		}
	}
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// pageText is the text a reader sees on an HTML page.
func pageText(body string) string {
	return strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(body, " ")), " "))
}

// redirectsTo fails the test unless r is a 303 See Other to location.
func redirectsTo(t testing.TB, what string, r response, location string) {
	t.Helper()
	wantStatus(t, what, r, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != location {
		t.Fatalf("%s: got Location %q, want %q", what, got, location)
	}
}

// sessionCookie returns the session cookie r sets, or nil.
func sessionCookie(r response) *http.Cookie {
	for _, line := range r.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == "session" {
			return c
		}
	}
	return nil
}

// cartJSON is the JSON form of GET /cart.
type cartJSON struct {
	Items []struct {
		ID             int64  `json:"id"`
		Name           string `json:"name"`
		Qty            int    `json:"qty"`
		UnitPriceCents int64  `json:"unitPriceCents"`
		LineTotalCents int64  `json:"lineTotalCents"`
	} `json:"items"`
	TotalCents int64 `json:"totalCents"`
}

// cart reads the visitor's cart as JSON.
func (v *visitor) cart() cartJSON {
	v.t.Helper()
	r := v.getJSON("/cart")
	wantStatus(v.t, "GET /cart (JSON)", r, http.StatusOK)
	var c cartJSON
	if err := json.Unmarshal([]byte(r.Body), &c); err != nil {
		v.t.Fatalf("GET /cart: %v\n%s", err, r.Body)
	}
	return c
}

// quantities is the cart as ingredient id → quantity.
func (c cartJSON) quantities() map[int64]int {
	m := make(map[int64]int, len(c.Items))
	for _, it := range c.Items {
		m[it.ID] = it.Qty
	}
	return m
}

// add posts the add-to-cart form and expects it to succeed.
func (v *visitor) add(id int64, qty string) {
	v.t.Helper()
	form := url.Values{"ingredient_id": {strconv.FormatInt(id, 10)}}
	if qty != "" {
		form.Set("qty", qty)
	}
	redirectsTo(v.t, "POST /cart/items", v.post("/cart/items", form), "/cart")
}

// inspector is the JSON form of GET /session.
type inspector struct {
	Values      map[string]any `json:"values"`
	ExpiresAt   string         `json:"expiresAt"`
	TokenPrefix string         `json:"tokenPrefix"`
}

// session reads the visitor's session through the inspector's JSON, which
// neither counts as a page view nor pops the flash.
func (v *visitor) session() inspector {
	v.t.Helper()
	r := v.getJSON("/session")
	wantStatus(v.t, "GET /session (JSON)", r, http.StatusOK)
	var in inspector
	if err := json.Unmarshal([]byte(r.Body), &in); err != nil {
		v.t.Fatalf("GET /session: %v\n%s", err, r.Body)
	}
	return in
}

// values returns the session's values without the keys given.
func (v *visitor) values(without ...string) map[string]any {
	v.t.Helper()
	vals := v.session().Values
	for _, k := range without {
		delete(vals, k)
	}
	return vals
}

// wantUnchanged fails the test if before and after differ.
func wantUnchanged(t testing.TB, what string, before, after map[string]any) {
	t.Helper()
	if !maps.EqualFunc(before, after, func(a, b any) bool {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return string(ja) == string(jb)
	}) {
		t.Errorf("%s changed the session:\nbefore %v\nafter  %v", what, before, after)
	}
}

// wantEveryVisitCounted sends requests visits of v's session at once,
// spread over servers in turn, and fails unless each answers 200 and the
// session's viewCount ends at requests: each visit reads the count and
// writes it back plus one, so only a lock that holds across the instances
// lets every one of them be counted.
func wantEveryVisitCounted(t *testing.T, v *visitor, servers []*server, requests int) {
	t.Helper()
	wantStatus(t, "GET /", v.get("/"), http.StatusOK) // the session, before the burst
	if v.cookie() == "" {
		t.Fatal("GET / set no session cookie")
	}
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		wg.Go(func() {
			base := servers[i%len(servers)].URL
			req, err := http.NewRequest(http.MethodGet, base+"/session-example", nil)
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Accept", "application/json")
			resp, err := v.client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("request %d to %s: got status %d, want 200: %s", i, base, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	// The burst opened connections that never carried a request; a server
	// shutting down waits 5 s for those unless the client closes them.
	v.client.CloseIdleConnections()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if got := v.session().Values["viewCount"]; got != float64(requests) {
		t.Fatalf("viewCount after %d concurrent visits on %d instances: got %v, want %d (updates were lost)",
			requests, len(servers), got, requests)
	}
}
