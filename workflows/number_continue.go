package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/temporalerr"
)

// A paid number's workflow lives for years, but one run's history must
// stay under Temporal's limits: 2,000 accepted updates and 51,200 events
// (50 MB). So a run that holds the number, or waits out a refused
// release, continues as new before it gets there: it hands the next run
// everything it needs (ContinuedRun) and the next run starts in the same
// phase, without buying the number again. It never does so in the middle
// of the purchase saga or of a release attempt, and only once every
// running update handler has finished.

// RunLimits bound one run of the number workflow. The run continues as new
// when Temporal suggests it or when either limit is reached.
type RunLimits struct {
	// Updates accepted by one run (Temporal refuses the 2,001st).
	Updates int
	// Events in one run's history (Temporal suggests continuing at 4,096
	// and terminates the run at 51,200; this bounds it where a cluster
	// does not suggest).
	Events int
}

// The default run limits: far enough below Temporal's hard limits that a
// burst of requests arriving while a run winds down cannot reach them.
const (
	DefaultRunUpdates = 500
	DefaultRunEvents  = 8000
)

func (l RunLimits) withDefaults() RunLimits {
	if l.Updates <= 0 {
		l.Updates = DefaultRunUpdates
	}
	if l.Events <= 0 {
		l.Events = DefaultRunEvents
	}
	return l
}

// changeContinueAsNew versions continue-as-new in the hold phase and the
// release retry loop: runs recorded before it replay without its checks.
// It is read when the hold starts, so a run bought before it never reads
// it again; changeContinueAsNewLate lets such a run continue as new too.
const changeContinueAsNew = "continue-as-new"

// changeContinueAsNewLate is read by a run that began before
// changeContinueAsNew, at the point where it has grown past the default
// limits and waits (holding, or between release tries): a live run records
// the new version there and continues as new; a replay of a history
// recorded before finds no marker and goes on as it ran. The limits of
// such a run are the defaults, not the worker's (a replay by a worker
// configured otherwise must reach the same point), and the version is read
// once per run: a run whose history had already passed the limits before
// the deploy reads DefaultVersion in its replay and keeps the old path.
const changeContinueAsNewLate = "continue-as-new-late"

// fixLimits records the run limits in the history (once per run), so that
// a replay by a worker configured otherwise takes the same decisions.
//
// A v2 run records nothing: its limits are the worker's, the same for
// every worker of the task queue (the defaults, in production), and a
// side effect would cost every number a billable action. A replay of a
// v2 history must use the limits it was recorded with.
func (w *numberWorkflow) fixLimits(ctx workflow.Context) {
	if !w.longLived || w.limitsFixed || w.v2 {
		return
	}
	w.limitsFixed = true
	var l RunLimits
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return w.limits }).Get(&l); err == nil {
		w.limits = l
	}
}

// shouldContinue says whether this run has grown enough to continue as
// new. A run that handled nothing yet never does: its successor would
// start no smaller.
func (w *numberWorkflow) shouldContinue(ctx workflow.Context) bool {
	if !w.longLived || w.handled == 0 {
		return false
	}
	info := workflow.GetInfo(ctx)
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= w.limits.Events || w.accepted >= w.limits.Updates
}

// lateDue says whether a run that began before changeContinueAsNew has
// grown past the default limits and has not read changeContinueAsNewLate
// yet.
func (w *numberWorkflow) lateDue(ctx workflow.Context) bool {
	if w.longLived || w.lateRead || w.handled == 0 {
		return false
	}
	info := workflow.GetInfo(ctx)
	l := RunLimits{}.withDefaults()
	return info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() >= l.Events || w.accepted >= l.Updates
}

