package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
)

// Activities are the activities of the number workflow, bound to the
// adapters they use. The worker registers one value of it.
type Activities struct {
	Slots    domain.SlotStore
	Numbers  domain.PhoneNumberStore
	Accounts domain.AccountStore
	Provider domain.NumberProvider
	// Workflows asks Temporal about number workflows (reconciliation of
	// unwatched records); nil finds none.
	Workflows NumberWorkflows
	// TrialDuration is how long a free team's number is held (TRIAL_DURATION).
	TrialDuration time.Duration
	// OrderPollInterval is how often a pending order is looked at.
	OrderPollInterval time.Duration
	// GracePeriod is how long a team whose subscription ended keeps its
	// paid numbers (BILLING_GRACE_PERIOD).
	GracePeriod time.Duration
}

// ReserveInput asks for one plan slot.
type ReserveInput struct {
	TeamID      string
	Key         string // unique to the purchase: workflow ID and run ID
	PhoneNumber string
}

// ReserveResult says whether the number will be a trial, and for how long.
type ReserveResult struct {
	IsTrial       bool
	TrialDuration time.Duration
}

// ReserveSlot takes a plan slot for the purchase. A team at its limit gets
// a non-retryable plan_limit_reached error carrying its eligibility.
func (a *Activities) ReserveSlot(ctx context.Context, in ReserveInput) (ReserveResult, error) {
	r, err := a.Slots.Reserve(ctx, in.TeamID, in.Key, in.PhoneNumber)
	if err != nil {
		return ReserveResult{}, temporalError(err)
	}
	res := ReserveResult{IsTrial: r.IsTrial}
	if r.IsTrial {
		res.TrialDuration = a.TrialDuration
	}
	return res, nil
}

// ReleaseSlot frees the purchase's plan slot; it is safe to call twice.
func (a *Activities) ReleaseSlot(ctx context.Context, key string) error {
	return temporalError(a.Slots.Release(ctx, key))
}

// CancelSlot frees the slot of a purchase that was undone; a free team
// gets its trial back, since it never had its number.
func (a *Activities) CancelSlot(ctx context.Context, key string) error {
	return temporalError(a.Slots.Cancel(ctx, key))
}

// CreatePendingNumber records the number as pending for the team.
func (a *Activities) CreatePendingNumber(ctx context.Context, n domain.PhoneNumber) (domain.PhoneNumber, error) {
	n.Status = domain.NumberPending
	n.Provider = domain.ProviderName
	out, err := a.Numbers.CreatePending(ctx, n)
	return out, temporalError(err)
}

// OrderInput asks the provider for one number.
type OrderInput struct {
	NumberID          string
	PhoneNumber       string
	ConnectionID      string
	CustomerReference string
}

// OrderResult is the order placed (or found) for a purchase.
type OrderResult struct {
	OrderID string
	Status  domain.OrderStatus
}

// PlaceOrder orders the number at the provider, exactly once per purchase:
// it first looks for an order already placed with the purchase's customer
// reference (the worker may have died between placing it and recording
// it), and places one only when there is none. A number the provider no
// longer has is a non-retryable number_unavailable.
func (a *Activities) PlaceOrder(ctx context.Context, in OrderInput) (OrderResult, error) {
	defer keepAlive(ctx)()
	existing, err := a.Provider.FindOrdersByCustomerReference(ctx, in.CustomerReference)
	if err != nil {
		return OrderResult{}, temporalError(err)
	}
	var order domain.Order
	if len(existing) > 0 {
		order = existing[0]
		if activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Info("found the order placed by an earlier attempt", "order_id", order.ID)
		}
	} else {
		order, err = a.Provider.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: in.PhoneNumber, ConnectionID: in.ConnectionID, CustomerReference: in.CustomerReference})
		if err != nil {
			var pe *domain.ProviderError
			if errors.As(err, &pe) && !pe.Retryable() {
				switch {
				case strings.Contains(pe.Pointer, "connection_id"):
					return OrderResult{}, temporal.NewNonRetryableApplicationError("The provider refused connectionId: check it names one of your connections.", domain.CodeInvalidRequest, err)
				case pe.HTTPStatus == 422 || pe.HTTPStatus == 409:
					// Telnyx answers 422 for a number it no longer has.
					return OrderResult{}, numberUnavailable(in.PhoneNumber, err)
				case pe.HTTPStatus == 401 || pe.HTTPStatus == 403:
					// Our credentials: an operator fixes them, then the
					// retry goes through.
					return OrderResult{}, err
				}
			}
			return OrderResult{}, temporalError(err)
		}
	}
	if err := a.Numbers.SetProviderOrder(ctx, in.NumberID, order.ID); err != nil {
		return OrderResult{}, temporalError(err)
	}
	return OrderResult{OrderID: order.ID, Status: order.Status}, nil
}

// AwaitInput names the order to wait for.
type AwaitInput struct {
	OrderID     string
	PhoneNumber string
}

// AwaitResult is a settled order: the provider's id of the held number.
type AwaitResult struct {
	ProviderNumberID string
}

