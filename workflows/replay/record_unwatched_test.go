//go:build record

package replay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestRecordHistoriesUnwatched records the runs that deal with records
// no workflow watches: a reconciliation (after the change
// "unwatched-records") that releases a terminated trial past its expiry
// and flags a terminated paid number, the ReleaseNumberWorkflow it
// started, and the one a team's release request starts for the paid
// number. Its name matches the command in doc.go, so it is recorded with
// the rest.
func TestRecordHistoriesUnwatched(t *testing.T) {
	r := newRecorder(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	trial := r.buyer(t, domain.PlanFree, "+14155550241")
	bought := r.buy(t, r.shortTrialSvc, trial)
	paid := r.buyer(t, domain.PlanGrowth, "+14155550242")
	r.buy(t, r.svc, paid)
	for _, e164 := range []string{trial.PhoneNumber, paid.PhoneNumber} {
		if err := r.c.TerminateWorkflow(ctx, workflows.NumberWorkflowID(e164), "", "recording: an operator's terminate"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Until(*bought.Number.TrialExpiresAt) + 500*time.Millisecond)

	const id = workflows.ReconcileScheduleID + "-recorded-unwatched"
	res := r.reconcile(ctx, t, id)
	outcomes := map[string]string{}
	for _, f := range res.Unwatched {
		outcomes[f.PhoneNumber] = f.Outcome
	}
	if outcomes[trial.PhoneNumber] != activities.UnwatchedReleaseStarted || outcomes[paid.PhoneNumber] != activities.UnwatchedFlagged {
		t.Fatalf("the run found %v, want the trial released and the paid number flagged", outcomes)
	}
	r.save(t, "reconcile-unwatched-records.json", id)

	var view workflows.NumberView
	if err := r.c.GetWorkflow(ctx, workflows.NumberWorkflowID(trial.PhoneNumber), "").Get(ctx, &view); err != nil || view.Status != domain.NumberExpired {
		t.Fatalf("the trial's release: %+v, %v; want expired", view, err)
	}
	r.save(t, "release-unwatched-trial-expired.json", workflows.NumberWorkflowID(trial.PhoneNumber))

	n, err := r.numbers.LiveByNumber(ctx, paid.PhoneNumber)
	if err != nil {
		t.Fatal(err)
	}
	view, pending, err := r.svc.ReleaseUnwatched(ctx, n, "api", 30*time.Second)
	if err != nil || pending || view.Status != domain.NumberReleased {
		t.Fatalf("release of the terminated paid number: %+v pending=%v %v", view, pending, err)
	}
	if err := r.c.GetWorkflow(ctx, workflows.NumberWorkflowID(paid.PhoneNumber), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	r.save(t, "release-unwatched-by-update.json", workflows.NumberWorkflowID(paid.PhoneNumber))

	// A purchase terminated while its order is pending at Telnyx (a
	// regulated number): the team's release leaves it (order_pending).
	r.sim.SetOrderLatency(time.Hour)
	slow := workflows.PurchaseRequest{PhoneNumber: "+14155550243", TeamID: paid.TeamID, UserID: paid.UserID}
	r.offer(t, slow.PhoneNumber)
	if out, err := r.svc.Purchase(ctx, slow, "purchase-"+slow.PhoneNumber, 2*time.Second); err != nil || !out.Pending {
		t.Fatalf("purchase with an order pending for an hour: pending=%v err=%v", out.Pending, err)
	}
	for {
		if n, err := r.numbers.LiveByNumber(ctx, slow.PhoneNumber); err == nil && n.ProviderOrderID != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.c.TerminateWorkflow(ctx, workflows.NumberWorkflowID(slow.PhoneNumber), "", "recording: terminated during AwaitOrder"); err != nil {
		t.Fatal(err)
	}
	n, err = r.numbers.LiveByNumber(ctx, slow.PhoneNumber)
	if err != nil {
		t.Fatal(err)
	}
	var de *domain.Error
	if _, _, err := r.svc.ReleaseUnwatched(ctx, n, workflows.ReleaseReasonAPI, 30*time.Second); !errors.As(err, &de) || de.Code != domain.CodeNumberInPurchase {
		t.Fatalf("release while the order is pending: %v, want number_in_purchase", err)
	}
	r.save(t, "release-unwatched-order-pending.json", workflows.NumberWorkflowID(slow.PhoneNumber))
}
