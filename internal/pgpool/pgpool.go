// Package pgpool holds what the PostgreSQL data layer and the PostgreSQL
// session store both need of their connection pools: noticing that the
// server has restarted, so that the connections it ended are not handed to
// requests, and telling a dead connection from a failed statement.
package pgpool

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// suspectFor is how long, after a connection of the pool was found dead,
// every connection is pinged before use.
const suspectFor = 5 * time.Second

// WatchRestarts makes the pools built from cfg, and from copies of it, ping
// each connection before handing it out for suspectFor after any of their
// connections was found closed.
//
// pgxpool pings only a connection that has been idle for over a second. A
// server that restarts faster than that (or a proxy that drops every
// connection at once) leaves the pool full of connections that look idle
// and alive but were ended: each would fail one request. One dead
// connection says that the others are likely dead too; pinging each once
// costs a round trip, and only then.
func WatchRestarts(cfg *pgxpool.Config) {
	w := &watch{}
	cfg.ConnConfig.Tracer = w
	cfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || time.Since(time.Unix(0, w.deadAt.Load())) < suspectFor
	}
}

// watch is a pgx tracer that records when a statement ended with its
// connection closed.
type watch struct{ deadAt atomic.Int64 } // Unix nanoseconds

func (w *watch) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (w *watch) TraceQueryEnd(_ context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	if data.Err != nil && conn.IsClosed() {
		w.deadAt.Store(time.Now().UnixNano())
	}
}

// ConnLost reports whether err says that the statement met a connection the
// server had ended (SQLSTATE class 57P: shut down, crashed, restarting) or
// failed before anything was sent. Either way nothing ran, and the
// connection holds no lock: a read, or taking a lock, can be tried again on
// another connection.
func ConnLost(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "57P")
	}
	return pgconn.SafeToRetry(err)
}
