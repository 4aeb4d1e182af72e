package workflows

import (
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// Waiting for the order. Most orders settle within a second, and AwaitOrder
// polls them from inside one activity. Two things end that wait sooner than
// its next poll:
//
//   - Telnyx's webhook (SignalOrderEvent, from NumberService.NotifyOrder):
//     the poll is cancelled and the order looked at once (CheckOrder);
//     polling stays the fallback for a webhook that never comes.
//   - A regulated number (a German local number needs an address, and so
//     on): its order stays pending until the team's documents are supplied
//     and vetted, for days, up to a deadline after which Telnyx cancels it.
//     AwaitOrder returns as soon as the order waits on documents, and the
//     workflow waits instead, visibly: the state's Number.Requirements, the
//     record's requirements, NumberStatus "requirements-pending". It looks
//     at the order when a webhook says so, or on a slow timer (30 s
//     doubling to an hour, four hours once it has waited a week, never past
//     the deadline). Once the deadline passes with the order still pending,
//     it cancels the sub-order and the purchase fails with
//     requirements_deadline_passed; the saga undoes the rest.

// changeOrderEvents versions the order wait that the webhook ends and that
// hands a regulated order waiting on documents back to the workflow: runs
// recorded before it wait as they did, in one AwaitOrder that polls until
// the order settles.
const changeOrderEvents = "order-events"

// The slow poll of an order waiting on documents: its first interval, the
// cap of the doubling, and the cap once it has waited documentsSlowAfter.
// Each check costs about 11 history events (timer, activity, three
// workflow tasks): a 30-day deadline costs some 320 checks, about 3,500
// events, well under a run's limits, since the purchase saga never
// continues as new.
const (
	documentsPollFirst = 30 * time.Second
	documentsPollMax   = time.Hour
	documentsSlowAfter = 7 * 24 * time.Hour
	documentsPollSlow  = 4 * time.Hour
	// documentsMaxWait bounds the wait of an order that names no deadline:
	// past it the purchase ends as if a deadline had passed.
	documentsMaxWait = 30 * 24 * time.Hour
)

// registerOrderEvents routes the run's SignalOrderEvent signals: one whose
// customer reference is this purchase's key counts (the order waits look
// at the order once more); any other (another purchase of the number, a
// late duplicate after the purchase) is dropped. The channel is drained
// in every phase, so nothing piles up, and events are not counted as
// handled work: they never make a run continue as new.
func (w *numberWorkflow) registerOrderEvents(ctx workflow.Context) {
	w.orderCh = workflow.GetSignalChannel(ctx, SignalOrderEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			_ = workflow.Await(ctx, func() bool { return w.orderCh.Len() > 0 })
			w.takeOrderEvent()
		}
	})
}

// takeOrderEvent takes one event from the channel, if any.
func (w *numberWorkflow) takeOrderEvent() bool {
	var ev OrderEvent
	if !w.orderCh.ReceiveAsync(&ev) {
		return false
	}
	if ev.CustomerReference == w.key && !w.purchaseDone {
		w.orderEvents++
	}
	return true
}

// drainOrderEvents drops the events still in the channel (before
// continuing as new: a holding run has no use for them).
func (w *numberWorkflow) drainOrderEvents() {
	if w.orderCh == nil {
		return
	}
	for w.takeOrderEvent() {
	}
}

// awaitOrder waits until the order has delivered a usable number.
func (w *numberWorkflow) awaitOrder(ctx workflow.Context, numberID, orderID string) (activities.AwaitResult, error) {
	in := activities.AwaitInput{OrderID: orderID, PhoneNumber: w.req.PhoneNumber}
	awaitCtx := workflow.WithActivityOptions(ctx, activities.AwaitOrderOptions())
	if workflow.GetVersion(ctx, changeOrderEvents, workflow.DefaultVersion, 1) < 1 {
		var settled activities.AwaitResult
		err := workflow.ExecuteActivity(awaitCtx, acts.AwaitOrder, in).Get(ctx, &settled)
		return settled, err
	}
	in.ReturnOnDocuments = true
	checkCtx := workflow.WithActivityOptions(ctx, activities.ProviderOptions())
	for {
		seen := w.orderEvents
		pollCtx, stopPoll := workflow.WithCancel(awaitCtx)
		poll := workflow.ExecuteActivity(pollCtx, acts.AwaitOrder, in)
		if err := workflow.Await(ctx, func() bool { return poll.IsReady() || w.orderEvents > seen }); err != nil {
			stopPoll()
			return activities.AwaitResult{}, err
		}
		var res activities.AwaitResult
		if poll.IsReady() {
			stopPoll()
			if err := poll.Get(ctx, &res); err != nil {
				return res, err
			}
		} else {
			// The webhook came first: look now, and drop the poll.
			stopPoll()
			if err := workflow.ExecuteActivity(checkCtx, acts.CheckOrder, in).Get(ctx, &res); err != nil {
				return res, err
			}
		}
		switch {
		case res.Requirements != nil:
			return w.awaitDocuments(ctx, numberID, in, res)
		case !res.Pending:
			return res, nil
		}
		// Still pending (the webhook announced something else): poll on.
	}
}

