package main

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
)

// TestTelnyxOutageLeavesTheAPIReady runs the API as `talkturo api` wires
// it (real PostgreSQL and Temporal) while Telnyx rate-limits every call:
// /readyz stays 200 on the database and Temporal, the probe reports
// Telnyx down (endpoint and metric), searches answer a prompt 503 with
// Retry-After, and the search rate limit still applies (429).
func TestTelnyxOutageLeavesTheAPIReady(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true, env: map[string]string{
		"TELNYX_PROBE_INTERVAL":        "1s",
		"RATE_LIMIT_SEARCH_PER_SECOND": "0.01", // no refill during the test
		"RATE_LIMIT_SEARCH_BURST":      "20",
	}})
	_, base := s.app(roleAPI)
	team, token := s.team(domain.PlanGrowth)

	s.sim.SetFaults(telnyxsim.Faults{RateLimitRate: 1})
	waitFor(t, 20*time.Second, func() bool {
		_, d := call(t, "GET", base+"/diagnostics/provider", "", nil)
		return d["status"] == "down" && d["reason"] == "rate_limited"
	}, "the probe to see Telnyx rate-limiting")

	status, ready := call(t, "GET", base+"/readyz", "", nil)
	checks, _ := ready["checks"].(map[string]any)
	if status != http.StatusOK || len(checks) != 2 || checks["database"] == nil || checks["temporal"] == nil {
		t.Fatalf("readyz with Telnyx rate-limiting every call: %d %v", status, ready)
	}
	if m := s.scrapeMetrics(t); !strings.Contains(m, "\ntalkturo_telnyx_up 0\n") || !strings.Contains(m, "\ntalkturo_telnyx_last_probe_timestamp_seconds ") {
		t.Errorf("metrics do not show Telnyx down:\n%s", m)
	}

	statuses := map[int]int{}
	var slowest time.Duration
	for range 25 {
		body := `{"teamId": "` + team + `", "filters": {"countryCode": "US", "areaCode": "415", "limit": 5}}`
		req, _ := http.NewRequest(http.MethodPost, base+"/api/phone-numbers/search", bytes.NewReader([]byte(body)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		slowest = max(slowest, time.Since(start))
		statuses[resp.StatusCode]++
		if resp.Header.Get("Retry-After") == "" {
			t.Errorf("search answered %d without Retry-After", resp.StatusCode)
		}
	}
	if statuses[http.StatusServiceUnavailable] != 20 || statuses[http.StatusTooManyRequests] != 5 {
		t.Errorf("25 searches by one team with Telnyx down: %v, want 20 × 503 then 5 × 429", statuses)
	}
	t.Logf("25 searches with Telnyx rate-limiting: %v, slowest answer %v", statuses, slowest)

	s.sim.SetFaults(telnyxsim.Faults{})
	waitFor(t, 20*time.Second, func() bool {
		_, d := call(t, "GET", base+"/diagnostics/provider", "", nil)
		return d["status"] == "up"
	}, "the probe to see Telnyx back")
}
