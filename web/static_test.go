package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"

	gosessions "example.com/gosessions"
)

// Static files are read-only: GET and HEAD serve them, any other method
// gets the app's 405 page with an Allow header, and never the file.
func TestStaticFilesAnswerOnlyGETAndHEAD(t *testing.T) {
	app := newTestApp(t, appOptions{})
	css, err := fs.ReadFile(gosessions.Static(), "style.css")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		method     string
		wantStatus int
		wantBody   string // a part of the body; "" for none
	}{
		{http.MethodGet, http.StatusOK, string(css)},
		{http.MethodHead, http.StatusOK, ""},
		{http.MethodPost, http.StatusMethodNotAllowed, "This address does not accept POST requests."},
		{http.MethodPut, http.StatusMethodNotAllowed, "This address does not accept PUT requests."},
		{http.MethodPatch, http.StatusMethodNotAllowed, "This address does not accept PATCH requests."},
		{http.MethodDelete, http.StatusMethodNotAllowed, "This address does not accept DELETE requests."},
		{http.MethodTrace, http.StatusMethodNotAllowed, "This address does not accept TRACE requests."},
		{http.MethodOptions, http.StatusMethodNotAllowed, "This address does not accept OPTIONS requests."},
	}
	for _, tt := range tests {
		t.Run(tt.method+" answers "+http.StatusText(tt.wantStatus), func(t *testing.T) {
			req, err := http.NewRequest(tt.method, app.url+"/static/style.css", strings.NewReader("body { color: red }"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)

			if resp.StatusCode != tt.wantStatus {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(body, tt.wantBody) {
				t.Errorf("got body %.200q, want it to contain %.200q", body, tt.wantBody)
			}
			if tt.wantStatus == http.StatusMethodNotAllowed {
				if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
					t.Errorf("got Allow %q, want %q", got, "GET, HEAD")
				}
				if strings.Contains(body, string(css)) {
					t.Errorf("got the file's content, want only the error page")
				}
			}
			if tt.method == http.MethodHead && body != "" {
				t.Errorf("got a body of %d bytes to HEAD, want none", len(body))
			}
		})
	}
}
