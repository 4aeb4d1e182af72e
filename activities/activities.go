package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// Activities are the activities of the number workflow, bound to the
// adapters they use. The worker registers one value of it.
type Activities struct {
	Slots    domain.SlotStore
	Numbers  domain.PhoneNumberStore
	Accounts domain.AccountStore
	Provider domain.NumberProvider
	// Purchases takes the fast path's database steps (PurchaseStore).
	Purchases domain.PurchaseStore
	// OrderEvents wakes the order waits when Telnyx's webhook announces a
	// change (nil: they poll only).
	OrderEvents domain.OrderEvents
	// Workflows asks Temporal about number workflows (reconciliation of
	// unwatched records); nil finds none.
	Workflows NumberWorkflows
	// TrialDuration is how long a free team's number is held (TRIAL_DURATION).
	TrialDuration time.Duration
	// OrderPollInterval is how often, at most, a pending order is looked
	// at; 0 means DefaultOrderPollInterval (tests shorten it).
	OrderPollInterval time.Duration
	// FastPollEvery is WaitForOrder's fallback poll for its first second;
	// 0 means DefaultFastPollEvery (tests lengthen it to show that a
	// webhook, not the poll, ended a wait).
	FastPollEvery time.Duration
	// DocumentsPollInterval is how often AwaitOrder looks at an order
	// that waits on documents, for runs from before the change
	// "order-events" (which poll until the order settles); 0 means
	// DefaultDocumentsPollInterval.
	DocumentsPollInterval time.Duration
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
		return ReserveResult{}, temporalerr.ActivityError(err)
	}
	res := ReserveResult{IsTrial: r.IsTrial}
	if r.IsTrial {
		res.TrialDuration = a.TrialDuration
	}
	return res, nil
}

// ReleaseSlot frees the purchase's plan slot; it is safe to call twice.
func (a *Activities) ReleaseSlot(ctx context.Context, key string) error {
	return temporalerr.ActivityError(a.Slots.Release(ctx, key))
}

// CancelSlot frees the slot of a purchase that was undone; a free team
// gets its trial back, since it never had its number.
func (a *Activities) CancelSlot(ctx context.Context, key string) error {
	return temporalerr.ActivityError(a.Slots.Cancel(ctx, key))
}

// CreatePendingNumber records the number as pending for the team.
func (a *Activities) CreatePendingNumber(ctx context.Context, n domain.PhoneNumber) (domain.PhoneNumber, error) {
	n.Status = domain.NumberPending
	n.Provider = domain.ProviderName
	out, err := a.Numbers.CreatePending(ctx, n)
	return out, temporalerr.ActivityError(err)
}

// OrderInput asks the provider for one number.
type OrderInput struct {
	NumberID          string
	PhoneNumber       string
	ConnectionID      string
	CustomerReference string
	// RequirementGroupID is the team's documents for a regulated number.
	RequirementGroupID string `json:",omitempty"`
	// Retried: an earlier try of this order may have been placed (a local
	// activity that gave up): a refusal is then looked into as at a
	// retried attempt.
	Retried bool `json:",omitempty"`
}

// OrderResult is the order placed (or found) for a purchase.
type OrderResult struct {
	OrderID string
	Status  domain.OrderStatus
}

