package workflows

import (
	"slices"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The billing contract. Billing systems signal a team's billing workflow
// (signal-with-start, so the first event creates it); the signed webhook
// POST /api/billing/webhook sends the same signal for systems that cannot
// speak Temporal.
const (
	// TeamWorkflowType is the registered name of TeamBillingWorkflow.
	TeamWorkflowType = "TeamBillingWorkflow"
	// SignalBillingEvent carries a BillingEvent.
	SignalBillingEvent = "billing-event"
	// QueryBilling returns the BillingState.
	QueryBilling = "billing"

	// Event types.
	EventSubscriptionActivated = "subscription.activated"
	EventSubscriptionUpdated   = "subscription.updated"
	EventSubscriptionCanceled  = "subscription.canceled"

	// Signals the billing workflow sends to a team's number workflows.
	SignalConvertToPaid = "convert-to-paid"
	SignalReleaseNumber = "release-number"

	// continueAfterEvents bounds a run's history: the run starts afresh,
	// carrying its state, after this many events (or sooner, when Temporal
	// suggests it).
	continueAfterEvents = 500
	// rememberEvents is how many recent event ids are kept for dedupe.
	rememberEvents = 1000
	// maxCarriedEvents bounds the events a run hands to the next one
	// unapplied, so the next run's input stays far below Temporal's 2 MB
	// payload limit (an event is at most about 450 bytes). A longer queue
	// is applied in this run first.
	maxCarriedEvents = 500
	// maxRunEvents is the history length past which a run continues as
	// new even though events keep waiting, carrying up to
	// maxCarriedEventsAtCap of them (about 1.4 MB): far below the 51,200
	// events at which Temporal terminates a run.
	maxRunEvents          = 10000
	maxCarriedEventsAtCap = 3000
)

// Versions of changes to TeamBillingWorkflow (workflow.GetVersion). Each is
// read where its decision is taken, not when a run starts: a replay of a
// history recorded before the change finds no marker there and takes the
// old path, while a run that was already running at the deploy records the
// new version at its first such decision and behaves anew from then on
// (the marker is recorded once; later reads return the same version).
const (
	// changeBillingDrain: before continuing as new, the events waiting on
	// the channel are carried into the next run (BillingState.Pending)
	// instead of one being taken off and dropped, and the run also
	// continues as new when Temporal suggests it.
	changeBillingDrain = "billing-drain-before-continue-as-new"
	// changeBillingFutureEvents: an event dated more than
	// domain.BillingEventMaxAhead past workflow.Now is ignored.
	changeBillingFutureEvents = "billing-refuse-future-events"
)

// TeamWorkflowID is the ID of a team's billing workflow.
func TeamWorkflowID(teamID string) string { return "team:" + teamID }

// BillingEvent is one subscription event. ID is the billing system's event
// id (events are applied once each); OccurredAt orders them (an event older
// than the last applied one is ignored, and so is one dated more than
// domain.BillingEventMaxAhead past the workflow's clock).
type BillingEvent struct {
	ID         string
	Type       string
	TeamID     string
	Plan       string // a paid plan for activated and updated; ignored for canceled
	OccurredAt time.Time
}

// BillingState is what QueryBilling returns, and what a new run carries.
type BillingState struct {
	TeamID      string
	Plan        domain.PlanName
	Subscribed  bool
	LastEventAt time.Time
	// GraceEndsAt is set after a cancellation: then the team's paid numbers
	// are released, unless a subscription starts before.
	GraceEndsAt *time.Time
	// RecentEventIDs are the last applied or ignored event ids, oldest first.
	RecentEventIDs []string
	Applied        int
	Ignored        int
	// Pending are events received but not applied yet, oldest first: those
	// a run took off its channel before continuing as new, which the next
	// run applies before any other.
	Pending []BillingEvent `json:",omitempty"`
	// ContinueAfterEvents overrides continueAfterEvents when positive. It
	// is carried from run to run, so every replay of a run sees the value it
	// ran with; tests lower it to cross a continue-as-new quickly.
	ContinueAfterEvents int `json:",omitempty"`
}

// TeamBillingWorkflow applies a team's subscription events in order, once
// each: the plan changes; an activation turns the team's trial number into
// a paid one; a cancellation returns the team to free and, after the grace
// period, releases the numbers it holds.
func TeamBillingWorkflow(ctx workflow.Context, st BillingState) error {
	if err := workflow.SetQueryHandler(ctx, QueryBilling, func() (BillingState, error) { return st, nil }); err != nil {
		return err
	}
	events := workflow.GetSignalChannel(ctx, SignalBillingEvent)
	keepDetails(ctx, func() billingDetails { return billingDetailsOf(&st, len(st.Pending)+events.Len()) }, billingDetails.Markdown)
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	limit := continueAfterEvents
	if st.ContinueAfterEvents > 0 {
		limit = st.ContinueAfterEvents
	}
	handled := 0
	for {
		var ev BillingEvent
		gotEvent := false
		if len(st.Pending) > 0 {
			// Carried from the previous run, or taken off the channel when
			// the carry was full: they were received before anything the
			// channel holds. A grace period that ended meanwhile ends
			// first, as it would have had the run not continued as new.
			if st.GraceEndsAt == nil || workflow.Now(ctx).Before(*st.GraceEndsAt) {
				ev, st.Pending, gotEvent = st.Pending[0], st.Pending[1:], true
			}
		} else {
			var graceTimer workflow.Future
			timerCtx, cancelTimer := workflow.WithCancel(ctx)
			if st.GraceEndsAt != nil {
				graceTimer = workflow.NewTimer(timerCtx, max(st.GraceEndsAt.Sub(workflow.Now(ctx)), 0))
			}
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(events, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &ev); gotEvent = true })
			if graceTimer != nil {
				sel.AddFuture(graceTimer, func(workflow.Future) {})
			}
			sel.Select(ctx)
			cancelTimer()
		}

		if !gotEvent {
			workflow.GetLogger(ctx).Info("grace period over: releasing the team's paid numbers", "team_id", st.TeamID)
			st.GraceEndsAt = nil
			signalNumbers(ctx, dbCtx, st.TeamID, SignalReleaseNumber, func(n activities.TeamNumber) bool { return true })
			continue
		}
		applyEvent(ctx, dbCtx, &st, ev)
		handled++
		info := workflow.GetInfo(ctx)
		if handled < limit && !info.GetContinueAsNewSuggested() {
			continue
		}
		if workflow.GetVersion(ctx, changeBillingDrain, workflow.DefaultVersion, 1) < 1 {
			// Before changeBillingDrain: this drops the waiting event it
			// takes off the channel. Kept only for the histories recorded
			// before it, which must replay as they ran.
			if handled >= limit && !events.ReceiveAsync(nil) {
				return workflow.NewContinueAsNewError(ctx, TeamBillingWorkflow, st)
			}
			continue
		}
		carry := maxCarriedEvents
		if info.GetCurrentHistoryLength() >= maxRunEvents {
			// Events arriving at least as fast as they are applied would
			// refill the carry at every decision and keep the run from
			// ever continuing: past this size it carries all it can.
			carry = maxCarriedEventsAtCap
		}
		if carryWaiting(events, &st, carry) {
			// Nothing is left on the channel. A signal that reaches the
			// server while this task completes makes the server refuse the
			// completion and send a new task with it, so none is lost.
			return workflow.NewContinueAsNewError(ctx, TeamBillingWorkflow, st)
		}
	}
}

