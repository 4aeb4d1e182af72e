package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// Waiting for the order. Most orders settle within a second, and AwaitOrder
// polls them from inside one activity. Two things end that wait sooner than
// its next poll:
//
//   - Telnyx's webhook (SignalOrderEvent, from temporalclient.NumberService.NotifyOrder):
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
//     the deadline). Once the deadline passes with the order still waiting
//     on documents, it cancels the sub-order and the purchase fails with
//     requirements_deadline_passed; the saga undoes the rest. The deadline
//     is Telnyx's, capped at documentsMaxWait; once the documents are
//     accepted (the order still pending), only documentsMaxWait bounds it.
//
// While it waits on documents, the team's new purchase requests are
// refused (domain.CodeAwaitingDocuments: Temporal holds at most 10 updates in
// flight per run, and a join would be held for days); temporalclient.NumberService
// answers them as pending, and hands on the requirement group one carries
// (SignalAttachRequirementGroup), which the wait attaches to the sub-order
// (AttachRequirementGroup) before looking at the order at once. A release
// (the team's update or billing's signal) cancels the order and ends the
// purchase (domain.CodePurchaseReleased).

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
	// provisioningPollFirst is the first look at an order whose documents
	// were accepted and whose number is being provisioned: that takes
	// moments to minutes, so the poll starts short and doubles from here.
	provisioningPollFirst = 2 * time.Second
)

// registerOrderEvents routes the run's SignalOrderEvent and
// SignalAttachRequirementGroup signals. An order event whose customer
// reference is this purchase's key, and that is not a repeat of one of
// the last few (Telnyx retries a delivery, and a replayed delivery is
// validly signed), counts: the order waits look at the order once more.
// A requirement group from the purchase's team counts while the purchase
// waits on documents. Anything else is dropped. The channels are drained
// in every phase, so nothing piles up; once the purchase is done, each
// signal counts as handled work, so a flood of them makes a holding run
// continue as new rather than grow without bound.
func (w *numberWorkflow) registerOrderEvents(ctx workflow.Context) {
	w.orderCh = workflow.GetSignalChannel(ctx, SignalOrderEvent)
	w.attachCh = workflow.GetSignalChannel(ctx, SignalAttachRequirementGroup)
	workflow.Go(ctx, func(ctx workflow.Context) {
		ctx, _ = workflow.NewDisconnectedContext(ctx)
		for {
			_ = workflow.Await(ctx, func() bool { return w.orderCh.Len() > 0 || w.attachCh.Len() > 0 })
			w.takeOrderEvent()
			w.takeAttach()
		}
	})
}

// recentOrderEvents is how many (order, status) pairs a run remembers to
// drop repeated deliveries.
const recentOrderEvents = 8

type orderEventKey struct {
	eventID string
	orderID string
	status  domain.OrderStatus
}

// takeOrderEvent takes one event from the channel, if any.
func (w *numberWorkflow) takeOrderEvent() bool {
	var ev OrderEvent
	if !w.orderCh.ReceiveAsync(&ev) {
		return false
	}
	if w.purchaseDone() {
		w.handled++
		return true
	}
	if ev.CustomerReference != w.key {
		return true
	}
	// Telnyx's event id tells a redelivery from a new event; without one,
	// the order and its status do.
	k := orderEventKey{eventID: ev.EventID}
	if ev.EventID == "" {
		k = orderEventKey{orderID: ev.OrderID, status: ev.Status}
	}
	if slices.Contains(w.recentEvents, k) {
		return true
	}
	if len(w.recentEvents) == recentOrderEvents {
		w.recentEvents = w.recentEvents[1:]
	}
	w.recentEvents = append(w.recentEvents, k)
	w.orderEvents++
	return true
}

// takeAttach takes one requirement group from the channel, if any.
func (w *numberWorkflow) takeAttach() bool {
	if w.attachCh == nil {
		return false
	}
	var a AttachRequirementGroup
	if !w.attachCh.ReceiveAsync(&a) {
		return false
	}
	switch {
	case w.purchaseDone():
		w.handled++
	case w.phase == phaseAwaitingDocuments && a.TeamID == w.req.TeamID && a.RequirementGroupID != "" &&
		a.RequirementGroupID != w.req.RequirementGroupID &&
		!slices.Contains(w.state.RequirementGroups, a.RequirementGroupID) &&
		len(w.state.RequirementGroups) < MaxRequirementGroups:
		// Each group is handed to Telnyx once (the one the order was
		// placed with never again): a client retrying its request, or one
		// whose group Telnyx refused, would otherwise cost an attach and a
		// check at every retry, and a purchase that waits for weeks never
		// continues as new.
		w.state.RequirementGroups = append(w.state.RequirementGroups, a.RequirementGroupID)
		w.attachGroup = a.RequirementGroupID
		w.attachAsks++
	}
	return true
}

// drainOrderEvents drops the events still in the channels (before
// continuing as new: a holding run has no use for them).
func (w *numberWorkflow) drainOrderEvents() {
	if w.orderCh == nil {
		return
	}
	for w.takeOrderEvent() {
	}
	for w.takeAttach() {
	}
}

