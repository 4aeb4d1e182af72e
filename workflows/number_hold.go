package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// Holding a bought number: a trial until its expiry (or its conversion to
// a paid number), a paid number until a release is asked. Then endLoop
// (number_end.go) gives it up.

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
			if done, err := w.continueWhenIdle(ctx, ContinuedRun{}, trialPending); done {
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
			if done, err := w.continueWhenIdle(ctx, ContinuedRun{}, asked); done {
				return err
			}
		}
	}
	w.enter(PhaseEnding)
	return w.endLoop(ctx, final, nil, cancelled)
}

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
