package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The purchase at the floor (runs of NumberWorkflowType). Temporal's own
// guidance for a request that waits on its answer: update-with-start, and
// the work as local activities, so that the workflow task that receives
// the purchase also answers it. Each step is a local activity, recorded as
// one marker when the task completes; a purchase whose order settles
// within activities.OrderWaitInTask costs one workflow task and about a dozen
// history events, and its callers wait only for the work itself.
//
//  1. BeginPurchase: the plan slot and the pending record, one transaction.
//  2. PlaceOrder, exactly once per purchase (its customer reference).
//  3. WaitForOrder: the order at once, then on each webhook (OrderEvents),
//     polling in case none comes, for at most activities.OrderWaitInTask.
//  4. CompletePurchase: the number active and the team's eligibility, one
//     transaction.
//
// A local activity runs again from its start when the worker dies before
// the task completes: every step is idempotent by the purchase's key and
// the number's id, which the workflow makes (domain.IDFor) rather than
// records. A step whose dependency stays away longer than its local
// options allow is handed to the same activity run the regular way,
// retried durably (localFirst); an order still pending after the in-task
// wait is waited for durably (awaitOrder), as is one that waits on
// documents.

// purchaseFast is the purchase saga of a v2 run (see purchase for v1's):
// each step that succeeds registers its undo, and a failure that retrying
// cannot fix runs them in reverse.
func (w *numberWorkflow) purchaseFast(ctx workflow.Context) (err error) {
	var undo []func(workflow.Context)
	orderUndo := -1
	defer func() {
		if err != nil {
			err = w.undoPurchase(ctx, undo, orderUndo, err)
		}
	}()

	info := workflow.GetInfo(ctx)
	numberID := domain.IDFor(domain.PrefixPhoneNumber, info.WorkflowStartTime, w.key)
	var begun activities.BeginResult
	begin := activities.BeginInput{Key: w.key, Number: domain.PhoneNumber{
		ID: numberID, TeamID: w.req.TeamID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID,
		CreatedByUserID: w.req.UserID, WorkflowID: info.WorkflowExecution.ID,
	}}
	if err := w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.BeginPurchase, begin, begin, &begun); err != nil {
		return err
	}
	// One transaction took both, so one undo gives both back: the record
	// ends failed, then the slot is freed.
	undo = append(undo, w.endFailed)
	w.isTrial, w.trialFor = begun.IsTrial, begun.TrialDuration
	w.state.Number.ID = begun.Number.ID
	w.state.Number.IsTrial = begun.IsTrial

	// From the moment an order may be placed, the number may be ours at the
	// provider: undoing gives it back (see purchase).
	orderUndo = len(undo)
	undo = append(undo, func(c workflow.Context) { _ = w.releaseForUndo(c) })
	if begun.Number.Status == domain.NumberActive {
		// The purchase ran to its end before, its task's completion lost
		// (a worker died), or an operator reset the run to its start:
		// the number is bought. Ordering or waiting again would only find
		// what the record says.
		return w.completeFast(ctx, begun.Number.ProviderNumberID, begun.Number.ProviderOrderID, begun.Number.TrialExpiresAt)
	}
	place := activities.OrderInput{
		NumberID: numberID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID, CustomerReference: w.key,
		RequirementGroupID: w.req.RequirementGroupID,
	}
	placeAgain := place
	placeAgain.Retried = true
	var order activities.OrderResult
	if err := w.localFirst(ctx, activities.LocalOrderOptions(), activities.OrderOptions(), acts.PlaceOrder, place, placeAgain, &order); err != nil {
		return err
	}
	w.state.OrderID = order.OrderID

	settled, err := w.waitForOrder(ctx, numberID, order.OrderID)
	if err != nil {
		return err
	}
	var expires *time.Time
	if w.isTrial {
		t := workflow.Now(ctx).Add(w.trialFor).UTC().Truncate(time.Second)
		expires = &t
	}
	return w.completeFast(ctx, settled.ProviderNumberID, order.OrderID, expires)
}

