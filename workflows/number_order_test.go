package workflows

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The order wait with mocked activities: the webhook that ends the
// ordinary wait, and the regulated order that waits on documents (slow
// checks, requirements shown, the deadline that cancels it).

type orderMocks struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	// await is AwaitOrder's answer, check CheckOrder's at the time of
	// the call.
	await      func() (activities.AwaitResult, error)
	awaitDelay time.Duration
	check      func(now time.Time) (activities.AwaitResult, error)

	mu          sync.Mutex
	placed      activities.OrderInput
	awaitIn     []activities.AwaitInput
	checks      []time.Time
	recorded    []*domain.PendingRequirements
	cancelled   []string
	ended       []activities.EndInput
	slotFreed   int
	released    int
	activatedAt time.Time
	statuses    []string
	answer      error
	result      PurchaseResult
}

func newOrderMocks(t *testing.T, trial bool, limits RunLimits) *orderMocks {
	env := newEnv(t)
	registerWithLimits(env, &activities.Activities{}, limits)
	m := &orderMocks{t: t, env: env}
	reserve := activities.ReserveResult{}
	if trial {
		reserve = activities.ReserveResult{IsTrial: true, TrialDuration: 120 * time.Hour}
	}
	env.OnActivity(acts.ReserveSlot, mock.Anything, mock.Anything).Return(reserve, nil)
	env.OnActivity(acts.CreatePendingNumber, mock.Anything, mock.Anything).Return(func(_ context.Context, n domain.PhoneNumber) (domain.PhoneNumber, error) {
		n.Status = domain.NumberPending
		return n, nil
	})
	env.OnActivity(acts.PlaceOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.OrderInput) (activities.OrderResult, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.placed = in
		return activities.OrderResult{OrderID: "ord-1", Status: domain.OrderPending}, nil
	})
	env.OnActivity(acts.AwaitOrder, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return m.awaitDelay }).Return(func(_ context.Context, in activities.AwaitInput) (activities.AwaitResult, error) {
		m.mu.Lock()
		m.awaitIn = append(m.awaitIn, in)
		m.mu.Unlock()
		return m.await()
	})
	env.OnActivity(acts.CheckOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AwaitInput) (activities.AwaitResult, error) {
		m.mu.Lock()
		m.checks = append(m.checks, env.Now())
		m.mu.Unlock()
		return m.check(env.Now())
	})
	env.OnActivity(acts.RecordRequirements, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RequirementsInput) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.recorded = append(m.recorded, in.Requirements)
		return nil
	})
	env.OnActivity(acts.CancelSubOrder, mock.Anything, mock.Anything).Return(func(_ context.Context, id string) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.cancelled = append(m.cancelled, id)
		return nil
	})
	env.OnActivity(acts.ActivateNumber, mock.Anything, mock.Anything).Return(func(_ context.Context, a domain.ActivateNumber) (domain.PhoneNumber, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.activatedAt = env.Now()
		return domain.PhoneNumber{ID: a.ID, ProviderNumberID: a.ProviderNumberID, Status: domain.NumberActive, IsTrial: a.IsTrial, TrialExpiresAt: a.TrialExpiresAt}, nil
	})
	env.OnActivity(acts.Eligibility, mock.Anything, mock.Anything).Return(domain.Eligibility{}, nil)
	env.OnActivity(acts.ReleaseAtProvider, mock.Anything, mock.Anything).Return(func(context.Context, activities.ReleaseInput) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.released++
		return nil
	})
	env.OnActivity(acts.EndNumber, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndInput) (domain.PhoneNumber, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.ended = append(m.ended, in)
		return domain.PhoneNumber{ID: in.NumberID, Status: in.Status, FailureReason: in.FailureReason}, nil
	})
	env.OnActivity(acts.CancelSlot, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.slotFreed++
		return nil
	})
	env.OnActivity(acts.ReleaseSlot, mock.Anything, mock.Anything).Return(nil)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if status, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(AttrNumberStatus); ok {
			m.mu.Lock()
			m.statuses = append(m.statuses, status)
			m.mu.Unlock()
		}
	}).Return(nil)
	return m
}

func (m *orderMocks) purchase(req PurchaseRequest) {
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdatePurchase, "p1", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { m.answer = err },
			OnComplete: func(v any, err error) {
				m.answer = err
				if r, ok := v.(PurchaseResult); ok {
					m.result = r
				}
			},
		}, req)
	}, 0)
}

