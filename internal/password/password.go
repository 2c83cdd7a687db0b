// Package password hashes and verifies passwords with argon2id, the
// password hash RFC 9106 and OWASP recommend, and bounds how many hashes run
// at once.
//
// A hash is stored in the PHC string format, which carries its own
// parameters and salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// so a hash made with older parameters still verifies after they change,
// and NeedsRehash tells when to store a new one.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// ErrBusy is returned when a hash waited longer than Config.MaxWait for
// its turn: the server is hashing as fast as it can. It is not the
// visitor's fault; the web layer answers 503 with Retry-After.
var ErrBusy = errors.New("password: too many hashes in progress")

// ErrInvalidHash is returned by Verify for a stored hash that is not an
// argon2id PHC string this package can check.
var ErrInvalidHash = errors.New("password: invalid stored hash")

// Params are argon2id's cost parameters, and the lengths of the salt and
// of the hash.
type Params struct {
	Memory  uint32 // m, in KiB: each hash running at once holds this much
	Time    uint32 // t, passes over the memory
	Threads uint8  // p, lanes hashed in parallel
	SaltLen uint32 // bytes of random salt per hash
	KeyLen  uint32 // bytes of hash
}

// DefaultParams are one of OWASP's settings for argon2id: 19 MiB, two
// passes, one thread, with RFC 9106's 16-byte salt and 32-byte hash. OWASP
// lists others of equal strength (46 MiB and one pass, 12 MiB and three
// passes...). On a small server, memory is what runs out first: with one
// hash per core, 19 MiB each keeps the total small, and one thread per hash
// lets each core check a different sign-in. BenchmarkHash compares them.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func (p Params) validate() error {
	switch {
	case p.Time < 1:
		return errors.New("password: Time must be at least 1")
	case p.Threads < 1:
		return errors.New("password: Threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		return errors.New("password: Memory must be at least 8 KiB per thread")
	case p.SaltLen < 16:
		return errors.New("password: SaltLen must be at least 16 bytes")
	case p.KeyLen < 16:
		return errors.New("password: KeyLen must be at least 16 bytes")
	}
	return nil
}

// Config configures a Hasher.
type Config struct {
	// Params are used by Hash, and are what NeedsRehash compares with.
	Params Params

	// Concurrency is how many hashes may run at once; 0 means
	// DefaultConcurrency. Each holds Params.Memory while it runs and keeps
	// a core busy, so this bounds both the memory hashing takes and how
	// much CPU is left for the pages.
	Concurrency int

	// MaxWait is how long a call waits for its turn before it gives up
	// with ErrBusy; 0 means one second.
	MaxWait time.Duration

	// MaxMemory is the largest m, in KiB, that Verify accepts in a stored
	// hash; 0 means Params.Memory. The bound on memory holds only if no
	// stored hash asks for more, so a hash that does is refused rather
	// than run. Set it to the old value when lowering Params.Memory, until
	// every stored hash has been rehashed.
	MaxMemory uint32
}

// DefaultConcurrency is one hash per core but one, and at least one: a
// flood of sign-ins then always leaves a core to the pages. With a hash on
// every core, page requests waited behind hashes for the CPU, and under a
// flood of wrong passwords their p99 was several times longer
// (BenchmarkSignInAttack in e2e/attack_bench_test.go).
func DefaultConcurrency() int {
	return max(1, runtime.GOMAXPROCS(0)-1)
}

// Hasher hashes and verifies passwords, at most Concurrency at a time.
// It is safe for concurrent use.
type Hasher struct {
	params    Params
	maxMemory uint32
	maxWait   time.Duration
	slots     chan struct{} // one value per hash running
	dummy     string        // the hash DummyVerify checks against
}

// New returns a Hasher with cfg's settings. It hashes once, for
// DummyVerify, so it takes as long as one Hash.
func New(cfg Config) (*Hasher, error) {
	if err := cfg.Params.validate(); err != nil {
		return nil, err
	}
	if cfg.Concurrency < 0 || cfg.MaxWait < 0 {
		return nil, errors.New("password: Concurrency and MaxWait must not be negative")
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency()
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = time.Second
	}
	if cfg.MaxMemory < cfg.Params.Memory {
		cfg.MaxMemory = cfg.Params.Memory
	}
	h := &Hasher{
		params:    cfg.Params,
		maxMemory: cfg.MaxMemory,
		maxWait:   cfg.MaxWait,
		slots:     make(chan struct{}, cfg.Concurrency),
	}
	// The dummy hash has the parameters of a new account's, and a random
	// salt and key, which no password matches. Verifying against it costs
	// a hash as a real one does; making it costs none, so that a server
	// that never signs anyone in never holds argon2's memory.
	key := make([]byte, h.params.KeyLen)
	rand.Read(key) // never fails: see crypto/rand.Read
	h.dummy = h.params.format(h.params.newSalt(), key)
	return h, nil
}

