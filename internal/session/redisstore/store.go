// Package redisstore keeps sessions in Redis, so that several server processes
// can share them: a session store for scs, built on scs's goredisstore, and a
// per-session lock that holds across every process using the same Redis.
//
// The catalog and the orders stay in each process's SQLite database; only
// the sessions move.
package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/internal/session"
	"example.com/gosessions/internal/session/lock"
)

// sessionPrefix is the key prefix goredisstore.New uses: a session whose
// hashed token is h is stored under sessionPrefix+h.
const sessionPrefix = "scs:session:"

// pingTimeout bounds the check at start-up that Redis answers.
const pingTimeout = 3 * time.Second

// The health check writes healthKey, which expires after healthTTL.
const (
	healthKey = "session-health"
	healthTTL = 10 * time.Second
)

// scanCount is how many keys Active asks SCAN to look at in each step.
const scanCount = 1000

// Store keeps sessions in Redis, each as one string key with a time to live,
// so Redis deletes expired sessions itself and no cleanup loop is needed.
// It also hands out the per-session lock (see Locker), because processes
// that share sessions must share their locks too.
type Store struct {
	*goredisstore.RedisStore
	client *goredis.Client
	locker *Locker
}

// Open connects to the Redis server at url (redis://[:password@]host:port/db)
// and checks that it answers, so that a wrong address or a stopped server
// stops the program at start-up rather than at the first request. A
// session's lock expires lockTTL after its holder last extended it
// (DefaultLockTTL suits most uses; see Locker).
func Open(ctx context.Context, url string, lockTTL time.Duration) (*Store, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	// Every call ends at its context's deadline (the health check's, the
	// lock wait's), not only at the client's read timeout, which is longer.
	opts.ContextTimeoutEnabled = true
	client := goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", opts.Addr, err)
	}
	return NewStore(client, lockTTL), nil
}

// NewStore returns the store on client, whose session locks expire lockTTL
// after their holder last extended them. Closing the store closes the
// client.
func NewStore(client *goredis.Client, lockTTL time.Duration) *Store {
	return &Store{
		RedisStore: goredisstore.NewWithPrefix(client, sessionPrefix),
		client:     client,
		locker:     NewLocker(client, lockTTL, DefaultLockWait),
	}
}

// CommitCtx writes a session's data with expiry as its time to live.
//
// goredisstore's CommitCtx is one SET of sessionPrefix+token with the time
// left until expiry as its time to live. Ours writes the same key with the
// same time to live, but only while the request still holds its session's
// lock: the check of the lock and the write run as one script inside Redis.
// Without that, a request that lost its lock (one whose lock was taken
// away, or expired while Redis did not answer) would overwrite what the
// request that took the lock since has saved. Such a commit writes nothing
// and fails with an error wrapping lock.ErrLost. A request without a
// lease in ctx (a new visitor has no lock yet) writes as goredisstore does.
// (A script reads and writes two keys, which on a Redis Cluster would have
// to share a hash slot; this store runs on one Redis.)
//
// A session whose expiry has come already is deleted instead: SET with a
// negative time to live would keep it for ever.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	ttl := time.Until(expiry)
	if ttl < time.Millisecond {
		return s.DeleteCtx(ctx, token)
	}
	le, ok := leaseFrom(ctx)
	if !ok {
		return s.RedisStore.CommitCtx(ctx, token, b, expiry)
	}
	return s.fenced(ctx, commitScript, le, token, b, ttl.Milliseconds())
}

// DeleteCtx removes a session. goredisstore's DeleteCtx is one DEL of
// sessionPrefix+token; ours, like CommitCtx, deletes only while the
// request's lease still holds its lock, so that a sign-out that lost its
// lock does not delete what another request has saved since.
func (s *Store) DeleteCtx(ctx context.Context, token string) error {
	le, ok := leaseFrom(ctx)
	if !ok {
		return s.RedisStore.DeleteCtx(ctx, token)
	}
	return s.fenced(ctx, deleteScript, le, token)
}

// commitScript writes the session KEYS[2] with the time to live ARGV[3] (in
// milliseconds), if the lock KEYS[1] still holds the owner ARGV[1]. It
// returns 1 if it wrote, 0 if the lock is not the owner's.
var commitScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
	return 0
