package telnyxsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// DefaultHangFor is how long a request picked by Faults.TimeoutRate hangs
// when Faults.HangFor is zero: longer than any sane client timeout.
const DefaultHangFor = 30 * time.Second

// Faults is what the simulator does wrong on purpose. Rates are shares of
// /v2 requests between 0 and 1; one draw per request picks at most one of
// hang, 429 and 5xx, in that order, so the shares are exact as long as they
// add up to 1 or less.
type Faults struct {
	// Latency delays every /v2 answer, plus a random share of LatencyJitter.
	Latency       time.Duration
	LatencyJitter time.Duration
	// ErrorRate is the share of requests answered 500 or 503 before
	// anything is done.
	ErrorRate float64
	// RateLimitRate is the share of requests answered 429, with the
	// x-ratelimit-* headers Telnyx documents (x-ratelimit-reset: 1),
	// before anything is done.
	RateLimitRate float64
	// RateLimitRetryAfter adds retry-after: 1 to those answers. Telnyx
	// does not document it, so it is off by default: a client must back
	// off on x-ratelimit-reset alone.
	RateLimitRetryAfter bool
	// TimeoutRate is the share of requests that hang. The request is carried
	// out first and only its answer is withheld, until the client gives up
	// or HangFor passes: exactly the case in which a client cannot tell
	// whether its order was placed.
	TimeoutRate float64
	// HangFor bounds a hang; zero means DefaultHangFor.
	HangFor time.Duration
	// SellBetweenSearchAndOrder is the share of orders whose number turns
	// out to have been sold to someone else: the order is refused with 422
	// and the number leaves the inventory for good.
	SellBetweenSearchAndOrder float64
}

// faultsJSON is Faults on the admin API, durations as Go duration strings
// ("200ms").
type faultsJSON struct {
	Latency                   string  `json:"latency"`
	LatencyJitter             string  `json:"latency_jitter"`
	ErrorRate                 float64 `json:"error_rate"`
	RateLimitRate             float64 `json:"rate_limit_rate"`
	RateLimitRetryAfter       bool    `json:"rate_limit_retry_after"`
	TimeoutRate               float64 `json:"timeout_rate"`
	HangFor                   string  `json:"hang_for"`
	SellBetweenSearchAndOrder float64 `json:"sell_between_search_and_order"`
}

// MarshalJSON writes f with durations as Go duration strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency:                   f.Latency.String(),
		LatencyJitter:             f.LatencyJitter.String(),
		ErrorRate:                 f.ErrorRate,
		RateLimitRate:             f.RateLimitRate,
		RateLimitRetryAfter:       f.RateLimitRetryAfter,
		TimeoutRate:               f.TimeoutRate,
		HangFor:                   f.HangFor.String(),
		SellBetweenSearchAndOrder: f.SellBetweenSearchAndOrder,
	})
}

// UnmarshalJSON reads f from JSON with durations as Go duration strings;
// absent fields are zero.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt fault must not be silently ignored
	if err := dec.Decode(&j); err != nil {
		return err
	}
	out := Faults{
		ErrorRate:                 j.ErrorRate,
		RateLimitRate:             j.RateLimitRate,
		RateLimitRetryAfter:       j.RateLimitRetryAfter,
		TimeoutRate:               j.TimeoutRate,
		SellBetweenSearchAndOrder: j.SellBetweenSearchAndOrder,
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{
		{"latency", j.Latency, &out.Latency},
		{"latency_jitter", j.LatencyJitter, &out.LatencyJitter},
		{"hang_for", j.HangFor, &out.HangFor},
	} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		*d.out = v
	}
	*f = out
	return nil
}

// validate reports the first field out of range.
func (f Faults) validate() error {
	for _, r := range []struct {
		name  string
		value float64
	}{
		{"error_rate", f.ErrorRate},
		{"rate_limit_rate", f.RateLimitRate},
		{"timeout_rate", f.TimeoutRate},
		{"sell_between_search_and_order", f.SellBetweenSearchAndOrder},
	} {
		if r.value < 0 || r.value > 1 {
			return fmt.Errorf("%s must be between 0 and 1", r.name)
		}
	}
	if f.Latency < 0 || f.LatencyJitter < 0 || f.HangFor < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	return nil
}

