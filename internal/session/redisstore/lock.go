package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// Lock settings. Every Store waits up to DefaultLockWait for a lock;
// DefaultLockTTL is the time to live to give Open unless there is a reason
// for another.
const (
	// DefaultLockTTL is how long a lock outlives a process that died while
	// holding it. A live holder extends its lock every third of this (see
	// lease.refresh), so a slow request keeps its lock however long it runs.
	DefaultLockTTL = 10 * time.Second
	// DefaultLockWait is how long Lock waits for a busy session before it
	// gives up, so that a stuck session costs a visitor an error page rather
	// than a request that hangs.
	DefaultLockWait = 5 * time.Second
)

// Key prefixes of the locks and of the retired markers: the lock of the
// session whose hashed token is h is lockPrefix+h. Only hashed tokens ever
// reach Redis, so a look at its keys hands out no live session.
const (
	lockPrefix    = "session-lock:"
	retiredPrefix = "session-retired:"
)

// retiredMargin is how much longer than the lock wait a retired marker
// lives: time for a waiter that got the lock at the end of its wait to load
// the session and ask Retired.
const retiredMargin = 5 * time.Second

// Polling for a busy lock starts after minBackoff and doubles up to
// maxBackoff, so a short wait costs little time and a long one few calls.
const (
	minBackoff = 2 * time.Millisecond
	maxBackoff = 50 * time.Millisecond
)

// unlockTimeout bounds the call that releases a lock. If it fails, the lock
// still ends when its time to live runs out.
const unlockTimeout = 2 * time.Second

// refreshScript gives the lock a full time to live again, only if it still
// holds this owner's value: a lock that expired and was taken by another
// request stays theirs. It returns 1 if the lock is still this owner's.
var refreshScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("PEXPIRE", KEYS[1], ARGV[2])
end
return 0`)

// releaseScript deletes the lock only if it still holds this owner's value:
// a request whose lock has expired must not release the lock another
// request has taken since. With a time to live in ARGV[2], it first sets the
// retired marker KEYS[2], so that a request that gets the lock next, in any
// process, learns that the token was renewed or destroyed (which is so
// whether or not the lock was still this owner's). It all runs as one step
// inside Redis.
var releaseScript = goredis.NewScript(`
if tonumber(ARGV[2]) > 0 then
	redis.call("SET", KEYS[2], "1", "PX", ARGV[2])
