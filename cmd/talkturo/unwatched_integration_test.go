package main

// Integration tests of number records that no workflow watches: an
// operator terminated the number's workflow, or Temporal's state is gone
// while the database kept the record.

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/workflows"
)

// terminate terminates the number's workflow as an operator does in the
// Temporal UI, and waits until it is closed.
func terminate(t *testing.T, s *stack, e164 string) {
	t.Helper()
	c := mustClient(t, s)
	if err := c.TerminateWorkflow(context.Background(), workflows.NumberWorkflowID(e164), "", "ops: terminated by the test"); err != nil {
		t.Fatalf("terminate %s: %v", e164, err)
	}
}

// plantStalePending records e164 as pending for the team with its plan
// slot held, as a purchase does before ordering, with no workflow at all:
// what `make run` leaves after .data is deleted. Both rows are dated age
// ago: only a record older than activities.PendingUndoMinAge is undone
// for anyone but its team.
func plantStalePending(t *testing.T, s *stack, team, e164 string, age time.Duration) domain.PhoneNumber {
	t.Helper()
	ctx := context.Background()
	db, err := persistence.Open(ctx, s.cfg.DatabaseURL, persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = persistence.Close(db) })
	wf := workflows.NumberWorkflowID(e164)
	if _, err := persistence.NewReservationStore(db).Reserve(ctx, team, wf+"/lost-run", e164); err != nil {
		t.Fatal(err)
	}
	var userID string
	if err := db.Raw("SELECT user_id FROM team_memberships WHERE team_id = ? LIMIT 1", team).Scan(&userID).Error; err != nil {
		t.Fatal(err)
	}
	n, err := s.numbers.CreatePending(ctx, domain.PhoneNumber{ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: team,
		PhoneNumber: e164, CreatedByUserID: userID, WorkflowID: wf})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-age)
	if err := db.Exec("UPDATE number_reservations SET created_at = ? WHERE workflow_id = ?", at.Add(-time.Second), wf+"/lost-run").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE phone_numbers SET created_at = ? WHERE id = ?", at, n.ID).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func held(t *testing.T, s *stack, team string) int {
	t.Helper()
	e, err := s.accounts.Eligibility(context.Background(), team)
	if err != nil {
		t.Fatal(err)
	}
	return e.CurrentCount
}

// TestReleaseAfterTerminateReleasesTheNumber: the number's workflow was
// terminated while it held the number; DELETE answers 200 only once the
// number is released at Telnyx and recorded released, with its slot free.
func TestReleaseAfterTerminateReleasesTheNumber(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	base, team, token := s.serving(domain.PlanGrowth)
	const e164 = "+14155550601"
	id := buyActive(t, s, base, token, team, e164)
	terminate(t, s, e164)

	status, body := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
	if status != 200 || body["phoneNumber"].(map[string]any)["status"] != "released" {
		t.Fatalf("release after terminate: %d %v", status, body)
	}
	if slices.Contains(s.sim.OwnedNumbers(), e164) {
		t.Fatal("answered 200, but Telnyx still holds the number")
	}
	_, list := call(t, "GET", base+"/api/phone-numbers/purchase?includeReleased=true&teamId="+team, token, nil)
	if n := list["numbers"].([]any); len(n) != 1 || n[0].(map[string]any)["status"] != "released" {
		t.Fatalf("list after the release: %v", list)
	}
	if n := held(t, s, team); n != 0 {
		t.Fatalf("the team still holds %d plan slots", n)
	}
	if status, again := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil); status != 200 || again["phoneNumber"].(map[string]any)["status"] != "released" {
		t.Fatalf("release again: %d %v", status, again)
	}
	// The number can be bought again, by anyone.
	other, otherToken := s.team(domain.PlanGrowth)
	buyActive(t, s, base, otherToken, other, e164)
}

