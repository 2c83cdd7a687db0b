// Package gosessions holds the files that are compiled into the server binary:
// HTML templates, static assets and SQL migrations. go:embed cannot reach
// parent folders, so the embedding lives here at the module root and hands
// sub-filesystems to the packages that use them.
package gosessions

import (
	"embed"
	"io/fs"
)

//go:embed templates static migrations
var files embed.FS

// Templates returns the html/template sources under templates/.
func Templates() fs.FS { return sub("templates") }

// Static returns the files served under /static/.
func Static() fs.FS { return sub("static") }

// Migrations returns the goose SQL migrations under migrations/.
func Migrations() fs.FS { return sub("migrations") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // cannot happen: dir is embedded above
	}
	return f
}
