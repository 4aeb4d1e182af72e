package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/talkturo/phonenumbers/api"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

const testBillingSecret = "whsec_test"

// webhook posts a billing event, signed at `at` with secret.
func webhook(t *testing.T, base string, ev map[string]any, secret string, at time.Time) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest("POST", base+"/api/billing/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Talkturo-Signature", api.SignBillingEvent(body, secret, at))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestActivationThroughTheWebhookKeepsTheTrialNumber(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"TRIAL_DURATION": "6s", "BILLING_WEBHOOK_SECRET": testBillingSecret, "BILLING_GRACE_PERIOD": "4s"}})
	base, team, token := s.serving(domain.PlanFree)
	number := "+14155550190"
	s.offer(number)
	status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
	if status != 200 || bought["phoneNumber"].(map[string]any)["is_trial"] != true {
		t.Fatalf("trial purchase: %d %v", status, bought)
	}
	id := bought["phoneNumber"].(map[string]any)["id"].(string)
	now := time.Now()
	activated := map[string]any{"id": "evt_1", "type": "subscription.activated", "teamId": team, "plan": "growth", "occurredAt": now.UTC().Format(time.RFC3339)}

	// What the webhook refuses.
	if st, b := webhook(t, base, activated, "", now); st != 401 {
		t.Fatalf("unsigned: %d %v", st, b)
	}
	if st, b := webhook(t, base, activated, "wrong-secret", now); st != 401 {
		t.Fatalf("wrong secret: %d %v", st, b)
	}
	if st, b := webhook(t, base, activated, testBillingSecret, now.Add(-6*time.Minute)); st != 401 {
		t.Fatalf("stale: %d %v", st, b)
	}
	if st, b := webhook(t, base, map[string]any{"id": "evt_x", "type": "subscription.paused", "teamId": team, "occurredAt": now.Format(time.RFC3339)}, testBillingSecret, now); st != 400 || errCode(b) != domain.CodeInvalidRequest {
		t.Fatalf("malformed: %d %v", st, b)
	}
	if st, b := webhook(t, base, map[string]any{"id": "evt_y", "type": "subscription.activated", "teamId": "team_nope", "plan": "growth", "occurredAt": now.Format(time.RFC3339)}, testBillingSecret, now); st != 404 {
		t.Fatalf("unknown team: %d %v", st, b)
	}

	// The activation, and its replay.
	for range 2 {
		if st, b := webhook(t, base, activated, testBillingSecret, now); st != 200 {
			t.Fatalf("activation: %d %v", st, b)
		}
	}
	svc := numberService(t, s, mustClient(t, s))
	waitFor(t, 20*time.Second, func() bool {
		n, err := s.numbers.Get(context.Background(), team, id)
		return err == nil && !n.IsTrial && n.TrialExpiresAt == nil
	}, "the trial to become a paid number")
	time.Sleep(7 * time.Second) // past the trial's end
	n, _ := s.numbers.Get(context.Background(), team, id)
	if n.Status != domain.NumberActive || n.IsTrial {
		t.Fatalf("after the trial's end the number is %+v", n)
	}
	if st, err := svc.BillingState(context.Background(), team); err != nil || st.Applied != 1 || st.Plan != domain.PlanGrowth {
		t.Fatalf("billing state: %+v %v (the replay must not apply twice)", st, err)
	}
	_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
	if item := list["numbers"].([]any)[0].(map[string]any); item["is_trial"] != false || item["trial_expires_at"] != nil {
		t.Fatalf("listed after activation: %v", item)
	}
	// Eligibility follows the plan: the team may now buy more.
	s.offer("+14155550191")
	status, more := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": "+14155550191", "teamId": team})
	if e := more["eligibility"].(map[string]any); status != 200 || e["planName"] != "Growth" || e["hasSubscription"] != true || e["currentCount"].(float64) != 2 {
		t.Fatalf("purchase on growth: %d %v", status, more)
	}

	// Cancellation: back to free; after the grace period the numbers go.
	canceled := map[string]any{"id": "evt_2", "type": "subscription.canceled", "teamId": team, "occurredAt": now.Add(time.Second).UTC().Format(time.RFC3339)}
	if st, b := webhook(t, base, canceled, testBillingSecret, time.Now()); st != 200 {
		t.Fatalf("cancellation: %d %v", st, b)
	}
	waitFor(t, 30*time.Second, func() bool {
		_, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil)
		return list["count"].(float64) == 0
	}, "the grace period to release the numbers")
	if owned := s.sim.OwnedNumbers(); slices.Contains(owned, number) {
		t.Fatalf("still held at the simulator: %v", owned)
	}
}

