package api

import (
	"fmt"
	"testing"
	"time"
)

// fakeNow is a clock the test moves by hand.
type fakeNow struct{ t time.Time }

func (f *fakeNow) now() time.Time                { return f.t }
func (f *fakeNow) add(d time.Duration)           { f.t = f.t.Add(d) }
func newFakeNow() *fakeNow                       { return &fakeNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }
func (f *fakeNow) limiter(l RateLimits) *limiter { return newLimiter(l, f.now) }

func TestLimiterBurstThenRefill(t *testing.T) {
	clock := newFakeNow()
	l := clock.limiter(RateLimits{Search: RateLimit{PerSecond: 2, Burst: 4}})

	for i := range 4 {
		v, on := l.take(limitSearch, "key_a", "team_a")
		if !on || !v.allowed {
			t.Fatalf("request %d of the burst refused: %+v", i+1, v)
		}
		if v.limit != 4 || v.remaining != 3-i {
			t.Errorf("request %d: limit %d remaining %d, want 4 and %d", i+1, v.limit, v.remaining, 3-i)
		}
	}
	v, _ := l.take(limitSearch, "key_a", "team_a")
	if v.allowed {
		t.Fatal("the fifth request of a burst of 4 was allowed")
	}
	// Empty at 2/s: one request in half a second (rounded up to 1 s), full
	// in two seconds.
	if v.retryAfter != time.Second || v.reset != 2*time.Second || v.remaining != 0 {
		t.Errorf("refused: retryAfter %v reset %v remaining %d, want 1s, 2s, 0", v.retryAfter, v.reset, v.remaining)
	}

	clock.add(500 * time.Millisecond)
	if v, _ := l.take(limitSearch, "key_a", "team_a"); !v.allowed {
		t.Errorf("refused after refilling one token: %+v", v)
	}
	if v, _ := l.take(limitSearch, "key_a", "team_a"); v.allowed {
		t.Errorf("allowed with the bucket empty again: %+v", v)
	}
}

func TestLimiterTeamsAndKeysAreSeparate(t *testing.T) {
	clock := newFakeNow()
	l := clock.limiter(RateLimits{Search: RateLimit{PerSecond: 1, Burst: 2}, Purchase: RateLimit{PerSecond: 1, Burst: 1}})
	take := func(route, key, team string) bool { v, _ := l.take(route, key, team); return v.allowed }

	take(limitSearch, "key_a", "team_a")
	take(limitSearch, "key_a", "team_a")
	if take(limitSearch, "key_a", "team_a") {
		t.Fatal("team A's key went past its burst")
	}
	// Another team with another key is not affected.
	if !take(limitSearch, "key_b", "team_b") {
		t.Error("team B was refused because of team A")
	}
	// The same key for another team is: the key's bucket is empty.
	if take(limitSearch, "key_a", "team_c") {
		t.Error("key A went past its limit by naming another team")
	}
	// Another key of team A is too: the team's bucket is empty.
	if take(limitSearch, "key_c", "team_a") {
		t.Error("team A went past its limit with another key")
	}
	// Purchase has buckets of its own.
	if !take(limitPurchase, "key_a", "team_a") {
		t.Error("searches spent the purchase budget")
	}
}

func TestLimiterRefusalCostsTheOtherBucketNothing(t *testing.T) {
	clock := newFakeNow()
	l := clock.limiter(RateLimits{Search: RateLimit{PerSecond: 1, Burst: 2}})
	take := func(key, team string) bool { v, _ := l.take(limitSearch, key, team); return v.allowed }

	// Key A empties its bucket on team A.
	take("key_a", "team_a")
	take("key_a", "team_a")
	// Its requests for team B are refused by the key's bucket, many times:
	// team B's bucket must not pay for them.
	for range 10 {
		if take("key_a", "team_b") {
			t.Fatal("key A went past its limit")
		}
	}
	if !take("key_b", "team_b") || !take("key_b", "team_b") {
		t.Error("team B's bucket was spent by requests its key's bucket refused")
	}
}

func TestLimiterOff(t *testing.T) {
	l := newFakeNow().limiter(RateLimits{})
	for range 1000 {
		if _, on := l.take(limitPurchase, "key_a", "team_a"); on {
			t.Fatal("a zero limit is on")
		}
	}
	if l.size() != 0 {
		t.Errorf("%d buckets held with limits off", l.size())
	}
}

func TestLimiterMemoryIsBounded(t *testing.T) {
	clock := newFakeNow()
	l := clock.limiter(RateLimits{Search: RateLimit{PerSecond: 5, Burst: 20}})

	// Buckets idle long enough to be full again are dropped: 4 s here.
	for i := range 1000 {
		l.take(limitSearch, fmt.Sprintf("key_%d", i), fmt.Sprintf("team_%d", i))
	}
	if l.size() != 2000 {
		t.Fatalf("%d buckets, want 2000", l.size())
	}
	clock.add(4 * time.Second)
	l.take(limitSearch, "key_new", "team_new")
	if l.size() != 2 {
		t.Errorf("%d buckets after the others refilled, want 2", l.size())
	}

	// However many callers there are within that window, the cap holds.
	for i := range maxBuckets {
		l.take(limitSearch, fmt.Sprintf("key_%d", i), "")
	}
	if l.size() > maxBuckets {
		t.Errorf("%d buckets, over the cap of %d", l.size(), maxBuckets)
	}

	// A bucket still refilling is kept, so a caller cannot reset its
	// budget by waiting less than the refill time.
	clock.add(10 * time.Second)
	for range 20 {
		l.take(limitSearch, "key_busy", "team_busy")
	}
	clock.add(time.Second)
	l.take(limitSearch, "key_other", "")
	got := 0
	for range 20 {
		if v, _ := l.take(limitSearch, "key_busy", "team_busy"); v.allowed {
			got++
		}
	}
	if got != 5 {
		t.Errorf("after 1 s at 5/s an emptied bucket allowed %d, want 5", got)
	}
}
