package domain

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// ID prefixes say what an identifier names, as the public API shows them
// (team_01j…, pn_01j…, asst_01j…).
const (
	PrefixTeam        = "team"
	PrefixUser        = "usr"
	PrefixAPIKey      = "key"
	PrefixAssistant   = "asst"
	PrefixPhoneNumber = "pn"
)

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new time-ordered identifier with the given prefix, such as
// "pn_01jc5x…". ULIDs sort by creation time, which keeps indexes compact and
// makes "newest first" a plain ORDER BY.
func NewID(prefix string) string {
	entropyMu.Lock()
	id := ulid.MustNew(ulid.Timestamp(time.Now()), entropy)
	entropyMu.Unlock()
	return prefix + "_" + strings.ToLower(id.String())
}

// IDFor returns the identifier with the given prefix that stands for key,
// made at t: the same key and time give the same ID, and different keys
// different IDs (the entropy is a hash of the key). A workflow makes the
// IDs of what its local activities create this way, from its start time
// and its purchase's key, so that a step run again after a crash creates
// the same record rather than a second one, and no side effect (an event
// in the history) records the ID.
func IDFor(prefix string, t time.Time, key string) string {
	sum := sha256.Sum256([]byte(key))
	id := ulid.MustNew(ulid.Timestamp(t), bytes.NewReader(sum[:]))
	return prefix + "_" + strings.ToLower(id.String())
}
