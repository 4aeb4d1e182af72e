package main

import (
	"context"
	"maps"
	"math"
	"slices"
	"sort"
	"sync"
	"time"
)

// outcome is how one request ended: ok, or the error's class ("HTTP 409
// number_unavailable", "transport", …), which the report counts.
type outcome struct {
	ok    bool
	class string
}

func okOutcome() outcome { return outcome{ok: true} }

// Stats summarises the requests of one operation.
type Stats struct {
	Sent   int            `json:"sent"`
	OK     int            `json:"ok"`
	Errors map[string]int `json:"errors,omitempty"`
	// Seconds is from the first intended send to the last answer.
	Seconds float64 `json:"seconds"`
	// Throughput is successful requests per second over Seconds.
	Throughput float64 `json:"throughputPerSec"`
	P50Ms      float64 `json:"p50Ms"`
	P95Ms      float64 `json:"p95Ms"`
	P99Ms      float64 `json:"p99Ms"`
	MaxMs      float64 `json:"maxMs"`
	// MaxLagMs is the longest a request waited past its intended send time
	// for a free slot (the concurrency cap); its latency includes the wait.
	MaxLagMs float64 `json:"maxLagMs,omitempty"`
}

// recorder collects the latencies and outcomes of concurrent requests.
type recorder struct {
	mu     sync.Mutex
	lat    []time.Duration
	errors map[string]int
	sent   int
	maxLag time.Duration
	first  time.Time
	last   time.Time
}

func newRecorder(start time.Time) *recorder {
	return &recorder{errors: map[string]int{}, first: start}
}

func (r *recorder) record(o outcome, latency time.Duration, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent++
	if end.After(r.last) {
		r.last = end
	}
	if !o.ok {
		r.errors[o.class]++
		return
	}
	r.lat = append(r.lat, latency)
}

func (r *recorder) lag(d time.Duration) {
	r.mu.Lock()
	r.maxLag = max(r.maxLag, d)
	r.mu.Unlock()
}

// stats computes the summary. Percentiles are of the successful requests
// only (nearest rank), so that a burst of fast refusals cannot flatter
// them; the refusals are counted in Errors.
func (r *recorder) stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Stats{Sent: r.sent, OK: len(r.lat), MaxLagMs: ms(r.maxLag)}
	if len(r.errors) > 0 {
		s.Errors = maps.Clone(r.errors)
	}
	if !r.last.IsZero() {
		s.Seconds = r.last.Sub(r.first).Seconds()
	}
	if s.Seconds > 0 {
		s.Throughput = float64(s.OK) / s.Seconds
	}
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	s.P50Ms, s.P95Ms, s.P99Ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.95)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		s.MaxMs = ms(lat[len(lat)-1])
	}
	return s
}

// percentile is the nearest-rank percentile of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// sortedKeys lists a map's keys in order, for stable output.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// openLoop sends rate requests a second for dur, each at its intended
// time whatever the earlier ones are doing (open loop), with at most
// concurrency in flight. A request's latency runs from its intended send
// time, not from when a slot let it go: a stalled system is charged for the
// requests it kept waiting (no coordinated omission). do gets the
// request's index, 0 to rate×dur−1.
func openLoop(ctx context.Context, rate float64, dur time.Duration, concurrency int, do func(ctx context.Context, i int) outcome) Stats {
	n := requests(rate, dur)
	start := time.Now()
	rec := newRecorder(start)
	slots := make(chan struct{}, max(concurrency, 1))
	var wg sync.WaitGroup
	for i := range n {
		intended := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if wait := time.Until(intended); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		rec.lag(time.Since(intended))
		wg.Go(func() {
			defer func() { <-slots }()
			o := do(ctx, i)
			end := time.Now()
			rec.record(o, end.Sub(intended), end)
		})
	}
	wg.Wait()
	return rec.stats()
}

// closedLoop runs do for indexes 0 to n−1 with concurrency workers, each
// sending its next request as soon as its last one is answered: the most
// the system sustains at that concurrency.
func closedLoop(ctx context.Context, n, concurrency int, do func(ctx context.Context, i int) outcome) Stats {
	start := time.Now()
	rec := newRecorder(start)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(concurrency, 1) {
		wg.Go(func() {
			for i := range next {
				sent := time.Now()
				o := do(ctx, i)
				end := time.Now()
				rec.record(o, end.Sub(sent), end)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return rec.stats()
}
