package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// ReleaseWorkflowType is the registered name of ReleaseNumberWorkflow. It
// runs under the number's own workflow ID (NumberWorkflowID), so it never
// runs beside a purchase of the number.
const ReleaseWorkflowType = "ReleaseNumberWorkflow"

// ReleaseReasonAPI is the reason of a release the record's team asked
// for (DELETE). Any other reason (another team's purchase, reconciliation)
// undoes a pending record only under CheckUndoPending's strict rules.
const ReleaseReasonAPI = "api"

// ReleaseNumberInput names a number record to release. It carries ids
// only, like every workflow input.
type ReleaseNumberInput struct {
	NumberID    string
	TeamID      string
	PhoneNumber string
	// Reason is recorded in the history ("api", "purchase", "reconcile").
	Reason string
}

// ReleaseNumberWorkflow ends a number record whose PhoneNumberWorkflow no
// longer runs: an operator terminated it, or Temporal's state was lost
// while the database kept the record. It does what that run would have
// done at its end, from the record alone:
//
//   - an active number is released at Telnyx, recorded released (expired,
//     for a trial past its expiry) and its plan slot freed;
//   - a pending one is undone like a failed purchase: released at Telnyx if
//     its order delivered it, recorded failed, and its slot freed with a
//     free team's trial given back. While an order of it is still pending
//     at Telnyx it is left as it is (number_in_purchase), and for any
//     reason but the team's own release also while it is younger than
//     activities.PendingUndoMinAge or Telnyx holds its number;
//   - a record that is no longer live is left as it is: its number may be
//     another team's by now, and is never touched.
//
// The update release (ReleaseRequest, the record's team only) joins it and
// returns the number as it ends; the update purchase is refused
// (number_in_purchase) while it runs; the query state answers like the
// number workflow's.
func ReleaseNumberWorkflow(ctx workflow.Context, in ReleaseNumberInput) (NumberView, error) {
	r := &releaseRun{in: in}
	r.state = NumberState{TeamID: in.TeamID, Number: NumberView{ID: in.NumberID, PhoneNumber: in.PhoneNumber}}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (NumberState, error) { return r.state, nil }); err != nil {
		return NumberView{}, err
	}
	keepDetails(ctx, r.details, releaseDetails.Markdown)
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRelease,
		func(ctx workflow.Context, _ ReleaseRequest) (NumberView, error) {
			if err := workflow.Await(ctx, func() bool { return r.done }); err != nil {
				return NumberView{}, err
			}
			return r.state.Number, r.err
		},
		workflow.UpdateHandlerOptions{Validator: func(req ReleaseRequest) error {
			if req.TeamID != in.TeamID {
				return temporalerr.New(domain.NumberNotHeld(), nil)
			}
			return nil
		}})
	if err != nil {
		return NumberView{}, err
	}
	// A purchase meeting this run (update-with-start joins the open run of
	// the number's ID, whatever its type) is refused before it leaves any
	// history: it may try again once the release is done.
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdatePurchase,
		func(workflow.Context, PurchaseRequest) (PurchaseResult, error) { return PurchaseResult{}, nil },
		workflow.UpdateHandlerOptions{Validator: func(req PurchaseRequest) error {
			return temporalerr.Errorf(domain.CodeNumberInPurchase, "%s is being released right now; try again in a minute.", req.PhoneNumber)
		}})
	if err != nil {
		return NumberView{}, err
	}
	workflow.GetLogger(ctx).Info("releasing a number whose workflow is not running",
		"phone_number", in.PhoneNumber, "number_id", in.NumberID, "team_id", in.TeamID, "reason", in.Reason)
	r.finish(r.run(ctx))
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.state.Number, err
	}
	return r.state.Number, r.err
}

type releaseRun struct {
	in    ReleaseNumberInput
	state NumberState
	done  bool
	err   error
	// ended: this run ended the record (else it found it no longer live).
	ended bool
	// failure is err's code, for the current details; cancelled: err is
	// the workflow's cancellation.
	failure   string
	cancelled bool
}

// finish records how the run ended.
func (r *releaseRun) finish(err error) {
	r.err, r.done, r.failure, r.cancelled = err, true, "", false
	if err != nil {
		r.failure, r.cancelled = temporalerr.Type(err), temporal.IsCanceledError(err)
	}
}

func (r *releaseRun) run(ctx workflow.Context) error {
	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
	providerCtx := workflow.WithActivityOptions(ctx, activities.ProviderOptions())

	var n domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.LoadNumber, activities.LoadNumberInput{TeamID: r.in.TeamID, NumberID: r.in.NumberID}).Get(ctx, &n); err != nil {
		return temporalerr.Answer(err)
	}
	r.state.Number = viewOf(n)
	if !n.Status.Live() {
		return nil
	}
	var key string
	if err := workflow.ExecuteActivity(dbCtx, acts.HeldSlotKey, n).Get(ctx, &key); err != nil {
		return temporalerr.Answer(err)
	}
	r.state.CustomerReference = key

	final, freeSlot := domain.NumberReleased, acts.ReleaseSlot
	if n.Status == domain.NumberPending {
		// Undone only when no order of it is in flight at Telnyx, which
		// could still deliver (and bill) the number after the slot is freed.
		var verdict string
		in := activities.UndoPendingInput{Number: n, Key: key, Strict: r.in.Reason != ReleaseReasonAPI}
		if err := workflow.ExecuteActivity(providerCtx, acts.CheckUndoPending, in).Get(ctx, &verdict); err != nil {
			return temporalerr.Answer(err)
		}
		if verdict != "" {
			r.state.Error = verdict
			return temporalerr.Errorf(domain.CodeNumberInPurchase, "%s is still being bought (%s); release it once its order has settled.", n.PhoneNumber, verdict)
		}
	}
	switch {
	case n.Status == domain.NumberPending:
		final, freeSlot = domain.NumberFailed, acts.CancelSlot
	case n.IsTrial && n.TrialExpiresAt != nil && !workflow.Now(ctx).Before(*n.TrialExpiresAt):
		final = domain.NumberExpired
	}
	// The order of end(): the slot is free only once the number is gone.
	if err := workflow.ExecuteActivity(providerCtx, acts.ReleaseAtProvider, activities.ReleaseInput{PhoneNumber: n.PhoneNumber, ProviderNumberID: n.ProviderNumberID}).Get(ctx, nil); err != nil {
		r.state.Error = temporalerr.Type(err)
		return temporalerr.Answer(err)
	}
	var ended domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.EndNumber, activities.EndInput{NumberID: n.ID, Status: final}).Get(ctx, &ended); err != nil {
		return temporalerr.Answer(err)
	}
	r.state.Number = viewOf(ended)
	r.ended = true
	if key != "" {
		if err := workflow.ExecuteActivity(dbCtx, freeSlot, key).Get(ctx, nil); err != nil {
			return temporalerr.Answer(err)
		}
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		AttrNumberStatus.ValueSet(string(ended.Status)), AttrIsTrial.ValueSet(ended.IsTrial)); err != nil {
		workflow.GetLogger(ctx).Warn("upserting search attributes failed", "error", err)
	}
	return nil
}