// TestPurchaseOfANumberNoWorkflowWatches: an active record whose workflow
// is gone answers the documented codes, not number_in_purchase forever;
// a pending one is undone and the purchase goes through.
func TestPurchaseOfANumberNoWorkflowWatches(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	_, base := s.app(roleAPI | roleWorker)
	a, tokenA := s.team(domain.PlanGrowth)
	b, tokenB := s.team(domain.PlanGrowth)
	const owned, stale, fresh = "+14155550611", "+14155550612", "+14155550613"
	buyActive(t, s, base, tokenA, a, owned)
	terminate(t, s, owned)

	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", tokenB, map[string]any{"phoneNumber": owned, "teamId": b}); status != 409 || errCode(body) != domain.CodeNumberUnavailable {
		t.Fatalf("another team buying an active number whose workflow is gone: %d %v, want 409 number_unavailable", status, body)
	}
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", tokenA, map[string]any{"phoneNumber": owned, "teamId": a}); status != 409 || errCode(body) != domain.CodeAlreadyOwned {
		t.Fatalf("the owner buying it again: %d %v, want 409 already_owned", status, body)
	}

	// A pending record a minute old may be a run lost a moment ago, its
	// order about to be placed: another team's purchase leaves it.
	young := plantStalePending(t, s, a, fresh, time.Minute)
	// Offered, so that only our own rule can refuse it.
	s.offer(fresh)
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", tokenB, map[string]any{"phoneNumber": fresh, "teamId": b}); status != 409 {
		t.Fatalf("buying a number whose pending record is a minute old: %d %v, want 409", status, body)
	}
	if n, err := s.numbers.Get(context.Background(), a, young.ID); err != nil || n.Status != domain.NumberPending {
		t.Fatalf("the young pending record: %+v, %v; want it left pending", n, err)
	}

	lost := plantStalePending(t, s, a, stale, time.Hour)
	s.offer(stale)
	if n := held(t, s, a); n != 3 {
		t.Fatalf("team a holds %d slots, want 3", n)
	}
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", tokenB, map[string]any{"phoneNumber": stale, "teamId": b})
	if status != 200 || body["phoneNumber"].(map[string]any)["status"] != "active" {
		t.Fatalf("buying a number whose stale pending record no workflow watches: %d %v, want 200", status, body)
	}
	if n, err := s.numbers.Get(context.Background(), a, lost.ID); err != nil || n.Status != domain.NumberFailed {
		t.Fatalf("the stale record: %+v, %v; want it failed", n, err)
	}
	if n := held(t, s, a); n != 2 {
		t.Fatalf("team a holds %d slots, want 2 (the stale purchase's slot freed)", n)
	}
}

// TestReleaseAfterTerminateDuringAwaitOrder: the number's workflow was
// terminated while its order was pending at Telnyx (a regulated number).
// The team's DELETE refuses (409 number_in_purchase) rather than freeing
// the slot of a number Telnyx may still deliver and bill, and
// reconciliation leaves the record too (order_pending).
func TestReleaseAfterTerminateDuringAwaitOrder(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"RECONCILE_INTERVAL": "8760h", "PURCHASE_WAIT": "1s"}})
	base, team, token := s.serving(domain.PlanGrowth)
	const e164 = "+14155550615"
	s.sim.SetOrderLatency(time.Hour)
	s.offer(e164)
	status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team})
	if status != 202 {
		t.Fatalf("purchase with an order pending for an hour: %d %v, want 202", status, body)
	}
	id := body["phoneNumber"].(map[string]any)["id"].(string)
	waitFor(t, 30*time.Second, func() bool {
		n, err := s.numbers.Get(context.Background(), team, id)
		return err == nil && n.ProviderOrderID != ""
	}, "the order to be recorded")
	terminate(t, s, e164)

	status, body = call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
	if status != 409 || errCode(body) != domain.CodeNumberInPurchase {
		t.Fatalf("release while the order is pending: %d %v, want 409 number_in_purchase", status, body)
	}
	if n, err := s.numbers.Get(context.Background(), team, id); err != nil || n.Status != domain.NumberPending {
		t.Fatalf("the record after the refused release: %+v, %v; want it pending", n, err)
	}
	if n := held(t, s, team); n != 1 {
		t.Fatalf("the team holds %d plan slots, want its slot kept", n)
	}
	// Reconciliation looks at pending records only once they are older
	// than activities.PendingUndoMinAge: date this one (and its slot,
	// which stays older than the record) back past it.
	db, err := persistence.Open(context.Background(), s.cfg.DatabaseURL, persistence.WithMaxOpenConns(2))
	if err != nil {
		t.Fatal(err)
	}
	defer persistence.Close(db)
	back := activities.PendingUndoMinAge + time.Minute
	if err := db.Exec("UPDATE number_reservations SET created_at = created_at - ? * interval '1 second' WHERE workflow_id LIKE ?", back.Seconds(), "phone-number:"+e164+"/%").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE phone_numbers SET created_at = created_at - ? * interval '1 second' WHERE id = ?", back.Seconds(), id).Error; err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, s)
	scheduleOf(t, c)
	res := triggerRun(t, c)
	if len(res.Unwatched) != 1 || res.Unwatched[0].Outcome != "order_pending" {
		t.Fatalf("reconciliation found %+v, want the record left as order_pending", res.Unwatched)
	}
}

