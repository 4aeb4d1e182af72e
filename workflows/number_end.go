package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The end of a held number's life: released at the provider, its record
// ended, its plan slot freed, retried for as long as the provider refuses.

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
			if done, err := w.continueWhenIdle(endCtx, ContinuedRun{Final: final, RetryAt: nextRetry(endCtx)}, asked); done {
				return err
			}
		}
		_, _ = workflow.AwaitWithTimeout(endCtx, releaseRetryInterval, asked)
	}
	w.enter(phaseEnded)
	return nil
}

// releaseRetryInterval is how often a refused release is tried again when
// nobody asks.
const releaseRetryInterval = 6 * time.Hour

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
