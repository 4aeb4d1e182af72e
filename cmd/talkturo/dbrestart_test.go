package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence/devpostgres"
)

// PostgreSQL stops in the middle of purchases and starts again: while it is
// down the API answers 503 (never a 500, never a hang) and stays live; the
// activities retry; afterwards every purchase completes, nothing is lost
// and Telnyx holds exactly what the database holds. The database is a
// private cluster of the test's own, so stopping it disturbs no other test.
func TestDatabaseRestartMidRun(t *testing.T) {
	t.Parallel()
	base, err := os.MkdirTemp("", "dbrestart-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	// The cluster runs as the postgres user when the test runs as root.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pg, err := devpostgres.StartPrivate(ctx, filepath.Join(base, "postgres"), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })

	s := newStack(t, stackOptions{databaseURL: pg.URL, env: map[string]string{"PURCHASE_WAIT": "5s"}})
	// Orders settle slowly, so the database goes away under purchases at
	// every step.
	s.sim.SetOrderLatency(3 * time.Second)
	api, team, token := s.serving(domain.PlanGrowth)

	const n = 6
	type result struct {
		status      int
		id, code    string
		unavailable int // 503s on the way
	}
	results := make([]result, n)
	numbers := s.offerSeries(8000, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Staggered, so some purchases start while the database is down.
			time.Sleep(time.Duration(i) * 700 * time.Millisecond)
			body := map[string]any{"phoneNumber": numbers[i], "teamId": team}
			for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); {
				status, b, err := tryCall("POST", api+"/api/phone-numbers/purchase", token, body, "Idempotency-Key", fmt.Sprintf("db-%d", i))
				if err == nil && status != 202 && status != 503 {
					results[i].status, results[i].code = status, errCode(b)
					if status == 200 {
						results[i].id = b["phoneNumber"].(map[string]any)["id"].(string)
					}
					return
				}
				if status == 503 {
					results[i].unavailable++
				}
				time.Sleep(300 * time.Millisecond)
			}
		})
	}

	time.Sleep(1500 * time.Millisecond)
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// While it is down: every request that needs it is a prompt 503 with
	// the JSON error body; the process itself stays live.
	down := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/phone-numbers/purchase?teamId=" + team, nil},
		{"POST", "/api/phone-numbers/search", map[string]any{"filters": map[string]any{"countryCode": "US", "limit": 2}}},
		{"POST", "/api/phone-numbers/purchase", map[string]any{"phoneNumber": "+14155558999", "teamId": team}},
		{"GET", "/readyz", nil},
	}
	for round := range 3 {
		for _, r := range down {
			start := time.Now()
			status, b, err := tryCall(r.method, api+r.path, token, r.body)
			took := time.Since(start)
			if err != nil || status != 503 || took > 10*time.Second {
				t.Errorf("round %d, %s %s with the database down: %d %v %v after %v; want a prompt 503", round, r.method, r.path, status, b, err, took)
			}
		}
		if status, b := call(t, "GET", api+"/healthz", "", nil); status != 200 {
			t.Errorf("/healthz with the database down: %d %v; the process is alive", status, b)
		}
		time.Sleep(time.Second)
	}
	if err := pg.Start(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	met := 0
	for i, r := range results {
		if r.unavailable > 0 {
			met++
		}
		if r.status != 200 {
			t.Errorf("purchase of %s ended %d %s, want 200", numbers[i], r.status, r.code)
			continue
		}
		got, err := s.numbers.Get(ctx, team, r.id)
		if err != nil || got.Status != domain.NumberActive {
			t.Errorf("purchase of %s answered 200, the database holds %+v (%v)", numbers[i], got, err)
		}
	}
	if met == 0 {
		t.Error("no purchase met the outage: the test proves little")
	}
	t.Logf("%d of %d purchases were answered 503 at least once and retried", met, n)
	// The API is back, and Telnyx holds exactly what the database holds.
	if status, b := call(t, "GET", api+"/readyz", "", nil); status != 200 {
		t.Errorf("/readyz after the restart: %d %v", status, b)
	}
	status, b := call(t, "GET", api+"/api/phone-numbers/purchase?teamId="+team, token, nil)
	if status != 200 || int(b["count"].(float64)) != n {
		t.Fatalf("the list after the restart: %d %v, want %d numbers", status, b, n)
	}
	for ref, c := range s.sim.OrderCounts() {
		if c > 1 {
			t.Errorf("customer_reference %s was ordered %d times", ref, c)
		}
	}
	if owned, held := s.sim.OwnedNumbers(), slices.Sorted(slices.Values(numbers)); !slices.Equal(owned, held) {
		t.Errorf("Telnyx holds %v, the database %v", owned, held)
	}
}
