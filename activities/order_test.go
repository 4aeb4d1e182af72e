package activities_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The order and release activities against fakes of the provider where the
// simulator cannot yet play the part (regulated orders, a provider that
// lists an order late, refusals without a lock), with the real
// PostgreSQL store.

// fakeProvider answers the calls it has a function for; any other call
// panics (the embedded nil interface), so a test notices a call it did not
// expect.
type fakeProvider struct {
	domain.NumberProvider
	mu        sync.Mutex
	getOrder  func(id string) (domain.Order, error)
	create    func(req domain.OrderRequest) (domain.Order, error)
	find      func(ref string) ([]domain.Order, error)
	list      func(f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error)
	getNumber func(id string) (domain.OwnedNumber, error)
	release   func(id string) error
	cancelSub func(id string) error
	attach    func(subID, groupID string) error
	calls     map[string]int
	filters   []domain.OwnedNumberFilter
	cancelled []string
}

func (p *fakeProvider) CancelSubNumberOrder(_ context.Context, id string) error {
	p.count("cancel_sub_order")
	p.mu.Lock()
	p.cancelled = append(p.cancelled, id)
	p.mu.Unlock()
	return p.cancelSub(id)
}

func (p *fakeProvider) AttachRequirementGroup(_ context.Context, subID, groupID string) error {
	p.count("attach_group")
	return p.attach(subID, groupID)
}

func (p *fakeProvider) count(op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[op]++
}

func (p *fakeProvider) called(op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[op]
}

func (p *fakeProvider) GetOrder(_ context.Context, id string) (domain.Order, error) {
	p.count("get_order")
	return p.getOrder(id)
}

func (p *fakeProvider) CreateOrder(_ context.Context, req domain.OrderRequest) (domain.Order, error) {
	p.count("create_order")
	return p.create(req)
}

func (p *fakeProvider) FindOrdersByCustomerReference(_ context.Context, ref string) ([]domain.Order, error) {
	p.count("find_orders")
	return p.find(ref)
}

func (p *fakeProvider) ListOwnedNumbers(_ context.Context, f domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	p.count("list_numbers")
	p.mu.Lock()
	p.filters = append(p.filters, f)
	p.mu.Unlock()
	return p.list(f)
}

func (p *fakeProvider) GetOwnedNumber(_ context.Context, id string) (domain.OwnedNumber, error) {
	p.count("get_number")
	return p.getNumber(id)
}

func (p *fakeProvider) ReleaseNumber(_ context.Context, id string) error {
	p.count("release_number")
	return p.release(id)
}

func rejected(status int) *domain.ProviderError {
	return &domain.ProviderError{Op: "test", Class: domain.ProviderRejected, HTTPStatus: status, Title: "refused"}
}

// findsNothing and holdsNothing are look-ups that find no order and no
// number.
func findsNothing(string) ([]domain.Order, error) { return nil, nil }

func holdsNothing(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) { return nil, nil }

// holds is a ListOwnedNumbers that shows the account holding these
// numbers, whatever the filter.
func holds(held ...domain.OwnedNumber) func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
	return func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) { return held, nil }
}

// serverError and timedOut are a first order attempt whose answer was
// lost: a 502, or no answer at all.
var (
	serverError = &domain.ProviderError{Op: "create_order", Class: domain.ProviderServerError, HTTPStatus: 502}
	timedOut    = &domain.ProviderError{Op: "create_order", Class: domain.ProviderTimeout}
)

// refusedOnRetry is a CreateOrder that fails the first attempt with first
// and refuses every later one (422), as Telnyx refuses to sell a number
// twice; n counts the attempts.
func refusedOnRetry(n *int, first *domain.ProviderError) func(domain.OrderRequest) (domain.Order, error) {
	return func(domain.OrderRequest) (domain.Order, error) {
		if *n++; *n == 1 {
			return domain.Order{}, first
		}
		return domain.Order{}, rejected(422)
	}
}

