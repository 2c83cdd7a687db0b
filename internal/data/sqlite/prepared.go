package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// preparedReads runs the read pool's queries through prepared statements,
// one per query text, made the first time the query runs and kept until
// Close.
//
// modernc.org/sqlite compiles a query's SQL again each time it is run
// directly on a pool; a *sql.Stmt is compiled once on each connection
// (database/sql prepares it again on a connection the first time it runs
// there). Under load, compiling the catalog's one-row SELECT was about a
// tenth of the CPU of a /session-example page. The queries are fixed texts
// with ? parameters, so the map stays as small as the code that fills it.
type preparedReads struct {
	pool  *sql.DB
	stmts sync.Map // query text -> *sql.Stmt
}

func (p *preparedReads) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := p.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := p.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := p.stmts.LoadOrStore(query, st); loaded {
		st.Close() // another request prepared it first
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// QueryContext is the pool's QueryContext, on a prepared statement.
func (p *preparedReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext is the pool's QueryRowContext, on a prepared statement.
// A *sql.Row cannot be made with an error in it, so if preparing failed the
// query runs unprepared, and Scan reports the same error.
func (p *preparedReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := p.stmt(ctx, query)
	if err != nil {
		return p.pool.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// Close closes every statement prepared so far.
func (p *preparedReads) Close() error {
	var errs []error
	p.stmts.Range(func(query, st any) bool {
		errs = append(errs, st.(*sql.Stmt).Close())
		p.stmts.Delete(query)
		return true
	})
	return errors.Join(errs...)
}
