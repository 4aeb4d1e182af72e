package telnyx

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
)

// The simulator's 429 carries only the x-ratelimit-* headers Telnyx
// documents (x-ratelimit-reset: 1): the client reads the reset as its
// wait, and backs off that long before trying again.
func TestRateLimitBacksOffOnRateLimitReset(t *testing.T) {
	var sim *telnyxsim.Simulator
	var calls atomic.Int32
	var sawRetryAfter atomic.Bool
	// After the first (rate-limited) answer the limit lifts.
	liftAfterFirst := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if w.Header().Get("Retry-After") != "" {
				sawRetryAfter.Store(true)
			}
			if calls.Add(1) == 1 {
				sim.SetFaults(telnyxsim.Faults{})
			}
		})
	}
	c, s := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{RateLimitRate: 1}}, liftAfterFirst,
		Config{MaxBackoff: 3 * time.Second, MaxRetries: 1})
	sim = s
	start := time.Now()
	got, err := c.SearchAvailable(context.Background(), domain.SearchFilter{CountryCode: "US", Limit: 1})
	elapsed := time.Since(start)
	if err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	if calls.Load() != 2 || sawRetryAfter.Load() {
		t.Errorf("%d calls (want 2), retry-after sent: %v", calls.Load(), sawRetryAfter.Load())
	}
	// The jittered exponential wait alone would be at most 200ms.
	if elapsed < time.Second || elapsed > 2500*time.Millisecond {
		t.Errorf("waited %v, want the one-second x-ratelimit-reset", elapsed)
	}
}

// The wait is read from x-ratelimit-reset whether or not Retry-After comes
// with it, and MaxBackoff still caps it.
func TestRateLimitWaitFromSimulatorHeaders(t *testing.T) {
	for _, withRetryAfter := range []bool{false, true} {
		c, _ := simClient(t, telnyxsim.Options{Faults: telnyxsim.Faults{RateLimitRate: 1, RateLimitRetryAfter: withRetryAfter}}, nil,
			Config{MaxRetries: -1})
		pe := providerError(t, c.Ping(context.Background()))
		if pe.Class != domain.ProviderRateLimited || pe.RetryAfter != time.Second || !pe.Retryable() {
			t.Errorf("retry-after %v: %+v", withRetryAfter, pe)
		}
		if d := c.backoff(1, pe.RetryAfter); d != c.maxBackoff {
			t.Errorf("a reset beyond MaxBackoff (%v) waits %v", c.maxBackoff, d)
		}
	}
}
