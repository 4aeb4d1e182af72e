package workflows

import (
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The order wait with mocked activities: the webhook that ends the
// ordinary wait, and the regulated order that waits on documents (slow
// checks, requirements shown, the deadline that cancels it).

// newOrderMocks are the mocks with an order that does not settle within
// the purchase's workflow task: these tests follow the durable wait.
func newOrderMocks(t *testing.T, trial bool, limits RunLimits) *numberMocks {
	m := newMocks(t, limits)
	m.trial, m.pendingInTask = trial, true
	return m
}

// signalAt sends an order event at a point of the run's time; ownKey
// decides whether it carries this purchase's key or another's.
func (m *numberMocks) signalAt(after time.Duration, ownKey bool) {
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
	req := m.buying("+14155550171")
	m.signalAt(time.Minute, false) // another purchase's: ignored
	m.signalAt(5*time.Minute, true)
	start := m.runFor(2*time.Hour, req)

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
	req := m.buying("+14155550172")
	m.signalAt(5*time.Minute, true)
	start := m.runFor(2*time.Hour, req)
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
	const wait = 10 * 24 * time.Hour
	var m *numberMocks
	m, start := regulatedMocks(t, wait, func(now, start time.Time) (activities.AwaitResult, error) {
		switch {
		case now.Before(start.Add(3 * time.Hour)):
			return m.await()
		case now.Before(start.Add(3*time.Hour + 30*time.Minute)):
			return waitingOnDocuments(domain.RequirementsUnderReview, start.Add(wait)), nil
		}
		return activities.AwaitResult{ProviderNumberID: "tx-de"}, nil
	})
	deadline := start.Add(wait)
	req := PurchaseRequest{PhoneNumber: "+4930555000171", TeamID: "team_a", UserID: "user_a", RequirementGroupID: "rg-1"}
	m.purchase(req)
	during := stateAt(t, m.env, time.Hour)
	review := stateAt(t, m.env, 3*time.Hour+20*time.Minute)
	m.signalAt(3*time.Hour+30*time.Minute, true) // Telnyx: the order completed
	m.runFor(5*time.Hour, req)

	if len(m.placed) != 1 || m.placed[0].RequirementGroupID != "rg-1" {
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
	m, start := regulatedMocks(t, 2*24*time.Hour, nil)
	m.trial = true
	deadline := start.Add(2 * 24 * time.Hour)
	req := PurchaseRequest{PhoneNumber: "+4930555000172", TeamID: "team_free", UserID: "user_a"}
	m.purchase(req)
	run(m.env, req)

	m.completed(t)
	if appErrorType(m.answer) != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("purchase answered %v, want %s", m.answer, domain.CodeRequirementsDeadlinePassed)
	}
	var de *domain.Error
	if !errors.As(temporalerr.Decode(m.answer), &de) || de.Kind != domain.KindConflict || de.Code != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("the API sees %v, want a conflict with code %s", temporalerr.Decode(m.answer), domain.CodeRequirementsDeadlinePassed)
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
	if len(m.releaseIn) != 1 || m.slotsFreed != 1 || len(m.ended) != 1 || m.ended[0].Status != domain.NumberFailed ||
		m.ended[0].FailureReason != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("undo: released %d, slot freed %d, ended %+v", len(m.releaseIn), m.slotsFreed, m.ended)
	}
	st := stateOf(t, m.env)
	if st.Number.Status != domain.NumberFailed || st.Error != domain.CodeRequirementsDeadlinePassed {
		t.Fatalf("final state %+v", st)
	}
	if m.releaseIn[0].CustomerReference != st.CustomerReference || st.CustomerReference == "" {
		t.Fatalf("the undo released with %+v, want the purchase's key %q (to cancel an order Telnyx still holds)", m.releaseIn[0], st.CustomerReference)
	}
	if m.statuses[len(m.statuses)-1] != string(domain.NumberFailed) {
		t.Fatalf("NumberStatus went %v, want failed at the end", m.statuses)
	}
}

