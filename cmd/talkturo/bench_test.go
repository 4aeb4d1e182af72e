package main

// Purchase latency through the whole system (HTTP API, Temporal, worker,
// PostgreSQL, the simulator over HTTP) against the same work done by
// calling the activities directly, without Temporal (package
// activities/direct): the ratio is Temporal's overhead. Run with `make
// bench`; cmd/loadtest measures the same under open-loop load.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/direct"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

var orderLatencies = []time.Duration{0, 200 * time.Millisecond}

func BenchmarkPurchaseThroughAPI(b *testing.B) {
	for _, latency := range orderLatencies {
		b.Run(fmt.Sprintf("order_latency=%s", latency), func(b *testing.B) {
			// Telnyx's order webhook ends the order wait, as in production.
			s, base := webhookStack(b, map[string]string{"PLAN_LIMITS": "scale=1000000"}, nil)
			s.sim.SetOrderLatency(latency)
			team, token := s.team(domain.PlanScale)
			// Searched for before the clock starts: the benchmark measures
			// purchases, as BenchmarkPurchaseDirect does.
			for i := range min(b.N, benchNumbers) {
				s.offer(benchNumber(i))
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				status, body := call(b, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": benchNumber(i), "teamId": team})
				lat = append(lat, time.Since(start))
				if status != 200 {
					b.Fatalf("purchase %d: %d %v", i, status, body)
				}
			}
			reportPercentiles(b, lat)
		})
	}
}

func BenchmarkPurchaseDirect(b *testing.B) {
	for _, latency := range orderLatencies {
		b.Run(fmt.Sprintf("order_latency=%s", latency), func(b *testing.B) {
			bk := backend.New(b, backend.Options{Sim: telnyxsim.Options{OrderLatency: latency}})
			if err := bk.Accounts.SyncPlans(context.Background(), []domain.Plan{{Name: domain.PlanScale, DisplayName: "Scale", MaxNumbers: 1000000, Paid: true}}); err != nil {
				b.Fatal(err)
			}
			a := bk.Activities
			a.OrderPollInterval = 2 * time.Second
			acct := bk.Team(b, domain.PlanScale)
			// Searched for before the clock starts, as in
			// BenchmarkPurchaseThroughAPI.
			for i := range min(b.N, benchNumbers) {
				backend.Offer(b, bk.Sim, benchNumber(i))
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := direct.Purchase(context.Background(), a, acct.TeamID, acct.UserID, benchNumber(i)); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}

// benchNumbers is how many distinct numbers benchNumber gives.
const benchNumbers = 10000

func benchNumber(i int) string { return fmt.Sprintf("+1628555%04d", i%benchNumbers) }

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
}
