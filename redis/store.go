// Package redis keeps sessions in Redis, so that several server processes
// can share them: a session store for scs, built on scs's goredisstore, and a
// per-session lock that holds across every process using the same Redis.
//
// The catalog and the orders stay in each process's SQLite database; only
// the sessions move.
package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	goredis "github.com/redis/go-redis/v9"

	"example.com/gosessions/sessionlock"
	"example.com/gosessions/sessionstore"
)

// sessionPrefix is the key prefix goredisstore.New uses: a session whose
// hashed token is h is stored under sessionPrefix+h.
const sessionPrefix = "scs:session:"

// pingTimeout bounds the check at start-up that Redis answers.
const pingTimeout = 3 * time.Second

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
// stops the program at start-up rather than at the first request.
func Open(ctx context.Context, url string) (*Store, error) {
	opts, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	client := goredis.NewClient(opts)
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", opts.Addr, err)
	}
	return NewStore(client), nil
}

// NewStore returns the store on client, with the default lock settings.
// Closing the store closes the client.
func NewStore(client *goredis.Client) *Store {
	return &Store{
		RedisStore: goredisstore.NewWithPrefix(client, sessionPrefix),
		client:     client,
		locker:     NewLocker(client, DefaultLockTTL, DefaultLockWait),
	}
}

// CommitCtx writes a session's data with expiry as its time to live.
// A session whose expiry has come already is deleted instead: SET with a
// negative time to live would keep it for ever.
func (s *Store) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if time.Until(expiry) < time.Millisecond {
		return s.DeleteCtx(ctx, token)
	}
	return s.RedisStore.CommitCtx(ctx, token, b, expiry)
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
func (s *Store) Lock(ctx context.Context, token string) (sessionlock.Lease, error) {
	return s.locker.Lock(ctx, token)
}

// Check reports whether Redis answers, for the health check.
func (s *Store) Check(ctx context.Context) error {
	return s.client.Ping(ctx).Err()
}

// Close closes the connections to Redis.
func (s *Store) Close() error {
	return s.client.Close()
}

// Row returns the size and expiry of the stored value of the session whose
// cookie holds token.
func (s *Store) Row(ctx context.Context, token string) (size int, expiry time.Time, found bool, err error) {
	key := sessionPrefix + sessionstore.HashToken(token)
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

// Active counts the sessions, walking every key with SCAN. Redis has no
// index to count keys by prefix, so this reads the whole keyspace in steps:
// fine for a demo's inspector, too slow for millions of sessions (keep a
// counter, or leave the number out, there).
func (s *Store) Active(ctx context.Context) (int, error) {
	// SCAN may return a key more than once; count each once.
	seen := make(map[string]struct{})
	iter := s.client.Scan(ctx, 0, sessionPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		seen[iter.Val()] = struct{}{}
	}
	return len(seen), iter.Err()
}