// TestThirtyDayDeadlineKeepsTheHistoryBounded: the checks of a 30-day
// wait, at about 11 history events each, stay well under 10,000 events.
func TestThirtyDayDeadlineKeepsTheHistoryBounded(t *testing.T) {
	t.Parallel()
	m, _ := regulatedMocks(t, 30*24*time.Hour, nil)
	req := m.buying("+4930555000173")
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
	m, _ := regulatedMocks(t, 10*24*time.Hour, func(now, start time.Time) (activities.AwaitResult, error) {
		if now.Before(start.Add(2 * time.Hour)) {
			return waitingOnDocuments(domain.RequirementsInfoRejected, start.Add(10*24*time.Hour), "req-address"), nil
		}
		return activities.AwaitResult{}, temporal.NewNonRetryableApplicationError("order failed", domain.CodeNumberUnavailable, nil)
	})
	req := m.buying("+4930555000174")
	run(m.env, req)
	if appErrorType(m.answer) != domain.CodeNumberUnavailable {
		t.Fatalf("purchase answered %v, want number_unavailable", m.answer)
	}
	if len(m.cancelled) != 0 || len(m.ended) != 1 || m.ended[0].FailureReason != domain.CodeNumberUnavailable || m.slotsFreed != 1 {
		t.Fatalf("cancelled %v, ended %+v, slot freed %d", m.cancelled, m.ended, m.slotsFreed)
	}
}

// TestOrderEventsWhileHoldingAreDroppedAndDoNotBlockContinueAsNew: late
// webhooks for a held number (duplicates, another purchase's) are taken
// and dropped, also when they sit in the channel as the run continues as
// new, and they never count as work that makes a run continue.
func TestOrderEventsWhileHoldingAreDroppedAndDoNotBlockContinueAsNew(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, shortRuns)
	m.await = func() (activities.AwaitResult, error) { return activities.AwaitResult{ProviderNumberID: "tx-1"}, nil }
	m.check = func(time.Time) (activities.AwaitResult, error) {
		t.Error("an order event while holding ran a check")
		return activities.AwaitResult{}, nil
	}
	env := m.env
	req := m.buying("+14155550175")
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

// regulatedMocks: an order that waits on documents from its first answer
// until check says otherwise.
func regulatedMocks(t *testing.T, deadline time.Duration, check func(now, start time.Time) (activities.AwaitResult, error)) (*numberMocks, time.Time) {
	m := newOrderMocks(t, false, RunLimits{})
	start := m.env.Now()
	d := start.Add(deadline)
	m.await = func() (activities.AwaitResult, error) {
		return waitingOnDocuments(domain.RequirementsInfoPending, d, "req-address"), nil
	}
	m.check = func(now time.Time) (activities.AwaitResult, error) {
		if check != nil {
			return check(now, start)
		}
		return m.await()
	}
	return m, start
}

func (m *numberMocks) attachAt(after time.Duration, teamID, group string) {
	m.env.RegisterDelayedCallback(func() {
		m.env.SignalWorkflow(SignalAttachRequirementGroup, AttachRequirementGroup{TeamID: teamID, RequirementGroupID: group})
	}, after)
}

// TestJoinWhileWaitingOnDocumentsIsRefused: a new request of the team
// while its purchase waits on documents is refused with
// awaiting_documents (no accepted update), so joins are never held open
// for days; the purchase goes on.
func TestJoinWhileWaitingOnDocumentsIsRefused(t *testing.T) {
	t.Parallel()
	m, _ := regulatedMocks(t, 24*time.Hour, nil)
	req := m.buying("+4930555000176")
	join := purchaseAt(m.env, time.Hour, "join-1", req)
	other := purchaseAt(m.env, time.Hour+time.Second, "join-2", PurchaseRequest{PhoneNumber: req.PhoneNumber, TeamID: "team_b", UserID: "user_b"})
	run(m.env, req)
	if appErrorType(join.rejected) != domain.CodeAwaitingDocuments || join.err != nil {
		t.Fatalf("join: rejected %v, answered %v; want refused with %s", join.rejected, join.err, domain.CodeAwaitingDocuments)
	}
	if appErrorType(other.rejected) != domain.CodeNumberInPurchase {
		t.Fatalf("another team's join: %v, want %s", other.rejected, domain.CodeNumberInPurchase)
	}
	if appErrorType(m.answer) != domain.CodeRequirementsDeadlinePassed || len(m.attached) != 0 {
		t.Fatalf("purchase answered %v, attached %v; want the deadline to end it, nothing attached", m.answer, m.attached)
	}
}