// AwaitOrder waits, heartbeating, until the order settles. Orders take
// from milliseconds to minutes; the activity's heartbeat lets a new worker
// take over from a dead one. A failed order is a non-retryable
// number_unavailable.
func (a *Activities) AwaitOrder(ctx context.Context, in AwaitInput) (AwaitResult, error) {
	defer keepAlive(ctx)()
	// Most orders settle in well under a second: look again soon, then
	// back off to OrderPollInterval for the slow (regulated) ones.
	maxInterval := a.OrderPollInterval
	if maxInterval <= 0 {
		maxInterval = 2 * time.Second
	}
	interval := min(50*time.Millisecond, maxInterval)
	for {
		order, err := a.Provider.GetOrder(ctx, in.OrderID)
		if err != nil {
			return AwaitResult{}, temporalError(err)
		}
		status := orderStatusFor(order, in.PhoneNumber)
		switch status {
		case domain.OrderSuccess:
			id, err := a.ownedNumberID(ctx, in.PhoneNumber)
			if err != nil {
				return AwaitResult{}, err
			}
			return AwaitResult{ProviderNumberID: id}, nil
		case domain.OrderFailure:
			return AwaitResult{}, numberUnavailable(in.PhoneNumber, fmt.Errorf("order %s failed", in.OrderID))
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, string(status))
		}
		select {
		case <-ctx.Done():
			return AwaitResult{}, ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*2, maxInterval)
	}
}

// ownedNumberID finds the provider's id of a held number, which release
// needs (it differs from the id of the number inside the order).
func (a *Activities) ownedNumberID(ctx context.Context, e164 string) (string, error) {
	owned, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: e164, PageSize: 10})
	if err != nil {
		return "", temporalError(err)
	}
	for _, n := range owned {
		if n.PhoneNumber == e164 && n.Status.Held() {
			return n.ID, nil
		}
	}
	// The order succeeded, so the number shows up soon: retry.
	return "", fmt.Errorf("number %s is not yet listed as owned", e164)
}

// ActivateNumber marks the number active once the order succeeded.
func (a *Activities) ActivateNumber(ctx context.Context, in domain.ActivateNumber) (domain.PhoneNumber, error) {
	n, err := a.Numbers.Activate(ctx, in)
	return n, temporalError(err)
}

// EndInput moves a number to a final status.
type EndInput struct {
	NumberID string
	Status   domain.NumberStatus
}

// EndNumber records that the team no longer holds the number.
func (a *Activities) EndNumber(ctx context.Context, in EndInput) (domain.PhoneNumber, error) {
	n, err := a.Numbers.End(ctx, in.NumberID, in.Status)
	return n, temporalError(err)
}

// ConvertTrial makes the number a paid one.
func (a *Activities) ConvertTrial(ctx context.Context, numberID string) (domain.PhoneNumber, error) {
	n, err := a.Numbers.ConvertTrial(ctx, numberID)
	return n, temporalError(err)
}

// ReleaseInput names the number to release at the provider.
type ReleaseInput struct {
	PhoneNumber      string
	ProviderNumberID string
}

// ReleaseAtProvider gives the number back to the provider. It is
// idempotent: a number the provider no longer holds for us is released
// already. A deletion lock is non-retryable: an operator must lift it.
func (a *Activities) ReleaseAtProvider(ctx context.Context, in ReleaseInput) error {
	defer keepAlive(ctx)()
	id := in.ProviderNumberID
	if id == "" {
		owned, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: in.PhoneNumber, PageSize: 10})
		if err != nil {
			return temporalError(err)
		}
		for _, n := range owned {
			if n.PhoneNumber == in.PhoneNumber && n.Status.Held() {
				id = n.ID
			}
		}
		if id == "" {
			return nil
		}
	}
	err := a.Provider.ReleaseNumber(ctx, id)
	var pe *domain.ProviderError
	if errors.As(err, &pe) && !pe.Retryable() && pe.HTTPStatus == 422 {
		// Telnyx refuses with 422 while deletion_lock_enabled is set.
		return temporal.NewNonRetryableApplicationError("The provider refused to release the number (deletion lock); an operator must lift the lock.", ErrTypeDeletionLocked, err)
	}
	// Anything else (our credentials, an outage) is retried until fixed.
	return err
}

// Eligibility reads the team's eligibility.
func (a *Activities) Eligibility(ctx context.Context, teamID string) (domain.Eligibility, error) {
	e, err := a.Accounts.Eligibility(ctx, teamID)
	return e, temporalError(err)
}

func numberUnavailable(e164 string, cause error) error {
	return temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("The number %s is no longer available at the provider; search again and pick another.", e164),
		domain.CodeNumberUnavailable, cause)
}

// ApplyPlanInput moves a team to a plan.
type ApplyPlanInput struct {
	TeamID string
	Plan   domain.PlanName
}

// ApplyPlanResult carries the configuration the billing workflow needs.
type ApplyPlanResult struct {
	GracePeriod time.Duration
}

// ApplyPlan records the team's plan, which eligibility reads from then on.
func (a *Activities) ApplyPlan(ctx context.Context, in ApplyPlanInput) (ApplyPlanResult, error) {
	if err := a.Accounts.SetPlan(ctx, in.TeamID, in.Plan); err != nil {
		return ApplyPlanResult{}, temporalError(err)
	}
	return ApplyPlanResult{GracePeriod: a.GracePeriod}, nil
}

// TeamNumber is one live number of a team.
type TeamNumber struct {
	ID          string
	PhoneNumber string
	IsTrial     bool
}

// TeamNumbers lists the team's pending and active numbers.
func (a *Activities) TeamNumbers(ctx context.Context, teamID string) ([]TeamNumber, error) {
	page, err := a.Numbers.List(ctx, domain.NumberListQuery{TeamID: teamID})
	if err != nil {
		return nil, temporalError(err)
	}
	out := make([]TeamNumber, 0, len(page.Items))
	for _, n := range page.Items {
		out = append(out, TeamNumber{ID: n.ID, PhoneNumber: n.PhoneNumber.PhoneNumber, IsTrial: n.IsTrial})
	}
	return out, nil
}
