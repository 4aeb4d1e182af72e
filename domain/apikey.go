package domain

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// APITokenPrefix starts every API token, so a leaked one is easy to spot
// in code and logs (and secret scanners can match it).
const APITokenPrefix = "tt_"

// NewAPIToken returns a new random API token and the hash under which it is
// stored. The token itself is shown once and never stored.
func NewAPIToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // only on a broken kernel
	}
	token = APITokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashAPIToken(token)
}

// APITokenDisplayPrefix returns the first characters of a token (the
// "tt_" marker and four more), enough to tell keys apart, useless to an attacker.
func APITokenDisplayPrefix(token string) string {
	if len(token) < 7 {
		return token
	}
	return token[:7]
}

// HashAPIToken returns the stored form of a token. Tokens carry 256 bits of
// randomness, so a plain SHA-256 is enough (no password-style stretching is
// needed) and lets the lookup be one indexed equality.
func HashAPIToken(token string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return hex.EncodeToString(sum[:])
}
