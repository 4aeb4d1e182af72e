package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// The purchase saga of runs of NumberWorkflowTypeV1, started before the
// fast path (number_purchase.go): each step a regular activity, behind the
// workflow.GetVersion changes it had when it ran. It stays unchanged so
// those runs replay as recorded.

// purchase runs the saga: each step that succeeds registers its undo, and
// a failure that retrying cannot fix runs them in reverse.
func (w *numberWorkflow) purchase(ctx workflow.Context) (err error) {
	var undo []func(workflow.Context)
	// orderUndo is the index in undo of giving the number back to the
	// provider, once an order may have been placed.
	orderUndo := -1
	defer func() {
		if err != nil {
			err = w.undoPurchase(ctx, undo, orderUndo, err)
		}
	}()

	dbCtx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())

	var reserved activities.ReserveResult
	if err := workflow.ExecuteActivity(dbCtx, acts.ReserveSlot, activities.ReserveInput{TeamID: w.req.TeamID, Key: w.key, PhoneNumber: w.req.PhoneNumber}).Get(ctx, &reserved); err != nil {
		return err
	}
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.DatabaseOptions()), acts.CancelSlot, w.key).Get(c, nil)
	})
	w.isTrial, w.trialFor = reserved.IsTrial, reserved.TrialDuration
	w.state.Number.IsTrial = reserved.IsTrial

	var numberID string
	if err := workflow.SideEffect(ctx, func(workflow.Context) any { return domain.NewID(domain.PrefixPhoneNumber) }).Get(&numberID); err != nil {
		return err
	}
	var pending domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.CreatePendingNumber, domain.PhoneNumber{
		ID: numberID, TeamID: w.req.TeamID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID,
		IsTrial: reserved.IsTrial, CreatedByUserID: w.req.UserID, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
	}).Get(ctx, &pending); err != nil {
		return err
	}
	w.state.Number.ID = pending.ID
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.DatabaseOptions()), acts.EndNumber, activities.EndInput{NumberID: numberID, Status: domain.NumberFailed, FailureReason: w.state.Error}).Get(c, nil)
	})
	w.upsertSearchAttributes(ctx)

	// From the moment an order may be placed, the number may be ours at the
	// provider: undoing gives it back (a release of a number we do not hold
	// is a no-op), also when the order's own outcome was lost.
	orderUndo = len(undo)
	undo = append(undo, func(c workflow.Context) {
		_ = workflow.ExecuteActivity(workflow.WithActivityOptions(c, activities.ProviderOptions()), acts.ReleaseAtProvider, activities.ReleaseInput{PhoneNumber: w.req.PhoneNumber, ProviderNumberID: w.state.Number.ProviderNumberID, CustomerReference: w.key}).Get(c, nil)
	})
	var order activities.OrderResult
	orderCtx := workflow.WithActivityOptions(ctx, activities.OrderOptions())
	if err := workflow.ExecuteActivity(orderCtx, acts.PlaceOrder, activities.OrderInput{
		NumberID: numberID, PhoneNumber: w.req.PhoneNumber, ConnectionID: w.req.ConnectionID, CustomerReference: w.key,
		RequirementGroupID: w.req.RequirementGroupID,
	}).Get(ctx, &order); err != nil {
		return err
	}
	w.state.OrderID = order.OrderID

	settled, err := w.awaitOrder(ctx, numberID, order.OrderID)
	if err != nil {
		return err
	}
	w.state.Number.ProviderNumberID = settled.ProviderNumberID

	activate := domain.ActivateNumber{ID: numberID, ProviderNumberID: settled.ProviderNumberID, ProviderOrderID: order.OrderID, IsTrial: w.isTrial}
	if w.isTrial {
		expires := workflow.Now(ctx).Add(w.trialFor).UTC().Truncate(time.Second)
		activate.TrialExpiresAt = &expires
	}
	var active domain.PhoneNumber
	if err := workflow.ExecuteActivity(dbCtx, acts.ActivateNumber, activate).Get(ctx, &active); err != nil {
		return err
	}
	w.state.Number = viewOf(active)
	w.upsertSearchAttributes(ctx)

	// The eligibility after the purchase is informative: a failure to read
	// it must not undo a bought number.
	_ = workflow.ExecuteActivity(dbCtx, acts.Eligibility, w.req.TeamID).Get(ctx, &w.elig)
	return nil
}
