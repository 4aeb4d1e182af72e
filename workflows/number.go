package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

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

func (w *numberWorkflow) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (NumberState, error) { return w.state, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdatePurchase, w.onPurchase, workflow.UpdateHandlerOptions{Validator: w.validatePurchase}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRelease, w.onRelease, workflow.UpdateHandlerOptions{Validator: w.validateRelease}); err != nil {
		return err
	}
	// Billing signals carry the team id: a signal meant for an earlier
	// owner of the number (released since) is ignored.
	w.onSignal(ctx, SignalConvertToPaid, func() { w.convertAsked = true })
	w.onSignal(ctx, SignalReleaseNumber, func() {
		if !w.releaseAsked {
			w.releaseAsked, w.releaseBy = true, "billing"
		}
	})
	w.registerOrderEvents(ctx)
	return nil
}

// signalRoute is a signal channel and what its team's signals do; the run
// drains the channels through them before it continues as new.
type signalRoute struct {
	ch    workflow.ReceiveChannel
	apply func()
}

func (w *numberWorkflow) onSignal(ctx workflow.Context, name string, apply func()) {
	ch := workflow.GetSignalChannel(ctx, name)
	route := signalRoute{ch: ch, apply: func() { w.handled++; apply() }}
	w.signals = append(w.signals, route)
	workflow.Go(ctx, func(ctx workflow.Context) {
		// Waiting without taking: a signal stays in the channel until this
		// goroutine runs, so a run that decides to continue as new first
		// drains it. A blocked Receive would take it on arrival and lose it
		// with the run. The wait outlives a cancellation, as Receive did.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			var teamID string
			_ = workflow.Await(ctx, func() bool { return ch.Len() > 0 })
			ch.ReceiveAsync(&teamID)
			if teamID == w.req.TeamID {
				route.apply()
			} else {
				w.handled++
			}
		}
	})
}

// validatePurchase rejects (leaving no trace in the history) a purchase
// the number's owner did not ask for, or one the team already completed —
// unless it is a retry of the update that completed it (an earlier run's:
// within a run Temporal answers a retried update ID itself), or of the
// request that started the run (PurchaseRequest.UpdateID), whose first
// update Temporal may not know (lost with a workflow task that never
// completed).
func (w *numberWorkflow) validatePurchase(ctx workflow.Context, req PurchaseRequest) error {
	if req.PhoneNumber != w.req.PhoneNumber {
		return temporalerr.Errorf(domain.CodeInvalidRequest, "This workflow holds %s, not %s.", w.req.PhoneNumber, req.PhoneNumber)
	}
	if req.TeamID != w.req.TeamID {
		if w.state.Number.Status == domain.NumberPending || (w.purchaseDone && w.purchaseErr != nil) {
			return temporalerr.New(domain.NumberInPurchase(req.PhoneNumber), nil)
		}
		return temporalerr.Errorf(domain.CodeNumberUnavailable, "The number %s is no longer available; search again and pick another.", req.PhoneNumber)
	}
	if w.purchaseDone && w.purchaseErr != nil {
		// The purchase failed (and may be giving its number back for
		// weeks): the answer is known, so it is given here, leaving no
		// accepted update in the history — a retrying client would
		// otherwise reach Temporal's 2,000 accepted updates per run. A
		// replay does not run validators, so runs that accepted such
		// updates before this still replay.
		return w.purchaseErr
	}
	if !w.purchaseDone && w.awaitingDocs {
		// A purchase waiting on documents can take weeks: a join would be
		// held open all that time, and Temporal admits only 10 updates in
		// flight per run. The caller answers with the purchase's state
		// (NumberService.Purchase); a retry of an accepted update ID is
		// deduplicated by Temporal and never gets here.
		return temporalerr.Errorf(domain.CodeAwaitingDocuments, "Your purchase of %s waits on documents; follow it with the number's status, or supply a requirement group.", req.PhoneNumber)
	}
	if w.purchaseDone {
		id := workflow.GetCurrentUpdateInfo(ctx).ID
		if (w.resumed && slices.Contains(w.purchaseIDs, id)) || (id != "" && id == w.req.UpdateID) {
			return nil
		}
		return temporalerr.Errorf(domain.CodeAlreadyOwned, "Your team already owns %s.", req.PhoneNumber)
	}
	return nil
}

