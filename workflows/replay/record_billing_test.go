//go:build record

package replay

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestRecordHistoriesBillingBurst records a billing workflow that gets an
// event dated tomorrow (ignored), then a burst of events larger than its
// (lowered) continue-as-new threshold: its first run continues as new
// carrying the events still waiting, and its second run applies those
// carried events first, then continues as new again. Its name matches the
// command in doc.go, so it is recorded with the rest.
func TestRecordHistoriesBillingBurst(t *testing.T) {
	r := newRecorder(t)
	teamID, _ := r.team(t, domain.PlanFree)
	const threshold, burst = 5, 12
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := workflows.TeamWorkflowID(teamID)
	run, err := r.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "histories"}, workflows.TeamWorkflowType,
		workflows.BillingState{TeamID: teamID, Plan: domain.PlanFree, ContinueAfterEvents: threshold})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	r.send(t, workflows.BillingEvent{ID: "evt_tomorrow", Type: workflows.EventSubscriptionActivated, TeamID: teamID, Plan: "scale", OccurredAt: now.Add(24 * time.Hour)})
	r.waitBilling(t, teamID, func(st workflows.BillingState) bool { return st.Ignored == 1 })

	// Sent together, so that most wait on the channel while the run
	// applies the first ones; all at the same time, so that each is
	// applied whatever order they arrive in.
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			ev := workflows.BillingEvent{ID: fmt.Sprintf("evt_%02d", i), Type: workflows.EventSubscriptionUpdated, TeamID: teamID,
				Plan: []string{"starter", "growth", "scale"}[i%3], OccurredAt: now.Add(-time.Hour)}
			if err := r.svc.SendBillingEvent(context.Background(), ev); err != nil {
				t.Errorf("billing event %s: %v", ev.ID, err)
			}
		})
	}
	wg.Wait()
	r.waitBilling(t, teamID, func(st workflows.BillingState) bool {
		return st.Applied == burst && st.Ignored == 1 && len(st.Pending) == 0
	})

	// The first run and the one it continued as.
	runs := []string{run.GetRunID()}
	for len(runs) < 2 {
		h, err := r.historyOf(id, runs[len(runs)-1])
		if err != nil {
			t.Fatal(err)
		}
		last := h.Events[len(h.Events)-1]
		can := last.GetWorkflowExecutionContinuedAsNewEventAttributes()
		if can == nil {
			t.Fatalf("run %d of %s ended with %s, want continue-as-new", len(runs), id, last.GetEventType())
		}
		var carried workflows.BillingState
		if err := converter.GetDefaultDataConverter().FromPayloads(can.GetInput(), &carried); err != nil {
			t.Fatal(err)
		}
		if len(carried.Pending) == 0 {
			t.Fatalf("run %d of %s carried no waiting event: not the path worth recording", len(runs), id)
		}
		runs = append(runs, can.GetNewExecutionRunId())
	}
	// Both are closed (continued as new): their histories are complete.
	r.saveRun(t, "billing-burst-continued-as-new.json", id, runs[0])
	r.saveRun(t, "billing-burst-carried-events.json", id, runs[1])
}

// waitBilling waits until the team's billing state (its open run) satisfies done.
func (r *recorder) waitBilling(t *testing.T, teamID string, done func(workflows.BillingState) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.svc.BillingState(context.Background(), teamID)
		if err == nil && done(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("billing of %s did not get there: %+v %v", teamID, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
