package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

var anyCtx, anyArg = mock.Anything, mock.Anything

// releaseCalls records what ReleaseNumberWorkflow asked of the activities,
// which stand in for the database and Telnyx here.
type releaseCalls struct {
	checks     []activities.UndoPendingInput
	atProvider []activities.ReleaseInput
	ended      []activities.EndInput
	released   []string // ReleaseSlot keys
	cancelled  []string // CancelSlot keys
}

func runRelease(t *testing.T, rec domain.PhoneNumber, now time.Time) (releaseCalls, NumberView) {
	t.Helper()
	calls, view, err := runReleaseWith(t, rec, now, "test", "")
	if err != nil {
		t.Fatal(err)
	}
	return calls, view
}

// runReleaseWith runs the release for reason, CheckUndoPending answering
// verdict, and returns the workflow's error.
func runReleaseWith(t *testing.T, rec domain.PhoneNumber, now time.Time, reason, verdict string) (releaseCalls, NumberView, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(now)
	env.RegisterWorkflowWithOptions(ReleaseNumberWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowType})
	var calls releaseCalls
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity("LoadNumber", anyCtx, anyArg).Return(rec, nil)
	env.OnActivity("HeldSlotKey", anyCtx, anyArg).Return(rec.WorkflowID+"/run-1", nil)
	env.OnActivity("CheckUndoPending", anyCtx, anyArg).Return(func(_ context.Context, in activities.UndoPendingInput) (string, error) {
		calls.checks = append(calls.checks, in)
		return verdict, nil
	})
	env.OnActivity("ReleaseAtProvider", anyCtx, anyArg).Return(func(_ context.Context, in activities.ReleaseInput) error {
		calls.atProvider = append(calls.atProvider, in)
		return nil
	})
	env.OnActivity("EndNumber", anyCtx, anyArg).Return(func(_ context.Context, in activities.EndInput) (domain.PhoneNumber, error) {
		calls.ended = append(calls.ended, in)
		n := rec
		n.Status = in.Status
		return n, nil
	})
	env.OnActivity("ReleaseSlot", anyCtx, anyArg).Return(func(_ context.Context, key string) error {
		calls.released = append(calls.released, key)
		return nil
	})
	env.OnActivity("CancelSlot", anyCtx, anyArg).Return(func(_ context.Context, key string) error {
		calls.cancelled = append(calls.cancelled, key)
		return nil
	})
	env.ExecuteWorkflow(ReleaseWorkflowType, ReleaseNumberInput{NumberID: rec.ID, TeamID: rec.TeamID, PhoneNumber: rec.PhoneNumber, Reason: reason})
	if err := env.GetWorkflowError(); err != nil {
		return calls, NumberView{}, err
	}
	var view NumberView
	if err := env.GetWorkflowResult(&view); err != nil {
		t.Fatal(err)
	}
	return calls, view, nil
}

// A pending record is undone only once CheckUndoPending allows it (strict
// for anyone but the team's own release); while an order of it is in
// flight at Telnyx, nothing is touched and the release answers
// number_in_purchase.
func TestReleaseNumberWorkflowLeavesAPendingRecordWhoseOrderIsInFlight(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rec := domain.PhoneNumber{ID: "pn_1", TeamID: "team_1", PhoneNumber: "+14155550703", Status: domain.NumberPending,
		WorkflowID: NumberWorkflowID("+14155550703"), CreatedAt: now.Add(-time.Hour)}
	for _, reason := range []string{ReleaseReasonAPI, "purchase", "reconcile"} {
		calls, _, err := runReleaseWith(t, rec, now, reason, activities.UnwatchedOrderPending)
		if de := temporalerr.Decode(err); domain.ErrorKind(de) != domain.KindConflict || !strings.Contains(de.Error(), domain.CodeNumberInPurchase) {
			t.Fatalf("%s: release of a pending record whose order is in flight: %v, want number_in_purchase", reason, err)
		}
		if len(calls.atProvider)+len(calls.ended)+len(calls.released)+len(calls.cancelled) != 0 {
			t.Fatalf("%s: the record was touched: %+v", reason, calls)
		}
		if len(calls.checks) != 1 || calls.checks[0].Key != rec.WorkflowID+"/run-1" || calls.checks[0].Strict != (reason != ReleaseReasonAPI) {
			t.Fatalf("%s: checks %+v, want one with the purchase key, strict unless the team asked", reason, calls.checks)
		}
	}
}

