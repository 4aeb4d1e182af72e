package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// runHistory is one run of a workflow's continue-as-new chain.
type runHistory struct {
	runID  string
	events []*historypb.HistoryEvent
}

// chainOf walks the number's workflow back from its latest run to its
// first, through each run's ContinuedExecutionRunId: the runs, first first.
func chainOf(t *testing.T, c client.Client, workflowID string) []runHistory {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	desc, err := c.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	var chain []runHistory
	for runID := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId(); runID != ""; {
		r := runHistory{runID: runID}
		it := c.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			r.events = append(r.events, e)
		}
		chain = append([]runHistory{r}, chain...)
		runID = r.events[0].GetWorkflowExecutionStartedEventAttributes().GetContinuedExecutionRunId()
	}
	return chain
}

// TestLockedNumberContinuesAsNewAndIsReleasedOnceUnlocked: a paid number
// behind a deletion lock gets release after release through the API, on
// a real Temporal server with the run limits lowered. Its workflow
// continues as new again and again, each run's history stays small, the
// number stays held and readable, a retried request is one update, and
// once the lock is lifted the release goes through.
func TestLockedNumberContinuesAsNewAndIsReleasedOnceUnlocked(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	_, base := s.app(roleAPI|roleWorker, fx.Decorate(func(c temporalclient.WorkerConfig) temporalclient.WorkerConfig {
		c.NumberRunLimits = workflows.RunLimits{Updates: 3}
		return c
	}))
	team, token := s.team(domain.PlanGrowth)
	const number = "+14155550190"
	s.offer(number)
	status, bought := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team}, "Idempotency-Key", "buy-1")
	if status != 200 {
		t.Fatalf("purchase: %d %v", status, bought)
	}
	id := bought["phoneNumber"].(map[string]any)["id"].(string)
	release := base + "/api/phone-numbers/purchase/" + id + "?teamId=" + team

	s.sim.DeletionLock(number, true)
	const releases = 8
	for i := range releases {
		key := fmt.Sprintf("release-%d", i)
		tries := 1
		if i == 2 {
			tries = 2 // a client retrying the same request
		}
		for range tries {
			if status, b := call(t, "DELETE", release, token, nil, "Idempotency-Key", key); status != 409 || errCode(b) != "release_blocked" {
				t.Fatalf("release %s behind the lock: %d %v", key, status, b)
			}
		}
	}
	// A retried purchase after the run continued: the same key replays the
	// first answer, a new request is told the team owns the number.
	if status, again := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team}, "Idempotency-Key", "buy-1"); status != 200 || again["phoneNumber"].(map[string]any)["id"] != id {
		t.Fatalf("retried purchase: %d %v", status, again)
	}
	if status, again := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team}); status != 409 || errCode(again) != domain.CodeAlreadyOwned {
		t.Fatalf("new purchase of an owned number: %d %v", status, again)
	}

	c := mustClient(t, s)
	svc := numberService(t, s, c)
	st, err := svc.State(context.Background(), number)
	if err != nil || st.Number.Status != domain.NumberActive || st.Number.ID != id || st.Runs < 2 {
		t.Fatalf("state behind the lock: %+v (runs %d), %v", st.Number, st.Runs, err)
	}
	if _, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil); list["count"].(float64) != 1 || list["numbers"].([]any)[0].(map[string]any)["status"] != "active" {
		t.Fatalf("list behind the lock: %v", list)
	}

	chain := chainOf(t, c, workflows.NumberWorkflowID(number))
	var accepted []string
	for i, r := range chain {
		last := r.events[len(r.events)-1].GetEventType()
		t.Logf("run %d (%s): %d events, last %s", i+1, r.runID, len(r.events), last)
		if i < len(chain)-1 && last != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			t.Fatalf("run %d ended with %s, want continued as new", i+1, last)
		}
		// Three updates' worth of events, where one run for everything
		// would have taken well over a hundred.
		if len(r.events) > 80 {
			t.Fatalf("run %d has %d events: the chain does not bound it", i+1, len(r.events))
		}
		for _, e := range r.events {
			if a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes(); a != nil {
				accepted = append(accepted, a.GetAcceptedRequest().GetMeta().GetUpdateId())
			}
		}
	}
	if len(chain) < 3 {
		t.Fatalf("%d runs, want the workflow to have continued as new at least twice", len(chain))
	}
	// The purchase and one update per distinct release request: the
	// retried request was the same update.
	slices.Sort(accepted)
	if len(accepted) != 1+releases || len(slices.Compact(slices.Clone(accepted))) != len(accepted) {
		t.Fatalf("accepted updates %v, want %d distinct", accepted, 1+releases)
	}

	s.sim.DeletionLock(number, false)
	if status, b := call(t, "DELETE", release, token, nil); status != 200 || b["phoneNumber"].(map[string]any)["status"] != "released" {
		t.Fatalf("release once unlocked: %d %v", status, b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.GetWorkflow(ctx, workflows.NumberWorkflowID(number), "").Get(ctx, nil); err != nil {
		t.Fatalf("the workflow did not end: %v", err)
	}
	if slices.Contains(s.sim.OwnedNumbers(), number) {
		t.Fatal("the simulator still holds the released number")
	}
	if e, _ := s.accounts.Eligibility(context.Background(), team); e.CurrentCount != 0 {
		t.Fatalf("slot not freed: %+v", e)
	}
}

// refusingLookups fails every look-up of one number's holdings, as a
// Telnyx refusing to give a failed purchase's number back would.
type refusingLookups struct {
	domain.NumberProvider
	e164 string
}

func (p refusingLookups) ListOwnedNumbers(ctx context.Context, f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	if f.PhoneNumber == p.e164 {
		return nil, &domain.ProviderError{Op: "list_numbers", Class: domain.ProviderRejected, HTTPStatus: 400, Title: "Bad Request"}
	}
	return p.NumberProvider.ListOwnedNumbers(ctx, f)
}

// TestFailedUndoKeepsTheSlotThroughTheAPI: a purchase fails (the number
// was sold meanwhile) and Telnyx refuses to give the number back. The
// caller gets number_unavailable at once, the slot stays taken, the record
// pending, and operators find the run as NumberStatus "releasing".
func TestFailedUndoKeepsTheSlotThroughTheAPI(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	const number = "+14155550191"
	_, base := s.app(roleAPI|roleWorker, fx.Decorate(func(p domain.NumberProvider) domain.NumberProvider {
		return refusingLookups{NumberProvider: p, e164: number}
	}))
	team, token := s.team(domain.PlanStarter)
	// Offered by a search, then sold to someone else before the order.
	s.offer(number)
	s.sim.MarkSold(number)
	started := time.Now()
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": number, "teamId": team})
	if status != 409 || errCode(body) != domain.CodeNumberUnavailable {
		t.Fatalf("purchase: %d %v, want 409 number_unavailable", status, body)
	}
	t.Logf("answered in %v", time.Since(started))
	if e, _ := s.accounts.Eligibility(context.Background(), team); e.CurrentCount != 1 {
		t.Fatalf("eligibility %+v: the slot must stay taken while Telnyx may hold the number", e)
	}
	if _, list := call(t, "GET", base+"/api/phone-numbers/purchase?teamId="+team, token, nil); list["count"].(float64) != 1 || list["numbers"].([]any)[0].(map[string]any)["status"] != "pending" {
		t.Fatalf("list: %v, want the number pending", list)
	}
	c := mustClient(t, s)
	query := fmt.Sprintf(`PhoneNumber = %q AND NumberStatus = %q`, number, workflows.NumberStatusReleasing)
	waitFor(t, 20*time.Second, func() bool {
		resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	}, "the run to be found by NumberStatus = releasing")
	st, err := numberService(t, s, c).State(context.Background(), number)
	if err != nil || st.Undo == nil || st.Undo.Attempts != 1 || st.Undo.LastError != "provider_rejected" || st.Error != domain.CodeNumberUnavailable {
		t.Fatalf("state %+v (undo %+v), %v", st, st.Undo, err)
	}
}