// TestReconcileRepairsUnwatchedRecords: a terminated trial is released by
// reconciliation once past its expiry; a stale pending purchase is undone;
// a terminated paid number, and a stale pending purchase whose number
// Telnyx holds, are only flagged.
func TestReconcileRepairsUnwatchedRecords(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true, env: map[string]string{"RECONCILE_INTERVAL": "8760h", "TRIAL_DURATION": "4s"}})
	_, base := s.app(roleAPI | roleWorker)
	free, freeToken := s.team(domain.PlanFree)
	paid, paidToken := s.team(domain.PlanGrowth)
	upgraded, upgradedToken := s.team(domain.PlanFree)
	const trial, paidNumber, stale, delivered, converted = "+14155550621", "+14155550622", "+14155550623", "+14155550624", "+14155550625"
	trialID := buyActive(t, s, base, freeToken, free, trial)
	terminate(t, s, trial)
	// A trial whose team subscribed after its workflow was terminated: the
	// billing workflow's conversion signal found no workflow.
	convertedID := buyActive(t, s, base, upgradedToken, upgraded, converted)
	terminate(t, s, converted)
	if err := s.accounts.SetPlan(context.Background(), upgraded, domain.PlanGrowth); err != nil {
		t.Fatal(err)
	}
	paidID := buyActive(t, s, base, paidToken, paid, paidNumber)
	terminate(t, s, paidNumber)
	staleRec := plantStalePending(t, s, paid, stale, time.Hour)
	// A stale pending purchase whose order did deliver the number.
	deliveredRec := plantStalePending(t, s, paid, delivered, time.Hour)
	if _, err := s.sim.AddOwned(delivered, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}

	c := mustClient(t, s)
	scheduleOf(t, c)
	n, err := s.numbers.Get(context.Background(), free, trialID)
	if err != nil || n.TrialExpiresAt == nil {
		t.Fatalf("trial record %+v, %v", n, err)
	}
	if n, err := s.numbers.Get(context.Background(), upgraded, convertedID); err != nil || n.TrialExpiresAt == nil {
		t.Fatalf("trial record %+v, %v", n, err)
	} else {
		time.Sleep(time.Until(*n.TrialExpiresAt) + 500*time.Millisecond)
	}
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", paidToken, map[string]any{"phoneNumber": converted, "teamId": paid}); status != 409 || errCode(body) != domain.CodeNumberUnavailable {
		t.Fatalf("another team buying the expired trial of a team that has subscribed: %d %v, want 409 number_unavailable", status, body)
	}
	res := triggerRun(t, c)

	outcomes := map[string]string{}
	for _, f := range res.Unwatched {
		outcomes[f.PhoneNumber] = f.Outcome
	}
	want := map[string]string{trial: "release_started", stale: "release_started", paidNumber: "flagged", delivered: "held_at_provider", converted: "converted"}
	if res.UnwatchedCount != 5 || len(outcomes) != 5 {
		t.Fatalf("unwatched %d: %v, want %v", res.UnwatchedCount, outcomes, want)
	}
	for e164, o := range want {
		if outcomes[e164] != o {
			t.Errorf("%s: %q, want %q", e164, outcomes[e164], o)
		}
	}
	s.waitForStatus(t, 30*time.Second, free, trialID, domain.NumberExpired, "the terminated trial to end expired")
	s.waitForStatus(t, 30*time.Second, paid, staleRec.ID, domain.NumberFailed, "the stale pending record to end failed")
	owned := s.sim.OwnedNumbers()
	if slices.Contains(owned, trial) || !slices.Contains(owned, paidNumber) || !slices.Contains(owned, converted) {
		t.Fatalf("Telnyx holds %v: want the expired trial released, the paid number and the converted trial kept", owned)
	}
	if n, err := s.numbers.Get(context.Background(), upgraded, convertedID); err != nil || n.Status != domain.NumberActive || n.IsTrial {
		t.Fatalf("the trial of the team that subscribed: %+v, %v; want it an active paid number", n, err)
	}
	if n, err := s.numbers.Get(context.Background(), paid, deliveredRec.ID); err != nil || n.Status != domain.NumberPending || !slices.Contains(owned, delivered) {
		t.Fatalf("the pending record whose number Telnyx holds: %+v, %v; want it left pending and held, for an operator", n, err)
	}
	if len(res.Orphans) != 0 {
		t.Fatalf("orphans %+v: a number a pending record holds is no orphan", res.Orphans)
	}
	if n, err := s.numbers.Get(context.Background(), paid, paidID); err != nil || n.Status != domain.NumberActive {
		t.Fatalf("the flagged paid number: %+v, %v; want it active, untouched", n, err)
	}
	// The slot is freed last, a moment after the record ends.
	waitFor(t, 30*time.Second, func() bool { return held(t, s, free) == 0 }, "the free team's slot to be freed after its trial expired")
	waitFor(t, 30*time.Second, func() bool { return held(t, s, paid) == 2 }, "the stale purchase's slot to be freed (the paid number's and the delivered one's kept)")
	metrics := s.scrapeMetrics(t)
	if !regexp.MustCompile(`(?m)^talkturo_reconcile_unwatched_repaired_total\{[^}]*\} 2$`).MatchString(metrics) {
		t.Errorf("GET /metrics has no talkturo_reconcile_unwatched_repaired_total of 2")
	}
}

