package web_test

import (
	"net/http"
	"strings"
	"testing"

	"example.com/gosessions/internal/session"
)

// When the save fails (here, the session's lock was lost), the page with
// the panel is never sent: the error page goes instead, and its panel says
// that nothing was saved.
func TestPanelOfAFailedSave(t *testing.T) {
	locker := newTestLocker()
	app := newTestApp(t, appOptions{locker: locker})
	b := newBrowser(t, app.url)
	wantStatus(t, "first visit", b.get("/session-example"), http.StatusOK)

	locker.loseAfter(0)
	a := b.get("/session-example")
	locker.loseAfter(-1)
	wantStatus(t, "visit that lost its lock", a, http.StatusServiceUnavailable)
	for _, want := range []string{
		`<dd data-fact="save">not saved: the save failed, and this error page was sent instead</dd>`,
		`<dd data-fact="set-cookie">none:`,
		`<code>viewCount</code></td><td class="change">changed</td>`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the error page does not contain %s:\n%s", want, a.body)
		}
	}
}

func TestPanelOfAnUndecodableSession(t *testing.T) {
	app := newTestApp(t, appOptions{})
	b := newBrowser(t, app.url)
	wantStatus(t, "first visit", b.get("/session-example"), http.StatusOK)
	if _, err := app.db.Write.Exec("UPDATE sessions SET data = x'a70199' WHERE token = ?", session.HashToken(b.cookie())); err != nil {
		t.Fatal(err)
	}
	a := b.get("/session-example")
	wantStatus(t, "visit with the undecodable session", a, http.StatusOK)
	for _, want := range []string{
		`<dd data-fact="session">replaced: the stored session could not be decoded`,
		`<code>viewCount</code></td><td class="change">added</td>`,
		`<dd data-fact="set-cookie">yes: a new token`,
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the page does not contain %s:\n%s", want, a.body)
		}
	}
}
