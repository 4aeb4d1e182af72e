package activities

import (
	"context"
	"time"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The purchase's fast path: the number workflow (type
// PhoneNumberWorkflowV2) runs these as local activities inside the
// workflow task that received the purchase, so that a purchase whose
// order settles within seconds is answered from that one task. Each is
// idempotent by the purchase's key and the number's id: a local activity
// runs again from the start when the worker running it dies.

// BeginInput starts a purchase: one plan slot for the purchase named Key,
// and the pending record Number (its ID made by the workflow, domain.IDFor).
type BeginInput struct {
	Key    string
	Number domain.PhoneNumber
}

// BeginResult is the pending record and whether it is a trial, and for
// how long.
type BeginResult struct {
	Number        domain.PhoneNumber
	IsTrial       bool
	TrialDuration time.Duration
}

// BeginPurchase reserves the plan slot and records the number as pending,
// in one transaction (ReserveSlot and CreatePendingNumber at once). A team
// at its limit gets plan_limit_reached with its eligibility; a number
// another purchase holds, number_in_purchase; neither leaves a slot taken.
func (a *Activities) BeginPurchase(ctx context.Context, in BeginInput) (BeginResult, error) {
	n := in.Number
	n.Status = domain.NumberPending
	n.Provider = domain.ProviderName
	r, rec, err := a.Purchases.Begin(ctx, in.Key, n)
	if err != nil {
		return BeginResult{}, temporalerr.ActivityError(err)
	}
	res := BeginResult{Number: rec, IsTrial: r.IsTrial}
	if r.IsTrial {
		res.TrialDuration = a.TrialDuration
	}
	return res, nil
}

// CompleteInput activates the purchase's number.
type CompleteInput struct {
	TeamID   string
	Activate domain.ActivateNumber
}

// CompleteResult is the active record and the team's eligibility after it.
type CompleteResult struct {
	Number      domain.PhoneNumber
	Eligibility domain.Eligibility
}

// CompletePurchase marks the number active and reads the team's
// eligibility, in one transaction (ActivateNumber and Eligibility at once).
func (a *Activities) CompletePurchase(ctx context.Context, in CompleteInput) (CompleteResult, error) {
	n, e, err := a.Purchases.Complete(ctx, in.Activate, in.TeamID)
	if err != nil {
		return CompleteResult{}, temporalerr.ActivityError(err)
	}
	return CompleteResult{Number: n, Eligibility: e}, nil
}

// WaitInput is an order to wait for briefly.
type WaitInput struct {
	AwaitInput
	// For bounds the wait: past it the order is reported pending and the
	// workflow waits durably (AwaitOrder).
	For time.Duration
}

// WaitForOrder looks at the order at once and then whenever Telnyx's
// webhook says it changed (OrderEvents), polling meanwhile in case no
// webhook comes: every FastPollEvery for the first fastPollFor, then
// doubling to a second. It returns when the order has settled, when it waits on
// documents, or, still pending, once in.For has passed. A failed or
// cancelled order is the non-retryable error CheckOrder gives.
func (a *Activities) WaitForOrder(ctx context.Context, in WaitInput) (AwaitResult, error) {
	in.ReturnOnDocuments = true
	var events <-chan struct{}
	if a.OrderEvents != nil {
		ch, stop := a.OrderEvents.Subscribe(in.OrderID)
		defer stop()
		events = ch
	}
	deadline := time.Now().Add(in.For)
	interval := a.FastPollEvery
	if interval <= 0 {
		interval = DefaultFastPollEvery
	}
	polledFor := time.Duration(0)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		res, err := a.checkOrder(ctx, in.AwaitInput)
		if err != nil || !res.Pending || res.Requirements != nil {
			return res, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return res, nil
		}
		wait := min(interval, left)
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return AwaitResult{}, ctx.Err()
		case <-events:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
			polledFor += wait
			if polledFor >= fastPollFor {
				interval = max(interval, min(interval*2, time.Second))
			}
		}
	}
}

// The fallback poll of WaitForOrder, for an order whose webhook does not
// come (none configured, or lost): most orders settle within a second, so
// it looks every DefaultFastPollEvery for the first fastPollFor (an order
// settled is seen at most that late), then backs off to a second.
const (
	DefaultFastPollEvery = 50 * time.Millisecond
	fastPollFor          = time.Second
)