// PlaceOrder orders the number at the provider, exactly once per purchase:
// unless the record shows no earlier attempt got as far as ordering
// (MarkOrderAttempt), it first looks for an order already placed with the
// purchase's customer reference (the worker may have died between placing
// it and recording it), and places one only when there is none. A number the provider no
// longer has is a non-retryable number_unavailable.
func (a *Activities) PlaceOrder(ctx context.Context, in OrderInput) (OrderResult, error) {
	// refused counts the earlier attempts whose order Telnyx refused while
	// nothing of ours was found: carried in the heartbeat, it survives the
	// death of the worker that saw it.
	var refused atomic.Int32
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		var n int32
		if activity.GetHeartbeatDetails(ctx, &n) == nil {
			refused.Store(n)
		}
	}
	defer keepAliveWith(ctx, func() any { return refused.Load() })()
	// The record says whether an earlier attempt got as far as ordering:
	// when none did, there is no order to look for (a round trip to
	// Telnyx saved on nearly every purchase).
	retried := attempt(ctx) > 1 || in.Retried
	var err error
	first := false
	if in.NumberID != "" {
		if first, err = a.Numbers.MarkOrderAttempt(ctx, in.NumberID); err != nil {
			return OrderResult{}, temporalerr.ActivityError(err)
		}
		retried = retried || !first
	}
	var existing []domain.Order
	if retried || !first {
		existing, err = a.Provider.FindOrdersByCustomerReference(ctx, in.CustomerReference)
		if err != nil {
			return OrderResult{}, temporalerr.ActivityError(err)
		}
	}
	var order domain.Order
	if len(existing) > 0 {
		order = existing[0]
		if activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Info("found the order placed by an earlier attempt", "order_id", order.ID)
		}
	} else {
		order, err = a.Provider.CreateOrder(ctx, domain.OrderRequest{
			PhoneNumber: in.PhoneNumber, ConnectionID: in.ConnectionID, CustomerReference: in.CustomerReference,
			RequirementGroupID: in.RequirementGroupID,
		})
		if err != nil {
			var pe *domain.ProviderError
			if !errors.As(err, &pe) || pe.Retryable() {
				return OrderResult{}, temporalerr.ActivityError(err)
			}
			if retried && pe.HTTPStatus != 401 && pe.HTTPStatus != 403 {
				// An earlier attempt may have placed the order (its answer
				// was lost) and holds the number: the refusal is then about
				// our own order. Telnyx lists an order a moment after
				// placing it, so look again before concluding: here, and
				// at each of the next attempts, which the retry policy
				// spaces out (durably: a worker dying between looks costs
				// nothing, where a wait inside one attempt would start
				// over with each new worker).
				found, heldOurs, ferr := a.findEarlierOrder(ctx, in)
				if ferr != nil {
					return OrderResult{}, ferr
				}
				if found != nil {
					order = *found
					return a.recordOrder(ctx, in, order)
				}
				// A number the account holds (with no reference, or ours)
				// may be our order not listed yet: it is given longer.
				looks := int32(refusedOrderLooks)
				if heldOurs {
					looks = refusedHeldLooks
				}
				if activity.IsActivity(ctx) && activity.GetInfo(ctx).IsLocalActivity {
					// The looks are counted in heartbeats: only a regular
					// activity has them.
					return OrderResult{}, temporalerr.RetryAsActivity(fmt.Sprintf("the provider refused the retried order of %s (%v) and no earlier order of this purchase is listed yet: looking again as an activity", in.PhoneNumber, pe))
				}
				if n := refused.Add(1); n < looks {
					activity.RecordHeartbeat(ctx, n)
					return OrderResult{}, fmt.Errorf("the provider refused the retried order of %s (%w) and no earlier order of this purchase is listed yet (the number held by the account: %v): looking again (%d of %d)", in.PhoneNumber, pe, heldOurs, n, looks)
				}
			}
			return OrderResult{}, refusedOrder(in, pe)
		}
	}
	return a.recordOrder(ctx, in, order)
}

func (a *Activities) recordOrder(ctx context.Context, in OrderInput, order domain.Order) (OrderResult, error) {
	if err := a.Numbers.SetProviderOrder(ctx, in.NumberID, order.ID); err != nil {
		return OrderResult{}, temporalerr.ActivityError(err)
	}
	return OrderResult{OrderID: order.ID, Status: order.Status}, nil
}

// refusedOrder says what a 4xx answer to an order means, by its HTTP
// status and the field it points at, never by the provider's own codes
// (Telnyx documents none for these cases).
func refusedOrder(in OrderInput, pe *domain.ProviderError) error {
	switch {
	case strings.Contains(pe.Pointer, "connection_id"):
		return temporalerr.New(domain.Errorf(domain.KindInvalid, domain.CodeInvalidRequest, "The provider refused connectionId: check it names one of your connections."), pe)
	case strings.Contains(pe.Pointer, "requirement_group"):
		return temporalerr.New(domain.Errorf(domain.KindInvalid, domain.CodeInvalidRequest, "The provider refused the order's requirement group: this number needs a fulfilled requirementGroupId."), pe)
	case pe.HTTPStatus == 422 || pe.HTTPStatus == 409:
		// Telnyx answers 422 for a number it no longer has.
		return numberUnavailable(in.PhoneNumber, pe)
	case pe.HTTPStatus == 401 || pe.HTTPStatus == 403:
		// Our credentials: an operator fixes them, then the retry goes
		// through.
		return pe
	}
	return temporalerr.ActivityError(pe)
}

