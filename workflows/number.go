package workflows

import (
	"errors"
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

	purchaseDone bool
	purchaseErr  error
	elig         domain.Eligibility
	// purchaseIDs are the update IDs that got the number (see ContinuedRun).
	purchaseIDs []string
	// undoing: the purchase failed and its number is not given back yet;
	// purchaseCancelled: it failed because the workflow was cancelled
	// (its state's Error, and the record's failure reason, say "internal").
	undoing           bool
	purchaseCancelled bool

	releaseAsked bool
	releaseBy    string
	convertAsked bool
	ended        bool
	endErr       error
	endAttempts  int
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
	// awaitingDocs: the purchase waits on documents (awaitDocuments), and
	// refuses new joins. attachCh receives SignalAttachRequirementGroup;
	// attachAsks counts the groups taken while waiting, attachGroup is the
	// last one asked.
	awaitingDocs bool
	attachCh     workflow.ReceiveChannel
	attachAsks   int
	attachGroup  string
	// statusShown: this run has set its NumberStatus search attribute
	// (every v1 run does at its start; a v2 run only off its fast path).
	statusShown bool
	// accepted counts the updates this run accepted; handled counts every
	// update, signal and release attempt: a run that handled nothing never
	// continues as new (its successor would be no smaller).
	accepted, handled int
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
		w.purchaseDone = true
		switch {
		case w.purchaseErr == nil:
			err = w.hold(ctx)
		case w.undoing:
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

// clientError unwraps an activity failure to the application error inside
// it, so an update's caller gets the activity's type, message and details
// rather than "activity error".
func clientError(err error) error {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		var details map[string]any
		opts := temporal.ApplicationErrorOptions{NonRetryable: true}
		if ae.HasDetails() && ae.Details(&details) == nil {
			opts.Details = []any{details}
		}
		return temporal.NewApplicationErrorWithOptions(ae.Message(), ae.Type(), opts)
	}
	return err
}

func errorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return "internal"
}
