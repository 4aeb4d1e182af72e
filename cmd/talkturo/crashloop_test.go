package main

// The crash loop: purchases through two API processes while API and worker
// processes are SIGKILLed at random moments and restarted, then the
// invariants a customer and the finance team care about are checked. `go
// test` runs it at a reduced size; `make crashloop` at full size
// (CRASHLOOP_PURCHASES=100). CRASHLOOP_SEED replays a run's kill schedule.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

func TestCrashLoop(t *testing.T) {
	t.Parallel()
	crashLoop(t, telnyxsim.Faults{})
}

// The same, with Telnyx answering 30% 5xx/429, hanging past the client's
// timeout, lagging, and selling numbers to someone else between search and
// order.
func TestCrashLoopWithProviderFaults(t *testing.T) {
	t.Parallel()
	crashLoop(t, telnyxsim.Faults{
		Latency: 10 * time.Millisecond, LatencyJitter: 300 * time.Millisecond,
		ErrorRate: 0.15, RateLimitRate: 0.15, TimeoutRate: 0.05, HangFor: 2 * time.Second,
		SellBetweenSearchAndOrder: 0.2,
	})
}

// crashPurchase is one customer's purchase and how it ended.
type crashPurchase struct {
	team, token, number string
	trial               bool
	status              int
	code, id            string
	attempts            int
	unavailable         int    // 503s on the way
	last                string // the last answer that was not final, for a failure's message
}