// onPurchase returns once the purchase has settled: the same answer for
// the request that started it and for any retry that joined it.
func (w *numberWorkflow) onPurchase(ctx workflow.Context, _ PurchaseRequest) (PurchaseResult, error) {
	w.accepted++
	w.handled++
	if err := workflow.Await(ctx, func() bool { return w.purchaseDone }); err != nil {
		return PurchaseResult{}, err
	}
	if w.purchaseErr != nil {
		return PurchaseResult{}, w.purchaseErr
	}
	if id := workflow.GetCurrentUpdateInfo(ctx).ID; !slices.Contains(w.purchaseIDs, id) && len(w.purchaseIDs) < maxPurchaseIDs {
		w.purchaseIDs = append(w.purchaseIDs, id)
	}
	return PurchaseResult{Number: w.state.Number, Eligibility: w.elig}, nil
}

// maxPurchaseIDs bounds the purchase update IDs a run carries to the next:
// the requests that joined one purchase, a handful in practice.
const maxPurchaseIDs = 20

func (w *numberWorkflow) validateRelease(req ReleaseRequest) error {
	if req.TeamID != w.req.TeamID {
		return temporalerr.New(domain.NumberNotHeld(), nil)
	}
	if !w.purchaseDone && !w.awaitingDocs {
		return temporalerr.New(domain.NumberStillBeingBought(), nil)
	}
	if w.purchaseErr != nil {
		return temporalerr.Errorf(domain.CodeNotFound, "The purchase of this number failed; there is nothing to release.")
	}
	return nil
}

func (w *numberWorkflow) onRelease(ctx workflow.Context, req ReleaseRequest) (NumberView, error) {
	w.accepted++
	w.handled++
	if !w.releaseAsked {
		w.releaseAsked, w.releaseBy = true, req.Reason
	}
	attempt := w.endAttempts
	// A purchase released while it waited on documents ends failed (see
	// awaitDocuments): that answers the release, even while its undo
	// goes on giving the number back.
	cancelled := func() bool { return w.purchaseDone && w.purchaseErr != nil }
	if err := workflow.Await(ctx, func() bool { return w.ended || w.endAttempts > attempt || cancelled() }); err != nil {
		return NumberView{}, err
	}
	if !w.ended && cancelled() {
		return w.state.Number, nil
	}
	return w.state.Number, w.endErr
}