// TestRequirementGroupWhileWaitingIsAttachedAndChecked: a requirement
// group from the team reaches the waiting sub-order at once, and the
// order is looked at right after; one from another team, or one the
// order already has, is not attached.
func TestRequirementGroupWhileWaitingIsAttachedAndChecked(t *testing.T) {
	t.Parallel()
	var attachedAt time.Time
	var m *numberMocks
	m, start := regulatedMocks(t, 10*24*time.Hour, func(now, start time.Time) (activities.AwaitResult, error) {
		m.mu.Lock()
		n := len(m.attached)
		m.mu.Unlock()
		if n > 0 {
			attachedAt = now
			return activities.AwaitResult{ProviderNumberID: "tx-de"}, nil
		}
		return m.await()
	})
	req := PurchaseRequest{PhoneNumber: "+4930555000177", TeamID: "team_a", UserID: "user_a", RequirementGroupID: "rg-first"}
	m.purchase(req)
	m.attachAt(90*time.Minute, "team_b", "rg-other")  // another team's: ignored
	m.attachAt(100*time.Minute, "team_a", "rg-first") // the order has it already
	during := stateAt(t, m.env, 100*time.Minute+time.Second)
	m.attachAt(2*time.Hour+17*time.Second, "team_a", "rg-2") // between two slow checks
	m.runFor(5*time.Hour, req)

	if len(m.attached) != 1 || m.attached[0] != (activities.AttachGroupInput{SubNumberOrderID: "sub-1", RequirementGroupID: "rg-2"}) {
		t.Fatalf("attached %+v, want rg-2 to sub-1 once", m.attached)
	}
	want := start.Add(2*time.Hour + 17*time.Second)
	if !m.attachedAt[0].Equal(want) || !attachedAt.Equal(want) {
		t.Fatalf("attached at %v and checked at %v, want both at the signal (%v)", m.attachedAt[0], attachedAt, want)
	}
	if m.answer != nil || m.result.Number.Status != domain.NumberActive {
		t.Fatalf("purchase answered %+v, %v", m.result.Number, m.answer)
	}
	if during.RequirementGroupID != "rg-first" || len(during.RequirementGroups) != 0 {
		t.Fatalf("state after ignored groups shows %q %v, want only the order's own", during.RequirementGroupID, during.RequirementGroups)
	}
	if st := stateOf(t, m.env); st.RequirementGroupID != "rg-2" {
		t.Fatalf("state shows group %q, want rg-2", st.RequirementGroupID)
	}
}

// TestRequirementGroupBeforeTheWaitOnDocumentsIsDropped: a group that
// arrives while the order is still awaited (nothing asks for documents
// yet) is not taken: only the wait on documents takes groups.
func TestRequirementGroupBeforeTheWaitOnDocumentsIsDropped(t *testing.T) {
	t.Parallel()
	m, _ := regulatedMocks(t, 10*24*time.Hour, nil)
	m.awaitDelay = time.Hour
	req := m.buying("+4930555000184")
	m.attachAt(30*time.Minute, "team_a", "rg-early")
	waiting := stateAt(t, m.env, 2*time.Hour)
	m.runFor(3*time.Hour, req)
	if waiting.Number.Requirements == nil || len(waiting.RequirementGroups) != 0 || len(m.attached) != 0 {
		t.Fatalf("waiting on documents with groups %v (requirements %+v), attached %v: want the early group dropped", waiting.RequirementGroups, waiting.Number.Requirements, m.attached)
	}
}

