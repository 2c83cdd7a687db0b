// Package sessionlock lets one request at a time run for each session
// within one process.
//
// Both express-session and scs load a session when a request starts and
// save it when the request ends. Two requests of one visitor at once (a
// double click, two tabs) would both load the same cart, change it, and the
// second save would overwrite the first. Holding a lock per session for
// the whole request, as PHP's sessions do, makes the second request load
// what the first one saved.
package sessionlock

import (
	"context"
	"sync"
)

// Local hands out one lock per key, in this process's memory. A lock
// exists only while some request holds or waits for it, so the map stays as
// small as the number of sessions with a request in flight. Locks of
// different keys never wait for each other.
type Local struct {
	mu    sync.Mutex
	locks map[string]*lock
}

type lock struct {
	ch   chan struct{} // holds one value while the lock is taken
	refs int           // requests holding or waiting for it
}

// NewLocal returns an empty set of locks.
func NewLocal() *Local {
	return &Local{locks: make(map[string]*lock)}
}

// Lock waits until the lock of key is free, takes it, and returns the
// function that releases it. If ctx is done first, it gives up and returns
// ctx's error.
func (l *Local) Lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	lk, ok := l.locks[key]
	if !ok {
		lk = &lock{ch: make(chan struct{}, 1)}
		l.locks[key] = lk
	}
	lk.refs++
	l.mu.Unlock()

	release := func() {
		l.mu.Lock()
		lk.refs--
		if lk.refs == 0 {
			delete(l.locks, key)
		}
		l.mu.Unlock()
	}

	select {
	case lk.ch <- struct{}{}:
		return func() { <-lk.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