// refusedOrderLooks is how many attempts, spaced by the retry policy's
// back-off (OrderOptions: 2 s, 4 s, …), look for an earlier order after Telnyx refused a
// retried one, before the purchase concludes the number is unavailable.
const refusedOrderLooks = 3

// refusedHeldLooks is refusedOrderLooks when the account holds the number
// (with no reference, or ours) but lists no order of the purchase: over a
// minute of OrderOptions' back-off, far longer than Telnyx takes to list
// an order, after which the number is not this purchase's.
const refusedHeldLooks = 9

// findEarlierOrder looks once for what an earlier attempt may have placed:
// the purchase's order by customer reference, else the number among the
// account's. Telnyx need not copy the order's reference onto the number
// (it may be null there), so a held number with no reference or ours is
// an order not listed yet (retry); one held under another reference is
// someone else's purchase.
func (a *Activities) findEarlierOrder(ctx context.Context, in OrderInput) (order *domain.Order, heldOurs bool, err error) {
	orders, err := a.Provider.FindOrdersByCustomerReference(ctx, in.CustomerReference)
	if err != nil {
		return nil, false, temporalerr.ActivityError(err)
	}
	if len(orders) > 0 {
		if activity.IsActivity(ctx) {
			activity.GetLogger(ctx).Info("an order refused on a retry was placed by an earlier attempt", "order_id", orders[0].ID)
		}
		return &orders[0], false, nil
	}
	owned, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: in.PhoneNumber, PageSize: 10})
	if err != nil {
		return nil, false, temporalerr.ActivityError(err)
	}
	for _, n := range owned {
		if n.PhoneNumber != in.PhoneNumber || !n.Status.Held() {
			continue
		}
		if n.CustomerReference != "" && n.CustomerReference != in.CustomerReference {
			return nil, false, numberUnavailable(in.PhoneNumber, fmt.Errorf("the account holds it under another reference"))
		}
		return nil, true, nil
	}
	return nil, false, nil
}

// attempt is the activity's attempt (1 outside an activity).
func attempt(ctx context.Context) int32 {
	if !activity.IsActivity(ctx) {
		return 1
	}
	return activity.GetInfo(ctx).Attempt
}

// AwaitInput names the order to wait for.
type AwaitInput struct {
	OrderID     string
	PhoneNumber string
	// ReturnOnDocuments: return as soon as the order waits on documents
	// (AwaitResult.Requirements) rather than poll it for hours. Runs older
	// than the change "order-events" leave it false: they cannot handle
	// such an answer.
	ReturnOnDocuments bool `json:",omitempty"`
	// Deadline is the requirements deadline the workflow last saw, for an
	// order Telnyx cancelled after erasing it.
	Deadline *time.Time `json:",omitempty"`
}

// AwaitResult is where the order is: settled (ProviderNumberID set),
// waiting on documents (Requirements set), or, from CheckOrder only,
// still pending otherwise (Pending).
type AwaitResult struct {
	ProviderNumberID string
	Requirements     *domain.PendingRequirements `json:",omitempty"`
	// SubNumberOrderID is the sub-order to cancel when the requirements'
	// deadline passes.
	SubNumberOrderID string `json:",omitempty"`
	Pending          bool   `json:",omitempty"`
}

