package sessionstore

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
)

// Memory keeps sessions in the server's memory with scs's memstore: the
// fastest store, and one that forgets every session when the server stops.
type Memory struct {
	*memstore.MemStore
}

// NewMemory returns an empty memory store that drops expired sessions every
// cleanupInterval.
func NewMemory(cleanupInterval time.Duration) *Memory {
	return &Memory{memstore.NewWithCleanupInterval(cleanupInterval)}
}

// Close stops the cleanup goroutine.
func (m *Memory) Close() error {
	m.StopCleanup()
	return nil
}

// Row returns the size of the session's data. memstore does not tell a
// session's expiry, so it is left zero.
func (m *Memory) Row(_ context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	b, found, err := m.Find(HashToken(token))
	return len(b), time.Time{}, found, err
}

// Active counts the sessions that have not expired.
func (m *Memory) Active(context.Context) (int, error) {
	all, err := m.All()
	return len(all), err
}