// TestResetAfterTerminateCarriesOnWithTheSameKey: an operator resets a
// terminated number's run (to its last workflow task); the new run holds
// the number again with the purchase's key, and a release then goes
// through it as usual, freeing the one slot.
func TestResetAfterTerminateCarriesOnWithTheSameKey(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	base, team, token := s.serving(domain.PlanGrowth)
	const e164 = "+14155550631"
	id := buyActive(t, s, base, token, team, e164)
	c := mustClient(t, s)
	ctx := context.Background()
	wf := workflows.NumberWorkflowID(e164)
	desc, err := c.DescribeWorkflowExecution(ctx, wf, "")
	if err != nil {
		t.Fatal(err)
	}
	firstRun := desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	terminate(t, s, e164)

	var lastTask int64
	it := c.GetWorkflowHistory(ctx, wf, firstRun, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED {
			lastTask = e.GetEventId()
		}
	}
	reset, err := c.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: s.cfg.TemporalNamespace, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wf, RunId: firstRun},
		Reason: "ops: terminated by mistake", WorkflowTaskFinishEventId: lastTask, RequestId: domain.NewID("reset"),
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := numberService(t, s, c)
	var st workflows.NumberState
	waitFor(t, 30*time.Second, func() bool {
		st, err = svc.State(ctx, e164)
		return err == nil && st.Number.Status == domain.NumberActive
	}, "the reset run to hold the number")
	if st.CustomerReference != wf+"/"+firstRun || reset.GetRunId() == firstRun {
		t.Fatalf("the reset run %s works under key %q, want %s/%s", reset.GetRunId(), st.CustomerReference, wf, firstRun)
	}
	if n := held(t, s, team); n != 1 {
		t.Fatalf("after the reset the team holds %d slots, want 1", n)
	}
	status, body := call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
	if status != 200 || body["phoneNumber"].(map[string]any)["status"] != "released" || slices.Contains(s.sim.OwnedNumbers(), e164) {
		t.Fatalf("release after the reset: %d %v", status, body)
	}
	if n := held(t, s, team); n != 0 {
		t.Fatalf("after the release the team holds %d slots", n)
	}
	if d, err := c.DescribeWorkflowExecution(ctx, wf, ""); err != nil || d.GetWorkflowExecutionInfo().GetType().GetName() != workflows.NumberWorkflowType {
		t.Fatalf("the release ran in %v (%v), want the reset PhoneNumberWorkflow run", d.GetWorkflowExecutionInfo().GetType(), err)
	}
}

// staleDescribe answers every describe as if the workflow ID had no run:
// what StartRelease saw when a purchase started right after its describe.
type staleDescribe struct{ client.Client }

func (staleDescribe) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("workflow not found")
}

// TestStartReleaseLeavesAPurchaseStartedMeanwhile: a purchase that started
// between StartRelease's describe and its start is not taken for the
// release: StartRelease answers that a purchase runs, and the purchase
// goes on.
func TestStartReleaseLeavesAPurchaseStartedMeanwhile(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"PURCHASE_WAIT": "1s"}})
	base, team, token := s.serving(domain.PlanGrowth)
	const e164 = "+14155550616"
	s.sim.SetOrderLatency(time.Hour)
	s.offer(e164)
	if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team}); status != 202 {
		t.Fatalf("purchase with an order pending for an hour: %d %v, want 202", status, body)
	}
	ctx := context.Background()
	n, err := s.numbers.LiveByNumber(ctx, e164)
	if err != nil {
		t.Fatal(err)
	}
	c := mustClient(t, s)
	svc := numberService(t, s, staleDescribe{c})
	if err := svc.StartRelease(ctx, n, "reconcile"); !errors.Is(err, temporalclient.ErrNumberWorkflowRunning) {
		t.Fatalf("StartRelease while a purchase runs: %v, want ErrNumberWorkflowRunning", err)
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflows.NumberWorkflowID(e164), "")
	if err != nil {
		t.Fatal(err)
	}
	if info := d.GetWorkflowExecutionInfo(); info.GetType().GetName() != workflows.NumberWorkflowType || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the number's workflow: %s %s, want the purchase still running", info.GetType().GetName(), info.GetStatus())
	}
}