// shownOnThirdLook is a FindOrdersByCustomerReference that lists the
// order ord-slow of ref from its third call on, as Telnyx lists an order
// late.
func shownOnThirdLook(ref string) func(string) ([]domain.Order, error) {
	finds := 0
	return func(string) ([]domain.Order, error) {
		if finds++; finds >= 3 {
			return []domain.Order{{ID: "ord-slow", CustomerReference: ref}}, nil
		}
		return nil, nil
	}
}

func errType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

const regulatedNumber = "+4930555000201"

func regulatedOrder(numberStatus domain.OrderStatus, reqStatus domain.RequirementsStatus, met bool, deadline *time.Time) domain.Order {
	return domain.Order{ID: "ord-1", Status: domain.OrderPending, SubNumberOrderIDs: []string{"sub-1"}, Numbers: []domain.OrderedNumber{{
		ID: "on-1", PhoneNumber: regulatedNumber, Status: numberStatus, RequirementsMet: met, RequirementsStatus: reqStatus,
		Requirements: []domain.RegulatoryRequirement{
			{RequirementID: "req-address", FieldType: "address"},
			{RequirementID: "req-name", FieldType: "textual", FieldValue: "Ada"},
		},
		Deadline: deadline,
	}}}
}

func cancelledOrder() domain.Order {
	o := regulatedOrder(domain.OrderFailure, domain.RequirementsCancelled, false, nil)
	o.Status = domain.OrderCancelled
	return o
}

func TestAwaitOrderReturnsWhenTheOrderWaitsOnDocuments(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(72 * time.Hour).UTC().Truncate(time.Second)
	p := &fakeProvider{getOrder: func(string) (domain.Order, error) {
		return regulatedOrder(domain.OrderPending, domain.RequirementsInfoPending, false, &deadline), nil
	}}
	a := &activities.Activities{Provider: p, OrderPollInterval: time.Millisecond}
	res, err := a.AwaitOrder(t.Context(), activities.AwaitInput{OrderID: "ord-1", PhoneNumber: regulatedNumber, ReturnOnDocuments: true})
	if err != nil || res.Requirements == nil {
		t.Fatalf("AwaitOrder = %+v, %v; want the requirements", res, err)
	}
	r := res.Requirements
	if r.Status != domain.RequirementsInfoPending || len(r.Missing) != 1 || r.Missing[0].RequirementID != "req-address" ||
		r.Deadline == nil || !r.Deadline.Equal(deadline) || res.SubNumberOrderID != "sub-1" || res.ProviderNumberID != "" {
		t.Fatalf("AwaitOrder = %+v (requirements %+v): want only the requirement without a value, the deadline and the sub-order", res, r)
	}

	// A run older than the change does not ask: the order is polled on,
	// slowly (DocumentsPollInterval, not OrderPollInterval).
	before := p.called("get_order")
	a.DocumentsPollInterval = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 350*time.Millisecond)
	defer cancel()
	if _, err := a.AwaitOrder(ctx, activities.AwaitInput{OrderID: "ord-1", PhoneNumber: regulatedNumber}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitOrder without ReturnOnDocuments = %v, want it still polling", err)
	}
	if n := p.called("get_order") - before; n < 3 || n > 5 {
		t.Fatalf("%d polls in 350ms, want one every 100ms (not every millisecond)", n)
	}
}