// mayContinue is called where a run may continue as new: it reports
// shouldContinue, and for a run that began before changeContinueAsNew
// that lateDue reads changeContinueAsNewLate as the new version (the run
// is then long-lived, with its limits recorded).
func (w *numberWorkflow) mayContinue(ctx workflow.Context) bool {
	if w.longLived {
		return w.shouldContinue(ctx)
	}
	if !w.lateDue(ctx) {
		return false
	}
	w.lateRead = true
	if w.version(ctx, changeContinueAsNewLate) < 1 {
		return false
	}
	w.longLived = true
	w.fixLimits(ctx)
	return w.shouldContinue(ctx)
}

// continueWhenIdle continues as new once every running update handler has
// finished. If pending becomes true first (a request the phase must act
// on), done is false and the caller acts on it; it continues later.
func (w *numberWorkflow) continueWhenIdle(ctx workflow.Context, next ContinuedRun, pending func() bool) (done bool, err error) {
	if err := workflow.Await(ctx, func() bool { return pending() || workflow.AllHandlersFinished(ctx) }); err != nil {
		return false, nil // cancelled: the caller's own wait sees it
	}
	if pending() {
		return false, nil
	}
	return true, w.continueAsNew(ctx, next)
}

// continueAsNew drains the signals still waiting in their channels (each
// one applied, so none is lost), and returns the error that ends this run
// and starts the next one with next, completed from the run's state: it
// starts in this run's phase.
func (w *numberWorkflow) continueAsNew(ctx workflow.Context, next ContinuedRun) error {
	for _, s := range w.signals {
		var teamID string
		for s.ch.ReceiveAsync(&teamID) {
			if teamID == w.req.TeamID {
				s.apply()
			}
		}
	}
	w.drainOrderEvents()
	if w.phase != PhaseHolding && w.phase != PhaseEnding && w.phase != PhaseUndoing {
		panic(fmt.Sprintf("PhoneNumberWorkflow: continuing as new in phase %q, which no run starts in", w.phase))
	}
	next.Phase = w.phase
	next.Key = w.key
	next.State = w.state
	next.IsTrial = w.isTrial
	next.Eligibility = w.elig
	next.ConvertAsked, next.ReleaseAsked, next.ReleaseBy = w.convertAsked, w.releaseAsked, w.releaseBy
	next.EndAttempts = w.endAttempts
	next.PurchaseUpdateIDs = w.purchaseIDs
	next.Runs = w.state.Runs + 1
	if w.purchaseErr != nil {
		next.PurchaseError = &PurchaseError{Type: temporalerr.Type(w.purchaseErr), Message: temporalerr.Message(w.purchaseErr), Cancelled: w.purchaseCancelled}
	}
	info := workflow.GetInfo(ctx)
	workflow.GetLogger(ctx).Info("continuing as new", "phone_number", w.req.PhoneNumber, "phase", string(next.Phase),
		"history_length", info.GetCurrentHistoryLength(), "accepted_updates", w.accepted, "runs", next.Runs)
	req := w.req
	req.Continued = &next
	return workflow.NewContinueAsNewError(ctx, NumberWorkflowType, req)
}

// resume takes over from the run before.
func (w *numberWorkflow) resume(c *ContinuedRun) {
	w.resumed, w.longLived = true, true
	w.key = c.Key
	w.state = c.State
	w.state.Runs = c.Runs
	w.isTrial = c.IsTrial
	w.elig = c.Eligibility
	w.convertAsked, w.releaseAsked, w.releaseBy = c.ConvertAsked, c.ReleaseAsked, c.ReleaseBy
	w.endAttempts = c.EndAttempts
	w.purchaseIDs = c.PurchaseUpdateIDs
	w.phase = c.Phase // an unknown one fails the run's first task (runNumberWorkflow)
	if e := c.PurchaseError; e != nil {
		w.purchaseErr = temporalerr.Restore(e.Type, e.Message, e.Cancelled)
		w.purchaseCancelled = e.Cancelled
	}
}

// nextRetry is when the release loop tries again unless asked sooner.
func nextRetry(ctx workflow.Context) *time.Time {
	t := workflow.Now(ctx).Add(releaseRetryInterval)
	return &t
}
