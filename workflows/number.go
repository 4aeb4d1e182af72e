package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The number workflow, by job: this file has the run's state, its start
// and its search attributes; number_handlers.go the updates, query and
// signals; number_purchase.go the purchase saga (number_purchase_v1.go
// for v1 runs), number_order.go its wait for the order, number_undo.go
// what a failed purchase gives back; number_hold.go the held number;
// number_end.go its release; number_continue.go continue-as-new.

// acts is used only for method references: activities are invoked by name
// through these, and the worker registers a bound value.
var acts *activities.Activities

// numberWorkflow is the state of one run of PhoneNumberWorkflow.
type numberWorkflow struct {
	req      PurchaseRequest
	key      string // unique to this purchase: workflow ID + first run ID
	state    NumberState
	isTrial  bool
	trialFor time.Duration
	limits   RunLimits
	// v2: the run is of type NumberWorkflowType (the purchase's fast
	// path, every change below at its newest without a version marker);
	// false for runs of NumberWorkflowTypeV1 started before it.
	v2 bool
	// resumed: this run continues an earlier one (so it runs today's code);
	// longLived: this run may continue as new (changeContinueAsNew).
	resumed, longLived bool
	limitsFixed        bool
	// lateRead: changeContinueAsNewLate was read (see lateDue).
	lateRead bool

	// phase is where the number's life is: the one value the handlers and
	// loops decide by (see RunPhase and the phases below). enter changes
	// it; resume sets the one a continued run starts in.
	phase RunPhase

	// What the purchase ended with (once it is done): its error, nil when
	// it bought the number, and the eligibility read with it.
	purchaseErr error
	elig        domain.Eligibility
	// purchaseIDs are the update IDs that got the number (see ContinuedRun).
	purchaseIDs []string
	// purchaseCancelled: the purchase failed because the workflow was
	// cancelled (its state's Error, and the record's failure reason, say
	// "internal"). A fact of how it failed, for the current details and
	// the next run, not a phase.
	purchaseCancelled bool

	// Requests not yet acted on. They arrive in any phase (billing's
	// signals, the release update) and are acted on in a later one — a
	// release asked during the purchase ends the number once it is held —
	// so they are kept beside the phase, not in it. releaseBy is who asked
	// the release, for the current details.
	releaseAsked bool
	releaseBy    string
	convertAsked bool
	// endErr is the last release try's error, endAttempts counts the
	// refused ones (PhaseEnding).
	endErr      error
	endAttempts int
	// endingAs is the status the number is being ended with, once endLoop
	// has begun; endCancelled: the workflow's cancellation began it (else
	// releaseBy's request, or the trial's end). For the current details.
	endingAs     domain.NumberStatus
	endCancelled bool

	signals []signalRoute
	// orderCh receives SignalOrderEvent; orderEvents counts this
	// purchase's events (see registerOrderEvents).
	orderCh     workflow.ReceiveChannel
	orderEvents int
	// recentEvents are the last order events counted (repeats are dropped).
	recentEvents []orderEventKey
	// attachCh receives SignalAttachRequirementGroup; attachAsks counts
	// the groups taken while the purchase waits on documents, attachGroup
	// is the last one asked.
	attachCh    workflow.ReceiveChannel
	attachAsks  int
	attachGroup string
	// statusShown: this run has set its NumberStatus search attribute
	// (every v1 run does at its start; a v2 run only off its fast path).
	statusShown bool
	// accepted counts the updates this run accepted; handled counts every
	// update, signal and release attempt: a run that handled nothing never
	// continues as new (its successor would be no smaller).
	accepted, handled int
}

// The phases of a number's run that never continue as new, beside the
// three that do (PhaseHolding, PhaseEnding, PhaseUndoing in contract.go):
// a run continues as new only where it waits for long with nothing half
// done, and the next run starts in the same phase.
const (
	// phasePurchasing: the purchase saga runs, its undo steps too when it
	// fails. The team's purchase updates join it and wait for its answer;
	// another team's are refused (number_in_purchase); a release is refused
	// (still being bought), billing's is noted for once the number is held.
	phasePurchasing RunPhase = "purchasing"
	// phaseAwaitingDocuments: the saga waits on the team's documents
	// (awaitDocuments), for days. New joins are refused
	// (domain.CodeAwaitingDocuments) and requirement groups taken; a release
	// (update or signal) cancels the purchase.
	phaseAwaitingDocuments RunPhase = "awaiting-documents"
	// phaseEnded: the number is released, or expired, and its slot free;
	// the run closes once every update handler has finished.
	phaseEnded RunPhase = "ended"
	// phaseFailed: the purchase failed and all it did is undone; purchase
	// updates are answered with its error until the run closes, once
	// every update handler has finished.
	phaseFailed RunPhase = "failed"
)