// AwaitOrder waits, heartbeating, until the order settles (or, when
// asked, until it waits on documents), looking at it at each poll and
// whenever OrderEvents says it changed. Orders take from milliseconds to
// minutes; the activity's heartbeat lets a new worker take over from a
// dead one. A failed or cancelled order is a non-retryable
// number_unavailable (requirements_deadline_passed when its deadline
// passed).
func (a *Activities) AwaitOrder(ctx context.Context, in AwaitInput) (AwaitResult, error) {
	defer keepAlive(ctx)()
	// Telnyx's webhook, when it comes, ends the wait for the next poll.
	var events <-chan struct{}
	if a.OrderEvents != nil {
		ch, stop := a.OrderEvents.Subscribe(in.OrderID)
		defer stop()
		events = ch
	}
	// Most orders settle in well under a second: look again soon, then
	// back off to OrderPollInterval for the slow ones.
	maxInterval := a.OrderPollInterval
	if maxInterval <= 0 {
		maxInterval = DefaultOrderPollInterval
	}
	interval := min(50*time.Millisecond, maxInterval)
	for {
		res, err := a.checkOrder(ctx, in)
		if err != nil {
			return res, err
		}
		wait := interval
		switch {
		case res.Requirements != nil && in.ReturnOnDocuments:
			return res, nil
		case res.Requirements != nil:
			// A run from before "order-events" polls until the order
			// settles: an order waiting on documents takes days, so it is
			// looked at every few minutes, not hammered.
			wait = a.DocumentsPollInterval
			if wait <= 0 {
				wait = DefaultDocumentsPollInterval
			}
		case !res.Pending:
			return res, nil
		default:
			interval = min(interval*2, maxInterval)
		}
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, "pending")
		}
		select {
		case <-ctx.Done():
			return AwaitResult{}, ctx.Err()
		case <-events:
		case <-time.After(wait):
		}
	}
}

// DefaultOrderPollInterval is how often, at most, AwaitOrder looks at a
// pending order: every worker's (no variable sets it).
const DefaultOrderPollInterval = 2 * time.Second

// DefaultDocumentsPollInterval is how often AwaitOrder looks at an order
// that waits on documents (runs from before "order-events"): minutes, as
// documents take days; keepAlive heartbeats meanwhile.
const DefaultDocumentsPollInterval = 5 * time.Minute

// CheckOrder looks at the order once: what AwaitOrder does at each poll.
// The workflow runs it when a webhook says the order changed, and as the
// slow poll of an order that waits on documents. An order that has
// succeeded whose number is not yet usable (still provisioning) is
// pending: activation waits for an active number.
func (a *Activities) CheckOrder(ctx context.Context, in AwaitInput) (AwaitResult, error) {
	res, err := a.checkOrder(ctx, in)
	if err == nil && res.Requirements != nil && !in.ReturnOnDocuments {
		// The caller cannot handle an order waiting on documents.
		return AwaitResult{Pending: true}, nil
	}
	return res, err
}

// checkOrder is CheckOrder, saying whether the order waits on documents
// whatever in.ReturnOnDocuments says.
func (a *Activities) checkOrder(ctx context.Context, in AwaitInput) (AwaitResult, error) {
	order, err := a.Provider.GetOrder(ctx, in.OrderID)
	if err != nil {
		return AwaitResult{}, temporalerr.ActivityError(err)
	}
	number := orderedNumber(order, in.PhoneNumber)
	status := orderStatusFor(order, in.PhoneNumber)
	if status == domain.OrderFailure && (order.Status == domain.OrderCancelled || number.RequirementsStatus == domain.RequirementsCancelled) {
		// Telnyx marks the number of a cancelled regulated order failed
		// and its requirements cancelled: the order was cancelled, not
		// refused.
		status = domain.OrderCancelled
	}
	switch status {
	case domain.OrderSuccess:
		id, err := a.ownedNumberID(ctx, in.PhoneNumber)
		if err != nil || id == "" {
			return AwaitResult{Pending: true}, err
		}
		return AwaitResult{ProviderNumberID: id}, nil
	case domain.OrderFailure:
		return AwaitResult{}, numberUnavailable(in.PhoneNumber, fmt.Errorf("order %s failed", in.OrderID))
	case domain.OrderCancelled:
		// Telnyx erases the deadline once it has passed: the one the
		// workflow last saw tells as well.
		deadline := number.Deadline
		if deadline == nil {
			deadline = in.Deadline
		}
		if deadline != nil && !time.Now().Before(*deadline) {
			return AwaitResult{}, requirementsDeadlinePassed(in.PhoneNumber, *deadline)
		}
		return AwaitResult{}, numberUnavailable(in.PhoneNumber, fmt.Errorf("order %s was cancelled at the provider", in.OrderID))
	}
	if reqs := pendingRequirements(number); reqs != nil {
		res := AwaitResult{Requirements: reqs}
		if len(order.SubNumberOrderIDs) > 0 {
			res.SubNumberOrderID = order.SubNumberOrderIDs[0]
		}
		return res, nil
	}
	return AwaitResult{Pending: true}, nil
}

