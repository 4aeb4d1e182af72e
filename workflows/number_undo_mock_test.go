package workflows

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The purchase saga's undo branches with mocked activities (numberMocks):
// what each failure gives back, in which order, and what the callers and
// the state say. The real activities' undo is in number_test.go
// (TestNumberSoldMeanwhileUndoesThePurchase); the undo of a regulated
// order (deadline passed, released or failed while waiting on documents)
// in number_order_test.go.

// undoMocks: a purchase refused by the provider once its order may have
// been placed (the number sold meanwhile), whose release at the provider
// is refused `failures` times before it goes through.
func undoMocks(t *testing.T, limits RunLimits, failures int) *numberMocks {
	m := newMocks(t, limits)
	m.refuse, m.releaseFails = true, failures
	return m
}

// sagaFailure is one way a purchase fails, and what its undo must run.
type sagaFailure struct {
	name string
	// setup makes the purchase fail; code is the error its caller gets.
	setup func(m *numberMocks)
	code  string
	// calls are every activity the run makes, the purchase's steps up to
	// the failing one and then its undo, in order.
	calls []string
	// delivered: the number had reached the team at the provider, so the
	// undo's release names it.
	delivered bool
}

func failing(name, code string) func(m *numberMocks) {
	return func(m *numberMocks) {
		m.fail[name] = temporal.NewNonRetryableApplicationError(name+" failed", code, nil)
	}
}

// The undo of a slot and record taken together (BeginPurchase), after the
// number may have been ordered: the number given back first, then the
// record failed, then the slot freed.
var undoFast = []string{"ReleaseAtProvider:local", "EndNumber:local", "CancelSlot:local"}

func TestFastPurchaseUndoesWhatEachFailedStepDid(t *testing.T) {
	t.Parallel()
	for _, tc := range []sagaFailure{{
		name:  "slot refused: nothing to undo",
		setup: failing("BeginPurchase", domain.CodePlanLimitReached), code: domain.CodePlanLimitReached,
		calls: []string{"BeginPurchase:local"},
	}, {
		name:  "order refused",
		setup: func(m *numberMocks) { m.refuse = true }, code: domain.CodeNumberUnavailable,
		calls: append([]string{"BeginPurchase:local", "PlaceOrder:local"}, undoFast...),
	}, {
		name:  "order failed within the task",
		setup: failing("WaitForOrder", domain.CodeNumberUnavailable), code: domain.CodeNumberUnavailable,
		calls: append([]string{"BeginPurchase:local", "PlaceOrder:local", "WaitForOrder:local"}, undoFast...),
	}, {
		name: "order failed while waited for durably",
		setup: func(m *numberMocks) {
			m.pendingInTask = true
			failing("AwaitOrder", domain.CodeProviderRejected)(m)
		},
		code:  domain.CodeProviderRejected,
		calls: append([]string{"BeginPurchase:local", "PlaceOrder:local", "WaitForOrder:local", "AwaitOrder:activity"}, undoFast...),
	}, {
		name:  "record not activated",
		setup: failing("CompletePurchase", domain.CodeInvalidRequest), code: domain.CodeInvalidRequest,
		calls:     append([]string{"BeginPurchase:local", "PlaceOrder:local", "WaitForOrder:local", "CompletePurchase:local"}, undoFast...),
		delivered: true,
	}, {
		name:  "order refused, the number given back at the second try",
		setup: func(m *numberMocks) { m.refuse, m.releaseFails = true, 1 }, code: domain.CodeNumberUnavailable,
		calls: append([]string{"BeginPurchase:local", "PlaceOrder:local", "ReleaseAtProvider:local"}, undoFast...),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMocks(t, RunLimits{})
			tc.setup(m)
			checkUndone(t, m, NumberWorkflowType, tc)
		})
	}
}

// The v1 saga registers an undo per step: the slot, then the record, then
// (from the order on) the number at the provider.
var undoV1 = []string{"ReleaseAtProvider:activity", "EndNumber:activity", "CancelSlot:activity"}