func TestReleaseNumberWorkflowEndsWhatTheRecordSays(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	base := domain.PhoneNumber{ID: "pn_1", TeamID: "team_1", PhoneNumber: "+14155550701", ProviderNumberID: "tx_1",
		WorkflowID: NumberWorkflowID("+14155550701"), CreatedAt: now.Add(-time.Hour)}
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	key := base.WorkflowID + "/run-1"
	for name, tc := range map[string]struct {
		status          domain.NumberStatus
		trial           bool
		expires         *time.Time
		final           domain.NumberStatus
		released, cancl int
	}{
		"active paid":         {domain.NumberActive, false, nil, domain.NumberReleased, 1, 0},
		"trial past expiry":   {domain.NumberActive, true, &past, domain.NumberExpired, 1, 0},
		"trial before expiry": {domain.NumberActive, true, &future, domain.NumberReleased, 1, 0},
		"pending":             {domain.NumberPending, false, nil, domain.NumberFailed, 0, 1},
		"already released":    {domain.NumberReleased, false, nil, domain.NumberReleased, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			rec := base
			rec.Status, rec.IsTrial, rec.TrialExpiresAt = tc.status, tc.trial, tc.expires
			calls, view := runRelease(t, rec, now)
			if view.Status != tc.final {
				t.Errorf("ended %s, want %s", view.Status, tc.final)
			}
			if !tc.status.Live() {
				if len(calls.atProvider)+len(calls.ended)+len(calls.released)+len(calls.cancelled) != 0 {
					t.Fatalf("a record no longer live was touched: %+v", calls)
				}
				return
			}
			if len(calls.atProvider) != 1 || calls.atProvider[0].ProviderNumberID != "tx_1" || len(calls.ended) != 1 || calls.ended[0].Status != tc.final {
				t.Fatalf("calls %+v, want one release at Telnyx and the record ended %s", calls, tc.final)
			}
			if len(calls.released) != tc.released || len(calls.cancelled) != tc.cancl || (len(calls.released) == 1 && calls.released[0] != key) || (len(calls.cancelled) == 1 && calls.cancelled[0] != key) {
				t.Fatalf("slot calls %+v, want %d release(s) and %d cancel(s) of %s", calls, tc.released, tc.cancl, key)
			}
		})
	}
}

// A purchase that update-with-start hands to a running release is refused
// by the validator with number_in_purchase.
func TestReleaseNumberWorkflowRefusesAPurchase(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ReleaseNumberWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowType})
	env.RegisterActivity(&activities.Activities{})
	rec := domain.PhoneNumber{ID: "pn_1", TeamID: "team_1", PhoneNumber: "+14155550702", Status: domain.NumberReleased}
	env.OnActivity("LoadNumber", anyCtx, anyArg).Return(rec, nil).After(time.Minute)
	var refused error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdatePurchase, "p-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { refused = err },
			OnAccept: func() {}, OnComplete: func(any, error) {},
		}, PurchaseRequest{PhoneNumber: rec.PhoneNumber, TeamID: "team_2"})
	}, time.Second)
	env.ExecuteWorkflow(ReleaseWorkflowType, ReleaseNumberInput{NumberID: rec.ID, TeamID: rec.TeamID, PhoneNumber: rec.PhoneNumber})
	if de := temporalerr.Decode(refused); domain.ErrorKind(de) != domain.KindConflict || !strings.Contains(de.Error(), domain.CodeNumberInPurchase) {
		t.Fatalf("purchase during a release: %v, want number_in_purchase", refused)
	}
}