// purchase runs the saga: each step that succeeds registers its undo, and
// a failure that retrying cannot fix runs them in reverse.
func (w *numberWorkflow) purchase(ctx workflow.Context) (err error) {
	var undo []func(workflow.Context)
	// orderUndo is the index in undo of giving the number back to the
	// provider, once an order may have been placed.
	orderUndo := -1
	defer func() {
		if err != nil {
			err = w.undoPurchase(ctx, undo, orderUndo, err)
		}
	}()

	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())

	var reserved activities.ReserveResult
	if err := workflow.ExecuteActivity(dbCtx, acts.ReserveSlot, activities.ReserveInput{TeamID: w.req.TeamID, Key: w.key, PhoneNumber: w.req.PhoneNumber}).Get(ctx, &reserved); err != nil {
		return err
	}
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.DatabaseOptions()), acts.CancelSlot, w.key).Get(c, nil)
	})
	w.isTrial, w.trialFor = reserved.IsTrial, reserved.TrialDuration
	w.state.Number.IsTrial = reserved.IsTrial

	var numberID string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return domain.NewID(domain.PrefixPhoneNumber) }).Get(&numberID); err != nil {
		return err
	}
	var pending domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.CreatePendingNumber, domain.PhoneNumber{
		ID: numberID, TeamID: w.req.TeamID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID,
		IsTrial: reserved.IsTrial, CreatedByUserID: w.req.UserID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &pending); err != nil {
		return err
	}
	w.state.Number.ID = pending.ID
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.DatabaseOptions()), acts.EndNumber, activities.EndInput{NumberID: numberID, Status: domain.NumberFailed, FailureReason: w.state.Error}).Get(c, nil)
	})
	w.upsertSearchAttributes(ctx)

	// From the moment an order may be placed, the number may be ours at the
	// provider: undoing gives it back (a release of a number we do not hold
	// is a no-op), also when the order's own outcome was lost.
	orderUndo = len(undo)
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.ProviderOptions()), acts.ReleaseAtProvider, activities.ReleaseInput{PhoneNumber: w.req.PhoneNumber, ProviderNumberID: w.state.Number.ProviderNumberID, CustomerReference: w.key}).Get(c, nil)
	})
	var order activities.OrderResult
	orderCtx := workflow.WithActivityOptions(ctx, activities.OrderOptions())
	if err := workflow.ExecuteActivity(orderCtx, acts.PlaceOrder, activities.OrderInput{
		NumberID: numberID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID, CustomerReference: w.key,
		RequirementGroupID: w.req.RequirementGroupID,
	}).Get(ctx, &order); err != nil {
		return err
	}
	w.state.OrderID = order.OrderID

	settled, err := w.awaitOrder(ctx, numberID, order.OrderID)
	if err != nil {
		return err
	}
	w.state.Number.ProviderNumberID = settled.ProviderNumberID

	activate := domain.ActivateNumber{ID: numberID, ProviderNumberID: settled.ProviderNumberID, ProviderOrderID: order.OrderID, IsTrial: w.isTrial}
	if w.isTrial {
		expires := workflow.Now(ctx).Add(w.trialFor).UTC().Truncate(time.Second)
		activate.TrialExpiresAt = &expires
	}
	var active domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.ActivateNumber, activate).Get(ctx, &active); err != nil {
		return err
	}
	w.state.Number = viewOf(active)
	w.upsertSearchAttributes(ctx)

	// The eligibility after the purchase is informative: a failure to read
	// it must not undo a bought number.
	_ = workflow.ExecuteActivity(dbCtx, acts.Eligibility, w.req.TeamID).Get(ctx, &w.elig)
	return nil
}

