package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

// staticFiles serves the embedded static/ folder. Templates link to each
// file with a version taken from a hash of its content ("/static/style.css?v=1a2b3c4d5e6f"),
// so a browser may cache it for a year: a changed file gets a new address.
type staticFiles struct {
	fsys     fs.FS
	versions map[string]string // file name → content hash
}

func newStaticFiles(fsys fs.FS) (*staticFiles, error) {
	sf := &staticFiles{fsys: fsys, versions: make(map[string]string)}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		sf.versions[name] = hex.EncodeToString(sum[:6])
		return nil
	})
	return sf, err
}

// url is the template function "static": the versioned address of a file.
// Naming a file that does not exist stops template execution, so a typo is
// caught by the first test that renders the page.
func (sf *staticFiles) url(name string) (string, error) {
	v, ok := sf.versions[name]
	if !ok {
		return "", fs.ErrNotExist
	}
	return "/static/" + name + "?v=" + v, nil
}

// handler serves the files to GET and HEAD, and answers any other method
// with notAllowed and an Allow header: http.FileServer itself would send
// the file to a PUT or a DELETE as if it were a GET. (chi's r.Get would
// refuse them too, but the app's own 405 page would then go without Allow.)
func (sf *staticFiles) handler(notAllowed http.HandlerFunc) http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(sf.fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			notAllowed(w, r)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		v, ok := sf.versions[name]
		if !ok { // also refuses folder listings
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == v {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