// TestAcceptedDocumentsLiftTheDeadline: once Telnyx accepts the documents
// (pending, no requirements), the requirements' deadline no longer
// cancels the order: the requirements are cleared from state and record,
// and the number activates after the old deadline.
func TestAcceptedDocumentsLiftTheDeadline(t *testing.T) {
	t.Parallel()
	m, start := regulatedMocks(t, 2*24*time.Hour, func(now, start time.Time) (activities.AwaitResult, error) {
		switch {
		case now.Before(start.Add(24 * time.Hour)):
			return waitingOnDocuments(domain.RequirementsInfoPending, start.Add(2*24*time.Hour), "req-address"), nil
		case now.Before(start.Add(3 * 24 * time.Hour)):
			return activities.AwaitResult{Pending: true}, nil // approved, provisioning
		}
		return activities.AwaitResult{ProviderNumberID: "tx-de"}, nil
	})
	req := m.buying("+4930555000178")
	approved := stateAt(t, m.env, 36*time.Hour)
	m.runFor(4*24*time.Hour, req)
	if m.answer != nil || m.result.Number.Status != domain.NumberActive {
		t.Fatalf("purchase answered %+v, %v; want active after the old deadline", m.result.Number, m.answer)
	}
	if d := m.activatedAt.Sub(start); d < 3*24*time.Hour {
		t.Fatalf("activated %v in", d)
	}
	if len(m.cancelled) != 0 {
		t.Fatalf("cancelled %v", m.cancelled)
	}
	if approved.Number.Requirements != nil || approved.Number.Status != domain.NumberPending {
		t.Fatalf("state once approved: %+v (requirements %+v), want pending without requirements", approved.Number, approved.Number.Requirements)
	}
	if n := len(m.recorded); n != 2 || m.recorded[1] != nil {
		t.Fatalf("recorded %v, want the requirements, then cleared", m.recorded)
	}
	if slices.Contains(m.statuses[slices.Index(m.statuses, NumberStatusRequirementsPending)+1:], NumberStatusRequirementsPending) {
		t.Fatalf("NumberStatus went %v", m.statuses)
	}
}

// TestWaitOnDocumentsEndsAtTheMaxWait: the wait on documents ends at
// documentsMaxWait from its start, cancelling the order, when Telnyx's
// deadline is later, and when the documents were accepted but the order
// never completes; an approved order's poll backs off meanwhile, so 30
// days of it stay far from a run's history limits (about 11 events a
// check).
func TestWaitOnDocumentsEndsAtTheMaxWait(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		check    func(now, start time.Time) (activities.AwaitResult, error)
	}{
		{"Telnyx's deadline beyond it", 90 * 24 * time.Hour, nil},
		{"an approved order that never completes", 2 * 24 * time.Hour, func(now, start time.Time) (activities.AwaitResult, error) {
			if now.Before(start.Add(time.Hour)) {
				return waitingOnDocuments(domain.RequirementsInfoPending, start.Add(2*24*time.Hour), "req-address"), nil
			}
			return activities.AwaitResult{Pending: true}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, start := regulatedMocks(t, tc.deadline, tc.check)
			req := teamA("+4930555000179")
			m.purchase(req)
			run(m.env, req)
			if appErrorType(m.answer) != domain.CodeRequirementsDeadlinePassed || len(m.cancelled) != 1 {
				t.Fatalf("purchase answered %v, cancelled %v", m.answer, m.cancelled)
			}
			if last := m.checks[len(m.checks)-1]; !last.Equal(start.Add(documentsMaxWait)) {
				t.Fatalf("last check %v in, want at %v", last.Sub(start), documentsMaxWait)
			}
			if len(m.checks) > 500 {
				t.Fatalf("%d checks in 30 days: the poll does not back off", len(m.checks))
			}
		})
	}
}