// clamped brings f within range, for SetFaults which cannot fail.
func (f Faults) clamped() Faults {
	clamp := func(r float64) float64 { return min(max(r, 0), 1) }
	f.ErrorRate, f.RateLimitRate = clamp(f.ErrorRate), clamp(f.RateLimitRate)
	f.TimeoutRate, f.SellBetweenSearchAndOrder = clamp(f.TimeoutRate), clamp(f.SellBetweenSearchAndOrder)
	f.Latency, f.LatencyJitter, f.HangFor = max(f.Latency, 0), max(f.LatencyJitter, 0), max(f.HangFor, 0)
	return f
}

// SetFaults replaces the faults in force; rates are clamped to [0, 1].
func (s *Simulator) SetFaults(f Faults) {
	s.faultMu.Lock()
	s.faults = f.clamped()
	s.faultMu.Unlock()
}

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults
}

// faultKind is what a request's draw decided.
type faultKind int

const (
	faultNone faultKind = iota
	faultHang
	faultRateLimit
	faultServerError
)

// faultPlan is the fate of one request.
type faultPlan struct {
	kind    faultKind
	delay   time.Duration
	hangFor time.Duration
	status  int // for faultServerError: 500 or 503
	// retryAfter adds retry-after to a faultRateLimit answer.
	retryAfter bool
}

// drawFaults decides the fate of one request.
func (s *Simulator) drawFaults() faultPlan {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.faults
	p := faultPlan{delay: f.Latency, hangFor: f.HangFor, retryAfter: f.RateLimitRetryAfter}
	if f.LatencyJitter > 0 {
		p.delay += time.Duration(s.faultRNG.Int64N(int64(f.LatencyJitter)))
	}
	if p.hangFor == 0 {
		p.hangFor = DefaultHangFor
	}
	u := s.faultRNG.Float64()
	switch {
	case u < f.TimeoutRate:
		p.kind = faultHang
	case u < f.TimeoutRate+f.RateLimitRate:
		p.kind = faultRateLimit
	case u < f.TimeoutRate+f.RateLimitRate+f.ErrorRate:
		p.kind = faultServerError
		p.status = http.StatusInternalServerError
		if s.faultRNG.IntN(2) == 1 {
			p.status = http.StatusServiceUnavailable
		}
	}
	return p
}

// drawSold decides whether an order's number was sold to someone else.
func (s *Simulator) drawSold() bool {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.faults.SellBetweenSearchAndOrder > 0 && s.faultRNG.Float64() < s.faults.SellBetweenSearchAndOrder
}

// withFaults wraps the API with the faults in force.
func (s *Simulator) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := s.drawFaults()
		if p.delay > 0 && !pause(r, p.delay) {
			return
		}
		switch p.kind {
		case faultRateLimit:
			h := w.Header()
			if p.retryAfter {
				h.Set("Retry-After", "1")
			}
			h.Set("X-Ratelimit-Limit", strconv.Itoa(rateLimitPerSecond))
			h.Set("X-Ratelimit-Remaining", "0")
			h.Set("X-Ratelimit-Reset", "1")
			writeError(w, apiError{status: http.StatusTooManyRequests, code: CodeTooManyRequests, title: "Too many requests",
				detail: "You have exceeded the maximum number of allowed requests."})
		case faultServerError:
			title := "Unexpected error"
			if p.status == http.StatusServiceUnavailable {
				title = "Service unavailable"
			}
			writeError(w, apiError{status: p.status, code: CodeUnexpectedError, title: title,
				detail: "An unexpected error occured."})
		case faultHang:
			rec := newBufferedResponse()
			next.ServeHTTP(rec, r)
			if pause(r, p.hangFor) {
				rec.flushTo(w)
			}
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// rateLimitPerSecond is what the 429 fault's x-ratelimit-limit claims.
const rateLimitPerSecond = 20

// pause waits d, or until the client goes away (false).
func pause(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// bufferedResponse holds an answer back, for the hang fault.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}, status: http.StatusOK}
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}