// signalAt sends an order event at a point of the run's time; ownKey
// decides whether it carries this purchase's key or another's.
func (m *orderMocks) signalAt(after time.Duration, ownKey bool) {
	m.env.RegisterDelayedCallback(func() {
		ref := "phone-number:+1/another-run"
		if ownKey {
			ref = stateOf(m.t, m.env).CustomerReference
		}
		m.env.SignalWorkflow(SignalOrderEvent, OrderEvent{CustomerReference: ref, OrderID: "ord-1", Status: domain.OrderSuccess})
	}, after)
}

func waitingOnDocuments(status domain.RequirementsStatus, deadline time.Time, missing ...string) activities.AwaitResult {
	r := &domain.PendingRequirements{Status: status, Missing: []domain.RegulatoryRequirement{}, Deadline: &deadline}
	for _, id := range missing {
		r.Missing = append(r.Missing, domain.RegulatoryRequirement{RequirementID: id, FieldType: "address"})
	}
	return activities.AwaitResult{Requirements: r, SubNumberOrderID: "sub-1"}
}

func TestOrderEventEndsTheOrderWaitAtOnce(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	// The poll would see the order settle only after an hour.
	m.awaitDelay = time.Hour
	m.await = func() (activities.AwaitResult, error) {
		return activities.AwaitResult{ProviderNumberID: "tx-late"}, nil
	}
	m.check = func(time.Time) (activities.AwaitResult, error) {
		return activities.AwaitResult{ProviderNumberID: "tx-1"}, nil
	}
	req := PurchaseRequest{PhoneNumber: "+14155550171", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	m.signalAt(time.Minute, false) // another purchase's: ignored
	m.signalAt(5*time.Minute, true)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 2*time.Hour)
	start := m.env.Now()
	run(m.env, req)

	if m.answer != nil || m.result.Number.ProviderNumberID != "tx-1" {
		t.Fatalf("purchase answered %+v, %v; want the number the check found", m.result.Number, m.answer)
	}
	if len(m.checks) != 1 || m.checks[0].Sub(start) != 5*time.Minute {
		t.Fatalf("checks at %v, want one at the webhook (5m in), none for another purchase's event", m.checks)
	}
	if d := m.activatedAt.Sub(start); d != 5*time.Minute {
		t.Fatalf("activated %v in, want at the webhook", d)
	}
}

func TestOrderEventForAPendingOrderPollsOn(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	polls := 0
	m.awaitDelay = 20 * time.Minute
	m.await = func() (activities.AwaitResult, error) {
		polls++
		return activities.AwaitResult{ProviderNumberID: "tx-polled"}, nil
	}
	m.check = func(time.Time) (activities.AwaitResult, error) { return activities.AwaitResult{Pending: true}, nil }
	req := PurchaseRequest{PhoneNumber: "+14155550172", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	m.signalAt(5*time.Minute, true)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 2*time.Hour)
	start := m.env.Now()
	run(m.env, req)
	if m.answer != nil || m.result.Number.ProviderNumberID != "tx-polled" {
		t.Fatalf("purchase answered %+v, %v", m.result.Number, m.answer)
	}
	// The webhook's check found the order pending: a new poll started
	// then, and settled 20 minutes later.
	if d := m.activatedAt.Sub(start); d != 25*time.Minute || len(m.checks) != 1 {
		t.Fatalf("activated %v in after %d checks, want 25m and one check", d, len(m.checks))
	}
}