// awaitDocuments waits for a regulated order whose first answer (first)
// says it waits on documents: until it delivers a usable number, fails, or
// its deadline passes.
func (w *numberWorkflow) awaitDocuments(ctx workflow.Context, numberID string, in activities.AwaitInput, first activities.AwaitResult) (res activities.AwaitResult, err error) {
	subOrder := first.SubNumberOrderID
	started := workflow.Now(ctx)
	deadline := func() time.Time {
		if r := w.state.Number.Requirements; r != nil && r.Deadline != nil {
			return *r.Deadline
		}
		return started.Add(documentsMaxWait)
	}
	defer func() {
		// A purchase that ends here with its sub-order still pending
		// (cancelled by an operator) cancels it, so Telnyx does not deliver
		// a number nobody waits for. One that failed at Telnyx has nothing
		// to cancel.
		if err != nil && subOrder != "" && ctx.Err() != nil {
			dctx, cancel := workflow.NewDisconnectedContext(ctx)
			defer cancel()
			w.cancelSubOrder(dctx, subOrder)
		}
	}()
	w.setRequirements(ctx, numberID, first.Requirements)
	workflow.GetLogger(ctx).Info("the order waits on the team's documents", "phone_number", w.req.PhoneNumber,
		"order_id", in.OrderID, "requirements_status", string(first.Requirements.Status), "deadline", deadline())

	checkCtx := workflow.WithActivityOptions(ctx, activities.CheckOrderOptions())
	interval := documentsPollFirst
	for {
		wait := min(interval, max(deadline().Sub(workflow.Now(ctx)), 0))
		seen := w.orderEvents
		woken, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "check the order waiting on documents"}},
			func() bool { return w.orderEvents > seen })
		if err != nil {
			return activities.AwaitResult{}, err
		}
		if !woken {
			ceiling := documentsPollMax
			if workflow.Now(ctx).Sub(started) >= documentsSlowAfter {
				ceiling = documentsPollSlow
			}
			interval = min(interval*2, ceiling)
		}
		var got activities.AwaitResult
		if r := w.state.Number.Requirements; r != nil {
			in.Deadline = r.Deadline
		}
		if err := workflow.ExecuteActivity(checkCtx, acts.CheckOrder, in).Get(ctx, &got); err != nil {
			var ae *temporal.ApplicationError
			if errors.As(err, &ae) && ae.NonRetryable() {
				return activities.AwaitResult{}, err // failed or cancelled at Telnyx
			}
			// A check that could not reach Telnyx in time is a missed
			// poll: the next one tries again.
			workflow.GetLogger(ctx).Warn("checking the order waiting on documents failed", "order_id", in.OrderID, "error", err)
			got = activities.AwaitResult{Pending: true}
		}
		switch {
		case got.ProviderNumberID != "":
			// ActivateNumber clears the record's requirements, and the
			// view of the active record replaces the state's.
			return got, nil
		case got.Requirements != nil:
			if got.SubNumberOrderID != "" {
				subOrder = got.SubNumberOrderID
			}
			if !sameRequirements(w.state.Number.Requirements, got.Requirements) {
				w.setRequirements(ctx, numberID, got.Requirements)
			}
		case got.Pending:
			// Documents accepted, the number being provisioned: it
			// completes soon, so look again soon.
			interval = documentsPollFirst
		}
		if !workflow.Now(ctx).Before(deadline()) {
			workflow.GetLogger(ctx).Warn("the regulated order's deadline passed; cancelling it", "phone_number", w.req.PhoneNumber, "order_id", in.OrderID)
			w.cancelSubOrder(ctx, subOrder)
			subOrder = ""
			return activities.AwaitResult{}, temporal.NewNonRetryableApplicationError(
				"The documents for "+w.req.PhoneNumber+" were not supplied or accepted before the provider's deadline, so its order was cancelled; supply them in a requirement group and buy the number again.",
				domain.CodeRequirementsDeadlinePassed, nil)
		}
	}
}

// cancelSubOrder cancels the sub-order at Telnyx; a failure is logged
// (Telnyx cancels it itself once the deadline has passed).
func (w *numberWorkflow) cancelSubOrder(ctx workflow.Context, id string) {
	if id == "" {
		return
	}
	c := workflow.WithActivityOptions(ctx, activities.CheckOrderOptions())
	if err := workflow.ExecuteActivity(c, acts.CancelSubOrder, id).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("cancelling the sub-order failed", "sub_number_order_id", id, "error", err)
	}
}

// setRequirements shows what the purchase waits on: in its state (the
// purchase's 202 answer and the state query), on its record (the number
// list) and in its search attribute.
func (w *numberWorkflow) setRequirements(ctx workflow.Context, numberID string, r *domain.PendingRequirements) {
	w.state.Number.Requirements = r
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	if err := workflow.ExecuteActivity(dbCtx, acts.RecordRequirements, activities.RequirementsInput{NumberID: numberID, Requirements: r}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("recording the requirements failed", "error", err)
	}
	w.upsertSearchAttributes(ctx)
}

func sameRequirements(a, b *domain.PendingRequirements) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Status != b.Status || !slices.Equal(a.Missing, b.Missing) {
		return false
	}
	if a.Deadline == nil || b.Deadline == nil {
		return a.Deadline == b.Deadline
	}
	return a.Deadline.Equal(*b.Deadline)
}