end
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0`)

// Locker lets one request at a time run for each session, across every
// process that uses the same Redis. A lock is a key set with SET NX PX: the
// request that creates it holds the lock, and its time to live frees the
// lock of a process that died while holding it. While the request runs, its
// lease extends the key, so a live request never loses its lock to expiry.
//
// Requests of one process queue in memory first, so that at most one of
// them per session polls Redis, however many are waiting.
type Locker struct {
	client *goredis.Client
	ttl    time.Duration
	wait   time.Duration
	local  *lock.Local
}

// NewLocker returns a locker on client whose locks expire ttl after their
// holder last extended them, and whose Lock gives up after waiting for
// wait. The client should have ContextTimeoutEnabled, as Open's has, so
// that a call to a Redis that hangs ends at its context's deadline.
func NewLocker(client *goredis.Client, ttl, wait time.Duration) *Locker {
	return &Locker{
		client: client,
		ttl:    ttl,
		wait:   wait,
		local:  lock.NewLocal(),
	}
}

// Lock waits until the lock of the session with this cookie token is free,
// takes it, and returns the request's lease, which keeps the lock until
// Release. It gives up when ctx is done or after the locker's wait, with an
// error that wraps context.DeadlineExceeded or context.Canceled; any other
// error is Redis's.
func (l *Locker) Lock(ctx context.Context, token string) (lock.Lease, error) {
	ctx, cancel := context.WithTimeout(ctx, l.wait)
	defer cancel()

	hash := session.HashToken(token)
	key := lockPrefix + hash
	local, err := l.local.LockLocal(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("session lock: %w", err)
	}
	owner := rand.Text() // tells this holder's lock from a later holder's
	waited := local.Waited()
	for backoff := minBackoff; ; backoff = min(2*backoff, maxBackoff) {
		sent := time.Now()
		ok, err := l.client.SetNX(ctx, key, owner, l.ttl).Result()
		if err != nil {
			local.Release(false)
			return nil, fmt.Errorf("session lock: %w", err)
		}
		if ok {
			le := l.newLease(hash, owner, local, sent.Add(l.ttl))
			le.waited = waited
			return le, nil
		}
		waited = true
		select {
		case <-ctx.Done():
			local.Release(false)
			return nil, fmt.Errorf("session lock: %w", ctx.Err())
		case <-time.After(jitter(backoff)):
		}
	}
}

// lease is one request's hold on a session's lock in Redis, and on the
// in-process lock that queued it. A goroutine extends the lock until
// Release.
type lease struct {
	locker *Locker
	hash   string // the token's hash, which names the lock and the marker
	owner  string
	local  *lock.LocalLease
	waited bool // the lock was taken, here or in another process, when it was asked for

	stop    context.CancelFunc // ends the refresh
	stopped chan struct{}      // closed when the refresh has ended
	once    sync.Once          // Release runs once

	mu        sync.Mutex
	heldUntil time.Time // the lock is ours at least until then, unless lost
	lost      bool      // Redis said the lock is no longer ours
}

func (l *Locker) newLease(hash, owner string, local *lock.LocalLease, heldUntil time.Time) *lease {
	ctx, stop := context.WithCancel(context.Background())
	le := &lease{
		locker:    l,
		hash:      hash,
		owner:     owner,
		local:     local,
		stop:      stop,
		stopped:   make(chan struct{}),
		heldUntil: heldUntil,
	}
	go le.refresh(ctx)
	return le
}

// refresh extends the lock every third of its time to live, so that two
// refreshes in a row can fail before it expires. It ends when ctx is done
// (Release) or once the lock is lost, since a lost lock cannot come back.
func (le *lease) refresh(ctx context.Context) {
	defer close(le.stopped)
	every := le.locker.ttl / 3
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		callCtx, cancel := context.WithTimeout(ctx, every)
		err := le.extend(callCtx)
		cancel()
		if errors.Is(err, lock.ErrLost) {
			return
		}
		// Any other error (Redis did not answer) is tried again at the next
		// tick; if none gets through in time, heldUntil passes and the lock
		// counts as lost.
	}
}

// extend gives the lock a full time to live again if it is still ours, and
// returns what Check returns.
func (le *lease) extend(ctx context.Context) error {
	sent := time.Now() // Redis starts the new time to live later than this
	held, err := refreshScript.Run(ctx, le.locker.client,
		[]string{lockPrefix + le.hash}, le.owner, le.locker.ttl.Milliseconds()).Bool()

	le.mu.Lock()
	defer le.mu.Unlock()
	if err == nil {
		if held {
			le.heldUntil = sent.Add(le.locker.ttl)
		} else {
			le.lost = true // expired, or taken away, and maybe taken by another
		}
	}
	if !le.lost && time.Now().After(le.heldUntil) {
		le.lost = true // the key may have expired, and another taken it
	}
	switch {
	case le.lost:
		return fmt.Errorf("session lock: %w", lock.ErrLost)
	case err != nil:
		return fmt.Errorf("session lock: %w", err)
	}
	return nil
}

// Retired reports whether a request that held this lock before, in this
// process or another, renewed or destroyed the token while this one waited.
// Another process's holder leaves a marker in Redis, which lives for the
// lock wait and retiredMargin: long enough for every request that was
// waiting then.
func (le *lease) Retired(ctx context.Context) (bool, error) {
	if retired, _ := le.local.Retired(ctx); retired {
		return true, nil
	}
	// The marker outlives the requests that waited for it. One that came
	// later, when the lock was free, carries a token that its browser may
	// still hold (the answer with the new cookie lost): it gets a fresh
	// session, as with the in-process lock, rather than a redirect to the
	// same page until the marker expires.
	if !le.waited {
		return false, nil
	}
	n, err := le.locker.client.Exists(ctx, retiredPrefix+le.hash).Result()
	if err != nil {
		return false, fmt.Errorf("session lock: %w", err)
	}
	return n == 1, nil
}

// Check asks Redis whether the lock is still this lease's, and extends it
// while at it. It returns an error wrapping lock.ErrLost once the
// lock is not: taken away, or not extended in time while Redis did not
// answer. A lost lock stays lost. Check costs a round trip, so that a lock
// taken since the last refresh is seen; the store's commit checks again in
// the same step as its write (see Store.CommitCtx).
func (le *lease) Check(ctx context.Context) error {
	return le.extend(ctx)
}

// Release ends the refresh, then gives up the lock. Releasing twice is
// harmless.
func (le *lease) Release(retired bool) {
	le.once.Do(func() {
		le.stop()
		<-le.stopped // no refresh runs after Release returns
		le.locker.release(le.hash, le.owner, retired)
		le.local.Release(retired)
	})
}

// release deletes the lock if owner still holds it, and with retired sets
// the marker that tells the next holders so. It runs after the request is
// done, so it uses a context of its own.
func (l *Locker) release(hash, owner string, retired bool) {
	ctx, cancel := context.WithTimeout(context.Background(), unlockTimeout)
	defer cancel()
	var markerTTL int64 // 0: no marker
	if retired {
		markerTTL = (l.wait + retiredMargin).Milliseconds()
	}
	// An error leaves the lock to expire: nothing better can be done here.
	_ = releaseScript.Run(ctx, l.client,
		[]string{lockPrefix + hash, retiredPrefix + hash}, owner, markerTTL).Err()
}

// jitter returns a random duration between d/2 and d, so that processes
// waiting for the same lock do not poll in step.
func jitter(d time.Duration) time.Duration {
	return d/2 + mrand.N(d/2+1)
}