func TestRegulatedOrderWaitsOnDocumentsVisiblyThenActivates(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	start := m.env.Now()
	deadline := start.Add(10 * 24 * time.Hour)
	m.await = func() (activities.AwaitResult, error) {
		return waitingOnDocuments(domain.RequirementsInfoPending, deadline, "req-address"), nil
	}
	m.check = func(now time.Time) (activities.AwaitResult, error) {
		switch {
		case now.Before(start.Add(3 * time.Hour)):
			return waitingOnDocuments(domain.RequirementsInfoPending, deadline, "req-address"), nil
		case now.Before(start.Add(3*time.Hour + 30*time.Minute)):
			return waitingOnDocuments(domain.RequirementsUnderReview, deadline), nil
		}
		return activities.AwaitResult{ProviderNumberID: "tx-de"}, nil
	}
	req := PurchaseRequest{PhoneNumber: "+4930555000171", TeamID: "team_a", UserID: "user_a", RequirementGroupID: "rg-1"}
	m.purchase(req)
	during := stateAt(t, m.env, time.Hour)
	review := stateAt(t, m.env, 3*time.Hour+20*time.Minute)
	m.signalAt(3*time.Hour+30*time.Minute, true) // Telnyx: the order completed
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 5*time.Hour)
	run(m.env, req)

	if m.placed.RequirementGroupID != "rg-1" {
		t.Fatalf("ordered with %+v, want the requirement group passed on", m.placed)
	}
	if len(m.awaitIn) != 1 || !m.awaitIn[0].ReturnOnDocuments {
		t.Fatalf("AwaitOrder ran with %+v, want once, returning on documents", m.awaitIn)
	}
	if during.Number.Status != domain.NumberPending || during.Number.Requirements == nil ||
		during.Number.Requirements.Status != domain.RequirementsInfoPending || len(during.Number.Requirements.Missing) != 1 ||
		!during.Number.Requirements.Deadline.Equal(deadline) {
		t.Fatalf("state while waiting: %+v (requirements %+v)", during.Number, during.Number.Requirements)
	}
	if review.Number.Requirements == nil || review.Number.Requirements.Status != domain.RequirementsUnderReview {
		t.Fatalf("state under review: %+v", review.Number.Requirements)
	}
	if len(m.recorded) != 2 || m.recorded[0].Status != domain.RequirementsInfoPending || m.recorded[1].Status != domain.RequirementsUnderReview {
		t.Fatalf("recorded %v, want the first requirements and the change to under review, once each", m.recorded)
	}
	if m.answer != nil || m.result.Number.Status != domain.NumberActive || m.result.Number.Requirements != nil {
		t.Fatalf("purchase answered %+v, %v", m.result.Number, m.answer)
	}
	if d := m.activatedAt.Sub(start); d != 3*time.Hour+30*time.Minute {
		t.Fatalf("activated %v in, want at the webhook", d)
	}
	// Slow checks: 30 s doubling, never more than an hour apart.
	prev, want := start, documentsPollFirst
	for i, at := range m.checks[:len(m.checks)-1] { // the last is the webhook's
		if got := at.Sub(prev); got != want {
			t.Fatalf("check %d came %v after the one before, want %v (checks %v)", i+1, got, want, m.checks)
		}
		prev, want = at, min(want*2, documentsPollMax)
	}
	if i, j := slices.Index(m.statuses, NumberStatusRequirementsPending), slices.Index(m.statuses, string(domain.NumberActive)); i < 0 || j < i {
		t.Fatalf("NumberStatus went %v, want %s while waiting, then active", m.statuses, NumberStatusRequirementsPending)
	}
	if len(m.cancelled) != 0 {
		t.Fatalf("cancelled %v", m.cancelled)
	}
}

func TestRegulatedDeadlinePassedUndoesThePurchase(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, true, RunLimits{})
	start := m.env.Now()
	deadline := start.Add(2 * 24 * time.Hour)
	stuck := func() (activities.AwaitResult, error) {
		return waitingOnDocuments(domain.RequirementsInfoPending, deadline, "req-address"), nil
	}
	m.await = stuck
	m.check = func(time.Time) (activities.AwaitResult, error) { return stuck() }
	req := PurchaseRequest{PhoneNumber: "+4930555000172", TeamID: "team_free", UserID: "user_a"}
	m.purchase(req)
	run(m.env, req)

	if !m.env.IsWorkflowCompleted() || m.env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", m.env.IsWorkflowCompleted(), m.env.GetWorkflowError())
	}
	if appErrorType(m.answer) != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("purchase answered %v, want %s", m.answer, domain.CodeRequirementsDeadlinePassed)
	}
	var de *domain.Error
	if !errors.As(ToDomainError(m.answer), &de) || de.Kind != domain.KindConflict || de.Code != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("the API sees %v, want a conflict with code %s", ToDomainError(m.answer), domain.CodeRequirementsDeadlinePassed)
	}
	if len(m.cancelled) != 1 || m.cancelled[0] != "sub-1" {
		t.Fatalf("cancelled %v, want the sub-order once", m.cancelled)
	}
	last := m.checks[len(m.checks)-1]
	if !last.Equal(deadline) {
		t.Fatalf("last check at %v, want at the deadline %v", last, deadline)
	}
	// The saga: the provider release (a no-op for a cancelled order), the
	// record failed with its reason, the slot cancelled (a free team gets
	// its trial back).
	if m.released != 1 || m.slotFreed != 1 || len(m.ended) != 1 || m.ended[0].Status != domain.NumberFailed ||
		m.ended[0].FailureReason != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("undo: released %d, slot freed %d, ended %+v", m.released, m.slotFreed, m.ended)
	}
	st := stateOf(t, m.env)
	if st.Number.Status != domain.NumberFailed || st.Error != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("final state %+v", st)
	}
	if m.statuses[len(m.statuses)-1] != string(domain.NumberFailed) {
		t.Fatalf("NumberStatus went %v, want failed at the end", m.statuses)
	}
}

