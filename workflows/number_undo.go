package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// A purchase that fails once an order may have been placed gives the
// number back to the provider before anything else is undone. When the
// provider refuses or fails that release (a deletion lock, an outage
// longer than one bounded try), the number may still be ours and billed:
// the record stays pending and the plan slot taken, the purchase's
// callers get their error at once, and the run tries again with back-off
// until the provider confirms. Only then is the record marked failed and
// the slot freed. Operators see such a run by its search attribute
// NumberStatus = "releasing", by its state's Undo, and by an ERROR log
// line at each failed try.

// changeUndoKeepsSlot versions the undo that keeps the slot while the
// release fails: runs recorded before it replay with the old undo, which
// ignored a failed release.
const changeUndoKeepsSlot = "undo-keeps-slot"

// The back-off between tries: doubling from undoRetryFirst up to
// undoRetryMax, so a lock held for months costs 24 tries a day.
const (
	undoRetryFirst = time.Minute
	undoRetryMax   = time.Hour
)

func undoBackoff(attempts int) time.Duration {
	d := undoRetryFirst
	for i := 1; i < attempts && d < undoRetryMax; i++ {
		d *= 2
	}
	return min(d, undoRetryMax)
}

// releaseForUndo is one bounded try at giving the number back.
// A v2 run tries it locally first, so that a purchase refused by Telnyx
// is answered from the workflow task that saw the refusal.
func (w *numberWorkflow) releaseForUndo(ctx workflow.Context) error {
	in := activities.ReleaseInput{PhoneNumber: w.req.PhoneNumber, ProviderNumberID: w.state.Number.ProviderNumberID, CustomerReference: w.key}
	if w.v2 {
		return w.localFirst(ctx, activities.LocalOrderOptions(), activities.UndoReleaseOptions(), acts.ReleaseAtProvider, in, in, nil)
	}
	c := workflow.WithActivityOptions(ctx, activities.UndoReleaseOptions())
	return workflow.ExecuteActivity(c, acts.ReleaseAtProvider, in).Get(ctx, nil)
}

// endFailed marks a failed purchase's record failed and frees its plan
// slot (a free team gets its trial back): the undo of BeginPurchase.
func (w *numberWorkflow) endFailed(ctx workflow.Context) {
	end := activities.EndInput{NumberID: w.state.Number.ID, Status: domain.NumberFailed, FailureReason: w.state.Error}
	if w.v2 {
		_ = w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.EndNumber, end, end, nil)
		_ = w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.CancelSlot, w.key, w.key, nil)
		return
	}
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	_ = workflow.ExecuteActivity(dbCtx, acts.EndNumber, end).Get(ctx, nil)
	_ = workflow.ExecuteActivity(dbCtx, acts.CancelSlot, w.key).Get(ctx, nil)
}

// undoFailed records a failed try, for operators and for the next one.
func (w *numberWorkflow) undoFailed(ctx workflow.Context, err error) {
	first := w.state.Undo == nil
	if first {
		w.state.Undo = &UndoState{}
	}
	u := w.state.Undo
	u.Attempts++
	u.LastError = temporalerr.Type(err)
	u.NextAttemptAt = workflow.Now(ctx).Add(undoBackoff(u.Attempts))
	workflow.GetLogger(ctx).Error("a failed purchase could not give its number back to the provider; its plan slot stays taken and the release is retried",
		"phone_number", w.req.PhoneNumber, "team_id", w.req.TeamID, "attempts", u.Attempts, "error_type", u.LastError, "error", err, "next_attempt_at", u.NextAttemptAt)
	if first {
		w.upsertSearchAttributes(ctx)
	}
}

// giveBack retries the release of a failed purchase's number until the
// provider confirms it, then marks the record failed and frees the slot.
// A release refused for weeks makes the run continue as new now and then.
func (w *numberWorkflow) giveBack(ctx workflow.Context) error {
	w.longLived = true // only runs of changeUndoKeepsSlot get here
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	w.fixLimits(dctx)
	if w.state.Undo == nil {
		w.state.Undo = &UndoState{} // a carried state always has one: try at once
	}
	for {
		if wait := w.state.Undo.NextAttemptAt.Sub(workflow.Now(dctx)); wait > 0 {
			// Waking when the run has grown (updates, signals) rather than
			// at the next try, up to an hour away: it continues as new
			// before it nears Temporal's limits.
			grown, _ := workflow.AwaitWithOptions(dctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "retry giving the number back"}},
				func() bool { return w.shouldContinue(dctx) })
			if grown {
				if done, err := w.continueWhenIdle(dctx, ContinuedRun{}, func() bool { return false }); done {
					return err
				}
			}
		}
		w.handled++
		err := w.releaseForUndo(dctx)
		if err == nil {
			break
		}
		w.undoFailed(dctx, err)
		if w.shouldContinue(dctx) {
			if done, err := w.continueWhenIdle(dctx, ContinuedRun{}, func() bool { return false }); done {
				return err
			}
		}
	}
	w.endFailed(dctx)
	workflow.GetLogger(ctx).Info("the failed purchase's number is given back; its plan slot is free",
		"phone_number", w.req.PhoneNumber, "attempts", w.state.Undo.Attempts+1)
	w.state.Undo = nil
	w.enter(phaseFailed)
	w.state.Number.Status = domain.NumberFailed
	w.upsertSearchAttributes(ctx)
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