// orderedNumber is the order's entry for the number (zero when the order
// does not list it, as Telnyx's order list does not).
func orderedNumber(o domain.Order, e164 string) domain.OrderedNumber {
	for _, n := range o.Numbers {
		if n.PhoneNumber == e164 {
			return n
		}
	}
	return domain.OrderedNumber{}
}

// pendingRequirements says what a pending number waits on, nil when it
// waits on no documents: its requirements status says so, or it has
// requirements listed and not met.
func pendingRequirements(n domain.OrderedNumber) *domain.PendingRequirements {
	if !n.RequirementsStatus.WaitsOnDocuments() && (n.RequirementsMet || len(n.Requirements) == 0) {
		return nil
	}
	r := &domain.PendingRequirements{Status: n.RequirementsStatus, Missing: []domain.RegulatoryRequirement{}}
	if r.Status == "" {
		r.Status = domain.RequirementsInfoPending
	}
	for _, req := range n.Requirements {
		if req.FieldValue == "" {
			r.Missing = append(r.Missing, req)
		}
	}
	if n.Deadline != nil {
		d := n.Deadline.UTC()
		r.Deadline = &d
	}
	return r
}

// ownedNumberID finds the provider's id of the number once it is usable
// (active), which release needs (it differs from the id of the number
// inside the order); "" while the provider holds it in a state that
// cannot carry calls yet (requirement-info, provision-pending).
func (a *Activities) ownedNumberID(ctx context.Context, e164 string) (string, error) {
	owned, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: e164, PageSize: 10})
	if err != nil {
		return "", temporalerr.ActivityError(err)
	}
	for _, n := range owned {
		if n.PhoneNumber == e164 && n.Status.Held() {
			if !n.Status.Usable() {
				return "", nil
			}
			return n.ID, nil
		}
	}
	// The order succeeded, so the number shows up soon: retry.
	return "", fmt.Errorf("number %s is not yet listed as owned", e164)
}

// CancelSubOrder cancels a regulated order's pending sub-order (its
// requirements deadline passed); one no longer pending is not an error.
func (a *Activities) CancelSubOrder(ctx context.Context, id string) error {
	defer keepAlive(ctx)()
	return temporalerr.ActivityError(a.Provider.CancelSubNumberOrder(ctx, id))
}

// AttachGroupInput names a waiting sub-order and the requirement group
// the team supplied for it.
type AttachGroupInput struct {
	SubNumberOrderID   string
	RequirementGroupID string
}

// AttachRequirementGroup supplies the team's requirement group to the
// sub-order waiting on documents. A refusal (an unknown or unfulfilled
// group) is a non-retryable provider_rejected.
func (a *Activities) AttachRequirementGroup(ctx context.Context, in AttachGroupInput) error {
	defer keepAlive(ctx)()
	return temporalerr.ActivityError(a.Provider.AttachRequirementGroup(ctx, in.SubNumberOrderID, in.RequirementGroupID))
}

// RequirementsInput records what a pending purchase waits on.
type RequirementsInput struct {
	NumberID     string
	Requirements *domain.PendingRequirements
}

// RecordRequirements records on the pending number what its regulated
// purchase waits on (nil clears it), so the team's number list shows it.
func (a *Activities) RecordRequirements(ctx context.Context, in RequirementsInput) error {
	_, err := a.Numbers.SetRequirements(ctx, in.NumberID, in.Requirements)
	return temporalerr.ActivityError(err)
}

