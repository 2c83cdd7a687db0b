// Package lock lets one request at a time run for each session.
//
// Both express-session and scs load a session when a request starts and
// save it when the request ends. Two requests of one visitor at once (a
// double click, two tabs) would both load the same cart, change it, and the
// second save would overwrite the first. Holding a lock per session for
// the whole request, as PHP's sessions do, makes the second request load
// what the first one saved.
//
// Local keeps the locks in this process's memory; a store shared by several
// processes brings a Locker of its own (see the redis package).
package lock

import (
	"context"
	"errors"
	"sync"
)

// Locker hands out the lock of each session token.
type Locker interface {
	// Lock waits until the lock of token is free, or ctx is done, and
	// returns the request's hold on it.
	Lock(ctx context.Context, token string) (Lease, error)
}

// Lease is one request's hold on the lock of a session.
type Lease interface {
	// Retired reports whether a request that held this lock before renewed
	// or destroyed the token (sign-in, sign-out). The request holding the
	// lease then carries a token its browser no longer holds: it must not
	// start a session of its own, but let the browser retry with the
	// cookie it was given meanwhile.
	Retired(ctx context.Context) (bool, error)
	// Check returns nil while the lease still holds the lock, and an error
	// wrapping ErrLost once it does not (a lock in a shared store that
	// expired under the request). A session must not be saved without it.
	Check(ctx context.Context) error
	// Release gives the lock up. retired says that this request renewed or
	// destroyed the token, for the requests still waiting with it.
	Release(retired bool)
}

// ErrLost is wrapped by Lease.Check when the lock is no longer held.
var ErrLost = errors.New("session lock lost")

// ErrBusy is wrapped by Locker.Lock when the locker could not even start
// to wait for the session's lock in time: every connection that holds
// locks is in use (the PostgreSQL locker). The session's own lock may be
// free; the server is at capacity.
var ErrBusy = errors.New("session lock: every lock connection is in use")

// Local hands out one lock per key, in this process's memory. A lock
// exists only while some request holds or waits for it, so the map stays as
// small as the number of sessions with a request in flight. Locks of
// different keys never wait for each other.
type Local struct {
	mu    sync.Mutex
	locks map[string]*lock
}

type lock struct {
	ch      chan struct{} // holds one value while the lock is taken
	refs    int           // requests holding or waiting for it
	retired bool          // a holder renewed or destroyed the token; guarded by Local.mu
}

// NewLocal returns an empty set of locks.
func NewLocal() *Local {
	return &Local{locks: make(map[string]*lock)}
}

// Lock waits until the lock of key is free, takes it, and returns the
// lease that releases it. If ctx is done first, it gives up and returns
// ctx's error.
func (l *Local) Lock(ctx context.Context, key string) (Lease, error) {
	lease, err := l.LockLocal(ctx, key)
	if err != nil {
		return nil, err
	}
	return lease, nil
}

// LockLocal is Lock with the concrete lease, for lockers that build on
// Local (the Redis locker queues a process's requests here first).
func (l *Local) LockLocal(ctx context.Context, key string) (*LocalLease, error) {
	l.mu.Lock()
	lk, ok := l.locks[key]
	if !ok {
		lk = &lock{ch: make(chan struct{}, 1)}
		l.locks[key] = lk
	}
	lk.refs++
	waited := lk.refs > 1 // another request holds the lock or waits for it
	l.mu.Unlock()

	select {
	case lk.ch <- struct{}{}:
		return &LocalLease{l: l, key: key, lk: lk, waited: waited}, nil
	case <-ctx.Done():
		l.release(key, lk)
		return nil, ctx.Err()
	}
}

// release drops one reference to lk, and its map entry with the last.
func (l *Local) release(key string, lk *lock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lk.refs--
	if lk.refs == 0 {
		delete(l.locks, key)
	}
}

// LocalLease is a hold on a Local lock.
type LocalLease struct {
	l        *Local
	key      string
	lk       *lock
	waited   bool // the lock was taken when this request asked for it
	released bool
}

// Waited reports whether the lock was taken when this request asked for it,
// so that it had to wait its turn.
func (le *LocalLease) Waited() bool { return le.waited }

// Retired reports whether an earlier holder of this lock, while this
// request waited for it, renewed or destroyed the token.
func (le *LocalLease) Retired(context.Context) (bool, error) {
	le.l.mu.Lock()
	defer le.l.mu.Unlock()
	return le.lk.retired, nil
}

// Check always succeeds: a lock in memory cannot be lost while its
// process runs.
func (le *LocalLease) Check(context.Context) error { return nil }

// Release frees the lock. Releasing twice is harmless.
func (le *LocalLease) Release(retired bool) {
	if le.released {
		return
	}
	le.released = true
	if retired {
		// Before the lock is free: the next holder may ask at once.
		le.l.mu.Lock()
		le.lk.retired = true
		le.l.mu.Unlock()
	}
	<-le.lk.ch
	le.l.release(le.key, le.lk)
}

type contextKey struct{}

// NewContext returns ctx carrying lease, so that the code that saves the
// session (a store's commit, the web layer's commit) can check that the
// request still holds its lock.
func NewContext(ctx context.Context, lease Lease) context.Context {
	return context.WithValue(ctx, contextKey{}, lease)
}

// FromContext returns the lease ctx carries, if any.
func FromContext(ctx context.Context) (Lease, bool) {
	lease, ok := ctx.Value(contextKey{}).(Lease)
	return lease, ok
}
