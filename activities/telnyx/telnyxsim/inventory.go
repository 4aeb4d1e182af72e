package telnyxsim

import (
	"encoding/binary"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// The number types the simulator stocks, as Telnyx spells
// filter[phone_number_type].
const (
	kindLocal      = "local"
	kindTollFree   = "toll_free"
	kindMobile     = "mobile"
	kindNational   = "national"
	kindSharedCost = "shared_cost"
)

// kindTypes are the libphonenumber types a stocked number of each kind may
// have. North American numbers are FIXED_LINE_OR_MOBILE: the plan does not
// tell them apart.
var kindTypes = map[string][]phonenumbers.PhoneNumberType{
	kindLocal:      {phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE},
	kindTollFree:   {phonenumbers.TOLL_FREE},
	kindMobile:     {phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE},
	kindNational:   {phonenumbers.UAN},
	kindSharedCost: {phonenumbers.SHARED_COST},
}

// Inventory sizing. The stock of a query is drawn lazily, as far as the
// searches so far needed, up to poolSize numbers; a query whose draws keep
// failing validation (a pattern few numbers match) gives up after
// maxAttempts draws, or after hopelessAttempts without a single hit.
const (
	poolSize         = 1000
	maxAttempts      = 8000
	hopelessAttempts = 2000
	maxCached        = 1024
)

// listing is one number in stock.
type listing struct {
	e164, nsn, region, kind     string
	locality, rateCenter, state string
}

// stockQuery is everything that decides which numbers a search draws from.
// Equal queries draw the same numbers.
type stockQuery struct {
	region, kind, ndc              string
	locality, adminArea            string
	startsWith, contains, endsWith string
}

// inventory generates the numbers on sale. Nothing is stored but a cache:
// the stock of a query is a pure function of the query and the seed, which
// is what makes searches repeatable. What is sold or owned is the
// Simulator's business, filtered out after.
type inventory struct {
	seed int64

	mu      sync.Mutex
	streams map[stockQuery]*stream
}

func newInventory(seed int64) *inventory {
	return &inventory{seed: seed, streams: map[stockQuery]*stream{}}
}

// stream returns the deterministic sequence of numbers matching q.
func (inv *inventory) stream(q stockQuery) *stream {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if st, ok := inv.streams[q]; ok {
		return st
	}
	if len(inv.streams) >= maxCached {
		// Forgetting a stream is harmless: it is redrawn identically.
		clear(inv.streams)
	}
	st := &stream{q: q, seen: map[string]bool{}}
	st.plan, st.ok = planFor(q)
	st.rng = rand.New(rand.NewPCG(queryHash(inv.seed, q)))
	inv.streams[q] = st
	return st
}

// stream is the stock of one query, drawn as far as needed so far.
// Validating a number against the numbering plan is the expensive part, so
// a search for ten numbers validates a few more than ten, not the whole
// pool.
type stream struct {
	q    stockQuery
	plan plan
	ok   bool

	mu       sync.Mutex
	rng      *rand.Rand
	seen     map[string]bool
	items    []listing
	attempts int
}

// upTo returns the first n numbers of the stream (fewer if it runs dry) and
// whether it has run dry. The returned slice is never modified afterwards.
func (st *stream) upTo(n int) ([]listing, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.ok && len(st.items) < n && !st.dry() {
		st.attempts++
		nsn := st.plan.splice(st.plan.draw(st.rng), st.q, st.rng)
		if st.seen[nsn] {
			continue
		}
		st.seen[nsn] = true
		if l, ok := st.plan.listing(nsn); ok && st.q.accepts(l) {
			st.items = append(st.items, l)
		}
	}
	items := st.items[:min(n, len(st.items)):min(n, len(st.items))]
	return items, !st.ok || st.dry()
}

func (st *stream) dry() bool {
	return len(st.items) >= poolSize || st.attempts >= maxAttempts ||
		(len(st.items) == 0 && st.attempts >= hopelessAttempts)
}

// plan says how to draw national significant numbers (NSNs) for a query.
type plan struct {
	region   string
	cc       string // country calling code, digits
	kind     string
	types    []phonenumbers.PhoneNumberType
	prefixes []string // each NSN starts with one of these
	length   int      // NSN length
	nanp     bool     // US or CA: NPA NXX XXXX rules apply
}

func planFor(q stockQuery) (plan, bool) {
	types, ok := kindTypes[q.kind]
	if !ok {
		return plan{}, false
	}
	p := plan{
		region: q.region,
		cc:     strconv.Itoa(phonenumbers.GetCountryCodeForRegion(q.region)),
		kind:   q.kind,
		types:  types,
	}
	if q.region == "US" || q.region == "CA" {
		p.nanp, p.length = true, 10
		switch q.kind {
		case kindLocal:
			p.prefixes = localNPAs(q)
		case kindTollFree:
			switch {
			case q.ndc == "":
				p.prefixes = tollFreeNPAs
			case slices.Contains(tollFreeNPAs, q.ndc):
				p.prefixes = []string{q.ndc}
			}
		}
		return p, len(p.prefixes) > 0
	}

	// Elsewhere, start from libphonenumber's example number of the kind
	// and vary its trailing digits: whatever the plan accepts is stock.
	ex := phonenumbers.GetExampleNumberForType(q.region, types[0])
	if ex == nil {
		return plan{}, false
	}
	nsn := phonenumbers.GetNationalSignificantNumber(ex)
	p.length = len(nsn)
	vary := min(4, p.length/2)
	p.prefixes = []string{nsn[:p.length-vary]}
	if q.ndc != "" {
		p.prefixes = []string{q.ndc}
	}
	return p, true
}

// draw returns a random NSN of the plan's shape.
func (p plan) draw(rng *rand.Rand) string {
	b := []byte(p.prefixes[rng.IntN(len(p.prefixes))])
	for len(b) < p.length {
		if p.nanp && len(b) == 3 {
			b = append(b, byte('2'+rng.IntN(8))) // an NXX starts with 2-9
			continue
		}
		b = append(b, byte('0'+rng.IntN(10)))
	}
	return string(b[:p.length])
}

// splice writes the query's digit patterns into a drawn NSN, so that a
// search for "ends with 1234" finds numbers instead of hoping to draw them.
// Whether the result is a valid number is checked afterwards.
func (p plan) splice(nsn string, q stockQuery, rng *rand.Rand) string {
	fixed := 0
	if q.startsWith != "" {
		// With an area code, starts_with names what follows it.
		f := q.ndc + q.startsWith
		if len(f) <= len(nsn) {
			nsn, fixed = f+nsn[len(f):], len(f)
		}
	}
	if c := q.contains; c != "" && len(c) <= len(nsn) {
		lo := max(fixed, 3)
		if lo+len(c) > len(nsn) {
			lo = 0
		}
		pos := lo + rng.IntN(len(nsn)-len(c)-lo+1)
		nsn = nsn[:pos] + c + nsn[pos+len(c):]
	}
	if e := q.endsWith; e != "" && len(e) <= len(nsn) {
		nsn = nsn[:len(nsn)-len(e)] + e
	}
	return nsn
}

// listing validates a drawn NSN against the numbering plan and describes it.
func (p plan) listing(nsn string) (listing, bool) {
	if p.nanp && nsn[4:6] == "11" {
		return listing{}, false // N11 exchanges are service codes
	}
	num, err := phonenumbers.Parse("+"+p.cc+nsn, "")
	if err != nil || !phonenumbers.IsValidNumberForRegion(num, p.region) ||
		!slices.Contains(p.types, phonenumbers.GetNumberType(num)) {
		return listing{}, false
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if e164 != "+"+p.cc+nsn {
		return listing{}, false
	}
	l := listing{e164: e164, nsn: nsn, region: p.region, kind: p.kind}
	if p.nanp && p.kind == kindLocal {
		if info, ok := npaTable[nsn[:3]]; ok {
			l.locality, l.state = info.city, info.state
			l.rateCenter = strings.ToUpper(info.city)
		}
	}
	return l, true
}

// accepts reports whether l satisfies the query's filters.
func (q stockQuery) accepts(l listing) bool {
	if q.ndc != "" && !strings.HasPrefix(l.nsn, q.ndc) {
		return false
	}
	if q.locality != "" && !strings.EqualFold(q.locality, l.locality) && !strings.EqualFold(q.locality, l.rateCenter) {
		return false
	}
	if q.adminArea != "" && !strings.EqualFold(q.adminArea, l.state) {
		return false
	}
	return matchesPatterns(l, q.ndc, q.startsWith, q.contains, q.endsWith)
}

// matchesPatterns applies starts_with, contains and ends_with to the national
// significant number, never to the country code, as Telnyx does: with an
// area code, starts_with names what follows the area code.
func matchesPatterns(l listing, ndc, startsWith, contains, endsWith string) bool {
	if startsWith != "" && !strings.HasPrefix(l.nsn, ndc+startsWith) {
		return false
	}
	if contains != "" && !strings.Contains(l.nsn, contains) {
		return false
	}
	return endsWith == "" || strings.HasSuffix(l.nsn, endsWith)
}

func queryHash(seed int64, q stockQuery) (uint64, uint64) {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	for _, s := range []string{q.region, q.kind, q.ndc, strings.ToLower(q.locality), strings.ToLower(q.adminArea), q.startsWith, q.contains, q.endsWith} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	sum := h.Sum64()
	return sum, sum*0x9E3779B97F4A7C15 + 1
}