func TestCheckOrderReadsEachOutcome(t *testing.T) {
	t.Parallel()
	past := time.Now().Add(-time.Minute)
	future := time.Now().Add(time.Hour)
	active := []domain.OwnedNumber{{ID: "tx-1", PhoneNumber: regulatedNumber, Status: domain.OwnedActive}}
	provisioning := []domain.OwnedNumber{{ID: "tx-1", PhoneNumber: regulatedNumber, Status: domain.OwnedProvisionPending}}
	cases := []struct {
		name     string
		order    domain.Order
		owned    []domain.OwnedNumber
		wantID   string
		wantDocs bool
		pending  bool
		wantErr  string
		known    *time.Time // the deadline the workflow last saw
	}{
		{name: "approved and active", order: regulatedOrder(domain.OrderSuccess, domain.RequirementsApproved, true, nil), owned: active, wantID: "tx-1"},
		// Held but not usable yet: activation waits.
		{name: "success, number provisioning", order: regulatedOrder(domain.OrderSuccess, domain.RequirementsApproved, true, nil), owned: provisioning, pending: true},
		{name: "under review", order: regulatedOrder(domain.OrderPending, domain.RequirementsUnderReview, false, &future), wantDocs: true},
		{name: "requirements listed, not met", order: regulatedOrder(domain.OrderPending, "", false, &future), wantDocs: true},
		{name: "approved, still pending", order: regulatedOrder(domain.OrderPending, domain.RequirementsApproved, true, nil), pending: true},
		{name: "failed", order: regulatedOrder(domain.OrderFailure, domain.RequirementsInfoRejected, false, &future), wantErr: domain.CodeNumberUnavailable},
		{name: "cancelled after the deadline", order: regulatedOrder(domain.OrderCancelled, domain.RequirementsCancelled, false, &past), wantErr: domain.CodeRequirementsDeadlinePassed},
		{name: "cancelled before the deadline", order: regulatedOrder(domain.OrderCancelled, domain.RequirementsCancelled, false, &future), wantErr: domain.CodeNumberUnavailable},
		// As Telnyx (and the simulator) show an auto-cancelled order: the
		// number failed, its requirements cancelled, its deadline erased;
		// the deadline the workflow last saw has passed.
		{name: "cancelled, deadline erased, known deadline passed", order: cancelledOrder(), known: &past, wantErr: domain.CodeRequirementsDeadlinePassed},
		{name: "cancelled, deadline erased, known deadline ahead", order: cancelledOrder(), known: &future, wantErr: domain.CodeNumberUnavailable},
		{name: "cancelled, no deadline known", order: cancelledOrder(), wantErr: domain.CodeNumberUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := &fakeProvider{
				getOrder: func(string) (domain.Order, error) { return c.order, nil },
				list:     func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) { return c.owned, nil },
			}
			a := &activities.Activities{Provider: p}
			res, err := a.CheckOrder(t.Context(), activities.AwaitInput{OrderID: "ord-1", PhoneNumber: regulatedNumber, ReturnOnDocuments: true, Deadline: c.known})
			if c.wantErr != "" {
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != c.wantErr || !ae.NonRetryable() {
					t.Fatalf("CheckOrder = %+v, %v; want non-retryable %s", res, err, c.wantErr)
				}
				// Worded as the workflow and the number's record word it.
				want := domain.NumberUnavailable(regulatedNumber)
				if c.wantErr == domain.CodeRequirementsDeadlinePassed {
					want = domain.RequirementsDeadlinePassed(regulatedNumber)
				}
				if ae.Message() != want.Message {
					t.Fatalf("CheckOrder's %s says %q, want %q", c.wantErr, ae.Message(), want.Message)
				}
				return
			}
			if err != nil || res.ProviderNumberID != c.wantID || (res.Requirements != nil) != c.wantDocs || res.Pending != c.pending {
				t.Fatalf("CheckOrder = %+v, %v", res, err)
			}
		})
	}
}

// placeOrderWorkflow runs PlaceOrder as the number workflow does, with its
// retry policy, so that a retried attempt is a real second attempt.
func placeOrderWorkflow(ctx workflow.Context, in activities.OrderInput) (activities.OrderResult, error) {
	var a *activities.Activities
	ctx = workflow.WithActivityOptions(ctx, activities.ProviderOptions())
	var out activities.OrderResult
	err := workflow.ExecuteActivity(ctx, a.PlaceOrder, in).Get(ctx, &out)
	return out, err
}

// placeOrder runs PlaceOrder for the pending record n under ref, as the
// number workflow runs it (runPlaceOrder), with p for the provider.
func (f *driftFixture) placeOrder(t *testing.T, p domain.NumberProvider, n domain.PhoneNumber, ref string) (activities.OrderResult, error) {
	t.Helper()
	f.acts.Provider = p
	return runPlaceOrder(t, f.acts, activities.OrderInput{NumberID: n.ID, PhoneNumber: n.PhoneNumber, CustomerReference: ref})
}