// undoPurchase runs a failed purchase's undo steps in reverse and returns
// the error its callers get. orderUndo is the index in undo of giving the
// number back to the provider (-1 before an order may have been placed).
func (w *numberWorkflow) undoPurchase(ctx workflow.Context, undo []func(workflow.Context), orderUndo int, err error) error {
	w.state.Error = temporalerr.Type(err)
	w.purchaseCancelled = temporal.IsCanceledError(err)
	// Undo on a context the run's own cancellation cannot stop.
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	keepSlot := orderUndo >= 0 && w.version(dctx, changeUndoKeepsSlot) >= 1
	for i := len(undo) - 1; i >= 0; i-- {
		if keepSlot && i == orderUndo {
			if rerr := w.releaseForUndo(dctx); rerr != nil {
				// The provider may still hold (and bill) the number: the
				// record stays pending and the slot taken; giveBack goes
				// on trying once the purchase's callers have their answer.
				w.undoFailed(dctx, rerr)
				return temporalerr.Answer(err)
			}
			continue
		}
		undo[i](dctx)
	}
	w.state.Number.Status = domain.NumberFailed
	w.showStatus(ctx)
	return temporalerr.Answer(err)
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

// hold keeps the number until its trial ends or its team releases it. A
// subscription that starts meanwhile turns the trial into a paid number.
// It returns a continue-as-new error when the run has grown enough.
func (w *numberWorkflow) hold(ctx workflow.Context) error {
	final := domain.NumberReleased
	if !w.resumed {
		w.longLived = w.version(ctx, changeContinueAsNew) >= 1
	}
	w.fixLimits(ctx)
	if !w.resumed && w.isTrial && w.v2 {
		// The purchase read the team's eligibility as it activated the
		// number (CompletePurchase): a subscription that started while
		// the trial was being bought shows there.
		w.convertAsked = w.convertAsked || w.elig.HasSubscription
	} else if !w.resumed && w.isTrial && w.version(ctx, changeTrialConversion) >= 1 {
		// A subscription may have started while the trial was being bought,
		// before billing could see the number: ask once.
		var e domain.Eligibility
		dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
		if err := workflow.ExecuteActivity(dbCtx, acts.Eligibility, w.req.TeamID).Get(ctx, &e); err == nil && e.HasSubscription {
			w.convertAsked = true
		}
	}
	// Cancelling the run (an operator's doing) gives the number up rather
	// than leave it held at Telnyx with nothing watching it.
	cancelled := false
	trialPending := func() bool { return w.releaseAsked || w.convertAsked }
	for w.isTrial && w.state.Number.TrialExpiresAt != nil {
		remaining := w.state.Number.TrialExpiresAt.Sub(workflow.Now(ctx))
		woken, err := workflow.AwaitWithTimeout(ctx, max(remaining, 0), func() bool { return trialPending() || w.shouldContinue(ctx) })
		switch {
		case err != nil:
			cancelled = true
		case w.releaseAsked:
		case w.convertAsked:
			w.convertToPaid(ctx)
			continue
		case !woken:
			final = domain.NumberExpired
			workflow.GetLogger(ctx).Info("trial ended; releasing the number", "phone_number", w.req.PhoneNumber)
			workflow.GetMetricsHandler(ctx).Counter("talkturo_trial_expiries_total").Inc(1)
		default:
			// The run has grown: the next one waits for the same expiry.
			if done, err := w.continueWhenIdle(ctx, ContinuedRun{Phase: PhaseHolding}, trialPending); done {
				return err
			}
			continue
		}
		break
	}
	if final != domain.NumberExpired && !cancelled {
		asked := func() bool { return w.releaseAsked }
		for {
			if err := workflow.Await(ctx, func() bool { return asked() || w.shouldContinue(ctx) || w.lateDue(ctx) }); err != nil {
				cancelled = true
				break
			}
			if asked() {
				break
			}
			if !w.mayContinue(ctx) {
				continue
			}
			if done, err := w.continueWhenIdle(ctx, ContinuedRun{Phase: PhaseHolding}, asked); done {
				return err
			}
		}
	}
	return w.endLoop(ctx, final, nil, cancelled)
}

// endLoop ends the number's life. The run never ends while the number is
// still held: a refused release (a deletion lock) waits for the next
// request, or tries again every releaseRetryInterval; a lock that stays
// for months makes the run continue as new now and then. retryAt, from
// the run before, is when its next try is due. A cancelled run goes on
// trying on a context the cancellation cannot stop.
func (w *numberWorkflow) endLoop(ctx workflow.Context, final domain.NumberStatus, retryAt *time.Time, cancelled bool) error {
	asked := func() bool { return w.releaseAsked }
	w.endingAs, w.endCancelled = final, cancelled
	endCtx := ctx
	if cancelled {
		endCtx, _ = workflow.NewDisconnectedContext(ctx)
	}
	w.fixLimits(endCtx)
	if retryAt != nil {
		_, _ = workflow.AwaitWithTimeout(endCtx, max(retryAt.Sub(workflow.Now(endCtx)), 0), asked)
	}
	for {
		w.endErr = w.end(endCtx, final)
		if w.endErr == nil {
			break
		}
		w.endAttempts++
		w.handled++
		w.releaseAsked = false
		if w.longLived && !cancelled && ctx.Err() != nil {
			// Cancelled while a lock holds: without this, every wait below
			// would return at once and the loop would spin.
			cancelled = true
			endCtx, _ = workflow.NewDisconnectedContext(ctx)
		}
		if w.mayContinue(endCtx) {
			if done, err := w.continueWhenIdle(endCtx, ContinuedRun{Phase: PhaseEnding, Final: final, RetryAt: nextRetry(endCtx)}, asked); done {
				return err
			}
		}
		_, _ = workflow.AwaitWithTimeout(endCtx, releaseRetryInterval, asked)
	}
	w.ended = true
	return nil
}

// releaseRetryInterval is how often a refused release is tried again when
// nobody asks.
const releaseRetryInterval = 6 * time.Hour

// changeTrialConversion versions the billing-driven trial conversion: runs
// recorded before it replay without its extra activity.
const changeTrialConversion = "trial-conversion"

// convertToPaid makes the trial number a paid one: the expiry timer is
// dropped (the hold loop no longer waits on it) and the record updated.
func (w *numberWorkflow) convertToPaid(ctx workflow.Context) {
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	var n domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.ConvertTrial, w.state.Number.ID).Get(ctx, &n); err != nil {
		workflow.GetLogger(ctx).Error("converting the trial failed", "error", err)
		w.convertAsked = false
		return
	}
	w.isTrial = false
	w.state.Number = viewOf(n)
	w.upsertSearchAttributes(ctx)
	workflow.GetLogger(ctx).Info("trial converted to a paid number", "phone_number", w.req.PhoneNumber)
}