// TestRepeatedOrderEventCausesOneCheck: Telnyx's retried (or a replayed)
// delivery of the same event causes no further check; a new status does.
func TestRepeatedOrderEventCausesOneCheck(t *testing.T) {
	t.Parallel()
	const at = 10*time.Minute + 7*time.Second // no slow check falls there
	pending := OrderEvent{OrderID: "ord-1", Status: domain.OrderPending}
	events := map[time.Duration]OrderEvent{at + time.Minute: {OrderID: "ord-1", Status: domain.OrderSuccess}}
	for i := range 5 {
		events[at+time.Duration(i)*time.Second] = pending
	}
	got := checksAfterEvents(t, "+4930555000181", events, at, at+time.Minute)
	if len(got) != 2 || got[0] != at || got[1] != at+time.Minute {
		t.Fatalf("checks at %v for the events, want one at %v (five deliveries of one event) and one at %v", got, at, at+time.Minute)
	}
}

// TestOrderEventsAreToldApartByTheirID: Telnyx's event id, when given,
// tells a redelivery (same id) from a new event about the same order and
// status (the order stays pending while its documents move on).
func TestOrderEventsAreToldApartByTheirID(t *testing.T) {
	t.Parallel()
	const at = 10*time.Minute + 7*time.Second
	event := func(id string) OrderEvent {
		return OrderEvent{EventID: id, OrderID: "ord-1", Status: domain.OrderPending}
	}
	got := checksAfterEvents(t, "+4930555000182", map[time.Duration]OrderEvent{
		at:               event("evt-1"),
		at + time.Second: event("evt-1"), // redelivered
		at + time.Minute: event("evt-2"), // a new event, same order and status
	}, at, at+time.Minute)
	if len(got) != 2 || got[0] != at || got[1] != at+time.Minute {
		t.Fatalf("checks at %v, want one at %v and one at %v", got, at, at+time.Minute)
	}
}

// checksAfterEvents runs a purchase of e164 waiting on documents, signals
// each event (with the purchase's own customer reference) at its time,
// and returns when the order was checked between from and to, as offsets
// from the start.
func checksAfterEvents(t *testing.T, e164 string, events map[time.Duration]OrderEvent, from, to time.Duration) []time.Duration {
	t.Helper()
	m, start := regulatedMocks(t, 10*24*time.Hour, nil)
	req := PurchaseRequest{PhoneNumber: e164, TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
	for after, ev := range events {
		m.env.RegisterDelayedCallback(func() {
			ev.CustomerReference = stateOf(t, m.env).CustomerReference
			m.env.SignalWorkflow(SignalOrderEvent, ev)
		}, after)
	}
	m.runFor(30*time.Minute, req)
	var got []time.Duration
	for _, c := range m.checks {
		if d := c.Sub(start); d >= from && d <= to {
			got = append(got, d)
		}
	}
	return got
}

// TestOrderEventFloodWhileHoldingContinuesAsNew: order events for a held
// number count as work: a continued holding run (which has handled
// nothing else) that grows under a flood of them continues as new,
// rather than being kept from ever doing so.
func TestOrderEventFloodWhileHoldingContinuesAsNew(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, shortRuns)
	m.check = func(time.Time) (activities.AwaitResult, error) {
		t.Error("an order event while holding ran a check")
		return activities.AwaitResult{}, nil
	}
	req := PurchaseRequest{PhoneNumber: "+14155550176", TeamID: "team_a", UserID: "user_a",
		Continued: &ContinuedRun{Phase: PhaseHolding, Key: "phone-number:+14155550176/run-0", Runs: 1,
			State: NumberState{TeamID: "team_a", Number: NumberView{ID: "pn_1", PhoneNumber: "+14155550176", ProviderNumberID: "tx-1", Status: domain.NumberActive}}}}
	// The run's history has grown (the test environment counts no events
	// itself), and then only order events come.
	m.env.RegisterDelayedCallback(func() { m.env.SetCurrentHistoryLength(150) }, 30*time.Minute)
	for i := range 50 {
		m.env.RegisterDelayedCallback(func() {
			m.env.SignalWorkflow(SignalOrderEvent, OrderEvent{CustomerReference: req.Continued.Key, OrderID: "ord-1", Status: domain.OrderSuccess})
		}, time.Hour+time.Duration(i)*time.Second)
	}
	start := m.env.Now()
	run(m.env, req)
	next := continuedFrom(t, m.env)
	if next.Continued.Phase != PhaseHolding || next.Continued.Runs != 2 {
		t.Fatalf("carried %+v", next.Continued)
	}
	if d := m.env.Now().Sub(start); d != time.Hour {
		t.Fatalf("continued as new %v in, want at the first order event (1h)", d)
	}
}

