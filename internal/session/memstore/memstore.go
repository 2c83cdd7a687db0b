// Package memstore keeps sessions in the memory of the process, for
// comparison with the stores that persist them.
package memstore

import (
	"example.com/gosessions/internal/session"

	"context"
	"sync"
	"time"
)

// Memory keeps sessions in the server's memory: the fastest store, and one
// that forgets every session when the server stops.
//
// It does what scs's memstore does: a map behind a lock, Find and All
// ignoring the expired entries, and a goroutine that deletes them every
// cleanupInterval. It is not memstore because of that goroutine: in scs
// v2.9.0, memstore's cleanup goroutine sets the channel that StopCleanup
// reads, a data race, and a second StopCleanup blocks forever (fixed
// upstream after v2.9.0). Nor can memstore's cleanup be turned off and run
// from outside, since memstore cannot be asked for its expired entries.
// Here Close stops the cleanup, and closing twice is harmless.
type Store struct {
	mu    sync.RWMutex
	items map[string]memoryItem

	stopOnce sync.Once
	stop     chan struct{} // closed by Close
	done     chan struct{} // closed when cleanupLoop has returned
}

type memoryItem struct {
	data   []byte
	expiry time.Time
}

// NewMemory returns an empty memory store that deletes expired sessions
// every cleanupInterval; an interval of 0 turns the cleanup off.
func New(cleanupInterval time.Duration) *Store {
	m := &Store{
		items: make(map[string]memoryItem),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	if cleanupInterval > 0 {
		go m.cleanupLoop(cleanupInterval)
	} else {
		close(m.done)
	}
	return m
}

// Find returns the data of an unexpired session.
func (m *Store) Find(token string) ([]byte, bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	it, found := m.items[token]
	if !found || !time.Now().Before(it.expiry) {
		return nil, false, nil
	}
	return it.data, true, nil
}

// Commit stores a session's data and expiry, replacing what was there.
func (m *Store) Commit(token string, b []byte, expiry time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[token] = memoryItem{data: b, expiry: expiry}
	return nil
}

// Delete removes a session.
func (m *Store) Delete(token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, token)
	return nil
}

// All returns every unexpired session by its key in the store, for
// scs.SessionManager.Iterate. With HashTokenInStore on, a key is the hash
// of the session's token (see SQLite.All).
func (m *Store) All() (map[string][]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := time.Now()
	sessions := make(map[string][]byte)
	for token, it := range m.items {
		if now.Before(it.expiry) {
			sessions[token] = it.data
		}
	}
	return sessions, nil
}

// Close stops the cleanup goroutine. Closing twice is harmless.
func (m *Store) Close() error {
	m.stopOnce.Do(func() { close(m.stop) })
	<-m.done
	return nil
}

func (m *Store) cleanupLoop(interval time.Duration) {
	defer close(m.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-ticker.C:
			m.deleteExpired()
		}
	}
}

func (m *Store) deleteExpired() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	for token, it := range m.items {
		if !now.Before(it.expiry) {
			delete(m.items, token)
		}
	}
}

// Row returns the size and expiry of the stored entry of the session whose
// cookie holds token, expired or not, as the SQLite store's Row does.
func (m *Store) Row(_ context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	it, found := m.items[session.HashToken(token)]
	return len(it.data), it.expiry.UTC(), found, nil
}

// Active counts the sessions that have not expired.
func (m *Store) Active(context.Context) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	now := time.Now()
	n := 0
	for _, it := range m.items {
		if now.Before(it.expiry) {
			n++
		}
	}
	return n, nil
}
