package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/talkturo/phonenumbers/api"
)

// slowRefill is a rate at which no token comes back during a test (one
// per 100 s), so every count below is exact.
const slowRefill = 0.01

func searchFor(token, teamID string) request {
	return request{method: http.MethodPost, path: searchPath, token: token,
		body: fmt.Sprintf(`{"teamId": %q, "filters": {"countryCode": "US", "areaCode": "415", "limit": 2}}`, teamID)}
}

func purchaseFor(token, teamID string, i int) request {
	return request{method: http.MethodPost, path: "/api/phone-numbers/purchase", token: token,
		body: fmt.Sprintf(`{"phoneNumber": "+1415555%04d", "teamId": %q}`, 1000+i*10, teamID)}
}

// count tallies statuses, checking the RateLimit headers of each answer
// and the 429's body and Retry-After.
func count(t *testing.T, rs []response, burst int) map[int]int {
	t.Helper()
	got := map[int]int{}
	for _, r := range rs {
		got[r.status]++
		if r.header.Get("RateLimit-Limit") != strconv.Itoa(burst) {
			t.Errorf("%d: RateLimit-Limit %q, want %d", r.status, r.header.Get("RateLimit-Limit"), burst)
		}
		remaining, err := strconv.Atoi(r.header.Get("RateLimit-Remaining"))
		if err != nil || remaining < 0 || remaining >= burst {
			t.Errorf("%d: RateLimit-Remaining %q", r.status, r.header.Get("RateLimit-Remaining"))
		}
		if reset, err := strconv.Atoi(r.header.Get("RateLimit-Reset")); err != nil || reset < 1 {
			t.Errorf("%d: RateLimit-Reset %q", r.status, r.header.Get("RateLimit-Reset"))
		}
		if r.status != http.StatusTooManyRequests {
			continue
		}
		wantError(t, r, http.StatusTooManyRequests, "rate_limited", "")
		if remaining != 0 {
			t.Errorf("429 with RateLimit-Remaining %d", remaining)
		}
		// One request comes back every 100 s.
		if ra := r.header.Get("Retry-After"); ra != "100" {
			t.Errorf("429 with Retry-After %q, want 100", ra)
		}
	}
	return got
}

// TestRateLimitPerTeam: team A bursts past its limit on search and
// purchase and gets 429s; team B, at the same moment, is not affected.
func TestRateLimitPerTeam(t *testing.T) {
	t.Parallel()
	const searchBurst, purchaseBurst = 5, 3
	e := newEnv(t, withWorkflows(fuzzWorkflows{}), withConfig(api.Config{RateLimits: api.RateLimits{
		Search:   api.RateLimit{PerSecond: slowRefill, Burst: searchBurst},
		Purchase: api.RateLimit{PerSecond: slowRefill, Burst: purchaseBurst},
	}}))
	a, b := e.newAccount("burst-a@example.com"), e.newAccount("burst-b@example.com")

	const n = 30
	var rs []request
	for range n {
		rs = append(rs, searchFor(a.Token, a.TeamID))
	}
	for range searchBurst {
		rs = append(rs, searchFor(b.Token, b.TeamID))
	}
	answers := e.doAll(rs)
	gotA, gotB := count(t, answers[:n], searchBurst), count(t, answers[n:], searchBurst)
	if gotA[http.StatusOK] != searchBurst || gotA[http.StatusTooManyRequests] != n-searchBurst {
		t.Errorf("team A's burst of %d searches: %v, want %d × 200 and %d × 429", n, gotA, searchBurst, n-searchBurst)
	}
	if gotB[http.StatusOK] != searchBurst {
		t.Errorf("team B's %d searches in the same moment: %v, want all 200", searchBurst, gotB)
	}
	if got := len(e.searches.all()); got != 2*searchBurst {
		t.Errorf("Telnyx got %d searches, want %d: refused ones must not reach it", got, 2*searchBurst)
	}
	t.Logf("search burst: team A %v, team B %v; Telnyx searches %d", gotA, gotB, len(e.searches.all()))

	rs = rs[:0]
	for i := range n {
		rs = append(rs, purchaseFor(a.Token, a.TeamID, i))
	}
	for i := range purchaseBurst {
		rs = append(rs, purchaseFor(b.Token, b.TeamID, n+i))
	}
	answers = e.doAll(rs)
	gotA, gotB = count(t, answers[:n], purchaseBurst), count(t, answers[n:], purchaseBurst)
	if gotA[http.StatusOK] != purchaseBurst || gotA[http.StatusTooManyRequests] != n-purchaseBurst {
		t.Errorf("team A's burst of %d purchases: %v, want %d × 200 and %d × 429", n, gotA, purchaseBurst, n-purchaseBurst)
	}
	if gotB[http.StatusOK] != purchaseBurst {
		t.Errorf("team B's %d purchases in the same moment: %v, want all 200", purchaseBurst, gotB)
	}
	t.Logf("purchase burst: team A %v, team B %v", gotA, gotB)

	// Routes that start nothing at Telnyx or Temporal are not limited.
	r := e.do(request{method: http.MethodGet, path: "/api/phone-numbers/purchase?teamId=" + a.TeamID, token: a.Token})
	if r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "" {
		t.Errorf("list after the bursts: %d, RateLimit-Limit %q", r.status, r.header.Get("RateLimit-Limit"))
	}
}

