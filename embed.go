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

// SQLiteMigrations returns the goose SQL migrations of the SQLite
// database, under migrations/sqlite/.
func SQLiteMigrations() fs.FS { return sub("migrations/sqlite") }

// PostgresMigrations returns the goose SQL migrations of the PostgreSQL
// database, under migrations/postgres/.
func PostgresMigrations() fs.FS { return sub("migrations/postgres") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // cannot happen: dir is embedded above
	}
	return f
}