func TestV1PurchaseUndoesWhatEachFailedStepDid(t *testing.T) {
	t.Parallel()
	for _, tc := range []sagaFailure{{
		name:  "slot refused: nothing to undo",
		setup: failing("ReserveSlot", domain.CodePlanLimitReached), code: domain.CodePlanLimitReached,
		calls: []string{"ReserveSlot:activity"},
	}, {
		name:  "record not created: the slot freed",
		setup: failing("CreatePendingNumber", domain.CodeInvalidRequest), code: domain.CodeInvalidRequest,
		calls: []string{"ReserveSlot:activity", "CreatePendingNumber:activity", "CancelSlot:activity"},
	}, {
		name:  "order refused",
		setup: func(m *numberMocks) { m.refuse = true }, code: domain.CodeNumberUnavailable,
		calls: append([]string{"ReserveSlot:activity", "CreatePendingNumber:activity", "PlaceOrder:activity"}, undoV1...),
	}, {
		name:  "order failed",
		setup: failing("AwaitOrder", domain.CodeNumberUnavailable), code: domain.CodeNumberUnavailable,
		calls: append([]string{"ReserveSlot:activity", "CreatePendingNumber:activity", "PlaceOrder:activity", "AwaitOrder:activity"}, undoV1...),
	}, {
		name:  "record not activated",
		setup: failing("ActivateNumber", domain.CodeInvalidRequest), code: domain.CodeInvalidRequest,
		calls:     append([]string{"ReserveSlot:activity", "CreatePendingNumber:activity", "PlaceOrder:activity", "AwaitOrder:activity", "ActivateNumber:activity"}, undoV1...),
		delivered: true,
	}, {
		name:  "order refused, the number given back at the second try",
		setup: func(m *numberMocks) { m.refuse, m.releaseFails = true, 1 }, code: domain.CodeNumberUnavailable,
		calls: append([]string{"ReserveSlot:activity", "CreatePendingNumber:activity", "PlaceOrder:activity", "ReleaseAtProvider:activity"}, undoV1...),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMocks(t, RunLimits{})
			tc.setup(m)
			checkUndone(t, m, NumberWorkflowTypeV1, tc)
		})
	}
}

// checkUndone runs a purchase that fails as tc says, and checks its undo:
// the calls, the number given back under the purchase's key, the record
// failed with the error's code, the caller answered with it, the state
// failed and the run closed.
func checkUndone(t *testing.T, m *numberMocks, workflowType string, tc sagaFailure) {
	t.Helper()
	req := m.buying("+14155550160")
	runType(m.env, workflowType, req)
	m.completed(t)
	if got := m.called(); !slices.Equal(got, tc.calls) {
		t.Fatalf("calls\n%v\nwant\n%v", got, tc.calls)
	}
	if appErrorType(m.answer) != tc.code {
		t.Errorf("purchase answered %v, want %s", m.answer, tc.code)
	}
	st := stateOf(t, m.env)
	if st.Number.Status != domain.NumberFailed || st.Error != tc.code || st.Undo != nil {
		t.Errorf("final state %+v (undo %+v), want failed with %s", st.Number, st.Undo, tc.code)
	}
	if len(m.ended) > 0 && (m.ended[0].Status != domain.NumberFailed || m.ended[0].FailureReason != tc.code || m.ended[0].NumberID != m.numberIDs[0]) {
		t.Errorf("the record ended with %+v, want failed (%s) for %s", m.ended[0], tc.code, m.numberIDs[0])
	}
	if len(m.releaseIn) > 0 {
		r := m.releaseIn[0]
		if r.CustomerReference != st.CustomerReference || r.PhoneNumber != req.PhoneNumber {
			t.Errorf("the number was given back with %+v, want the purchase's key %q (an order Telnyx still holds is cancelled by it)", r, st.CustomerReference)
		}
		if delivered := r.ProviderNumberID == "tel-1"; delivered != tc.delivered {
			t.Errorf("the release named the delivered number %q, want it named: %v", r.ProviderNumberID, tc.delivered)
		}
	}
}

