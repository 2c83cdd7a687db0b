package redis

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/sessionlock"
	"example.com/gosessions/sessionstore"
)

// Lock settings used by NewStore.
const (
	// DefaultLockTTL is how long a lock outlives a process that died while
	// holding it. It must also be longer than any request takes: a lock
	// that expires under a running request lets the next one in early.
	DefaultLockTTL = 10 * time.Second
	// DefaultLockWait is how long Lock waits for a busy session before it
	// gives up, so that a stuck session costs a visitor an error page rather
	// than a request that hangs.
	DefaultLockWait = 5 * time.Second
)

// lockPrefix is the key prefix of the locks: the lock of the session whose
// hashed token is h is the key lockPrefix+h. Only hashed tokens ever reach
// Redis, so a look at its keys hands out no live session.
const lockPrefix = "session-lock:"

// Polling for a busy lock starts after minBackoff and doubles up to
// maxBackoff, so a short wait costs little time and a long one few calls.
const (
	minBackoff = 2 * time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// unlockTimeout bounds the call that releases a lock. If it fails, the lock
// still ends when its time to live runs out.
const unlockTimeout = 2 * time.Second

// releaseScript deletes the lock only if it still holds this owner's value:
// a request whose lock has expired must not release the lock another
// request has taken since. GET and DEL run as one step inside Redis.
var releaseScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Locker lets one request at a time run for each session, across every
// process that uses the same Redis. A lock is a key set with SET NX PX: the
// request that creates it holds the lock, and its time to live frees the
// lock of a process that died while holding it.
//
// Requests of one process queue in memory first, so that at most one of
// them per session polls Redis, however many are waiting.
type Locker struct {
	client *goredis.Client
	ttl    time.Duration
	wait   time.Duration
	local  *sessionlock.Local
}

// NewLocker returns a locker on client whose locks expire after ttl, and
// whose Lock gives up after waiting for wait.
func NewLocker(client *goredis.Client, ttl, wait time.Duration) *Locker {
	return &Locker{
		client: client,
		ttl:    ttl,
		wait:   wait,
		local:  sessionlock.NewLocal(),
	}
}

// Lock waits until the lock of the session with this cookie token is free,
// takes it, and returns the function that releases it. It gives up when ctx
// is done or after the locker's wait, with an error that wraps
// context.DeadlineExceeded or context.Canceled; any other error is Redis's.
func (l *Locker) Lock(ctx context.Context, token string) (sessionlock.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, l.wait)
	defer cancel()

	key := lockPrefix + sessionstore.HashToken(token)
	local, err := l.local.LockLocal(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("session lock: %w", err)
	}
	owner := rand.Text() // tells this holder's lock from a later holder's
	for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
		ok, err := l.client.SetNX(ctx, key, owner, l.ttl).Result()
		if err != nil {
			local.Release(false)
			return nil, fmt.Errorf("session lock: %w", err)
		}
		if ok {
			return &lease{locker: l, key: key, owner: owner, local: local}, nil
		}
		select {
		case <-ctx.Done():
			local.Release(false)
			return nil, fmt.Errorf("session lock: %w", ctx.Err())
		case <-time.After(jitter(backoff)):
		}
	}
}

// lease is one request's hold on a session's lock in Redis, and on the
// in-process lock that queued it.
type lease struct {
	locker *Locker
	key    string
	owner  string
	local  *sessionlock.LocalLease
}

func (le *lease) Retired(ctx context.Context) (bool, error) { return le.local.Retired(ctx) }

func (le *lease) Check(context.Context) error { return nil }

func (le *lease) Release(retired bool) {
	le.locker.release(le.key, le.owner)
	le.local.Release(retired)
}

// release deletes the lock if owner still holds it. It runs after the
// request is done, so it uses a context of its own.
func (l *Locker) release(key, owner string) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	// An error leaves the lock to expire: nothing better can be done here.
	_ = releaseScript.Run(ctx, l.client, []string{key}, owner).Err()
}

// jitter returns a random duration between d/2 and d, so that processes
// waiting for the same lock do not poll in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + mrand.N(d/2+1)
}
