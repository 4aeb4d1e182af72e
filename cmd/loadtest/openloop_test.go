package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileIsTheNearestRank(t *testing.T) {
	lat := make([]time.Duration, 100)
	for i := range lat {
		lat[i] = time.Duration(i+1) * time.Millisecond
	}
	for p, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.95: 95 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := percentile(lat, p); got != want {
			t.Errorf("p%g = %s, want %s", p*100, got, want)
		}
	}
	if percentile(nil, 0.5) != 0 || percentile(lat[:1], 0.99) != time.Millisecond {
		t.Error("percentiles of 0 and 1 latencies")
	}
}

// A stall is charged to the requests that waited behind it: with one slot
// and a first request taking 300 ms, the ones meant to leave meanwhile
// have latencies counted from their intended times, not from when the slot
// freed up.
func TestOpenLoopCountsTheWaitBehindAStall(t *testing.T) {
	var calls atomic.Int64
	st := openLoop(context.Background(), 20, 500*time.Millisecond, 1, func(ctx context.Context, i int) outcome {
		calls.Add(1)
		if i == 0 {
			time.Sleep(300 * time.Millisecond)
		}
		if i == 9 {
			return outcome{class: "HTTP 500 internal"}
		}
		return okOutcome()
	})
	if st.Sent != 10 || calls.Load() != 10 || st.OK != 9 || st.Errors["HTTP 500 internal"] != 1 {
		t.Fatalf("%+v after %d calls, want 10 sent, 9 ok, one error", st, calls.Load())
	}
	// Request 1 was meant for 50 ms and could leave at 300 ms: about 250 ms.
	if st.MaxLagMs < 200 || st.P50Ms < 100 {
		t.Fatalf("%+v: the wait behind the stall is not counted", st)
	}
}

func TestClosedLoopRunsEveryIndexOnce(t *testing.T) {
	seen := make([]atomic.Int64, 50)
	st := closedLoop(context.Background(), 50, 7, func(ctx context.Context, i int) outcome {
		seen[i].Add(1)
		return okOutcome()
	})
	for i := range seen {
		if seen[i].Load() != 1 {
			t.Fatalf("index %d ran %d times", i, seen[i].Load())
		}
	}
	if st.OK != 50 || st.Sent != 50 {
		t.Fatalf("%+v", st)
	}
}

func TestNumbersAreDistinctAndValid(t *testing.T) {
	got, err := numbersIn(npaTrials, 10500) // crosses an exchange
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range got {
		if seen[n] || len(n) != 12 || n[:5] != "+1"+npaTrials {
			t.Fatalf("%s is repeated or not in area code %s", n, npaTrials)
		}
		seen[n] = true
	}
}