// TestUndoBeforeUndoKeepsSlotIgnoresARefusedRelease: a v1 run recorded
// before changeUndoKeepsSlot undoes as it did then: a refused release is
// ignored, the record failed and the slot freed at once.
func TestUndoBeforeUndoKeepsSlotIgnoresARefusedRelease(t *testing.T) {
	t.Parallel()
	m := undoMocks(t, RunLimits{}, 1)
	m.env.OnGetVersion(changeUndoKeepsSlot, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	req := m.buying("+14155550161")
	runType(m.env, NumberWorkflowTypeV1, req)
	m.completed(t)
	want := append([]string{"ReserveSlot:activity", "CreatePendingNumber:activity", "PlaceOrder:activity"}, undoV1...)
	if got := m.called(); !slices.Equal(got, want) {
		t.Fatalf("calls %v, want %v: one release, refused and ignored", got, want)
	}
	if st := stateOf(t, m.env); st.Number.Status != domain.NumberFailed || st.Undo != nil {
		t.Fatalf("final state %+v (undo %+v), want failed with no undo left", st.Number, st.Undo)
	}
}

// TestUndoReleaseThatGivesUpLocallyRunsAsAnActivity: the undo's release is
// one bounded try, local first; a failure retrying may fix hands it to a
// regular activity, and the purchase shows itself pending meanwhile.
func TestUndoReleaseThatGivesUpLocallyRunsAsAnActivity(t *testing.T) {
	t.Parallel()
	m := undoMocks(t, RunLimits{}, 0)
	m.localFails = map[string]bool{"ReleaseAtProvider": true}
	req := m.buying("+14155550162")
	run(m.env, req)
	m.completed(t)
	got := m.called()
	i, j := slices.Index(got, "ReleaseAtProvider:local"), slices.Index(got, "ReleaseAtProvider:activity")
	if i < 0 || j < i || got[len(got)-2] != "EndNumber:local" || got[len(got)-1] != "CancelSlot:local" {
		t.Fatalf("calls %v, want the release tried locally, then as an activity, then the record failed and the slot freed", got)
	}
	if !slices.Equal(m.statuses, []string{string(domain.NumberPending), string(domain.NumberFailed)}) {
		t.Errorf("NumberStatus went %v, want pending (off the fast path), then failed", m.statuses)
	}
	if appErrorType(m.answer) != domain.CodeNumberUnavailable || m.releasesBefore("CancelSlot") != m.count("ReleaseAtProvider", -1) {
		t.Errorf("purchase answered %v; slot freed after %d of %d releases", m.answer, m.releasesBefore("CancelSlot"), m.count("ReleaseAtProvider", -1))
	}
}

// TestCancelledPurchaseIsUndone: an operator's cancel of a purchase whose
// order is awaited durably undoes it on a context the cancel cannot stop;
// the record's failure reason, and the state's, are "internal".
func TestCancelledPurchaseIsUndone(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.pendingInTask, m.awaitDelay = true, 2*time.Hour
	req := m.buying("+14155550163")
	start := m.runFor(time.Hour, req)
	m.completed(t) // the purchase's undo done, nothing is left to do
	if !temporal.IsCanceledError(m.answer) {
		t.Errorf("purchase answered %v, want the cancellation", m.answer)
	}
	got := m.called()
	if len(got) < 3 || !slices.Equal(got[len(got)-3:], undoFast) {
		t.Fatalf("calls %v, want the undo (%v) last", got, undoFast)
	}
	// The undo ran at the cancel, in one go: its steps were not cancelled
	// too (and the release retried later).
	if d := m.env.Now().Sub(start); d != time.Hour {
		t.Errorf("the run closed %v in, want at the cancel (1h)", d)
	}
	wantDetails(t, "cancelled", detailsOf(t, m.env), "**Failed**: the workflow was cancelled\n")
	if len(m.ended) != 1 || m.ended[0].FailureReason != "internal" {
		t.Errorf("the record ended with %+v, want failed (internal)", m.ended)
	}
	if st := stateOf(t, m.env); st.Number.Status != domain.NumberFailed || st.Error != "internal" {
		t.Errorf("final state %+v, error %q", st.Number, st.Error)
	}
}

// TestCancelWhileWaitingOnDocumentsCancelsTheSubOrder: a purchase
// cancelled while it waits on documents cancels its sub-order at Telnyx
// (no number is delivered that nobody waits for), then is undone.
func TestCancelWhileWaitingOnDocumentsCancelsTheSubOrder(t *testing.T) {
	t.Parallel()
	m, _ := regulatedMocks(t, 10*24*time.Hour, nil)
	req := m.buying("+4930555000160")
	m.runFor(2*time.Hour, req)
	names := m.names()
	cancel := slices.Index(names, "CancelSubOrder")
	if len(m.cancelled) != 1 || m.cancelled[0] != "sub-1" || cancel < 0 || cancel > slices.Index(names, "ReleaseAtProvider") {
		t.Fatalf("cancelled %v, calls %v: want the sub-order cancelled, before the undo", m.cancelled, names)
	}
	if len(m.ended) != 1 || m.ended[0].FailureReason != "internal" || m.slotsFreed != 1 {
		t.Fatalf("ended %+v, slots freed %d", m.ended, m.slotsFreed)
	}
}

// TestUndoGoesOnWhenTheRunIsCancelled: the retries of a refused undo
// release run on a context the run's cancellation cannot stop: the slot
// is freed only once the provider has the number back.
func TestUndoGoesOnWhenTheRunIsCancelled(t *testing.T) {
	t.Parallel()
	m := undoMocks(t, RunLimits{}, 3)
	req := m.buying("+14155550164")
	m.runFor(30*time.Second, req)
	if len(m.releaseIn) != 4 || m.releasesBefore("EndNumber") != 4 || m.releasesBefore("CancelSlot") != 4 {
		t.Fatalf("%d releases; record failed after %d, slot freed after %d: want all after the fourth", len(m.releaseIn), m.releasesBefore("EndNumber"), m.releasesBefore("CancelSlot"))
	}
	if st := stateOf(t, m.env); st.Number.Status != domain.NumberFailed || st.Undo != nil {
		t.Fatalf("final state %+v (undo %+v)", st.Number, st.Undo)
	}
}

func TestUndoKeepsTheSlotUntilTheProviderReleases(t *testing.T) {
	for _, failures := range []int{0, 3} {
		t.Run(fmt.Sprintf("%d refused releases", failures), func(t *testing.T) {
			t.Parallel()
			req := teamA("+14155550144")
			m := undoMocks(t, RunLimits{}, failures)
			m.purchase(req)
			var during *NumberState
			if failures > 0 {
				during = stateAt(t, m.env, 30*time.Second) // after the first try, before the second
			}
			run(m.env, req)
			m.completed(t)
			if appErrorType(m.answer) != domain.CodeNumberUnavailable {
				t.Fatalf("purchase answered %v, want number_unavailable", m.answer)
			}
			if len(m.releaseIn) != failures+1 {
				t.Fatalf("%d releases tried, want %d", len(m.releaseIn), failures+1)
			}
			// The record is marked failed and the slot freed only once the
			// provider has taken the number back.
			if failed, freed := m.releasesBefore("EndNumber"), m.releasesBefore("CancelSlot"); failed != failures+1 || freed != failures+1 {
				t.Fatalf("record failed after %d releases, slot freed after %d, want both after %d", failed, freed, failures+1)
			}
			if len(m.ended) != 1 || m.ended[0].Status != domain.NumberFailed {
				t.Fatalf("the undo ended the record with %+v, want failed", m.ended)
			}
			st := stateOf(t, m.env)
			if st.Number.Status != domain.NumberFailed || st.Undo != nil || st.Error != domain.CodeNumberUnavailable {
				t.Fatalf("final state %+v", st)
			}
			answeredAfter, freedAtAnswer := m.count("ReleaseAtProvider", m.answeredAfter), m.count("CancelSlot", m.answeredAfter) > 0
			if failures == 0 {
				// A release that works at once: the answer comes after the
				// slot is free, as before, so a retry can use the slot.
				if answeredAfter != 1 || !freedAtAnswer {
					t.Fatalf("answered after %d releases (slot already free: %v), want after the slot was freed", answeredAfter, freedAtAnswer)
				}
				return
			}
			// The caller was answered after the first refused try, not
			// after the retries.
			if answeredAfter != 1 || freedAtAnswer {
				t.Fatalf("the purchase was answered after %d release tries (slot free: %v), want after the first", answeredAfter, freedAtAnswer)
			}
			if during.Number.Status != domain.NumberPending || during.Undo == nil || during.Undo.Attempts != 1 || during.Undo.LastError != domain.CodeDeletionLocked {
				t.Fatalf("while the release is refused the state is %+v (undo %+v)", during, during.Undo)
			}
			// Back-off: 1, 2 then 4 minutes between tries.
			for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
				if got := m.releasedAt[i+1].Sub(m.releasedAt[i]); got < want || got > want+time.Second {
					t.Fatalf("wait before try %d: %v, want %v", i+2, got, want)
				}
			}
		})
	}
}

