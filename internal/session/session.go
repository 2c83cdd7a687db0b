// Package session holds what every session store of the app shares: the
// key a token is stored under, and the background count of live sessions.
// The stores themselves are in the folders beside it (sqlitestore,
// memstore, redisstore, pgstore), with the per-session lock (lock) and the
// codec that turns a session's values into bytes (codec).
package session

import (
	"crypto/sha256"
	"encoding/base64"
)

// HashToken is the key under which scs stores a session when
// HashTokenInStore is on: the SHA-256 of the token, base64url-encoded.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