func runPlaceOrder(t *testing.T, a *activities.Activities, in activities.OrderInput) (activities.OrderResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	env.RegisterActivity(a)
	env.RegisterWorkflow(placeOrderWorkflow)
	env.ExecuteWorkflow(placeOrderWorkflow, in)
	if !env.IsWorkflowCompleted() {
		t.Fatal("the workflow did not complete")
	}
	var out activities.OrderResult
	if err := env.GetWorkflowError(); err != nil {
		return out, err
	}
	return out, env.GetWorkflowResult(&out)
}

// TestRetriedOrderRefused: the first attempt's order may have been placed
// with its answer lost (a 5xx, a timeout); the retry's CreateOrder is then
// refused, the number being ours by now. What the look-ups show decides:
// the earlier attempt's order, found by a later attempt (spaced by the
// retry policy), or number_unavailable, never retrying for ever.
func TestRetriedOrderRefused(t *testing.T) {
	t.Parallel()
	const ref = "key-1"
	for _, c := range []struct {
		name  string
		first *domain.ProviderError // the first attempt's lost answer
		find  func(string) ([]domain.Order, error)
		// held, when not empty, is the state the account holds the number
		// in, under heldRef.
		held    domain.OwnedNumberStatus
		heldRef string
		// wantOrder is the order PlaceOrder finds; "" is number_unavailable.
		wantOrder   string
		wantCreates int
		// wantFinds and wantLists, when not 0, are the look-ups it makes.
		wantFinds, wantLists int
	}{
		// Telnyx lists the order a moment late: from the third look on,
		// after the refused retry's own look (the second; the first
		// attempt looks for nothing, its record showing no order
		// attempted), so only a later attempt sees it.
		{name: "the earlier attempt's order shows late", first: serverError, find: shownOnThirdLook(ref),
			wantOrder: "ord-slow", wantCreates: 2},
		// Neither an order nor the number for a few seconds: the refusal
		// stands. The timed-out first attempt, then three refused ones
		// (the count carried from one to the next in the heartbeat), each
		// looking before it orders and after its refusal.
		{name: "nothing found is unavailable", first: timedOut, find: findsNothing,
			wantCreates: 1 + 3, wantFinds: 3 * 2},
		// A number held under our reference without its order listed
		// keeps the activity retrying until the order shows.
		{name: "held under our reference keeps retrying", first: serverError, find: shownOnThirdLook(ref),
			held: domain.OwnedPurchasePending, heldRef: ref, wantOrder: "ord-slow", wantCreates: 2},
		// Telnyx need not copy the order's customer_reference onto the
		// owned number: held without a reference, the same.
		{name: "held without its reference keeps retrying", first: serverError, find: shownOnThirdLook(ref),
			held: domain.OwnedRequirementInfoPending, wantOrder: "ord-slow", wantCreates: 2},
		// Held with no reference and no order of the purchase ever
		// showing: the look-ups go on longer than for a number not held,
		// but end.
		{name: "held without an order concludes", first: timedOut, find: findsNothing,
			held: domain.OwnedActive, wantCreates: 1 + 9},
		// Held under another reference: number_unavailable at the first
		// listing.
		{name: "held under another reference is unavailable at once", first: timedOut, find: findsNothing,
			held: domain.OwnedActive, heldRef: "someone-else", wantCreates: 2, wantLists: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newDriftFixture(t)
			n := f.record("+14155550231", domain.NumberPending)
			creates := 0
			p := &fakeProvider{create: refusedOnRetry(&creates, c.first), find: c.find, list: holdsNothing}
			if c.held != "" {
				p.list = holds(domain.OwnedNumber{ID: "tx-1", PhoneNumber: n.PhoneNumber, Status: c.held, CustomerReference: c.heldRef})
			}
			start := time.Now()
			out, err := f.placeOrder(t, p, n, ref)
			took := time.Since(start)
			if c.wantOrder == "" {
				if errType(err) != domain.CodeNumberUnavailable {
					t.Fatalf("PlaceOrder = %+v, %v; want number_unavailable", out, err)
				}
			} else {
				if err != nil || out.OrderID != c.wantOrder {
					t.Fatalf("PlaceOrder = %+v, %v; want the order %s found by a later attempt", out, err, c.wantOrder)
				}
				stored, err := f.numbers.Get(t.Context(), f.teamID, n.ID)
				if err != nil || stored.ProviderOrderID != c.wantOrder {
					t.Fatalf("record %+v, %v", stored, err)
				}
			}
			if got := p.called("create_order"); got != c.wantCreates || creates != got {
				t.Errorf("%d orders tried, want %d", got, c.wantCreates)
			}
			if got := p.called("find_orders"); c.wantFinds != 0 && got != c.wantFinds {
				t.Errorf("%d order look-ups, want %d", got, c.wantFinds)
			}
			if got := p.called("list_numbers"); c.wantLists != 0 && (got != c.wantLists || took > 2*time.Second) {
				t.Errorf("concluded after %v and %d listings, want at the first", took, got)
			}
			for _, fl := range p.filters {
				if fl.CustomerReference != "" || fl.PhoneNumber != n.PhoneNumber {
					t.Errorf("listed owned numbers with %+v, want by phone number only", fl)
				}
			}
		})
	}
}