// awaitOrder waits until the order has delivered a usable number.
func (w *numberWorkflow) awaitOrder(ctx workflow.Context, numberID, orderID string) (activities.AwaitResult, error) {
	in := activities.AwaitInput{OrderID: orderID, PhoneNumber: w.req.PhoneNumber}
	awaitCtx := workflow.WithActivityOptions(ctx, activities.AwaitOrderOptions())
	if w.version(ctx, changeOrderEvents) < 1 {
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
// its deadline passes. The deadline is Telnyx's while the order waits on
// documents, never later than documentsMaxWait from the start of the
// wait; once the documents are accepted only documentsMaxWait bounds it.
// A requirement group the team supplies meanwhile is attached to the
// sub-order, and the order looked at at once. A release (the team's
// update, or billing's signal) cancels the order and ends the purchase.
func (w *numberWorkflow) awaitDocuments(ctx workflow.Context, numberID string, in activities.AwaitInput, first activities.AwaitResult) (res activities.AwaitResult, err error) {
	subOrder := first.SubNumberOrderID
	started := workflow.Now(ctx)
	maxDeadline := started.Add(documentsMaxWait)
	deadline := func() time.Time {
		if r := w.state.Number.Requirements; r != nil && r.Deadline != nil && r.Deadline.Before(maxDeadline) {
			return *r.Deadline
		}
		return maxDeadline
	}
	w.enter(phaseAwaitingDocuments)
	defer func() {
		w.enter(phasePurchasing)
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
	// What was seen when the last check began: an event or a group that
	// arrives during a check wakes the wait once more.
	seen, attaches := w.orderEvents, w.attachAsks
	for {
		wait := min(interval, max(deadline().Sub(workflow.Now(ctx)), 0))
		woken, err := workflow.AwaitWithOptions(ctx, workflow.AwaitOptions{Timeout: wait, TimerOptions: workflow.TimerOptions{Summary: "check the order waiting on documents"}},
			func() bool { return w.orderEvents > seen || w.attachAsks > attaches || w.releaseAsked })
		if err != nil {
			return activities.AwaitResult{}, err
		}
		if w.releaseAsked {
			// The team (or billing) gave the purchase up: nothing will be
			// bought, so the order is cancelled and the saga undoes the
			// rest (the undo's release cancels a sub-order this missed).
			workflow.GetLogger(ctx).Info("the purchase waiting on documents was released; cancelling its order", "phone_number", w.req.PhoneNumber,
				"order_id", in.OrderID, "by", w.releaseBy)
			w.cancelSubOrder(ctx, subOrder)
			subOrder = ""
			w.state.Number.Requirements = nil
			return activities.AwaitResult{}, temporalerr.Errorf(domain.CodePurchaseReleased,
				"The purchase of %s was released while it waited on documents; its order was cancelled.", w.req.PhoneNumber)
		}
		if !woken {
			ceiling := documentsPollMax
			if workflow.Now(ctx).Sub(started) >= documentsSlowAfter {
				ceiling = documentsPollSlow
			}
			interval = min(interval*2, ceiling)
		}
		attach := w.attachAsks > attaches
		seen, attaches = w.orderEvents, w.attachAsks
		if attach {
			w.attachRequirementGroup(ctx, subOrder, w.attachGroup)
			interval = documentsPollFirst
		}
		var got activities.AwaitResult
		// The deadline the workflow last saw, while documents are missing:
		// once they were accepted, a cancel is not the deadline's.
		in.Deadline = nil
		if r := w.state.Number.Requirements; r != nil {
			in.Deadline = r.Deadline
		}
		missed := false
		if err := workflow.ExecuteActivity(checkCtx, acts.CheckOrder, in).Get(ctx, &got); err != nil {
			if temporalerr.Final(err) {
				return activities.AwaitResult{}, err // failed or cancelled at Telnyx
			}
			// A check that could not reach Telnyx in time is a missed
			// poll: the next one tries again, and nothing is concluded.
			workflow.GetLogger(ctx).Warn("checking the order waiting on documents failed", "order_id", in.OrderID, "error", err)
			missed = true
		}
		switch {
		case missed:
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
			// Documents accepted, the number being provisioned: Telnyx's
			// deadline no longer applies (documentsMaxWait does), and it
			// completes soon, so look again soon.
			// Only the first such answer restarts the poll: an order
			// that stays approved for days backs off as before.
			if w.state.Number.Requirements != nil {
				w.setRequirements(ctx, numberID, nil)
				interval = provisioningPollFirst
			}
		}
		if !workflow.Now(ctx).Before(deadline()) {
			workflow.GetLogger(ctx).Warn("the regulated order's deadline passed; cancelling it", "phone_number", w.req.PhoneNumber, "order_id", in.OrderID)
			w.cancelSubOrder(ctx, subOrder)
			subOrder = ""
			return activities.AwaitResult{}, temporalerr.New(domain.RequirementsDeadlinePassed(w.req.PhoneNumber), nil)
		}
	}
}

// attachRequirementGroup hands the team's requirement group to the
// waiting sub-order. A refusal is logged and the wait goes on: the team
// can supply another group, and the deadline still ends the wait.
func (w *numberWorkflow) attachRequirementGroup(ctx workflow.Context, subOrder, group string) {
	w.state.RequirementGroupID = group
	if subOrder == "" {
		workflow.GetLogger(ctx).Error("a requirement group arrived for an order that names no sub-order; it cannot be attached", "order_id", w.state.OrderID, "requirement_group_id", group)
		return
	}
	c := workflow.WithActivityOptions(ctx, activities.CheckOrderOptions())
	err := workflow.ExecuteActivity(c, acts.AttachRequirementGroup, activities.AttachGroupInput{SubNumberOrderID: subOrder, RequirementGroupID: group}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Error("attaching the requirement group failed", "sub_number_order_id", subOrder, "requirement_group_id", group, "error", err)
		return
	}
	workflow.GetLogger(ctx).Info("the team's requirement group is attached to the order", "sub_number_order_id", subOrder, "requirement_group_id", group)
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
