package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
)

// Purchases while Telnyx answers a share of 5xx and 429, hangs, lags, and
// sells numbers to someone else between search and order: every purchase
// ends active or with a clean refusal, never a 5xx, never stuck, never
// ordered twice, and Telnyx's owned numbers equal the database's.
func TestPurchasesSurviveProviderFaults(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"TELNYX_TIMEOUT": "1s", "PURCHASE_WAIT": "30s", "REQUEST_TIMEOUT": "40s"}})
	base, team, token := s.serving(domain.PlanGrowth) // 10 slots
	s.sim.SetFaults(telnyxsim.Faults{
		Latency: 10 * time.Millisecond, LatencyJitter: 40 * time.Millisecond,
		ErrorRate: 0.15, RateLimitRate: 0.15, TimeoutRate: 0.05, HangFor: 2 * time.Second,
		SellBetweenSearchAndOrder: 0.2,
	})

	const n = 14
	// The search itself runs without faults: SellBetweenSearchAndOrder is
	// what takes numbers away between the two.
	numbers := s.offerSeries(6000, n)
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			st, b := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": numbers[i], "teamId": team})
			statuses[i], codes[i] = st, errCode(b)
		})
	}
	wg.Wait()
	for i := range n {
		switch {
		case statuses[i] == 200, statuses[i] == 202:
		case statuses[i] == 409 && codes[i] == domain.CodeNumberUnavailable:
		case statuses[i] == 403 && codes[i] == domain.CodePlanLimitReached:
		default:
			t.Errorf("purchase of %s: %d %s, want 200/202 or a clean 409/403", numbers[i], statuses[i], codes[i])
		}
	}

	// Faults off: everything still running settles, nothing stays pending.
	s.sim.SetFaults(telnyxsim.Faults{})
	var live []domain.NumberListItem
	waitFor(t, 120*time.Second, func() bool {
		page, err := s.numbers.List(context.Background(), domain.NumberListQuery{TeamID: team})
		if err != nil {
			return false
		}
		live = page.Items
		for _, it := range page.Items {
			if it.Status == domain.NumberPending {
				return false
			}
		}
		return true
	}, "every purchase to settle")

	held := []string{}
	for _, it := range live {
		held = append(held, it.PhoneNumber.PhoneNumber)
	}
	owned := s.sim.OwnedNumbers()
	slices.Sort(held)
	slices.Sort(owned)
	if !slices.Equal(held, owned) {
		t.Fatalf("Telnyx holds %v but the database %v: an orphan or a ghost", owned, held)
	}
	if len(held) > 10 {
		t.Fatalf("the team holds %d numbers on a plan of 10", len(held))
	}
	if e, _ := s.accounts.Eligibility(context.Background(), team); e.CurrentCount != len(held) {
		t.Fatalf("eligibility counts %d, the team holds %d", e.CurrentCount, len(held))
	}
	svc := numberService(t, s, mustClient(t, s))
	for _, e164 := range numbers {
		st, err := svc.State(context.Background(), e164)
		if err != nil {
			t.Fatalf("state of %s: %v", e164, err)
		}
		if c := s.sim.OrderCount(st.CustomerReference); c > 1 {
			t.Errorf("%s was ordered %d times", e164, c)
		}
	}
}