// TestFirstOrderRefusedLooksForNothing: the first attempt's 4xx is the
// provider's answer to our only order (its record shows none attempted
// before): number_unavailable, with no look-ups.
func TestFirstOrderRefusedLooksForNothing(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	p := &fakeProvider{
		create: func(domain.OrderRequest) (domain.Order, error) { return domain.Order{}, rejected(422) },
		find:   findsNothing,
	}
	f.acts.Provider = p
	n := f.record("+14155550237", domain.NumberPending)
	if _, err := f.acts.PlaceOrder(t.Context(), activities.OrderInput{NumberID: n.ID, PhoneNumber: n.PhoneNumber, CustomerReference: "key-3"}); errType(err) != domain.CodeNumberUnavailable || p.called("find_orders") != 0 {
		t.Fatalf("first attempt: %v after %d look-ups", err, p.called("find_orders"))
	}
}

func TestReleaseAtProviderReadsTheLockFromTheNumber(t *testing.T) {
	t.Parallel()
	const e164 = "+14155550234"
	held := domain.OwnedNumber{ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedActive}
	cases := []struct {
		name    string
		listed  domain.OwnedNumber // what the listing shows (no id given)
		byID    bool
		release error
		read    func() (domain.OwnedNumber, error)
		want    string // "" for success, "retry" for a retryable error
		deletes int
	}{
		{name: "locked, seen in the listing", listed: domain.OwnedNumber{ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedActive, DeletionLockEnabled: true}, want: domain.CodeDeletionLocked},
		{name: "422 and the number locked", byID: true, release: rejected(422), read: func() (domain.OwnedNumber, error) {
			n := held
			n.DeletionLockEnabled = true
			return n, nil
		}, want: domain.CodeDeletionLocked, deletes: 1},
		{name: "422 without a lock", byID: true, release: rejected(422), read: func() (domain.OwnedNumber, error) { return held, nil }, want: domain.CodeReleaseRefused, deletes: 1},
		{name: "400 and the number gone", byID: true, release: rejected(400), read: func() (domain.OwnedNumber, error) { return domain.OwnedNumber{}, rejected(404) }, deletes: 1},
		{name: "422 and the number deleted", byID: true, release: rejected(422), read: func() (domain.OwnedNumber, error) {
			n := held
			n.Status = domain.OwnedDeleted
			return n, nil
		}, deletes: 1},
		{name: "422 and the number unreadable", byID: true, release: rejected(422), read: func() (domain.OwnedNumber, error) {
			return domain.OwnedNumber{}, &domain.ProviderError{Op: "get_number", Class: domain.ProviderServerError, HTTPStatus: 503}
		}, want: "retry", deletes: 1},
		{name: "our credentials", byID: true, release: rejected(401), want: "retry", deletes: 1},
		{name: "held in a requirement-info state, listed", listed: domain.OwnedNumber{ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedRequirementInfoPending}, deletes: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := &fakeProvider{
				list: func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
					return []domain.OwnedNumber{c.listed}, nil
				},
				release:   func(string) error { return c.release },
				getNumber: func(string) (domain.OwnedNumber, error) { return c.read() },
			}
			a := &activities.Activities{Provider: p}
			in := activities.ReleaseInput{PhoneNumber: e164}
			if c.byID {
				in.ProviderNumberID = "tx-1"
			}
			err := a.ReleaseAtProvider(t.Context(), in)
			switch c.want {
			case "":
				if err != nil {
					t.Fatalf("ReleaseAtProvider = %v, want released", err)
				}
			case "retry":
				var ae *temporal.ApplicationError
				if err == nil || (errors.As(err, &ae) && ae.NonRetryable()) {
					t.Fatalf("ReleaseAtProvider = %v, want a retryable error", err)
				}
			default:
				var ae *temporal.ApplicationError
				if !errors.As(err, &ae) || ae.Type() != c.want || !ae.NonRetryable() {
					t.Fatalf("ReleaseAtProvider = %v, want non-retryable %s", err, c.want)
				}
			}
			if got := p.called("release_number"); got != c.deletes {
				t.Fatalf("%d deletes, want %d", got, c.deletes)
			}
		})
	}
}