// TestThirtyDayDeadlineKeepsTheHistoryBounded: the checks of a 30-day
// wait, at about 11 history events each, stay well under 10,000 events.
func TestThirtyDayDeadlineKeepsTheHistoryBounded(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	start := m.env.Now()
	deadline := start.Add(30 * 24 * time.Hour)
	stuck := func() (activities.AwaitResult, error) {
		return waitingOnDocuments(domain.RequirementsInfoPending, deadline, "req-address"), nil
	}
	m.await = stuck
	m.check = func(time.Time) (activities.AwaitResult, error) { return stuck() }
	req := PurchaseRequest{PhoneNumber: "+4930555000173", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	run(m.env, req)
	if appErrorType(m.answer) != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("purchase answered %v", m.answer)
	}
	const eventsPerCheck = 11
	t.Logf("%d checks in 30 days, about %d events", len(m.checks), len(m.checks)*eventsPerCheck)
	if n := len(m.checks); n*eventsPerCheck > 4000 || n < 100 {
		t.Fatalf("%d checks in 30 days (~%d events), want a bounded slow poll", n, n*eventsPerCheck)
	}
	for i := 1; i < len(m.checks); i++ {
		if gap := m.checks[i].Sub(m.checks[i-1]); gap > documentsPollSlow {
			t.Fatalf("checks %v apart", gap)
		}
	}
}

func TestOrderFailedAtTelnyxWhileWaitingOnDocuments(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	start := m.env.Now()
	deadline := start.Add(10 * 24 * time.Hour)
	m.await = func() (activities.AwaitResult, error) {
		return waitingOnDocuments(domain.RequirementsInfoRejected, deadline, "req-address"), nil
	}
	m.check = func(now time.Time) (activities.AwaitResult, error) {
		if now.Before(start.Add(2 * time.Hour)) {
			return m.await()
		}
		return activities.AwaitResult{}, temporal.NewNonRetryableApplicationError("order failed", domain.CodeNumberUnavailable, nil)
	}
	req := PurchaseRequest{PhoneNumber: "+4930555000174", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	run(m.env, req)
	if appErrorType(m.answer) != domain.CodeNumberUnavailable {
		t.Fatalf("purchase answered %v, want number_unavailable", m.answer)
	}
	if len(m.cancelled) != 0 || len(m.ended) != 1 || m.ended[0].FailureReason != domain.CodeNumberUnavailable || m.slotFreed != 1 {
		t.Fatalf("cancelled %v, ended %+v, slot freed %d", m.cancelled, m.ended, m.slotFreed)
	}
}

// TestOrderEventsWhileHoldingAreDroppedAndDoNotBlockContinueAsNew: late
// webhooks for a held number (duplicates, another purchase's) are taken
// and dropped, also when they sit in the channel as the run continues as
// new, and they never count as work that makes a run continue.
func TestOrderEventsWhileHoldingAreDroppedAndDoNotBlockContinueAsNew(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{Events: 100})
	m.await = func() (activities.AwaitResult, error) { return activities.AwaitResult{ProviderNumberID: "tx-1"}, nil }
	m.check = func(time.Time) (activities.AwaitResult, error) {
		t.Error("an order event while holding ran a check")
		return activities.AwaitResult{}, nil
	}
	env := m.env
	req := PurchaseRequest{PhoneNumber: "+14155550175", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	for i := range 20 {
		m.signalAt(time.Hour+time.Duration(i)*time.Minute, i%2 == 0)
	}
	holding := stateAt(t, env, 90*time.Minute)
	// An order event waiting in its channel as the run decides to
	// continue: drained, not carried, and no obstacle.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflowSkippingWorkflowTask(SignalOrderEvent, OrderEvent{CustomerReference: "x"})
		env.SetCurrentHistoryLength(150)
	}, 2*time.Hour)
	start := env.Now()
	run(env, req)
	if holding.Number.Status != domain.NumberActive {
		t.Fatalf("state while holding: %+v", holding.Number)
	}
	next := continuedFrom(t, env)
	if next.Continued.Phase != PhaseHolding || next.Continued.State.Number.Status != domain.NumberActive {
		t.Fatalf("carried %+v", next.Continued)
	}
	if d := env.Now().Sub(start); d != 2*time.Hour {
		t.Fatalf("continued as new %v in, want as soon as the run grew (2h)", d)
	}
}

