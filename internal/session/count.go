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
// interval (longer if counting is slow: see countPause), instead of on each
// request: counting costs more the more sessions there are (count(*) reads
// an index of every row, Redis scans every key), and no page may. Active
// returns the last count at once, 0 until the first one is done; a failed
// count is logged and the previous one kept. Row goes to the store.
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

// Active returns the number of active sessions as of the last count.
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
	for {
		start := time.Now()
		pause := interval // after a failed count, try again as usual
		if n, err := c.Stats.Active(ctx); err == nil {
			c.count.Store(int64(n))
			pause = countPause(interval, time.Since(start))
		} else if ctx.Err() == nil {
			c.logger.Warn("count active sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
	}
}

// maxCountShare is the largest share of one core that counting may take,
// and maxCountPause the longest wait between two counts, so that the
// inspector's figure is never older than that, even when a count was slow
// for another reason than the size of the table (a busy database).
const (
	maxCountShare = 0.01
	maxCountPause = 10 * time.Minute
)

// countPause is how long to wait after a count that took took: interval,
// or longer when the counts are slow, so that counting never takes more
// than maxCountShare of a core, however many sessions there are (up to
// maxCountPause). Only a count that worked sets it. On SQLite,
// count(*) over a million live sessions took about 50 ms here: 1 % of a
// core at one count every 5 s. Ten million would take ten times as long,
// and are counted ten times less often.
func countPause(interval, took time.Duration) time.Duration {
	return min(maxCountPause, max(interval, time.Duration(float64(took)/maxCountShare)-took))
}
