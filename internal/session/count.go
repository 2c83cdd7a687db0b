package session

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Stats is what the session inspector reads from a store (web.SessionStats).
type Stats interface {
	// Row returns the size and expiry of the stored row of the session
	// with this cookie token, and whether it exists.
	Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error)
	// Active counts the sessions that have not expired.
	Active(ctx context.Context) (int, error)
}

// CountedStats serves a store's Stats with a count of the active sessions
// that is taken in the background, once at the start and then every
// interval, instead of on each request: counting costs more the more
// sessions there are (count(*) reads an index of every row, Redis scans
// every key), and no page may. Active returns the last count at once, 0
// until the first one is done; a failed count is logged and the previous
// one kept. Row goes to the store.
type CountedStats struct {
	Stats
	logger *slog.Logger
	count  atomic.Int64

	stop     context.CancelFunc // ends the count in progress and the loop
	stopOnce sync.Once
	done     chan struct{} // closed when countLoop has returned
}

// NewCountedStats starts counting stats's active sessions every interval.
// Close stops it.
func NewCountedStats(stats Stats, interval time.Duration, logger *slog.Logger) *CountedStats {
	ctx, stop := context.WithCancel(context.Background())
	c := &CountedStats{Stats: stats, logger: logger, stop: stop, done: make(chan struct{})}
	go c.countLoop(ctx, interval)
	return c
}

// Active returns the number of active sessions as of the last count, at
// most an interval ago.
func (c *CountedStats) Active(context.Context) (int, error) {
	return int(c.count.Load()), nil
}

// Close stops the counting, and waits for a count in progress to give up.
// Closing twice is harmless.
func (c *CountedStats) Close() error {
	c.stopOnce.Do(c.stop)
	<-c.done
	return nil
}

func (c *CountedStats) countLoop(ctx context.Context, interval time.Duration) {
	defer close(c.done)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if n, err := c.Stats.Active(ctx); err == nil {
			c.count.Store(int64(n))
		} else if ctx.Err() == nil {
			c.logger.Warn("count active sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