// end releases the number at the provider, records its final status and
// frees the plan slot, in that order, so the slot is free only once the
// number is gone.
//
// A v2 run takes each step as a local activity first (localFirst), so a
// release answers from the workflow task that received it; a run that
// never showed a NumberStatus (a paid number bought from its first task)
// does not show one now: it closes at once, its execution status says it
// ended, and the record says how.
func (w *numberWorkflow) end(ctx workflow.Context, final domain.NumberStatus) error {
	if w.v2 {
		return w.endFast(ctx, final)
	}
	providerCtx := workflow.WithActivityOptions(ctx, activities.ProviderOptions())
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	if err := workflow.ExecuteActivity(providerCtx, acts.ReleaseAtProvider, activities.ReleaseInput{PhoneNumber: w.req.PhoneNumber, ProviderNumberID: w.state.Number.ProviderNumberID}).Get(ctx, nil); err != nil {
		// A deletion lock: the number stays held and visible to operators.
		w.state.Error = temporalerr.Type(err)
		w.upsertSearchAttributes(ctx)
		return temporalerr.Answer(err)
	}
	var ended domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.EndNumber, activities.EndInput{NumberID: w.state.Number.ID, Status: final}).Get(ctx, &ended); err != nil {
		return temporalerr.Answer(err)
	}
	w.state.Number = viewOf(ended)
	if err := workflow.ExecuteActivity(dbCtx, acts.ReleaseSlot, w.key).Get(ctx, nil); err != nil {
		return temporalerr.Answer(err)
	}
	w.upsertSearchAttributes(ctx)
	return nil
}

// endFast is end for a v2 run.
func (w *numberWorkflow) endFast(ctx workflow.Context, final domain.NumberStatus) error {
	release := activities.ReleaseInput{PhoneNumber: w.req.PhoneNumber, ProviderNumberID: w.state.Number.ProviderNumberID}
	if err := w.localFirst(ctx, activities.LocalOrderOptions(), activities.ProviderOptions(), acts.ReleaseAtProvider, release, release, nil); err != nil {
		// A deletion lock: the number stays held and visible to operators.
		w.state.Error = temporalerr.Type(err)
		w.upsertSearchAttributes(ctx)
		return temporalerr.Answer(err)
	}
	var ended domain.PhoneNumber
	in := activities.EndInput{NumberID: w.state.Number.ID, Status: final}
	if err := w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.EndNumber, in, in, &ended); err != nil {
		return temporalerr.Answer(err)
	}
	w.state.Number = viewOf(ended)
	if err := w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.ReleaseSlot, w.key, w.key, nil); err != nil {
		return temporalerr.Answer(err)
	}
	// A closed run shows its last status, not a stale "active".
	w.showStatus(ctx)
	return nil
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