// ActivateNumber marks the number active once the order succeeded.
func (a *Activities) ActivateNumber(ctx context.Context, in domain.ActivateNumber) (domain.PhoneNumber, error) {
	n, err := a.Numbers.Activate(ctx, in)
	return n, temporalerr.ActivityError(err)
}

// EndInput moves a number to a final status.
type EndInput struct {
	NumberID string
	Status   domain.NumberStatus
	// FailureReason is the error code of a failed purchase.
	FailureReason string `json:",omitempty"`
}

// EndNumber records that the team no longer holds the number; a failed
// purchase records why.
func (a *Activities) EndNumber(ctx context.Context, in EndInput) (domain.PhoneNumber, error) {
	if in.Status == domain.NumberFailed && in.FailureReason != "" {
		n, err := a.Numbers.Fail(ctx, in.NumberID, in.FailureReason)
		return n, temporalerr.ActivityError(err)
	}
	n, err := a.Numbers.End(ctx, in.NumberID, in.Status)
	return n, temporalerr.ActivityError(err)
}

// ConvertTrial makes the number a paid one.
func (a *Activities) ConvertTrial(ctx context.Context, numberID string) (domain.PhoneNumber, error) {
	n, err := a.Numbers.ConvertTrial(ctx, numberID)
	return n, temporalerr.ActivityError(err)
}

// ReleaseInput names the number to release at the provider.
type ReleaseInput struct {
	PhoneNumber      string
	ProviderNumberID string
	// CustomerReference is the purchase's key, set when the workflow gives
	// back its own purchase's number: a number Telnyx still holds for an
	// unfinished order (requirement-info, purchase-pending) cannot be
	// deleted, and is given back by cancelling that order.
	CustomerReference string `json:",omitempty"`
}

// ReleaseAtProvider gives the number back to the provider. It is
// idempotent: a number the provider no longer holds for us is released
// already. A deletion lock (the number's own deletion_lock_enabled) is a
// non-retryable deletion_locked: an operator must lift it; any other
// refusal of a number still held is a non-retryable release_refused (see
// refusedRelease).
func (a *Activities) ReleaseAtProvider(ctx context.Context, in ReleaseInput) error {
	defer keepAlive(ctx)()
	id := in.ProviderNumberID
	if id == "" {
		owned, err := a.Provider.ListOwnedNumbers(ctx, domain.OwnedNumberFilter{PhoneNumber: in.PhoneNumber, PageSize: 10})
		if err != nil {
			return temporalerr.ActivityError(err)
		}
		var held *domain.OwnedNumber
		for _, n := range owned {
			if n.PhoneNumber == in.PhoneNumber && n.Status.Held() {
				held = &n
			}
		}
		if held == nil {
			// Telnyx lists a number a moment after its order succeeds: a
			// purchase whose order delivered is not released yet.
			if in.CustomerReference != "" {
				if delivered, err := a.orderDelivered(ctx, in); err != nil || delivered {
					if err == nil {
						err = fmt.Errorf("the order of %s succeeded but Telnyx does not list the number yet", in.PhoneNumber)
					}
					return err
				}
			}
			return nil
		}
		switch {
		case in.CustomerReference != "" && held.CustomerReference != "" && held.CustomerReference != in.CustomerReference:
			// Held for another purchase (another reference): nothing of
			// this one's to give back, and not ours to delete.
			return nil
		case held.Status == domain.OwnedPortPending || held.Status == domain.OwnedPortOutPending:
			// A number in a port is never deleted here (that would break
			// the port); operators see it in reconciliation.
			return nil
		}
		if held.DeletionLockEnabled {
			return deletionLocked(nil)
		}
		if !held.Status.Usable() && in.CustomerReference != "" {
			done, err := a.cancelPendingOrders(ctx, in.CustomerReference)
			if done || err != nil {
				return err
			}
		}
		id = held.ID
	}
	err := a.Provider.ReleaseNumber(ctx, id)
	if err == nil {
		return nil
	}
	return a.refusedRelease(ctx, id, err)
}