func crashLoop(t *testing.T, faults telnyxsim.Faults) {
	n := envInt(t, "CRASHLOOP_PURCHASES", 20)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CRASHLOOP_SEED"); v != "" {
		seed = uint64(envInt(t, "CRASHLOOP_SEED", 0))
	}
	t.Logf("%d purchases, CRASHLOOP_SEED=%d", n, seed)
	faulty := faults != (telnyxsim.Faults{})

	// Two paid teams whose limit a share of the purchases exceeds, and free
	// teams (one trial number each) that each try several.
	paidLimit := max(2, n*3/10)
	s := newStack(t, stackOptions{env: map[string]string{
		"PLAN_LIMITS": fmt.Sprintf("growth=%d", paidLimit), "TRIAL_DURATION": "1h",
		"PURCHASE_WAIT": "5s", "TELNYX_TIMEOUT": "1s",
	}})
	s.sim.SetFaults(faults)
	// Orders take a while to settle, as at Telnyx, so kills land in every
	// step of a purchase.
	s.sim.SetOrderLatency(500 * time.Millisecond)
	bin := buildBinary(t)
	apis := []*process{startProcess(t, bin, "api", s), startProcess(t, bin, "api", s)}
	workers := []*process{startProcess(t, bin, "worker", s), startProcess(t, bin, "worker", s)}

	type team struct {
		id, token string
		trial     bool
		limit     int
	}
	var paid, free []team
	for range 2 {
		id, token := s.team(domain.PlanGrowth)
		paid = append(paid, team{id, token, false, paidLimit})
	}
	for range max(2, n/25) {
		id, token := s.team(domain.PlanFree)
		free = append(free, team{id, token, true, 1})
	}
	purchases := make([]*crashPurchase, n)
	for i := range n {
		tm := paid[i%2]
		if i%5 == 0 {
			tm = free[(i/5)%len(free)]
		}
		purchases[i] = &crashPurchase{team: tm.id, token: tm.token, trial: tm.trial, number: fmt.Sprintf("+1415555%04d", 7000+i)}
		// Each customer searched before buying (here, not in its
		// goroutine: s.offer fails the test, which only this goroutine
		// may do). The search runs without the faults.
		s.offer(purchases[i].number)
	}

	// The chaos: until the purchases are answered, every 0.3–2 s a random
	// process is killed and started again 0–1 s later. Sometimes both of a
	// kind are down at once.
	stopChaos := make(chan struct{})
	chaosDone := make(chan int)
	restartErrs := make(chan error, 1000)
	go func() {
		rng := rand.New(rand.NewPCG(seed, 1))
		procs := append(slices.Clone(apis), workers...)
		kills := 0
		var restarts sync.WaitGroup
		defer func() { restarts.Wait(); chaosDone <- kills }()
		busy := make([]bool, len(procs))
		var mu sync.Mutex
		for {
			select {
			case <-stopChaos:
				return
			case <-time.After(time.Duration(300+rng.IntN(1700)) * time.Millisecond):
			}
			i := rng.IntN(len(procs))
			mu.Lock()
			if busy[i] {
				mu.Unlock()
				continue
			}
			busy[i] = true
			mu.Unlock()
			down := time.Duration(rng.IntN(1000)) * time.Millisecond
			procs[i].kill()
			kills++
			restarts.Go(func() {
				time.Sleep(down)
				// Started again until it comes up, as an orchestrator
				// would (its database may be briefly out of connections).
				var err error
				for range 10 {
					if err = procs[i].start(); err == nil {
						break
					}
					time.Sleep(time.Second)
				}
				if err != nil {
					restartErrs <- err
				}
				mu.Lock()
				busy[i] = false
				mu.Unlock()
			})
		}
	}()

	// The customers, four at a time: each retries with its Idempotency-Key,
	// on another API when one is gone, until it has a final answer. They
	// arrive over n × arrivalGap, so the purchases last long enough for
	// the chaos to strike while they run: three kills take at most 6 s,
	// and 20 purchases arrive over 11.4 s (settling all at once, they were
	// done in about 6 s, sometimes with only two kills).
	const arrivalGap = 600 * time.Millisecond
	deadline := time.Now().Add(time.Duration(3+n/20) * time.Minute)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, p := range purchases {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * arrivalGap)
			sem <- struct{}{}
			defer func() { <-sem }()
			key := fmt.Sprintf("crash-%d", i)
			body := map[string]any{"phoneNumber": p.number, "teamId": p.team}
			for time.Now().Before(deadline) {
				p.attempts++
				status, b, err := tryCall("POST", apis[rand.IntN(len(apis))].url()+"/api/phone-numbers/purchase", p.token, body, "Idempotency-Key", key)
				if err != nil || status == 202 || status == 503 {
					p.last = fmt.Sprintf("%d %v", status, err)
					if pn, ok := b["phoneNumber"].(map[string]any); ok {
						p.last += fmt.Sprintf(" %v", pn["status"])
					}
					// The API died under the request, the order is still
					// settling, or no worker could say: ask again with the
					// same key.
					if status == 503 {
						p.unavailable++
					}
					time.Sleep(300 * time.Millisecond)
					continue
				}
				p.status, p.code = status, errCode(b)
				if status == 200 {
					p.id = b["phoneNumber"].(map[string]any)["id"].(string)
				}
				return
			}
		})
	}
	wg.Wait()
	close(stopChaos)
	kills := <-chaosDone
	close(restartErrs)
	for err := range restartErrs {
		t.Fatalf("a restart failed: %v", err)
	}
	s.sim.SetFaults(telnyxsim.Faults{})

	outcomes := map[string]int{}
	attempts, unavailable := 0, 0
	for _, p := range purchases {
		outcomes[fmt.Sprintf("%d %s", p.status, p.code)]++
		attempts += p.attempts
		unavailable += p.unavailable
		switch {
		case p.status == 0:
			t.Errorf("purchase of %s got no final answer in time (%d attempts, the last %s)", p.number, p.attempts, p.last)
			describeStuck(t, s, p.number)
		case p.status == 200:
		case p.status == 403 && p.code == domain.CodePlanLimitReached:
		case p.status == 409 && p.code == domain.CodeNumberUnavailable && faulty:
		default:
			t.Errorf("purchase of %s: %d %s, want 200 or a clean refusal", p.number, p.status, p.code)
		}
	}
	t.Logf("%d processes killed; %d requests, %d answered 503 (retried); outcomes %v", kills, attempts, unavailable, outcomes)
	if kills < 3 {
		t.Errorf("only %d kills: the run proves little", kills)
	}

	// Every workflow settles: no number stays pending.
	ctx := context.Background()
	live := map[string][]domain.NumberListItem{}
	teams := append(slices.Clone(paid), free...)
	waitFor(t, 3*time.Minute, func() bool {
		for _, tm := range teams {
			page, err := s.numbers.List(ctx, domain.NumberListQuery{TeamID: tm.id})
			if err != nil {
				return false
			}
			for _, it := range page.Items {
				if it.Status == domain.NumberPending {
					return false
				}
			}
			live[tm.id] = page.Items
		}
		return true
	}, "every purchase to settle")

	// Every 200 is persisted and active, a trial for a free team.
	for _, p := range purchases {
		if p.status != 200 {
			continue
		}
		got, err := s.numbers.Get(ctx, p.team, p.id)
		if err != nil || got.Status != domain.NumberActive || got.PhoneNumber != p.number || got.IsTrial != p.trial {
			t.Errorf("purchase of %s answered 200 with %s, the database holds %+v (%v)", p.number, p.id, got, err)
		}
	}
	// No team over its limit, and eligibility counts what is held.
	var held []string
	for _, tm := range teams {
		if len(live[tm.id]) > tm.limit {
			t.Errorf("team %s holds %d numbers, its limit is %d", tm.id, len(live[tm.id]), tm.limit)
		}
		if e, err := s.accounts.Eligibility(ctx, tm.id); err != nil || e.CurrentCount != len(live[tm.id]) {
			t.Errorf("eligibility of %s counts %d, the team holds %d (%v)", tm.id, e.CurrentCount, len(live[tm.id]), err)
		}
		for _, it := range live[tm.id] {
			held = append(held, it.PhoneNumber.PhoneNumber)
		}
	}
	// Nothing ordered twice.
	for ref, c := range s.sim.OrderCounts() {
		if c > 1 {
			t.Errorf("customer_reference %s was ordered %d times", ref, c)
		}
	}
	// Telnyx holds exactly what the database holds: no orphan, no ghost. A
	// saga's undo (releasing an order that could not be recorded) may still
	// be on its way, so the comparison gets a short while to hold.
	slices.Sort(held)
	var owned []string
	deadline = time.Now().Add(30 * time.Second)
	for {
		owned = s.sim.OwnedNumbers()
		if slices.Equal(held, owned) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !slices.Equal(held, owned) {
		t.Errorf("Telnyx holds %v\nthe database %v", owned, held)
	}
	if len(held) == 0 {
		t.Error("no purchase succeeded: the run proves little")
	}
}

// envInt reads a positive integer from the environment, or def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q is not a non-negative integer", name, v)
	}
	return n
}

// describeStuck logs where a purchase that got no final answer is: its
// workflow's pending activities (attempts, last failure) and its orders at
// the simulator, so that a failure says what it waited on.
func describeStuck(t *testing.T, s *stack, e164 string) {
	t.Helper()
	c := mustClient(t, s)
	d, err := c.DescribeWorkflowExecution(context.Background(), workflows.NumberWorkflowID(e164), "")
	if err != nil {
		t.Logf("describe %s: %v", e164, err)
		return
	}
	t.Logf("%s: workflow %v, %d history events", e164, d.GetWorkflowExecutionInfo().GetStatus(), d.GetWorkflowExecutionInfo().GetHistoryLength())
	for _, a := range d.GetPendingActivities() {
		t.Logf("  pending %s: attempt %d, state %v, last failure %q", a.GetActivityType().GetName(), a.GetAttempt(), a.GetState(), a.GetLastFailure().GetMessage())
	}
	if st, err := numberService(t, s, c).State(context.Background(), e164); err == nil {
		t.Logf("  state %+v; orders at Telnyx with its reference: %d", st, s.sim.OrderCount(st.CustomerReference))
	}
}