// enter moves the run to phase next. Every change of phase is made here,
// along these arrows only (a continued run starts in its input's phase):
//
//	purchasing ⇄ awaiting-documents
//	purchasing → holding | undoing | failed   (the purchase's outcome)
//	holding → ending → ended
//	undoing → failed
//
// Any other change is a bug in this code: panicking fails the workflow
// task, which Temporal retries, rather than take the number's life where
// it cannot be.
func (w *numberWorkflow) enter(next RunPhase) {
	ok := false
	switch w.phase {
	case phasePurchasing:
		ok = next == phaseAwaitingDocuments || next == PhaseHolding || next == PhaseUndoing || next == phaseFailed
	case phaseAwaitingDocuments:
		ok = next == phasePurchasing
	case PhaseHolding:
		ok = next == PhaseEnding
	case PhaseEnding:
		ok = next == phaseEnded
	case PhaseUndoing:
		ok = next == phaseFailed
	}
	if !ok {
		panic(fmt.Sprintf("PhoneNumberWorkflow: no change of phase from %q to %q", w.phase, next))
	}
	w.phase = next
}

// purchaseOutcome is the phase a finished purchase leads to: a failed one
// whose number is not given back yet has the undo's progress (undoFailed).
func (w *numberWorkflow) purchaseOutcome() RunPhase {
	switch {
	case w.purchaseErr == nil:
		return PhaseHolding
	case w.state.Undo != nil:
		return PhaseUndoing
	}
	return phaseFailed
}

// purchaseDone says whether the purchase saga has finished, well or not.
func (w *numberWorkflow) purchaseDone() bool {
	return w.phase != phasePurchasing && w.phase != phaseAwaitingDocuments
}

// purchaseFailed says whether the purchase has finished and failed.
func (w *numberWorkflow) purchaseFailed() bool {
	return w.purchaseDone() && w.purchaseErr != nil
}

// PhoneNumberWorkflow owns the life of one number held by one team: it
// reserves a plan slot, orders the number at Telnyx and waits for the
// order, records it (see purchaseFast), and then holds it — a trial until its timer fires, a
// paid number until it is released — and finally releases it at Telnyx
// and frees the slot. A failure that retrying cannot fix undoes what was
// done (saga) and ends the run. A number held for years continues as new
// before its run's history reaches Temporal's limits (RunLimits).
//
// It is registered as NumberWorkflowType; PhoneNumberWorkflowV1 is the
// same life with the purchase of runs started before the fast path.
func PhoneNumberWorkflow(ctx workflow.Context, req PurchaseRequest) error {
	return runNumberWorkflow(ctx, req, RunLimits{}, true)
}

// PhoneNumberWorkflowV1 is registered as NumberWorkflowTypeV1, for runs
// started before NumberWorkflowType: they replay as they were recorded
// (each step an activity, behind its workflow.GetVersion changes), and
// continue as new, if ever, as NumberWorkflowType.
func PhoneNumberWorkflowV1(ctx workflow.Context, req PurchaseRequest) error {
	return runNumberWorkflow(ctx, req, RunLimits{}, false)
}

// numberWorkflowWith is PhoneNumberWorkflow (v2) or PhoneNumberWorkflowV1
// with other run limits (a worker's, lowered by tests).
func numberWorkflowWith(limits RunLimits, v2 bool) func(workflow.Context, PurchaseRequest) error {
	return func(ctx workflow.Context, req PurchaseRequest) error { return runNumberWorkflow(ctx, req, limits, v2) }
}

// version is workflow.GetVersion of one of the number workflow's changes
// (each has versions DefaultVersion and 1): always 1, with no marker in
// the history, for a run of the v2 type, which has them all.
func (w *numberWorkflow) version(ctx workflow.Context, change string) workflow.Version {
	if w.v2 {
		return 1
	}
	return workflow.GetVersion(ctx, change, workflow.DefaultVersion, 1)
}

