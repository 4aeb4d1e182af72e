package workflows

import (
	"slices"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The number workflow's updates, query and billing signals: what a caller
// may ask in each phase (the validators, which leave no trace in the
// history when they refuse) and what the handlers answer.

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
		if w.state.Number.Status == domain.NumberPending || w.purchaseFailed() {
			return temporalerr.New(domain.NumberInPurchase(req.PhoneNumber), nil)
		}
		return temporalerr.New(domain.NumberUnavailable(req.PhoneNumber), nil)
	}
	if w.purchaseFailed() {
		// The purchase failed (and may be giving its number back for
		// weeks): the answer is known, so it is given here, leaving no
		// accepted update in the history — a retrying client would
		// otherwise reach Temporal's 2,000 accepted updates per run. A
		// replay does not run validators, so runs that accepted such
		// updates before this still replay.
		return w.purchaseErr
	}
	if w.phase == phaseAwaitingDocuments {
		// A purchase waiting on documents can take weeks: a join would be
		// held open all that time, and Temporal admits only 10 updates in
		// flight per run. The caller answers with the purchase's state
		// (NumberService.Purchase); a retry of an accepted update ID is
		// deduplicated by Temporal and never gets here.
		return temporalerr.Errorf(domain.CodeAwaitingDocuments, "Your purchase of %s waits on documents; follow it with the number's status, or supply a requirement group.", req.PhoneNumber)
	}
	if w.purchaseDone() {
		id := workflow.GetCurrentUpdateInfo(ctx).ID
		if (w.resumed && slices.Contains(w.purchaseIDs, id)) || (id != "" && id == w.req.UpdateID) {
			return nil
		}
		return temporalerr.New(domain.AlreadyOwned(req.PhoneNumber), nil)
	}
	return nil
}

// onPurchase returns once the purchase has settled: the same answer for
// the request that started it and for any retry that joined it.
func (w *numberWorkflow) onPurchase(ctx workflow.Context, _ PurchaseRequest) (PurchaseResult, error) {
	w.accepted++
	w.handled++
	if err := workflow.Await(ctx, func() bool { return w.purchaseDone() }); err != nil {
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
	if w.phase == phasePurchasing {
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
	cancelled := w.purchaseFailed
	if err := workflow.Await(ctx, func() bool { return w.phase == phaseEnded || w.endAttempts > attempt || cancelled() }); err != nil {
		return NumberView{}, err
	}
	if w.phase != phaseEnded && cancelled() {
		return w.state.Number, nil
	}
	return w.state.Number, w.endErr
}
