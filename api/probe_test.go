package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
)

const diagnosticsPath = "/diagnostics/provider"

// waitProvider polls GET /diagnostics/provider until it says status.
func waitProvider(t *testing.T, e *env, status string) response {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do(request{method: http.MethodGet, path: diagnosticsPath})
		if r.status != http.StatusOK {
			t.Fatalf("diagnostics: %d %s", r.status, r.raw)
		}
		if r.body["status"] == status {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider probe never said %s: %s", status, r.raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProbeCallsTelnyxOncePerInterval floods /readyz and the diagnostic
// endpoint: Telnyx sees the probe's calls only, one per interval.
func TestProbeCallsTelnyxOncePerInterval(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withProbe(time.Hour))
	r := waitProvider(t, e, "up")
	wantKeys(t, "diagnostics", r.body, "success", "provider", "status", "checkedAt", "changedAt", "nextCheckAt", "intervalSeconds")

	const n = 400
	burst := make([]request, n)
	for i := range burst {
		burst[i] = request{method: http.MethodGet, path: "/readyz"}
		if i%2 == 1 {
			burst[i].path = diagnosticsPath
		}
	}
	for i, r := range e.doAll(burst) {
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", burst[i].path, r.status, r.raw)
		}
	}
	if got := e.searches.pingCount(); got != 1 {
		t.Errorf("Telnyx got %d calls during a burst of %d /readyz and %s within one probe interval, want 1 (the probe's)", got, n, diagnosticsPath)
	}
	t.Logf("Telnyx calls during a burst of %d /readyz and %s requests (interval 1h): %d", n, diagnosticsPath, e.searches.pingCount())

	// With a short interval the probe goes on, never more often than that.
	const interval = 200 * time.Millisecond
	start := time.Now() // before the first probe, so the bound below holds
	short := newEnv(t, withProbe(interval))
	for time.Since(start) < 2*time.Second {
		short.doAll(burst[:50])
	}
	elapsed := time.Since(start)
	got := short.searches.pingCount()
	if most := 1 + int(elapsed/interval); got > most || got < 2 {
		t.Errorf("%d probes in %v at one per %v: want between 2 and %d", got, elapsed, interval, most)
	}
	t.Logf("Telnyx calls in %v of continuous /readyz and %s bursts (interval %v): %d", elapsed.Round(time.Millisecond), diagnosticsPath, interval, got)
}

// TestProbeCallsTelnyxOncePerIntervalWhenThrottled: with Telnyx answering
// 429 to everything, a probe is still one call (no retries), so the probe
// does not triple its share of the rate limit we share with every team.
func TestProbeCallsTelnyxOncePerIntervalWhenThrottled(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	start := time.Now() // before the first probe, so the bound below holds
	e := newEnv(t, withProbe(interval))
	e.sim.SetFaults(telnyxsim.Faults{RateLimitRate: 1})
	waitProvider(t, e, "down")
	time.Sleep(5 * interval)
	got, elapsed := e.searches.pingCount(), time.Since(start)
	if most := 1 + int(elapsed/interval); got > most {
		t.Errorf("%d calls to Telnyx in %v of probes at one per %v with Telnyx answering 429: want at most %d", got, elapsed, interval, most)
	}
	t.Logf("Telnyx calls in %v of probing a throttled Telnyx (interval %v): %d", elapsed.Round(time.Millisecond), interval, got)
}

// TestTelnyxDownKeepsReadyzAndFailsSearchFast faults every Telnyx answer:
// the pod stays ready, the probe reports Telnyx down (endpoint and
// metric), and a search answers 503 at once without calling Telnyx.
func TestTelnyxDownKeepsReadyzAndFailsSearchFast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults telnyxsim.Faults
		reason string
	}{
		{"5xx", telnyxsim.Faults{ErrorRate: 1}, "failed"},
		{"429", telnyxsim.Faults{RateLimitRate: 1}, "rate_limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withProbe(100*time.Millisecond))
			acct := e.newAccount("down-" + tc.name + "@example.com")
			waitProvider(t, e, "up")
			if m := scrape(t, e); m["talkturo_telnyx_up"] != 1 || m["talkturo_telnyx_last_probe_timestamp_seconds"] == 0 {
				t.Errorf("metrics with Telnyx up: up %v, last probe %v", m["talkturo_telnyx_up"], m["talkturo_telnyx_last_probe_timestamp_seconds"])
			}

			e.sim.SetFaults(tc.faults)
			d := waitProvider(t, e, "down")
			if d.body["reason"] != tc.reason {
				t.Errorf("reason %v, want %s: %s", d.body["reason"], tc.reason, d.raw)
			}
			if m := scrape(t, e); m["talkturo_telnyx_up"] != 0 {
				t.Errorf("talkturo_telnyx_up = %v with Telnyx down", m["talkturo_telnyx_up"])
			}

			r := e.do(request{method: http.MethodGet, path: "/readyz"})
			if r.status != http.StatusOK || r.body["success"] != true {
				t.Fatalf("readyz with Telnyx answering %s to everything: %d %s", tc.name, r.status, r.raw)
			}

			before := len(e.searches.all())
			start := time.Now()
			r = e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
			took := time.Since(start)
			wantError(t, r, http.StatusServiceUnavailable, "provider_unavailable", "")
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
				t.Errorf("Retry-After %q, want whole seconds", r.header.Get("Retry-After"))
			}
			if got := len(e.searches.all()) - before; got != 0 {
				t.Errorf("the search called Telnyx %d times while the probe said it was down", got)
			}
			t.Logf("search with Telnyx %s: %d in %v", tc.name, r.status, took)

			// Telnyx comes back: the next probe says so and searches work.
			e.sim.SetFaults(telnyxsim.Faults{})
			waitProvider(t, e, "up")
			// The 429 fault's Retry-After (1 s) may still hold searches back.
			deadline := time.Now().Add(5 * time.Second)
			for {
				r = e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
				if r.status == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if r.status != http.StatusOK {
				t.Errorf("search after Telnyx recovered: %d %s", r.status, r.raw)
			}
		})
	}
}

// TestSearchRateLimitedByTelnyxBacksOff: while the probe still says up,
// Telnyx starts answering 429. The first search gets the 503; the next
// ones answer at once, for as long as Telnyx asked, without calling it.
func TestSearchRateLimitedByTelnyxBacksOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withProbe(time.Hour))
	acct := e.newAccount("throttled@example.com")
	waitProvider(t, e, "up")
	e.sim.SetFaults(telnyxsim.Faults{RateLimitRate: 1})

	r := e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
	wantError(t, r, http.StatusServiceUnavailable, "provider_unavailable", "")
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want Telnyx's 1", r.header.Get("Retry-After"))
	}
	calls := len(e.searches.all())
	if d := e.do(request{method: http.MethodGet, path: diagnosticsPath}); d.body["rateLimitedUntil"] == nil {
		t.Errorf("diagnostics do not show the wait: %s", d.raw)
	}

	for range 3 {
		r = e.do(request{method: http.MethodPost, path: searchPath, token: acct.Token, body: seedSearch})
		wantError(t, r, http.StatusServiceUnavailable, "provider_unavailable", "")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After %q, want 1", r.header.Get("Retry-After"))
		}
	}
	if got := len(e.searches.all()); got != calls {
		t.Errorf("Telnyx got %d more searches within the wait it asked for", got-calls)
	}
}
