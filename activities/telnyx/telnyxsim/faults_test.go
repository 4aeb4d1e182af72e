package telnyxsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestFaultRateLimit(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{RateLimitRate: 1}})
	r := f.do(http.MethodGet, "/v2/phone_numbers", nil)
	e := r.apiError(t, http.StatusTooManyRequests)
	if e.Code != CodeTooManyRequests {
		t.Errorf("429 body: %+v", e)
	}
	for _, h := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	// Telnyx documents only the x-ratelimit-* headers: by default a
	// client must make do with them.
	if v, ok := r.header["Retry-After"]; ok {
		t.Errorf("retry-after %q sent by default", v)
	}
	f.sim.SetFaults(Faults{RateLimitRate: 1, RateLimitRetryAfter: true})
	r = f.do(http.MethodGet, "/v2/phone_numbers", nil)
	r.apiError(t, http.StatusTooManyRequests)
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-Ratelimit-Reset") != "1" {
		t.Errorf("with RateLimitRetryAfter: retry-after %q, reset %q", r.header.Get("Retry-After"), r.header.Get("X-Ratelimit-Reset"))
	}
	// The admin API is never faulted.
	f.do(http.MethodGet, "/_sim/state", nil).decode(t, http.StatusOK, nil)
}

func TestFaultServerErrorDoesNothing(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{ErrorRate: 1}})
	n := "+14155550123"
	statuses := map[int]bool{}
	for range 20 {
		r := f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-5xx", n))
		statuses[r.status] = true
		if e := r.apiError(t, r.status); e.Code != CodeUnexpectedError {
			t.Errorf("5xx body: %+v", e)
		}
	}
	if len(statuses) != 2 || !statuses[500] || !statuses[503] {
		t.Errorf("want both 500 and 503, got %v", statuses)
	}
	if f.sim.OrderCount("ref-5xx") != 0 {
		t.Errorf("a 5xx fault must answer before doing anything")
	}
}

func TestFaultTimeoutHangsAfterDoingTheWork(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{TimeoutRate: 1}})
	n := "+14155550123"
	if err := f.sim.SearchFor(n); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(orderBody("ref-hang", n))
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+"/v2/number_orders", bytesReader(raw))
	req.Header.Set("Authorization", "Bearer "+testKey)
	start := time.Now()
	_, err := f.srv.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client to time out, got %v", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("hung %v past the client's deadline", elapsed)
	}
	// The order went through: only the answer was lost.
	if f.sim.OrderCount("ref-hang") != 1 || !slices.Equal(f.sim.OwnedNumbers(), []string{n}) {
		t.Errorf("order count %d, owned %v", f.sim.OrderCount("ref-hang"), f.sim.OwnedNumbers())
	}
}

func TestFaultHangForEndsTheHang(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{TimeoutRate: 1, HangFor: 80 * time.Millisecond}})
	start := time.Now()
	f.do(http.MethodGet, "/v2/phone_numbers", nil).decode(t, http.StatusOK, nil)
	if elapsed := time.Since(start); elapsed < 80*time.Millisecond || elapsed > time.Second {
		t.Errorf("answered after %v, want about 80ms", elapsed)
	}
}

func TestFaultLatency(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{Latency: 60 * time.Millisecond, LatencyJitter: 20 * time.Millisecond}})
	start := time.Now()
	f.do(http.MethodGet, "/v2/phone_numbers", nil).decode(t, http.StatusOK, nil)
	if elapsed := time.Since(start); elapsed < 60*time.Millisecond || elapsed > time.Second {
		t.Errorf("answered after %v, want 60-80ms", elapsed)
	}
}

func TestFaultSellBetweenSearchAndOrder(t *testing.T) {
	f := newFixture(t, Options{})
	const q = "filter[country_code]=US&filter[national_destination_code]=415&filter[limit]=5"
	n := f.search(q).numbers()[0]
	f.sim.SetFaults(Faults{SellBetweenSearchAndOrder: 1})
	e := f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-sold", n)).apiError(t, http.StatusUnprocessableEntity)
	if e.Code != CodeBadRequest || e.Source["pointer"] != "/phone_numbers/0/phone_number" {
		t.Errorf("got %+v", e)
	}
	f.sim.SetFaults(Faults{})
	if slices.Contains(f.search(q).numbers(), n) {
		t.Errorf("the number sold to someone else is still on sale")
	}
	f.do(http.MethodPost, "/v2/number_orders", orderBody("ref-sold", n)).apiError(t, http.StatusUnprocessableEntity)
	if f.sim.OrderCount("ref-sold") != 0 {
		t.Errorf("refused orders were counted")
	}
}

func TestFaultRatesAreShares(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{ErrorRate: 0.2, RateLimitRate: 0.3}})
	counts := map[int]int{}
	const n = 400
	for range n {
		counts[f.do(http.MethodGet, "/v2/phone_numbers", nil).status]++
	}
	errs, limited := counts[500]+counts[503], counts[429]
	if errs < n*12/100 || errs > n*28/100 || limited < n*22/100 || limited > n*38/100 {
		t.Errorf("over %d requests: %d 5xx (want ~20%%), %d 429 (want ~30%%)", n, errs, limited)
	}
}

func TestSetFaultsClampsAndRoundTrips(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{ErrorRate: 3, Latency: -time.Second}})
	if got := f.sim.Faults(); got.ErrorRate != 1 || got.Latency != 0 {
		t.Errorf("not clamped: %+v", got)
	}
	want := Faults{Latency: 200 * time.Millisecond, LatencyJitter: 50 * time.Millisecond, ErrorRate: 0.1,
		RateLimitRate: 0.2, RateLimitRetryAfter: true, TimeoutRate: 0.05, HangFor: 2 * time.Second, SellBetweenSearchAndOrder: 0.5}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var back Faults
	if err := json.Unmarshal(raw, &back); err != nil || back != want {
		t.Errorf("round trip: %s → %+v, %v", raw, back, err)
	}
}