// completeFast activates the bought number (CompletePurchase) and shows it
// to operators where they need it.
func (w *numberWorkflow) completeFast(ctx workflow.Context, providerNumberID, orderID string, expires *time.Time) error {
	w.state.OrderID = orderID
	w.state.Number.ProviderNumberID = providerNumberID
	complete := activities.CompleteInput{TeamID: w.req.TeamID, Activate: domain.ActivateNumber{
		ID: w.state.Number.ID, ProviderNumberID: providerNumberID, ProviderOrderID: orderID, IsTrial: w.isTrial, TrialExpiresAt: expires,
	}}
	var done activities.CompleteResult
	if err := w.localFirst(ctx, activities.LocalDatabaseOptions(), activities.DatabaseOptions(), acts.CompletePurchase, complete, complete, &done); err != nil {
		return err
	}
	w.state.Number = viewOf(done.Number)
	w.elig = done.Eligibility
	if w.isTrial || w.statusShown {
		// A trial shows its expiry (operators find the trials about to
		// end); a purchase shown pending is shown active. A paid number
		// bought from the first task shows nothing: NumberStatus unset
		// on a running run is an active paid number.
		w.upsertSearchAttributes(ctx)
	}
	return nil
}

// waitForOrder waits for the order inside the workflow task (WaitForOrder,
// up to activities.OrderWaitInTask), then, if it is still pending or the wait failed
// in a way retrying may fix, durably (awaitOrder: the activity that polls
// for as long as it takes, the webhook's signal, the wait on documents).
func (w *numberWorkflow) waitForOrder(ctx workflow.Context, numberID, orderID string) (activities.AwaitResult, error) {
	in := activities.WaitInput{AwaitInput: activities.AwaitInput{OrderID: orderID, PhoneNumber: w.req.PhoneNumber, ReturnOnDocuments: true}, For: activities.OrderWaitInTask}
	var res activities.AwaitResult
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, activities.LocalWaitOptions()), acts.WaitForOrder, in).Get(ctx, &res)
	switch {
	case err != nil && !mayRetry(ctx, err):
		return res, err
	case err == nil && res.Requirements != nil:
		return w.awaitDocuments(ctx, numberID, in.AwaitInput, res)
	case err == nil && res.ProviderNumberID != "":
		return res, nil
	}
	workflow.GetLogger(ctx).Info("the order did not settle within the purchase's workflow task; waiting for it durably", "order_id", orderID, "error", err)
	w.showSlowPurchase(ctx)
	return w.awaitOrder(ctx, numberID, orderID)
}

// localFirst runs an activity as a local activity (local), and, when that
// gives up on an error retrying may fix, as a regular activity (opts) with
// the input again, whose durable retries wait the dependency out. out
// takes the result of whichever succeeded.
//
// A purchase that falls back so leaves its first workflow task unanswered:
// it shows itself pending to operators first (showSlowPurchase).
func (w *numberWorkflow) localFirst(ctx workflow.Context, local workflow.LocalActivityOptions, opts workflow.ActivityOptions, fn any, in, again any, out any) error {
	err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, local), fn, in).Get(ctx, out)
	if err == nil || !mayRetry(ctx, err) {
		return err
	}
	workflow.GetLogger(ctx).Warn("a local activity gave up; running it as an activity", "error", err)
	w.showSlowPurchase(ctx)
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), fn, again).Get(ctx, out)
}

// showSlowPurchase sets the run's NumberStatus to pending when a purchase
// is about to wait past its first workflow task: operators find the
// purchases that need a look (`NumberStatus = "pending"`), while one
// answered from its first task costs no search attribute update (a
// billable action) at all.
func (w *numberWorkflow) showSlowPurchase(ctx workflow.Context) {
	if !w.purchaseDone() && !w.statusShown {
		w.upsertSearchAttributes(ctx)
	}
}

// mayRetry says whether an activity's failure may pass with retrying: not
// a non-retryable application error, nor the run's own cancellation.
func mayRetry(ctx workflow.Context, err error) bool {
	if temporalerr.Final(err) && temporalerr.Type(err) != temporalerr.TypeRetryAsActivity {
		return false
	}
	var ce *temporal.CanceledError
	return !errors.As(err, &ce) && ctx.Err() == nil
}
