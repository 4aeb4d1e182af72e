//go:build record

package replay

import (
	"context"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestRecordHistoriesReconcile records a reconciliation run that meets
// every kind of finding: an orphan released, one deletion-locked, one too
// young, and a number missing at Telnyx, looked at again after a timer.
// Its name matches the command in doc.go, so it is recorded with the rest.
func TestRecordHistoriesReconcile(t *testing.T) {
	r := newRecorder(t)
	missing := r.buyer(t, domain.PlanGrowth, "+14155550231")
	r.buy(t, r.svc, missing)
	if !r.sim.Forget(missing.PhoneNumber) {
		t.Fatal("the simulator did not hold the number just bought")
	}
	for e164, age := range map[string]time.Duration{"+14155550232": 2 * time.Hour, "+14155550233": 3 * time.Hour, "+14155550234": time.Minute} {
		if _, err := r.sim.AddOwned(e164, time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	r.sim.DeletionLock("+14155550233", true)

	const id = workflows.ReconcileScheduleID + "-recorded"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res := r.reconcile(ctx, t, id)
	outcomes := map[string]string{}
	for _, o := range res.Orphans {
		outcomes[o.PhoneNumber] = o.Outcome
	}
	if outcomes["+14155550232"] != activities.OrphanReleased || outcomes["+14155550233"] != activities.OrphanDeletionLocked ||
		outcomes["+14155550234"] != activities.OrphanTooYoung || len(res.Missing) != 1 {
		t.Fatalf("the run found %v and missing %+v, want every kind of finding", outcomes, res.Missing)
	}
	r.save(t, "reconcile-orphans-and-missing.json", id)
}