// TestBillingBurstThroughTheWebhookLosesNoEvent sends, 16 at a time
// through the signed webhook, more events than a billing run handles
// before it continues as new: every 200 is an event the team's billing
// counts, applied or ignored, in the run that ends up open. The run's
// threshold is lowered through its start input (the webhook's
// signal-with-start joins the running workflow) so the burst crosses
// continue-as-new twice in seconds. It also checks that an occurredAt
// dated tomorrow is refused with a 400 naming the field.
func TestBillingBurstThroughTheWebhookLosesNoEvent(t *testing.T) {
	t.Parallel()
	const threshold, sent, concurrency = 50, 120, 16
	s := newStack(t, stackOptions{env: map[string]string{"BILLING_WEBHOOK_SECRET": testBillingSecret}})
	_, base := s.app(roleAPI | roleWorker)
	team, _ := s.team(domain.PlanFree)
	c := mustClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	id := workflows.TeamWorkflowID(team)
	first, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: s.cfg.TemporalTaskQueue}, workflows.TeamWorkflowType,
		workflows.BillingState{TeamID: team, Plan: domain.PlanFree, ContinueAfterEvents: threshold})
	if err != nil {
		t.Fatal(err)
	}

	now := time.Now()
	tomorrow := map[string]any{"id": "evt_tomorrow", "type": "subscription.activated", "teamId": team, "plan": "scale", "occurredAt": now.Add(24 * time.Hour).UTC().Format(time.RFC3339)}
	if st, b := webhook(t, base, tomorrow, testBillingSecret, now); st != 400 || errCode(b) != domain.CodeInvalidRequest || b["error"].(map[string]any)["field"] != "occurredAt" {
		t.Fatalf("an event dated tomorrow: %d %v, want 400 invalid_request on occurredAt", st, b)
	}

	// The events, in the past and each a second apart; sent concurrently,
	// they arrive out of order, so some are applied and the rest ignored
	// as older than the last applied.
	t0 := now.Add(-time.Hour).UTC().Truncate(time.Second)
	plans := []string{"starter", "growth", "scale"}
	started := time.Now()
	var wg sync.WaitGroup
	var accepted atomic.Int64
	next := make(chan int)
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				ev := map[string]any{"id": fmt.Sprintf("evt_%03d", i), "type": "subscription.updated", "teamId": team, "plan": plans[i%3], "occurredAt": t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339)}
				status, err := postBillingEvent(base, ev)
				if err != nil || status != 200 {
					t.Errorf("event %d: %d %v", i, status, err)
					continue
				}
				accepted.Add(1)
			}
		})
	}
	for i := range sent {
		next <- i
	}
	close(next)
	wg.Wait()
	sentIn := time.Since(started)
	if accepted.Load() != sent {
		t.Fatalf("%d of %d events accepted", accepted.Load(), sent)
	}

	svc := numberService(t, s, c)
	var st workflows.BillingState
	deadline := time.Now().Add(time.Minute)
	for {
		// The query without a run id reaches the open run, at the end of
		// the continue-as-new chain.
		st, err = svc.BillingState(ctx, team)
		if err == nil && st.Applied+st.Ignored == sent && len(st.Pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events accepted, the billing workflow counts %d applied + %d ignored, %d pending (%v)", sent, st.Applied, st.Ignored, len(st.Pending), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	runs := billingRuns(t, c, id, first.GetRunID())
	t.Logf("%d events sent in %s (%d at a time); %d applied + %d ignored after %s, over %d runs",
		sent, sentIn.Round(time.Millisecond), concurrency, st.Applied, st.Ignored, time.Since(started).Round(time.Millisecond), runs)
	if runs <= sent/threshold {
		t.Fatalf("the burst went through %d runs: it did not cross continue-as-new as meant", runs)
	}
	if st.LastEventAt.After(t0.Add(sent*time.Second)) || st.Plan == "" {
		t.Fatalf("the billing state moved past the events sent: %+v", st)
	}
}

// postBillingEvent signs and posts one event; unlike webhook it may run off
// the test's goroutine.
func postBillingEvent(base string, ev map[string]any) (int, error) {
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest("POST", base+"/api/billing/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Talkturo-Signature", api.SignBillingEvent(body, testBillingSecret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// billingRuns follows the continue-as-new chain of workflow id from run
// runID to the open run, and returns how many runs it has.
func billingRuns(t *testing.T, c client.Client, id, runID string) int {
	t.Helper()
	for runs := 1; ; runs++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		it := c.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
		var closed *historypb.HistoryEvent
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			closed = e
		}
		cancel()
		can := closed.GetWorkflowExecutionContinuedAsNewEventAttributes()
		if can == nil {
			return runs
		}
		runID = can.GetNewExecutionRunId()
	}
}