func runNumberWorkflow(ctx workflow.Context, req PurchaseRequest, limits RunLimits, v2 bool) error {
	info := workflow.GetInfo(ctx)
	cont := req.Continued
	req.Continued = nil
	// The first run ID of this chain: it stays the same when an operator
	// resets the workflow, so the plan slot and the Telnyx order keep the
	// key they were made with. It changes when a run continues as new:
	// a continued run takes the key from the run before.
	key := info.WorkflowExecution.ID + "/" + info.OriginalRunID
	w := &numberWorkflow{
		v2:     v2,
		req:    req,
		key:    key,
		limits: limits.withDefaults(),
		phase:  phasePurchasing,
		state: NumberState{TeamID: req.TeamID, CustomerReference: key, RequirementGroupID: req.RequirementGroupID, Number: NumberView{
			PhoneNumber: req.PhoneNumber, Status: domain.NumberPending,
		}},
	}
	if cont != nil {
		w.resume(cont)
	}
	if err := w.registerHandlers(ctx); err != nil {
		return err
	}
	keepDetails(ctx, w.details, numberDetails.Markdown)
	if !v2 || cont != nil {
		// A v2 run's start set them (NumberService.Purchase); a continued
		// run says where it is.
		w.upsertSearchAttributes(ctx)
	}

	var err error
	switch {
	case cont == nil:
		if v2 {
			w.purchaseErr = w.purchaseFast(ctx)
		} else {
			w.purchaseErr = w.purchase(ctx)
		}
		w.enter(w.purchaseOutcome())
		switch w.phase {
		case PhaseHolding:
			err = w.hold(ctx)
		case PhaseUndoing:
			err = w.giveBack(ctx)
		}
	case cont.Phase == PhaseHolding:
		err = w.hold(ctx)
	case cont.Phase == PhaseEnding:
		err = w.endLoop(ctx, cont.Final, cont.RetryAt, false)
	case cont.Phase == PhaseUndoing:
		err = w.giveBack(ctx)
	default:
		// A phase this code does not know (a newer worker's, or a corrupt
		// input): completing would leave the number held with nothing
		// watching it. Panicking fails the workflow task, which Temporal
		// retries, so the run waits open for a worker that knows it.
		panic(fmt.Sprintf("PhoneNumberWorkflow: unknown phase %q in the continued run's input", cont.Phase))
	}
	if err != nil {
		return err // continue-as-new
	}
	// Let every update that joined finish before the run closes.
	return workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// showStatus sets the run's search attributes at the end of a step where a
// v1 run always did and a v2 run does when it has shown a status before
// (statusShown): a v2 run that never did (a purchase answered, or failed,
// from its first workflow task) closes or holds without one, and the
// record says how it went. The purchase's own rules are showSlowPurchase
// and completeFast.
func (w *numberWorkflow) showStatus(ctx workflow.Context) {
	if !w.v2 || w.statusShown {
		w.upsertSearchAttributes(ctx)
	}
}

func (w *numberWorkflow) upsertSearchAttributes(ctx workflow.Context) {
	status := string(w.state.Number.Status)
	switch {
	case w.state.Undo != nil:
		status = NumberStatusReleasing
	case w.state.Number.Requirements != nil && w.state.Number.Status == domain.NumberPending:
		status = NumberStatusRequirementsPending
	}
	updates := []temporal.SearchAttributeUpdate{
		AttrTeamID.ValueSet(w.req.TeamID),
		AttrPhoneNumber.ValueSet(w.req.PhoneNumber),
		AttrNumberStatus.ValueSet(status),
		AttrIsTrial.ValueSet(w.state.Number.IsTrial),
	}
	if t := w.state.Number.TrialExpiresAt; t != nil {
		updates = append(updates, AttrTrialExpiresAt.ValueSet(*t))
	} else {
		updates = append(updates, AttrTrialExpiresAt.ValueUnset())
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("upserting search attributes failed", "error", err)
		return
	}
	w.statusShown = true
}

func viewOf(n domain.PhoneNumber) NumberView {
	return NumberView{ID: n.ID, PhoneNumber: n.PhoneNumber, ProviderNumberID: n.ProviderNumberID, Status: n.Status, IsTrial: n.IsTrial, TrialExpiresAt: n.TrialExpiresAt, Requirements: n.Requirements}
}