// TestReleaseAtProviderSeesTheSimulatorsLock: the simulator's lock is
// read back from the number's own record.
func TestReleaseAtProviderSeesTheSimulatorsLock(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	id := f.bought("+14155550235", time.Hour)
	f.sim.DeletionLock("+14155550235", true)
	err := f.acts.ReleaseAtProvider(t.Context(), activities.ReleaseInput{PhoneNumber: "+14155550235", ProviderNumberID: id})
	if errType(err) != domain.CodeDeletionLocked {
		t.Fatalf("ReleaseAtProvider = %v, want deletion_locked", err)
	}
	f.sim.DeletionLock("+14155550235", false)
	if err := f.acts.ReleaseAtProvider(t.Context(), activities.ReleaseInput{PhoneNumber: "+14155550235", ProviderNumberID: id}); err != nil {
		t.Fatalf("after the lock is lifted: %v", err)
	}
}

// TestRequirementsAndFailureReasonReachTheRecord: what the workflow
// records through the activities is what the team's number list reads.
func TestRequirementsAndFailureReasonReachTheRecord(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	n := f.record("+14155550236", domain.NumberPending)
	deadline := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	reqs := &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Deadline: &deadline,
		Missing: []domain.RegulatoryRequirement{{RequirementID: "req-address", FieldType: "address"}}}
	if err := f.acts.RecordRequirements(t.Context(), activities.RequirementsInput{NumberID: n.ID, Requirements: reqs}); err != nil {
		t.Fatal(err)
	}
	page, err := f.numbers.List(t.Context(), domain.NumberListQuery{TeamID: f.teamID})
	if err != nil || len(page.Items) != 1 || page.Items[0].Requirements == nil || page.Items[0].Requirements.Missing[0].RequirementID != "req-address" {
		t.Fatalf("listed %+v, %v", page.Items, err)
	}
	ended, err := f.acts.EndNumber(t.Context(), activities.EndInput{NumberID: n.ID, Status: domain.NumberFailed, FailureReason: domain.CodeRequirementsDeadlinePassed})
	if err != nil || ended.Status != domain.NumberFailed || ended.FailureReason != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("EndNumber = %+v, %v", ended, err)
	}
}

