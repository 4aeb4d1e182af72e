package activities_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalerr"
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
		find:   findsNothing,
		list:   holdsNothing,
	}
	f.acts.Provider = p
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(f.acts)
	_, err := env.ExecuteLocalActivity(f.acts.PlaceOrder, activities.OrderInput{NumberID: n.ID, PhoneNumber: n.PhoneNumber, CustomerReference: "key-8", Retried: true})
	if errType(err) != temporalerr.TypeRetryAsActivity {
		t.Fatalf("PlaceOrder as a local activity = %v, want %s", err, temporalerr.TypeRetryAsActivity)
	}
	if got := p.called("create_order"); got != 1 {
		t.Errorf("%d orders tried, want one", got)
	}
}

// wakeEvents is an OrderEvents whose subscribers the test wakes.
type wakeEvents struct {
	subscribed chan string
	ch         chan struct{}
}

func (w *wakeEvents) Publish(context.Context, string) error { return nil }

func (w *wakeEvents) Subscribe(orderID string) (<-chan struct{}, func()) {
	w.subscribed <- orderID
	return w.ch, func() {}
}

// TestWebhookWordEndsTheWaitForTheOrder: WaitForOrder looks at the order
// when OrderEvents says it changed, not only at its poll: with the poll an
// hour apart, the word alone ends the wait. Without word or settlement it
// answers pending once its time is up.
func TestWebhookWordEndsTheWaitForTheOrder(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	n := f.record("+14155550241", domain.NumberPending)
	var settled atomic.Bool
	gets := atomic.Int32{}
	p := &fakeProvider{
		getOrder: func(id string) (domain.Order, error) {
			gets.Add(1)
			status := domain.OrderPending
			if settled.Load() {
				status = domain.OrderSuccess
			}
			return domain.Order{ID: id, Status: status, Numbers: []domain.OrderedNumber{{PhoneNumber: n.PhoneNumber, Status: status}}}, nil
		},
		list: holds(domain.OwnedNumber{ID: "tx-241", PhoneNumber: n.PhoneNumber, Status: domain.OwnedActive}),
	}
	events := &wakeEvents{subscribed: make(chan string, 1), ch: make(chan struct{}, 1)}
	f.acts.Provider, f.acts.OrderEvents, f.acts.FastPollEvery = p, events, time.Hour
	in := activities.WaitInput{AwaitInput: activities.AwaitInput{OrderID: "ord-241", PhoneNumber: n.PhoneNumber}, For: time.Minute}
	type result struct {
		res activities.AwaitResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := f.acts.WaitForOrder(context.Background(), in)
		done <- result{res, err}
	}()
	if got := <-events.subscribed; got != "ord-241" {
		t.Fatalf("subscribed to %q, want the order", got)
	}
	settled.Store(true)
	events.ch <- struct{}{}
	r := <-done
	if r.err != nil || r.res.ProviderNumberID != "tx-241" {
		t.Fatalf("WaitForOrder = %+v, %v; want the settled number, woken by the word", r.res, r.err)
	}
	if got := gets.Load(); got != 2 {
		t.Errorf("%d looks at the order, want 2: at once, then on the word", got)
	}

	// Nothing comes: pending once the wait is up.
	settled.Store(false)
	in.For = 50 * time.Millisecond
	f.acts.FastPollEvery = 10 * time.Millisecond
	res, err := f.acts.WaitForOrder(context.Background(), in)
	if err != nil || !res.Pending || res.ProviderNumberID != "" {
		t.Fatalf("WaitForOrder of an order that stays pending = %+v, %v; want pending", res, err)
	}
}