// TestReleaseWhileWaitingOnDocumentsCancelsThePurchase: the team may
// release a purchase that waits on documents: its sub-order is cancelled,
// the purchase fails (purchase_released), the record is failed and the
// slot freed, and the release answers with the failed number.
func TestReleaseWhileWaitingOnDocumentsCancelsThePurchase(t *testing.T) {
	t.Parallel()
	m, start := regulatedMocks(t, 10*24*time.Hour, nil)
	req := m.buying("+4930555000182")
	other := &updateResult{}
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdateRelease, "release-b", other.callbacks(), ReleaseRequest{TeamID: "team_b", Reason: "api"})
	}, time.Hour)
	rel := releaseAt(m.env, 2*time.Hour+3*time.Second, ReleaseRequest{TeamID: "team_a", Reason: "api"})
	run(m.env, req)

	if appErrorType(other.rejected) != domain.CodeNotFound {
		t.Fatalf("another team's release: %v", other.rejected)
	}
	if rel.rejected != nil || rel.err != nil {
		t.Fatalf("release: rejected %v, answered %v", rel.rejected, rel.err)
	}
	if v, _ := rel.value.(NumberView); v.Status != domain.NumberFailed || v.Requirements != nil {
		t.Fatalf("release answered %+v, want the failed number", rel.value)
	}
	if appErrorType(m.answer) != domain.CodePurchaseReleased {
		t.Fatalf("purchase answered %v, want %s", m.answer, domain.CodePurchaseReleased)
	}
	if len(m.cancelled) != 1 || m.cancelled[0] != "sub-1" || m.slotsFreed != 1 || len(m.ended) != 1 ||
		m.ended[0].Status != domain.NumberFailed || m.ended[0].FailureReason != domain.CodePurchaseReleased {
		t.Fatalf("cancelled %v, slot freed %d, ended %+v", m.cancelled, m.slotsFreed, m.ended)
	}
	if last := m.checks[len(m.checks)-1]; last.After(start.Add(2 * time.Hour)) {
		t.Fatalf("checked at %v after the release", last.Sub(start))
	}
	m.completed(t)
}

// TestOrderEventDuringACheckWakesTheWaitOnce: an event that arrives while
// a check runs (which may have read the order before the change) causes
// one more check right after it.
func TestOrderEventDuringACheckWakesTheWaitOnce(t *testing.T) {
	t.Parallel()
	m, start := regulatedMocks(t, 10*24*time.Hour, nil)
	m.checkDelay = 10 * time.Second
	req := m.buying("+4930555000183")
	at := 10*time.Minute + 7*time.Second
	send := func(after time.Duration, status domain.OrderStatus) {
		m.env.RegisterDelayedCallback(func() {
			m.env.SignalWorkflow(SignalOrderEvent, OrderEvent{CustomerReference: stateOf(t, m.env).CustomerReference, OrderID: "ord-1", Status: status})
		}, after)
	}
	send(at, domain.OrderPending)
	send(at+5*time.Second, domain.OrderSuccess) // during the first event's check
	m.runFor(30*time.Minute, req)
	var near []time.Duration
	for _, c := range m.checks {
		if d := c.Sub(start); d >= at && d <= at+time.Minute {
			near = append(near, d)
		}
	}
	if len(near) != 2 || near[1] < at+5*time.Second {
		t.Fatalf("checks at %v near the events, want two: one per event, the second after the first check", near)
	}
}
