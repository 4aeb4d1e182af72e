package direct

import (
	"context"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// KeyPrefix starts the slot key, workflow id and Telnyx customer reference
// of a direct purchase, so its rows and orders are told apart from a
// workflow's.
const KeyPrefix = "direct:"

// MaxAttempts bounds the attempts of one step. Temporal retries without
// limit; a baseline waiting forever on a dead dependency would measure
// nothing.
const MaxAttempts = 8

// Purchase buys e164 for the team on behalf of the user, doing what the
// purchase part of PhoneNumberWorkflow does in the same order: reserve a
// plan slot and record the number pending (one transaction), order it,
// wait for the order (briefly, then durably), activate the number and
// read the team's eligibility (one transaction). A step that fails
// with a retryable error is tried again with its activity's retry policy
// (the activities are idempotent, as Temporal's retries need), at most
// MaxAttempts times. It returns the active number. A failure stops it
// where it is: nothing is undone.
func Purchase(ctx context.Context, a *activities.Activities, teamID, userID, e164 string) (domain.PhoneNumber, error) {
	key := KeyPrefix + e164
	db := activities.DatabaseOptions().RetryPolicy
	provider := activities.ProviderOptions().RetryPolicy
	await := activities.AwaitOrderOptions().RetryPolicy

	begun, err := retry(ctx, db, func() (activities.BeginResult, error) {
		return a.BeginPurchase(ctx, activities.BeginInput{Key: key, Number: domain.PhoneNumber{
			ID: domain.IDFor(domain.PrefixPhoneNumber, time.Now(), key), TeamID: teamID, PhoneNumber: e164, CreatedByUserID: userID, WorkflowID: key,
		}})
	})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	n := begun.Number
	order, err := retry(ctx, provider, func() (activities.OrderResult, error) {
		return a.PlaceOrder(ctx, activities.OrderInput{NumberID: n.ID, PhoneNumber: e164, CustomerReference: key})
	})
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	// The workflow's wait: in the task first (WaitForOrder), then the
	// durable one for an order still pending.
	in := activities.AwaitInput{OrderID: order.OrderID, PhoneNumber: e164}
	settled, err := a.WaitForOrder(ctx, activities.WaitInput{AwaitInput: in, For: activities.OrderWaitInTask})
	if (err == nil && settled.ProviderNumberID == "") || (err != nil && temporalerr.Retryable(err, await)) {
		settled, err = retry(ctx, await, func() (activities.AwaitResult, error) { return a.AwaitOrder(ctx, in) })
	}
	if err != nil {
		return domain.PhoneNumber{}, err
	}
	activate := domain.ActivateNumber{ID: n.ID, ProviderNumberID: settled.ProviderNumberID, ProviderOrderID: order.OrderID, IsTrial: begun.IsTrial}
	if begun.IsTrial {
		expires := time.Now().Add(begun.TrialDuration).UTC().Truncate(time.Second)
		activate.TrialExpiresAt = &expires
	}
	done, err := retry(ctx, db, func() (activities.CompleteResult, error) {
		return a.CompletePurchase(ctx, activities.CompleteInput{TeamID: teamID, Activate: activate})
	})
	return done.Number, err
}

// retry runs step until it succeeds, fails in a way policy does not
// retry, has been tried MaxAttempts times, or ctx ends, waiting between
// tries as policy's back-off says.
func retry[T any](ctx context.Context, policy *temporal.RetryPolicy, step func() (T, error)) (T, error) {
	wait := policy.InitialInterval
	for attempt := 1; ; attempt++ {
		out, err := step()
		if err == nil || attempt == MaxAttempts || ctx.Err() != nil || !temporalerr.Retryable(err, policy) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, err
		case <-time.After(wait):
		}
		wait = min(time.Duration(float64(wait)*policy.BackoffCoefficient), policy.MaximumInterval)
	}
}