end
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
return 1`)

// deleteScript deletes the session KEYS[2] if the lock KEYS[1] still holds
// the owner ARGV[1]. It returns 1 if it did, 0 if the lock is not the
// owner's.
var deleteScript = goredis.NewScript(`
if redis.call("GET", KEYS[1]) ~= ARGV[1] then
	return 0
end
redis.call("DEL", KEYS[2])
return 1`)

// leaseFrom returns the lease of this package that ctx carries, if any.
func leaseFrom(ctx context.Context) (*lease, bool) {
	l, ok := lock.FromContext(ctx)
	if !ok {
		return nil, false
	}
	le, ok := l.(*lease)
	return le, ok
}

// fenced runs script on le's lock and token's session, with le's owner and
// then args as its arguments. It fails with an error wrapping
// lock.ErrLost if the script found the lock no longer le's.
func (s *Store) fenced(ctx context.Context, script *goredis.Script, le *lease, token string, args ...any) error {
	keys := []string{lockPrefix + le.hash, sessionPrefix + token}
	done, err := script.Run(ctx, s.client, keys, append([]any{le.owner}, args...)...).Bool()
	if err != nil {
		return err
	}
	if !done {
		return fmt.Errorf("session store: %w", lock.ErrLost)
	}
	return nil
}

// scs calls the context variants (FindCtx, CommitCtx, DeleteCtx) when a
// store has them; goredisstore's plain methods only panic. These make Store
// a complete scs.Store for any other caller.

// Find returns the data of an unexpired session.
func (s *Store) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// Commit writes a session's data and expiry.
func (s *Store) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// Delete removes a session.
func (s *Store) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

// Lock takes the lock of the session with this cookie token, shared by every
// process on this Redis. See Locker.Lock.
func (s *Store) Lock(ctx context.Context, token string) (lock.Lease, error) {
	return s.locker.Lock(ctx, token)
}

// Check reports whether Redis would save a session now, for the health
// check. It writes a key rather than sending PING, because a Redis that
// refuses writes still answers PING: one out of memory under
// maxmemory-policy noeviction, one whose last background save failed (with
// stop-writes-on-bgsave-error), a read-only replica.
func (s *Store) Check(ctx context.Context) error {
	return s.client.Set(ctx, healthKey, "ok", healthTTL).Err()
}

// Close closes the connections to Redis.
func (s *Store) Close() error {
	return s.client.Close()
}

// Row returns the size and expiry of the stored value of the session whose
// cookie holds token.
func (s *Store) Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	key := sessionPrefix + session.HashToken(token)
	var strlen *goredis.IntCmd
	var pttl *goredis.DurationCmd
	// One round trip for both.
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		strlen = p.StrLen(ctx, key)
		pttl = p.PTTL(ctx, key)
		return nil
	})
	if err != nil {
		return 0, time.Time{}, false, err
	}
	switch ttl := pttl.Val(); ttl {
	case -2: // no such key
		return 0, time.Time{}, false, nil
	case -1: // no time to live, which CommitCtx never sets: leave the expiry zero
		return int(strlen.Val()), time.Time{}, true, nil
	default:
		return int(strlen.Val()), time.Now().Add(ttl).UTC(), true, nil
	}
}

// Active returns about how many sessions there are. Redis has no index to
// count keys by prefix, so this walks the whole keyspace with SCAN, a step
// of scanCount keys at a time, and counts the keys as they pass, keeping
// none: its memory stays flat however many sessions there are, but its time
// grows with them, so call it in the background rather than per request.
// The count is approximate: SCAN may return a key twice (when Redis resizes
// its table during the walk) and may miss keys added or removed meanwhile.
// It stops with ctx's error once ctx is done.
func (s *Store) Active(ctx context.Context) (int, error) {
	n := 0
	var cursor uint64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		keys, next, err := s.client.Scan(ctx, cursor, sessionPrefix+"*", scanCount).Result()
		if err != nil {
			return 0, err
		}
		n += len(keys)
		if next == 0 {
			return n, nil
		}
		cursor = next
	}
}