func TestUndoRefusedForWeeksContinuesAsNew(t *testing.T) {
	t.Parallel()
	req := teamA("+14155550145")
	limits := shortRuns
	m := undoMocks(t, limits, 1_000_000)
	m.purchase(req)
	growAt(m.env, 14*24*time.Hour, 150)
	run(m.env, req)
	next := continuedFrom(t, m.env)
	c := next.Continued
	if c.Phase != PhaseUndoing || c.PurchaseError == nil || c.PurchaseError.Type != domain.CodeNumberUnavailable {
		t.Fatalf("carried %+v", c)
	}
	if c.State.Undo == nil || c.State.Undo.Attempts < 14*24 || c.State.Number.Status != domain.NumberPending {
		t.Fatalf("carried state %+v (undo %+v), want the undo with an hourly try for two weeks", c.State, c.State.Undo)
	}
	if m.count("EndNumber", -1) != 0 || m.count("CancelSlot", -1) != 0 {
		t.Fatal("the slot was freed or the record failed while the provider refused the release")
	}

	// The next run: the lock is lifted; a retried purchase still gets the
	// failure, and the slot is freed once the release goes through.
	m2 := undoMocks(t, limits, 0)
	m2.env.SetStartTime(m.env.Now())
	m2.purchaseAt(time.Second, "p1", req)
	run(m2.env, next)
	m2.completed(t)
	if appErrorType(m2.answer) != domain.CodeNumberUnavailable {
		t.Fatalf("a retried purchase in the next run: %v, want number_unavailable", m2.answer)
	}
	if want := []string{"ReleaseAtProvider:local", "EndNumber:local", "CancelSlot:local"}; !slices.Equal(m2.called(), want) {
		t.Fatalf("the next run called %v, want %v", m2.called(), want)
	}
	if st := stateOf(t, m2.env); st.Number.Status != domain.NumberFailed || st.Undo != nil {
		t.Fatalf("final state %+v", st)
	}
}

