package activities_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
)

// The fast path's steps on the real database and the simulator, run as a
// worker that died would have them run again: from the start, each one.

// TestFastPathRunAgainHoldsOneNumber: the four steps, then all four again
// (a local activity's task lost after it completed): one reservation, one
// record, one order at the provider, the same active number.
func TestFastPathRunAgainHoldsOneNumber(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	a := f.acts
	a.Purchases = persistence.NewPurchaseStore(f.db)
	const e164, key = "+14155550239", "phone-number:+14155550239/run-1"
	if err := f.sim.SearchFor(e164); err != nil {
		t.Fatal(err)
	}
	id := domain.IDFor(domain.PrefixPhoneNumber, time.Unix(1800000000, 0), key)
	buy := func() activities.CompleteResult {
		t.Helper()
		ctx := context.Background()
		begun, err := a.BeginPurchase(ctx, activities.BeginInput{Key: key, Number: domain.PhoneNumber{
			ID: id, TeamID: f.teamID, PhoneNumber: e164, CreatedByUserID: f.userID, WorkflowID: "phone-number:" + e164,
		}})
		if err != nil {
			t.Fatalf("BeginPurchase: %v", err)
		}
		order, err := a.PlaceOrder(ctx, activities.OrderInput{NumberID: begun.Number.ID, PhoneNumber: e164, CustomerReference: key})
		if err != nil {
			t.Fatalf("PlaceOrder: %v", err)
		}
		settled, err := a.WaitForOrder(ctx, activities.WaitInput{AwaitInput: activities.AwaitInput{OrderID: order.OrderID, PhoneNumber: e164}, For: time.Second})
		if err != nil || settled.ProviderNumberID == "" {
			t.Fatalf("WaitForOrder = %+v, %v", settled, err)
		}
		done, err := a.CompletePurchase(ctx, activities.CompleteInput{TeamID: f.teamID, Activate: domain.ActivateNumber{
			ID: begun.Number.ID, ProviderNumberID: settled.ProviderNumberID, ProviderOrderID: order.OrderID,
		}})
		if err != nil {
			t.Fatalf("CompletePurchase: %v", err)
		}
		return done
	}
	first := buy()
	again := buy()
	if first.Number.ID != id || again.Number.ID != id || again.Number.Status != domain.NumberActive || again.Number.ProviderOrderID != first.Number.ProviderOrderID {
		t.Fatalf("first %+v, again %+v: want one active record", first.Number, again.Number)
	}
	if first.Eligibility.CurrentCount != 1 || again.Eligibility.CurrentCount != 1 {
		t.Errorf("eligibility %+v then %+v: the slot is counted once", first.Eligibility, again.Eligibility)
	}
	orders, err := f.provider.FindOrdersByCustomerReference(context.Background(), key)
	if err != nil || len(orders) != 1 {
		t.Errorf("orders carrying the key: %d (%v), want one", len(orders), err)
	}
}

// TestRefusedRetriedOrderAsALocalActivityAsksForAnActivity: a refused
// retried order is looked into over several attempts counted in
// heartbeats, which a local activity lacks: it hands the step to a regular
// activity at once rather than retry without counting.
func TestRefusedRetriedOrderAsALocalActivityAsksForAnActivity(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	n := f.record("+14155550240", domain.NumberPending)
	p := &fakeProvider{
		create: func(domain.OrderRequest) (domain.Order, error) { return domain.Order{}, rejected(422) },
		find:   func(string) ([]domain.Order, error) { return nil, nil },
		list:   func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) { return nil, nil },
	}
	f.acts.Provider = p
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	_, err := env.ExecuteLocalActivity(f.acts.PlaceOrder, activities.OrderInput{NumberID: n.ID, PhoneNumber: n.PhoneNumber, CustomerReference: "key-8", Retried: true})
	if errType(err) != activities.ErrTypeRetryAsActivity {
		t.Fatalf("PlaceOrder as a local activity = %v, want %s", err, activities.ErrTypeRetryAsActivity)
	}
	if got := p.called("create_order"); got != 1 {
		t.Errorf("%d orders tried, want one", got)
	}
}