// TestRateLimitPerKeyAndOrdering: one key cannot go faster by naming
// several teams, nor a team by using several keys; and a request for a
// team the caller cannot access is a 403 that costs the team nothing.
func TestRateLimitPerKeyAndOrdering(t *testing.T) {
	t.Parallel()
	const burst = 3
	e := newEnv(t, withWorkflows(fuzzWorkflows{}), withConfig(api.Config{RateLimits: api.RateLimits{
		Search:   api.RateLimit{PerSecond: slowRefill, Burst: burst},
		Purchase: api.RateLimit{PerSecond: slowRefill, Burst: burst},
	}}))
	// The same user in two teams, with a key from each bootstrap: key1
	// and key2 both reach team1 and team2.
	first := e.newAccount("two-teams@example.com")
	second := e.newAccount("two-teams@example.com")
	key1, key2 := first.Token, second.Token
	team1, team2 := first.TeamID, second.TeamID
	stranger := e.newAccount("stranger@example.com")

	// A stranger hammering team1 gets 403s, never 429s, and team1's
	// budget is untouched.
	for i := range 2 * burst {
		wantError(t, e.do(purchaseFor(stranger.Token, team1, i)), http.StatusForbidden, "team_access_denied", "")
		wantError(t, e.do(searchFor(stranger.Token, team1)), http.StatusForbidden, "team_access_denied", "")
	}
	// Neither does an unauthenticated request.
	for i := range 2 * burst {
		wantError(t, e.do(purchaseFor("tt_not-a-key", team1, i)), http.StatusUnauthorized, "unauthorized", "")
	}

	// key1 spends its whole budget on team1 ...
	for i := range burst {
		if r := e.do(purchaseFor(key1, team1, i)); r.status != http.StatusOK {
			t.Fatalf("purchase %d by key1 for team1: %d %s", i+1, r.status, r.raw)
		}
	}
	// ... so it is refused for team2, whose own bucket is full: the limit
	// is the key's.
	r := e.do(purchaseFor(key1, team2, 10))
	wantError(t, r, http.StatusTooManyRequests, "rate_limited", "")
	// And team1's bucket is empty too: key2 is refused for team1 ...
	wantError(t, e.do(purchaseFor(key2, team1, 11)), http.StatusTooManyRequests, "rate_limited", "")
	// ... but not for team2, which key1's refused request did not charge.
	for i := range burst {
		if r := e.do(purchaseFor(key2, team2, 20+i)); r.status != http.StatusOK {
			t.Errorf("purchase %d by key2 for team2: %d %s", i+1, r.status, r.raw)
		}
	}

	// A search that names no team is limited by its key alone.
	for range burst {
		if r := e.do(request{method: http.MethodPost, path: searchPath, token: stranger.Token, body: seedSearch}); r.status != http.StatusOK {
			t.Fatalf("search without teamId: %d %s", r.status, r.raw)
		}
	}
	wantError(t, e.do(request{method: http.MethodPost, path: searchPath, token: stranger.Token, body: seedSearch}), http.StatusTooManyRequests, "rate_limited", "")
	// And an invalid teamId on search is the usual 400.
	wantError(t, e.do(searchFor(key1, "")), http.StatusBadRequest, "invalid_request", "teamId")
}

// TestPurchaseReplayIsNotRateLimited: a client retrying with its
// Idempotency-Key after its budget ran out gets its kept answer, not a
// 429, and the replay costs no token; a new purchase is still refused.
func TestPurchaseReplayIsNotRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWorkflows(fuzzWorkflows{}), withConfig(api.Config{RateLimits: api.RateLimits{
		Purchase: api.RateLimit{PerSecond: slowRefill, Burst: 1},
	}}))
	acct := e.newAccount("replay-after-429@example.com")
	withKey := func(r request, key string) request {
		r.header = map[string]string{"Idempotency-Key": key}
		return r
	}
	first := e.do(withKey(purchaseFor(acct.Token, acct.TeamID, 1), "retry-me"))
	if first.status != http.StatusOK {
		t.Fatalf("first purchase: %d %s", first.status, first.raw)
	}
	// The budget (1) is spent: a new purchase is refused ...
	wantError(t, e.do(withKey(purchaseFor(acct.Token, acct.TeamID, 2), "another")), http.StatusTooManyRequests, "rate_limited", "")
	// ... but the retries of the first get its answer, byte for byte.
	for range 3 {
		r := e.do(withKey(purchaseFor(acct.Token, acct.TeamID, 1), "retry-me"))
		if r.status != http.StatusOK || string(r.raw) != string(first.raw) || r.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry with the key after a 429: %d %s (replayed %q), want the kept 200", r.status, r.raw, r.header.Get("Idempotent-Replayed"))
		}
	}
	// The key with another request is still the client's mistake.
	wantError(t, e.do(withKey(purchaseFor(acct.Token, acct.TeamID, 3), "retry-me")), http.StatusUnprocessableEntity, "idempotency_key_reused", "Idempotency-Key")
}