// orderDelivered reports whether an order of the purchase (found by its
// customer reference) delivered the number.
func (a *Activities) orderDelivered(ctx context.Context, in ReleaseInput) (bool, error) {
	orders, err := a.Provider.FindOrdersByCustomerReference(ctx, in.CustomerReference)
	if err != nil {
		return false, temporalerr.ActivityError(err)
	}
	for _, o := range orders {
		if orderStatusFor(o, in.PhoneNumber) == domain.OrderSuccess {
			return true, nil
		}
	}
	return false, nil
}

// cancelPendingOrders cancels every pending sub-order of the purchase's
// orders (found by its customer reference): Telnyx refuses to delete a
// number its unfinished order holds, and removes it with the order. done
// is true once something was cancelled; false when no pending sub-order
// was found, and the release goes on as for any held number. A failed
// cancel is an error, retried.
func (a *Activities) cancelPendingOrders(ctx context.Context, ref string) (done bool, err error) {
	orders, err := a.Provider.FindOrdersByCustomerReference(ctx, ref)
	if err != nil {
		return false, temporalerr.ActivityError(err)
	}
	for _, o := range orders {
		if o.Status != domain.OrderPending {
			continue
		}
		for _, sub := range o.SubNumberOrderIDs {
			if err := a.Provider.CancelSubNumberOrder(ctx, sub); err != nil {
				return false, fmt.Errorf("cancelling sub-order %s of order %s: %w", sub, o.ID, err)
			}
			done = true
		}
	}
	return done, nil
}

// refusedRelease says what a failed release of the held number id means.
// A retryable failure (an outage, a 429) or our credentials (401/403) are
// retried by the activity's policy. Any other 4xx is judged by reading
// the number again, not by the answer's status or codes (Telnyx documents
// none for a lock): gone or no longer held is released; locked is
// deletion_locked; still held without a lock is release_refused — a
// provider that refuses the same call again would only be hammered, so
// the workflow's slower durable retries and operators take it from there.
func (a *Activities) refusedRelease(ctx context.Context, id string, err error) error {
	var pe *domain.ProviderError
	if !errors.As(err, &pe) || pe.Retryable() || pe.HTTPStatus == 401 || pe.HTTPStatus == 403 {
		return err
	}
	n, gerr := a.Provider.GetOwnedNumber(ctx, id)
	var gpe *domain.ProviderError
	switch {
	case errors.As(gerr, &gpe) && gpe.NotFound():
		return nil
	case gerr != nil:
		// Cannot tell: try again.
		return fmt.Errorf("the provider refused the release (%w) and reading the number failed: %v", err, gerr)
	case !n.Status.Held():
		return nil
	case n.DeletionLockEnabled:
		return deletionLocked(err)
	}
	return temporalerr.New(domain.Errorf(domain.KindConflict, domain.CodeReleaseRefused,
		"The provider refused to release the number (HTTP %d) while it holds it in state %s; it is tried again later.", pe.HTTPStatus, n.Status), err)
}

func deletionLocked(cause error) error {
	return temporalerr.New(domain.Errorf(domain.KindConflict, domain.CodeDeletionLocked, "The provider refused to release the number (deletion lock); an operator must lift the lock."), cause)
}

// Eligibility reads the team's eligibility.
func (a *Activities) Eligibility(ctx context.Context, teamID string) (domain.Eligibility, error) {
	e, err := a.Accounts.Eligibility(ctx, teamID)
	return e, temporalerr.ActivityError(err)
}

// requirementsDeadlinePassed keeps the deadline in the cause, for the
// history and the logs: the answer's wording is the workflow's own.
func requirementsDeadlinePassed(e164 string, deadline time.Time) error {
	return temporalerr.New(domain.RequirementsDeadlinePassed(e164), fmt.Errorf("the provider's deadline was %s", deadline.UTC().Format(time.RFC3339)))
}

func numberUnavailable(e164 string, cause error) error {
	return temporalerr.New(domain.NumberUnavailable(e164), cause)
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
		return ApplyPlanResult{}, temporalerr.ActivityError(err)
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
		return nil, temporalerr.ActivityError(err)
	}
	out := make([]TeamNumber, 0, len(page.Items))
	for _, n := range page.Items {
		out = append(out, TeamNumber{ID: n.ID, PhoneNumber: n.PhoneNumber.PhoneNumber, IsTrial: n.IsTrial})
	}
	return out, nil
}