// TestCancelledPurchaseAnswersTheSameAfterContinuingAsNew: a purchase
// failed by an operator's cancel, whose undo is refused until the run
// continues as new: a retry is answered service_unavailable (the
// cancellation) in the next run as in the first, not internal_error.
func TestCancelledPurchaseAnswersTheSameAfterContinuingAsNew(t *testing.T) {
	t.Parallel()
	limits := shortRuns
	m := newMocks(t, limits)
	m.pendingInTask, m.awaitDelay, m.releaseFails = true, 2*time.Hour, 1_000_000
	req := m.buying("+14155550165")
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, time.Hour)
	before := purchaseAt(m.env, 2*time.Hour, "p2", req)
	growAt(m.env, 3*24*time.Hour, 150)
	run(m.env, req)
	next := continuedFrom(t, m.env)
	if e := next.Continued.PurchaseError; e == nil || !e.Cancelled || e.Type != "internal" {
		t.Fatalf("carried %+v, want the cancellation", e)
	}

	m2 := undoMocks(t, limits, 0)
	m2.env.SetStartTime(m.env.Now())
	after := purchaseAt(m2.env, time.Second, "p3", req)
	run(m2.env, next)
	m2.completed(t)
	for run, r := range map[string]*updateResult{"first": before, "next": after} {
		var de *domain.Error
		if got := temporalerr.Decode(r.rejected); !errors.As(got, &de) || de.Kind != domain.KindUnavailable || de.Code != domain.CodeServiceUnavailable {
			t.Errorf("a retry in the %s run was refused with %v, read as %v: want service_unavailable", run, r.rejected, got)
		}
	}
}

