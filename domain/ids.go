package domain

import (
	"crypto/rand"
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
