package api

import (
	"container/list"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"golang.org/x/time/rate"

	"github.com/talkturo/phonenumbers/domain"
)

// RateLimit is one kind of token bucket: it holds up to Burst requests
// and refills at PerSecond. A zero PerSecond turns the limit off.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

func (l RateLimit) on() bool { return l.PerSecond > 0 && l.Burst > 0 }

// RateLimits are the limits of the routes that cost a Telnyx call or a
// workflow. Each route has one bucket per team and one per API key, with
// the same limit: a key cannot go faster by spreading its requests over
// several teams, nor a team by spreading them over several keys.
type RateLimits struct {
	Search   RateLimit
	Purchase RateLimit
}

// The limited routes, also the first part of a bucket's key.
const (
	limitSearch   = "search"
	limitPurchase = "purchase"
)

// maxBuckets bounds the limiter's memory (a bucket is a few hundred
// bytes) whatever the number of teams and keys.
const maxBuckets = 100_000

// limiter holds the token buckets, most recently used first. A bucket
// left alone long enough to refill completely is the same as a new one,
// so it is dropped: memory follows the callers of the last few seconds,
// not every team there is. Past maxBuckets the least recently used one
// goes even if not full, which can only be generous to it.
type limiter struct {
	limits RateLimits
	now    func() time.Time

	mu      sync.Mutex
	buckets map[bucketID]*list.Element
	lru     list.List // of *bucket, front = most recently used
}

type bucketID struct {
	route string
	scope string // "team" or "key"
	id    string
}

type bucket struct {
	id       bucketID
	limit    RateLimit
	lim      *rate.Limiter
	lastUsed time.Time
}

// fullAfter is how long an unused bucket takes to refill from empty.
func (b *bucket) fullAfter() time.Duration {
	return time.Duration(float64(b.limit.Burst) / b.limit.PerSecond * float64(time.Second))
}

func newLimiter(limits RateLimits, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{limits: limits, now: now, buckets: map[bucketID]*list.Element{}}
}

// verdict is what one request's take decided, for the response headers:
// the numbers are those of the tighter of the request's buckets.
type verdict struct {
	allowed bool
	// limit is the bucket's size, remaining what is left in it after this
	// request, reset the time until it is full again.
	limit     int
	remaining int
	reset     time.Duration
	// retryAfter, when refused, is the time until the bucket holds one
	// request again.
	retryAfter time.Duration
}

// take charges one request of route to the key's bucket and, when teamID
// is not empty, to the team's: both or neither, so a request refused by
// one bucket costs the other nothing.
func (l *limiter) take(route, keyID, teamID string) (verdict, bool) {
	limit := l.limitOf(route)
	if !limit.on() {
		return verdict{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.evict(now)
	ids := []bucketID{{route, "key", keyID}}
	if teamID != "" {
		ids = append(ids, bucketID{route, "team", teamID})
	}
	bs := make([]*bucket, len(ids))
	for i, id := range ids {
		bs[i] = l.bucket(id, limit, now)
	}
	// The buckets share a limit, so the emptiest one is the one to wait for.
	tightest := math.Inf(1)
	for _, b := range bs {
		tightest = min(tightest, b.lim.TokensAt(now))
	}
	if tightest < 1 {
		return refused(limit, tightest), true
	}
	for _, b := range bs {
		b.lim.AllowN(now, 1)
	}
	left := tightest - 1
	return verdict{allowed: true, limit: limit.Burst, remaining: int(math.Floor(left)),
		reset: seconds((float64(limit.Burst) - left) / limit.PerSecond)}, true
}

func refused(limit RateLimit, tokens float64) verdict {
	return verdict{limit: limit.Burst, remaining: 0,
		reset:      seconds((float64(limit.Burst) - tokens) / limit.PerSecond),
		retryAfter: seconds((1 - tokens) / limit.PerSecond)}
}

func (l *limiter) limitOf(route string) RateLimit {
	switch route {
	case limitSearch:
		return l.limits.Search
	case limitPurchase:
		return l.limits.Purchase
	}
	panic(fmt.Sprintf("api: no rate limit for route %q", route))
}

// bucket finds or makes the bucket of id, marking it used now.
func (l *limiter) bucket(id bucketID, limit RateLimit, now time.Time) *bucket {
	if el, ok := l.buckets[id]; ok {
		b := el.Value.(*bucket)
		b.lastUsed = now
		l.lru.MoveToFront(el)
		return b
	}
	if len(l.buckets) >= maxBuckets {
		l.drop(l.lru.Back())
	}
	b := &bucket{id: id, limit: limit, lim: rate.NewLimiter(rate.Limit(limit.PerSecond), limit.Burst), lastUsed: now}
	l.buckets[id] = l.lru.PushFront(b)
	return b
}

// evict drops the least recently used buckets that have refilled. It
// stops at the first that has not: its elders may have (another route's
// buckets refill at another pace), but the cap bounds them anyway.
func (l *limiter) evict(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		b := el.Value.(*bucket)
		if now.Sub(b.lastUsed) < b.fullAfter() {
			return
		}
		l.drop(el)
	}
}

func (l *limiter) drop(el *list.Element) {
	delete(l.buckets, el.Value.(*bucket).id)
	l.lru.Remove(el)
}

// size is the number of buckets held.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Headers of a limited route's answers (draft-ietf-httpapi-ratelimit-headers).
const (
	headerRateLimitLimit     = "RateLimit-Limit"
	headerRateLimitRemaining = "RateLimit-Remaining"
	headerRateLimitReset     = "RateLimit-Reset"
)

// rateLimit charges the request to its buckets and sets the RateLimit-*
// headers; over the limit, it returns the 429. It runs after the caller
// is authenticated and its team access checked, so that neither a
// stranger nor a request for someone else's team spends a team's budget,
// and before any Telnyx call or workflow start.
func (s *Server) rateLimit(c *fiber.Ctx, route, teamID string) error {
	v, limited := s.limits.take(route, principalOf(c).APIKeyID, teamID)
	if !limited {
		return nil
	}
	c.Set(headerRateLimitLimit, strconv.Itoa(v.limit))
	c.Set(headerRateLimitRemaining, strconv.Itoa(v.remaining))
	c.Set(headerRateLimitReset, strconv.Itoa(int(v.reset/time.Second)))
	if v.allowed {
		return nil
	}
	return withRetryAfter(&domain.Error{Kind: domain.KindRateLimited, Code: domain.CodeRateLimited,
		Message: fmt.Sprintf("Too many %s requests for this team or API key; retry in %d s.", route, int(v.retryAfter/time.Second))}, v.retryAfter)
}

// seconds rounds a number of seconds up to whole seconds, at least one:
// a client told 0 would retry at once and be refused again.
func seconds(s float64) time.Duration {
	return time.Duration(max(1, math.Ceil(s))) * time.Second
}