// TestFailedUndoAnswersPurchaseRetriesWithoutAcceptingThem: while a failed
// purchase gives its number back, a same-team purchase retry is refused in
// the validator with the purchase's error (the code the handler returned),
// so a client retrying every second adds no accepted update to the run.
func TestFailedUndoAnswersPurchaseRetriesWithoutAcceptingThem(t *testing.T) {
	t.Parallel()
	req := teamA("+14155550146")
	// Ten refused releases (the last about 4 h in), then the provider
	// takes the number back and the run ends.
	m := undoMocks(t, RunLimits{}, 10)
	m.purchase(req)
	const retries = 120
	var accepted, rejected int
	var lastReject error
	for i := range retries {
		m.env.RegisterDelayedCallback(func() {
			m.env.UpdateWorkflow(UpdatePurchase, fmt.Sprintf("retry-%d", i), &testsuite.TestUpdateCallback{
				OnAccept:   func() { accepted++ },
				OnReject:   func(err error) { rejected++; lastReject = err },
				OnComplete: func(any, error) {},
			}, req)
		}, 10*time.Minute+time.Duration(i)*time.Second)
	}
	run(m.env, req)
	m.completed(t)
	if accepted != 0 || rejected != retries {
		t.Fatalf("%d retries during the undo: %d accepted, %d rejected; want all rejected", retries, accepted, rejected)
	}
	var ae *temporal.ApplicationError
	if !errors.As(lastReject, &ae) || ae.Type() != domain.CodeNumberUnavailable || ae.Message() != "The number is no longer available." {
		t.Fatalf("a retry was refused with %v, want the purchase's own number_unavailable", lastReject)
	}
}

// TestUndoBackoffContinuesAsNewWhenTheRunGrows: the wait between two tries
// (up to an hour) ends as soon as the run has grown past its limits, so
// the run continues as new then, not at its next try.
func TestUndoBackoffContinuesAsNewWhenTheRunGrows(t *testing.T) {
	t.Parallel()
	req := teamA("+14155550147")
	m := undoMocks(t, shortRuns, 1_000_000)
	m.purchase(req)
	// By 5 h the tries are an hour apart (the next one at 6h03m); the run
	// grows at 5h30m, and a signal (any event) would wake it a minute later.
	grownAt := 5*time.Hour + 30*time.Minute
	growAt(m.env, grownAt, 150)
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_other") }, grownAt+time.Minute)
	start := m.env.Now()
	run(m.env, req)
	c := continuedFrom(t, m.env).Continued
	if c.Phase != PhaseUndoing {
		t.Fatalf("carried %+v", c)
	}
	if d := m.env.Now().Sub(start) - grownAt; d < 0 || d > 2*time.Minute {
		t.Fatalf("continued as new %v after the run had grown, want at once (not at the next try)", d)
	}
}