// TestReleaseOfANumberHeldForAPendingOrderCancelsTheOrder: Telnyx refuses
// to delete a number its unfinished order holds (requirement-info,
// purchase-pending): the release cancels the purchase's pending
// sub-orders instead, and is done once they are cancelled, or retried
// when a cancel fails.
func TestReleaseOfANumberHeldForAPendingOrderCancelsTheOrder(t *testing.T) {
	t.Parallel()
	const e164 = "+4930555000238"
	held := func(status domain.OwnedNumberStatus) func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
		return func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) {
			return []domain.OwnedNumber{{ID: "tx-1", PhoneNumber: e164, Status: status}}, nil
		}
	}
	orders := func(ref string) ([]domain.Order, error) {
		if ref != "key-8" {
			return nil, nil
		}
		return []domain.Order{
			{ID: "ord-done", Status: domain.OrderCancelled, SubNumberOrderIDs: []string{"sub-old"}},
			{ID: "ord-1", Status: domain.OrderPending, SubNumberOrderIDs: []string{"sub-1", "sub-2"}},
		}, nil
	}
	for _, status := range []domain.OwnedNumberStatus{domain.OwnedRequirementInfoPending, domain.OwnedPurchasePending} {
		p := &fakeProvider{list: held(status), find: orders, cancelSub: func(string) error { return nil },
			release: func(string) error { return rejected(422) }}
		a := &activities.Activities{Provider: p}
		if err := a.ReleaseAtProvider(t.Context(), activities.ReleaseInput{PhoneNumber: e164, CustomerReference: "key-8"}); err != nil {
			t.Fatalf("%s: ReleaseAtProvider = %v, want released by cancelling the order", status, err)
		}
		if len(p.cancelled) != 2 || p.cancelled[0] != "sub-1" || p.cancelled[1] != "sub-2" || p.called("release_number") != 0 {
			t.Fatalf("%s: cancelled %v, %d deletes; want both pending sub-orders cancelled, no delete", status, p.cancelled, p.called("release_number"))
		}
	}

	// A cancel that fails is retried.
	p := &fakeProvider{list: held(domain.OwnedRequirementInfoPending), find: orders,
		cancelSub: func(string) error {
			return &domain.ProviderError{Op: "cancel_sub_order", Class: domain.ProviderServerError, HTTPStatus: 503}
		}}
	a := &activities.Activities{Provider: p}
	err := a.ReleaseAtProvider(t.Context(), activities.ReleaseInput{PhoneNumber: e164, CustomerReference: "key-8"})
	var ae *temporal.ApplicationError
	if err == nil || (errors.As(err, &ae) && ae.NonRetryable()) || p.called("release_number") != 0 {
		t.Fatalf("ReleaseAtProvider = %v after %d deletes, want a retryable error and no delete", err, p.called("release_number"))
	}

	// An active number is deleted as ever, whatever its orders.
	p = &fakeProvider{list: held(domain.OwnedActive), find: orders, release: func(string) error { return nil }}
	a = &activities.Activities{Provider: p}
	if err := a.ReleaseAtProvider(t.Context(), activities.ReleaseInput{PhoneNumber: e164, CustomerReference: "key-8"}); err != nil ||
		p.called("release_number") != 1 || p.called("find_orders") != 0 {
		t.Fatalf("active: %v, %d deletes, %d order look-ups", err, p.called("release_number"), p.called("find_orders"))
	}
}

