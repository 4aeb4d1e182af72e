//go:build record

package replay

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// heldOrders makes the orders of chosen numbers look pending, or waiting
// on documents, whatever the simulator says (it does not play regulated
// orders): to AwaitOrder always, so that only a webhook's CheckOrder sees
// the order settle once the test lets it — the recorded path is then the
// webhook's, never a race with the poll.
type heldOrders struct {
	domain.NumberProvider
	mu   sync.Mutex
	held map[string]*heldOrder
}

type heldOrder struct {
	documents bool
	deadline  time.Time
	settled   bool // CheckOrder sees the simulator's answer
}

func (p *heldOrders) hold(e164 string, h *heldOrder) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.held == nil {
		p.held = map[string]*heldOrder{}
	}
	p.held[e164] = h
}

func (p *heldOrders) settle(e164 string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held[e164].settled = true
}

func (p *heldOrders) GetOrder(ctx context.Context, id string) (domain.Order, error) {
	o, err := p.NumberProvider.GetOrder(ctx, id)
	if err != nil {
		return o, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range o.Numbers {
		n := &o.Numbers[i]
		h, ok := p.held[n.PhoneNumber]
		if !ok || (h.settled && activity.IsActivity(ctx) && activity.GetInfo(ctx).ActivityType.Name == "CheckOrder") {
			continue
		}
		o.Status, n.Status = domain.OrderPending, domain.OrderPending
		o.SubNumberOrderIDs = []string{"sub-" + id}
		if h.documents {
			deadline := h.deadline
			n.RequirementsMet, n.RequirementsStatus, n.Deadline = false, domain.RequirementsInfoPending, &deadline
			n.Requirements = []domain.RegulatoryRequirement{{RequirementID: "req-address", FieldType: "address"}}
		}
	}
	return o, nil
}

// TestRecordHistoriesRegulated records the runs of the change
// "order-events": a webhook ending the ordinary order wait, a regulated
// order waiting on documents until the webhook says it completed, and one
// whose deadline passes. Its name matches the command in doc.go.
func TestRecordHistoriesRegulated(t *testing.T) {
	r := newRecorder(t)
	t.Run("order event ends the wait", func(t *testing.T) { t.Parallel(); r.orderEventEndsTheWait(t) })
	t.Run("documents then active", func(t *testing.T) { t.Parallel(); r.documentsThenActive(t) })
	t.Run("documents deadline passed", func(t *testing.T) { t.Parallel(); r.documentsDeadlinePassed(t) })
}

// pendingPurchase starts a purchase that does not settle within a second
// and returns its state once until says it is there.
func (r *recorder) pendingPurchase(t *testing.T, req workflows.PurchaseRequest, until func(workflows.NumberState) bool) workflows.NumberState {
	t.Helper()
	r.offer(t, req.PhoneNumber)
	out, err := r.svc.Purchase(context.Background(), req, "purchase-"+req.PhoneNumber, time.Second)
	if err != nil || !out.Pending {
		t.Fatalf("purchase of %s: pending=%v err=%v, want pending", req.PhoneNumber, out.Pending, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.svc.State(context.Background(), req.PhoneNumber)
		if err == nil && until(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("purchase of %s: state %+v, %v", req.PhoneNumber, st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// orderSucceeds settles the held order of e164 (st is the purchase's
// pending state) and says so to the workflow, as Telnyx's webhook would,
// then waits for the number to be active.
func (r *recorder) orderSucceeds(t *testing.T, e164 string, st workflows.NumberState) {
	t.Helper()
	r.held.settle(e164)
	if err := r.svc.NotifyOrder(context.Background(), workflows.OrderEvent{CustomerReference: st.CustomerReference, OrderID: st.OrderID, Status: domain.OrderSuccess}); err != nil {
		t.Fatal(err)
	}
	r.waitActive(t, e164)
}

func (r *recorder) waitActive(t *testing.T, e164 string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := r.svc.State(context.Background(), e164)
		if err == nil && st.Number.Status == domain.NumberActive {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become active: %+v %v", e164, st.Number, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *recorder) orderEventEndsTheWait(t *testing.T) {
	req := r.buyer(t, domain.PlanGrowth, "+14155550251")
	r.held.hold(req.PhoneNumber, &heldOrder{})
	st := r.pendingPurchase(t, req, func(st workflows.NumberState) bool { return st.OrderID != "" })
	// Another purchase's event first: ignored.
	if err := r.svc.NotifyOrder(context.Background(), workflows.OrderEvent{CustomerReference: workflows.NumberWorkflowID(req.PhoneNumber) + "/another-run", OrderID: "x"}); err != nil {
		t.Fatal(err)
	}
	r.orderSucceeds(t, req.PhoneNumber, st)
	r.releaseAndSave(t, req, "number-order-event-ends-wait.json")
}

func (r *recorder) documentsThenActive(t *testing.T) {
	req := r.buyer(t, domain.PlanGrowth, "+14155550252")
	req.RequirementGroupID = "rg-recorded"
	r.held.hold(req.PhoneNumber, &heldOrder{documents: true, deadline: time.Now().Add(time.Hour).UTC().Truncate(time.Second)})
	st := r.pendingPurchase(t, req, func(st workflows.NumberState) bool { return st.Number.Requirements != nil })
	if st.Number.Requirements.Status != domain.RequirementsInfoPending || len(st.Number.Requirements.Missing) != 1 {
		t.Fatalf("requirements %+v", st.Number.Requirements)
	}
	n, err := r.numbers.LiveByNumber(context.Background(), req.PhoneNumber)
	if err != nil || n.Requirements == nil {
		t.Fatalf("the record shows no requirements: %+v %v", n, err)
	}
	r.orderSucceeds(t, req.PhoneNumber, st)
	r.releaseAndSave(t, req, "number-regulated-documents-then-active.json")
}

func (r *recorder) documentsDeadlinePassed(t *testing.T) {
	req := r.buyer(t, domain.PlanFree, "+14155550253")
	r.held.hold(req.PhoneNumber, &heldOrder{documents: true, deadline: time.Now().Add(4 * time.Second)})
	r.offer(t, req.PhoneNumber)
	if de := r.refusedPurchase(t, req, domain.CodeRequirementsDeadlinePassed); de.Kind != domain.KindConflict {
		t.Fatalf("purchase: %v, want a conflict", de)
	}
	st := r.finished(t, r.svc, req.PhoneNumber)
	if st.Number.Status != domain.NumberFailed || st.Error != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("final state %+v", st)
	}
	if e, _ := r.accounts.Eligibility(context.Background(), req.TeamID); e.CurrentCount != 0 || e.MaxAllowed < 1 {
		t.Fatalf("the free team's slot and trial: %+v", e)
	}
	r.save(t, "number-regulated-deadline-passed.json", workflows.NumberWorkflowID(req.PhoneNumber))
}