// Hash returns the PHC string of a new argon2id hash of plaintext, with a
// new random salt. It waits for its turn as long as ctx allows and at most
// MaxWait; ctx cannot stop a hash that has started.
func (h *Hasher) Hash(ctx context.Context, plaintext string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.params.encode(h.params.newSalt(), []byte(plaintext)), nil
}

// Verify reports whether plaintext is the password encoded hashes, using
// the parameters stored in encoded. A wrong password is (false, nil); an
// error means the password could not be checked: ErrBusy or ctx's error
// (try again later), or ErrInvalidHash (the stored hash is damaged).
func (h *Hasher) Verify(ctx context.Context, plaintext, encoded string) (bool, error) {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return false, err
	}
	if p.Memory > h.maxMemory {
		return false, fmt.Errorf("%w: m=%d KiB is more than the %d KiB allowed", ErrInvalidHash, p.Memory, h.maxMemory)
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(plaintext), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	// Constant time: how long the comparison takes must not tell how many
	// leading bytes matched.
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// DummyVerify costs what Verify costs for an account with the current
// parameters, and always fails. Sign-in calls it when no account has the
// email given, so that the time of the answer does not tell whether the
// email has an account. Its error is Verify's: ErrBusy or ctx's.
func (h *Hasher) DummyVerify(ctx context.Context, plaintext string) error {
	_, err := h.Verify(ctx, plaintext, h.dummy)
	return err
}

// NeedsRehash reports whether encoded was made with other parameters than
// the Hasher's (or cannot be read): after a successful Verify, sign-in then
// stores a new Hash of the password it was given.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, _, err := decode(encoded)
	return err != nil || p != h.params
}

// acquire waits for a free slot, for at most maxWait.
func (h *Hasher) acquire(ctx context.Context) error {
	// select picks at random among ready cases: check ctx first so that a
	// request already cancelled never starts a hash.
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

func (p Params) newSalt() []byte {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt) // never fails: see crypto/rand.Read
	return salt
}

func (p Params) encode(salt, plaintext []byte) string {
	return p.format(salt, argon2.IDKey(plaintext, salt, p.Time, p.Memory, p.Threads, p.KeyLen))
}

// format writes a salt and a key in the PHC string format.
func (p Params) format(salt, key []byte) string {
	// The PHC format's base64 is the standard alphabet without padding.
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC string made by encode. It refuses anything else,
// including parameters argon2.IDKey would panic on.
func decode(encoded string) (p Params, salt, key []byte, err error) {
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return Params{}, nil, nil, ErrInvalidHash
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, fmt.Errorf("%w: version %q", ErrInvalidHash, fields[2])
	}
	m, t, threads, ok := parseCosts(fields[3])
	if !ok {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters %q", ErrInvalidHash, fields[3])
	}
	b64 := base64.RawStdEncoding.Strict()
	salt, err = b64.DecodeString(fields[4])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: salt: %v", ErrInvalidHash, err)
	}
	key, err = b64.DecodeString(fields[5])
	if err != nil {
		return Params{}, nil, nil, fmt.Errorf("%w: hash: %v", ErrInvalidHash, err)
	}
	// Argon2's own minimums, looser than New's: a hash made elsewhere with
	// an 8-byte salt is still valid (and NeedsRehash).
	if t < 1 || threads < 1 || m < 8*uint32(threads) || len(salt) < 8 || len(key) < 4 {
		return Params{}, nil, nil, fmt.Errorf("%w: parameters out of range", ErrInvalidHash)
	}
	return Params{Memory: m, Time: t, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}, salt, key, nil
}

// parseCosts parses "m=19456,t=2,p=1", exactly in that order.
func parseCosts(s string) (m, t uint32, p uint8, ok bool) {
	var v [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		field, rest, _ := strings.Cut(s, ",")
		value, found := strings.CutPrefix(field, name+"=")
		if !found {
			return 0, 0, 0, false
		}
		bits := 32
		if name == "p" {
			bits = 8
		}
		n, err := strconv.ParseUint(value, 10, bits)
		if err != nil {
			return 0, 0, 0, false
		}
		v[i], s = n, rest
	}
	if s != "" {
		return 0, 0, 0, false
	}
	return uint32(v[0]), uint32(v[1]), uint8(v[2]), true
}