// carryWaiting moves the events waiting on the channel to st.Pending, for
// the next run to apply, and reports whether the channel is now empty. It
// stops at limit events carried: the run applies what it holds and asks
// again.
func carryWaiting(events workflow.ReceiveChannel, st *BillingState, limit int) bool {
	for len(st.Pending) < limit {
		var ev BillingEvent
		if !events.ReceiveAsync(&ev) {
			return true
		}
		st.Pending = append(st.Pending, ev)
	}
	return false
}

func applyEvent(ctx workflow.Context, dbCtx workflow.Context, st *BillingState, ev BillingEvent) {
	log := workflow.GetLogger(ctx)
	if slices.Contains(st.RecentEventIDs, ev.ID) {
		log.Info("billing event already applied", "event_id", ev.ID)
		return
	}
	if domain.BillingEventTooFarAhead(ev.OccurredAt, workflow.Now(ctx)) &&
		workflow.GetVersion(ctx, changeBillingFutureEvents, workflow.DefaultVersion, 1) >= 1 {
		// Its id is not remembered: the same event sent again with a true
		// date is applied.
		st.Ignored++
		log.Warn("billing event dated in the future: ignored", "event_id", ev.ID, "occurred_at", ev.OccurredAt, "now", workflow.Now(ctx), "max_ahead", domain.BillingEventMaxAhead)
		return
	}
	st.RecentEventIDs = append(st.RecentEventIDs, ev.ID)
	if len(st.RecentEventIDs) > rememberEvents {
		st.RecentEventIDs = st.RecentEventIDs[len(st.RecentEventIDs)-rememberEvents:]
	}
	if ev.OccurredAt.Before(st.LastEventAt) {
		st.Ignored++
		log.Warn("billing event older than the last applied one: ignored", "event_id", ev.ID, "occurred_at", ev.OccurredAt, "last_event_at", st.LastEventAt)
		return
	}

	var plan domain.PlanName
	switch ev.Type {
	case EventSubscriptionActivated, EventSubscriptionUpdated:
		p, err := domain.ParsePlanName(ev.Plan)
		if err != nil || p == domain.PlanFree {
			st.Ignored++
			log.Error("billing event names no paid plan: ignored", "event_id", ev.ID, "plan", ev.Plan)
			return
		}
		plan = p
	case EventSubscriptionCanceled:
		plan = domain.PlanFree
	default:
		st.Ignored++
		log.Error("unknown billing event type: ignored", "event_id", ev.ID, "type", ev.Type)
		return
	}

	var res activities.ApplyPlanResult
	if err := workflow.ExecuteActivity(dbCtx, acts.ApplyPlan, activities.ApplyPlanInput{TeamID: st.TeamID, Plan: plan}).Get(ctx, &res); err != nil {
		// Only a team that no longer exists gets here (everything else is
		// retried): nothing to apply.
		st.Ignored++
		log.Error("applying the plan failed", "event_id", ev.ID, "error", err)
		return
	}
	st.LastEventAt, st.Plan, st.Applied = ev.OccurredAt, plan, st.Applied+1
	if plan == domain.PlanFree {
		st.Subscribed = false
		ends := workflow.Now(ctx).Add(res.GracePeriod).UTC()
		st.GraceEndsAt = &ends
		return
	}
	st.Subscribed, st.GraceEndsAt = true, nil
	signalNumbers(ctx, dbCtx, st.TeamID, SignalConvertToPaid, func(n activities.TeamNumber) bool { return n.IsTrial })
}

// signalNumbers signals the number workflows of the team's live numbers
// that match.
func signalNumbers(ctx, dbCtx workflow.Context, teamID, signal string, match func(activities.TeamNumber) bool) {
	var numbers []activities.TeamNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.TeamNumbers, teamID).Get(ctx, &numbers); err != nil {
		workflow.GetLogger(ctx).Error("listing the team's numbers failed", "team_id", teamID, "error", err)
		return
	}
	for _, n := range numbers {
		if !match(n) {
			continue
		}
		err := workflow.SignalExternalWorkflow(ctx, NumberWorkflowID(n.PhoneNumber), "", signal, teamID).Get(ctx, nil)
		if err != nil {
			// The number's workflow ended meanwhile (released, expired).
			workflow.GetLogger(ctx).Warn("signalling a number workflow failed", "phone_number", n.PhoneNumber, "signal", signal, "error", err)
		}
	}
}