// TestUndoReleaseLeavesWhatIsNotThePurchases: the undo of a purchase
// (which knows its customer reference, not the number's id) deletes
// nothing held under another reference or in a port, and does not call a
// delivered number released before Telnyx lists it.
func TestUndoReleaseLeavesWhatIsNotThePurchases(t *testing.T) {
	t.Parallel()
	const e164 = "+14155550239"
	in := activities.ReleaseInput{PhoneNumber: e164, CustomerReference: "key-9"}
	for name, owned := range map[string]domain.OwnedNumber{
		"another purchase's": {ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedActive, CustomerReference: "someone-else"},
		"porting in":         {ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedPortPending},
		"porting out":        {ID: "tx-1", PhoneNumber: e164, Status: domain.OwnedPortOutPending},
	} {
		p := &fakeProvider{list: func(domain.OwnedNumberFilter) ([]domain.OwnedNumber, error) { return []domain.OwnedNumber{owned}, nil },
			release: func(string) error { return nil }}
		a := &activities.Activities{Provider: p}
		if err := a.ReleaseAtProvider(t.Context(), in); err != nil || p.called("release_number") != 0 {
			t.Fatalf("%s: %v after %d deletes; want nothing deleted", name, err, p.called("release_number"))
		}
	}

	// The order delivered, the listing lags: not released yet (retried).
	delivered := domain.Order{ID: "ord-1", Status: domain.OrderSuccess, Numbers: []domain.OrderedNumber{{PhoneNumber: e164, Status: domain.OrderSuccess}}}
	p := &fakeProvider{list: holdsNothing,
		find: func(string) ([]domain.Order, error) { return []domain.Order{delivered}, nil }}
	a := &activities.Activities{Provider: p}
	err := a.ReleaseAtProvider(t.Context(), in)
	var ae *temporal.ApplicationError
	if err == nil || (errors.As(err, &ae) && ae.NonRetryable()) {
		t.Fatalf("delivered, not listed: %v; want a retryable error", err)
	}
	// No order delivered and nothing listed: released.
	p = &fakeProvider{list: holdsNothing,
		find: findsNothing}
	if err := (&activities.Activities{Provider: p}).ReleaseAtProvider(t.Context(), in); err != nil {
		t.Fatalf("nothing held, nothing delivered: %v", err)
	}
}

func TestAttachRequirementGroup(t *testing.T) {
	t.Parallel()
	var got [2]string
	p := &fakeProvider{attach: func(sub, group string) error {
		got = [2]string{sub, group}
		return nil
	}}
	a := &activities.Activities{Provider: p}
	if err := a.AttachRequirementGroup(t.Context(), activities.AttachGroupInput{SubNumberOrderID: "sub-1", RequirementGroupID: "rg-1"}); err != nil || got != [2]string{"sub-1", "rg-1"} {
		t.Fatalf("AttachRequirementGroup = %v, sent %v", err, got)
	}
	p.attach = func(string, string) error { return rejected(422) }
	if err := a.AttachRequirementGroup(t.Context(), activities.AttachGroupInput{SubNumberOrderID: "sub-1", RequirementGroupID: "rg-bad"}); errType(err) != domain.CodeProviderRejected {
		t.Fatalf("a refused group: %v, want %s", err, domain.CodeProviderRejected)
	}
}

// TestPlaceOrderRunAgainFindsItsOrder: a local activity runs again from
// its start, at attempt 1, when the worker died after its order was
// placed: the record shows the attempt, so the run looks for the order
// and finds it rather than ordering again.
func TestPlaceOrderRunAgainFindsItsOrder(t *testing.T) {
	t.Parallel()
	f := newDriftFixture(t)
	n := f.record("+14155550238", domain.NumberPending)
	var mu sync.Mutex
	var placed []domain.Order
	p := &fakeProvider{
		create: func(req domain.OrderRequest) (domain.Order, error) {
			mu.Lock()
			defer mu.Unlock()
			o := domain.Order{ID: fmt.Sprintf("ord-%d", len(placed)+1), Status: domain.OrderPending, CustomerReference: req.CustomerReference}
			placed = append(placed, o)
			return o, nil
		},
		find: func(string) ([]domain.Order, error) {
			mu.Lock()
			defer mu.Unlock()
			return placed, nil
		},
	}
	f.acts.Provider = p
	in := activities.OrderInput{NumberID: n.ID, PhoneNumber: n.PhoneNumber, CustomerReference: "key-7"}
	first, err := f.acts.PlaceOrder(t.Context(), in)
	if err != nil || p.called("find_orders") != 0 {
		t.Fatalf("first PlaceOrder = %+v, %v after %d look-ups; want an order placed without looking", first, err, p.called("find_orders"))
	}
	again, err := f.acts.PlaceOrder(t.Context(), in)
	if err != nil || again.OrderID != first.OrderID || p.called("create_order") != 1 || p.called("find_orders") != 1 {
		t.Fatalf("PlaceOrder run again = %+v, %v after %d orders, %d look-ups; want the first order found", again, err, p.called("create_order"), p.called("find_orders"))
	}
}
