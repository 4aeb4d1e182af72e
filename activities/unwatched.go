package activities

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// A record is unwatched when it is live (pending or active) in the
// database while no workflow of its number runs: an operator terminated
// or cancelled the run, or Temporal's state was lost and the database kept
// its rows. Nothing then releases the number, expires its trial or
// finishes its purchase.

// NumberWorkflows is what the activities ask of Temporal itself: whether a
// number's workflow runs, and starting the release of an unwatched
// record. temporalclient.NumberService implements it.
type NumberWorkflows interface {
	// WorkflowRunning reports whether the workflow ID has a run open.
	WorkflowRunning(ctx context.Context, workflowID string) (bool, error)
	// StartRelease starts ReleaseNumberWorkflow for the record (or finds it
	// started) without waiting for it.
	StartRelease(ctx context.Context, n domain.PhoneNumber, reason string) error
}

// LoadNumberInput names a team's number record.
type LoadNumberInput struct {
	TeamID   string
	NumberID string
}

// LoadNumber reads a team's number record.
func (a *Activities) LoadNumber(ctx context.Context, in LoadNumberInput) (domain.PhoneNumber, error) {
	n, err := a.Numbers.Get(ctx, in.TeamID, in.NumberID)
	return n, temporalerr.ActivityError(err)
}

// HeldSlotKey returns the key of the plan slot the live record was bought
// under, "" when none is held any more.
func (a *Activities) HeldSlotKey(ctx context.Context, n domain.PhoneNumber) (string, error) {
	key, err := a.Slots.HeldKeyOf(ctx, n)
	return key, temporalerr.ActivityError(err)
}

// Outcomes of an unwatched record in a reconciliation run.
const (
	UnwatchedFlagged        = "flagged"          // an active paid number, or a trial not yet expired: an operator decides
	UnwatchedHeldAtProvider = "held_at_provider" // pending, and Telnyx holds the number: an operator decides
	UnwatchedOrderPending   = "order_pending"    // pending, and its order is still pending at Telnyx: left until it settles
	UnwatchedTooRecent      = "too_recent"       // pending for less than PendingUndoMinAge: a run may just have been lost
	UnwatchedConverted      = "converted"        // a trial past its expiry whose team has subscribed since: made a paid number
	UnwatchedReleaseStarted = "release_started"  // ReleaseNumberWorkflow started: a trial past its expiry, or a pending purchase undone
	UnwatchedSettled        = "settled"          // the record ended or a workflow took it up since it was found
	UnwatchedWithheld       = "withheld"         // more releases were due than a run may start
	UnwatchedFailed         = "failed"           // looking again or starting failed; a later run tries again
)

// Unwatched is a live record whose number's workflow is not running.
type Unwatched struct {
	NumberID       string
	PhoneNumber    string
	TeamID         string
	WorkflowID     string
	Status         domain.NumberStatus
	IsTrial        bool
	TrialExpiresAt *time.Time `json:",omitempty"`
	// Due says a repair may be tried: a pending record older than
	// PendingUndoMinAge (undone when CheckUndoPending allows it), or a
	// trial past its expiry (released,
	// or converted when its team has subscribed since).
	Due bool
}

// UnwatchedReport is what FindUnwatched found: Count counts every
// unwatched record, Records lists at most MaxFindings (due ones first).
type UnwatchedReport struct {
	LiveInDatabase int
	Count          int
	Records        []Unwatched
}

// FindUnwatched pages through the live records and asks Temporal, for
// each, whether its number's workflow runs (one describe call each: the
// answer must be current, which visibility's is not). Without a Temporal
// client it finds nothing.
func (a *Activities) FindUnwatched(ctx context.Context) (UnwatchedReport, error) {
	defer keepAlive(ctx)()
	var rep UnwatchedReport
	if a.Workflows == nil {
		return rep, nil
	}
	now := time.Now()
	var due, rest []Unwatched
	for after := ""; ; {
		page, err := a.Numbers.ListLive(ctx, after, livePageSize)
		if err != nil {
			return UnwatchedReport{}, temporalerr.ActivityError(err)
		}
		for _, n := range page {
			rep.LiveInDatabase++
			running, err := a.Workflows.WorkflowRunning(ctx, n.WorkflowID)
			if err != nil {
				return UnwatchedReport{}, err
			}
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, n.PhoneNumber)
			}
			if running {
				continue
			}
			u := unwatchedOf(n, now)
			if u.Due {
				due = append(due, u)
			} else {
				rest = append(rest, u)
			}
		}
		if len(page) < livePageSize {
			break
		}
		after = page[len(page)-1].PhoneNumber
	}
	rep.Count = len(due) + len(rest)
	rep.Records = append(due, rest...)
	rep.Records = rep.Records[:min(len(rep.Records), MaxFindings)]
	return rep, nil
}

func unwatchedOf(n domain.PhoneNumber, now time.Time) Unwatched {
	u := Unwatched{NumberID: n.ID, PhoneNumber: n.PhoneNumber, TeamID: n.TeamID, WorkflowID: n.WorkflowID,
		Status: n.Status, IsTrial: n.IsTrial, TrialExpiresAt: n.TrialExpiresAt}
	expired := n.IsTrial && n.TrialExpiresAt != nil && !now.Before(*n.TrialExpiresAt)
	// A pending record younger than PendingUndoMinAge is never undone by
	// reconciliation (CheckUndoPending says too_recent), so it is not due
	// either: it must not count against RECONCILE_MAX_RELEASES.
	stale := now.Sub(n.CreatedAt) >= PendingUndoMinAge
	u.Due = (n.Status == domain.NumberPending && stale) || (n.Status == domain.NumberActive && expired)
	return u
}

// PendingUndoMinAge is how old an unwatched pending record must be before
// anyone but its team (reconciliation, another team's purchase) may undo
// it: younger, its run may have been lost a moment ago, with its order
// being placed or delivered right now.
const PendingUndoMinAge = 10 * time.Minute

// UndoPendingInput names an unwatched pending record to be undone.
type UndoPendingInput struct {
	Number domain.PhoneNumber
	// Key is the purchase's key (HeldSlotKey), the customer_reference its
	// order was placed with; "" when no slot is held any more.
	Key string
	// Strict is for an undo the record's team did not ask for
	// (reconciliation, another team's purchase): it also needs the record
	// older than PendingUndoMinAge and the number not held at Telnyx,
	// which an operator then looks at.
	Strict bool
}

// CheckUndoPending says whether the unwatched pending record may be undone
// now: "" when it may, else the outcome that keeps it (order_pending,
// too_recent, held_at_provider). An order still pending at Telnyx always
// keeps it: Telnyx may still complete it, and bill, after the slot is
// freed and the record failed.
func (a *Activities) CheckUndoPending(ctx context.Context, in UndoPendingInput) (string, error) {
	defer keepAlive(ctx)()
	n := in.Number
	if inFlight, err := a.orderInFlight(ctx, n, in.Key); err != nil {
		return "", err
	} else if inFlight {
		return UnwatchedOrderPending, nil
	}
	if in.Strict && time.Since(n.CreatedAt) < PendingUndoMinAge {
		return UnwatchedTooRecent, nil
	}
	if in.Strict {
		if _, held, err := a.heldAtProvider(ctx, n.PhoneNumber); err != nil {
			return "", err
		} else if held {
			return UnwatchedHeldAtProvider, nil
		}
	}
	return "", nil
}

// orderInFlight reports whether an order of the record's purchase is
// still pending at Telnyx for its number. The orders are found by the
// purchase's customer_reference (as PlaceOrder finds them, so an order
// placed just before the run was lost, not yet recorded, counts) and by
// the order ID the record carries.
func (a *Activities) orderInFlight(ctx context.Context, n domain.PhoneNumber, key string) (bool, error) {
	var orders []domain.Order
	if key != "" {
		found, err := a.Provider.FindOrdersByCustomerReference(ctx, key)
		if err != nil {
			return false, temporalerr.ActivityError(err)
		}
		orders = found
	}
	if n.ProviderOrderID != "" && !slices.ContainsFunc(orders, func(o domain.Order) bool { return o.ID == n.ProviderOrderID }) {
		o, err := a.Provider.GetOrder(ctx, n.ProviderOrderID)
		var pe *domain.ProviderError
		switch {
		case errors.As(err, &pe) && pe.HTTPStatus == 404:
		case err != nil:
			return false, temporalerr.ActivityError(err)
		default:
			orders = append(orders, o)
		}
	}
	for _, o := range orders {
		if orderStatusFor(o, n.PhoneNumber) == domain.OrderPending {
			return true, nil
		}
	}
	return false, nil
}

// orderStatusFor is the order's status for one of its numbers, which can
// settle before the order does.
func orderStatusFor(o domain.Order, e164 string) domain.OrderStatus {
	status := o.Status
	for _, n := range o.Numbers {
		if n.PhoneNumber == e164 && n.Status != domain.OrderPending {
			status = n.Status
		}
	}
	return status
}

// RepairUnwatched looks again at a due unwatched record and, when it
// still is one, repairs it:
//
//   - a trial past its expiry is released (and ends expired), unless its
//     team has subscribed since: the billing workflow's conversion signal
//     found no workflow, so the trial is converted here instead;
//   - a pending purchase is undone (ends failed, its slot freed) only when
//     CheckUndoPending, strict, allows it. A pending record whose number
//     Telnyx holds is left to an operator: its order may have delivered the
//     number, and a reset of the terminated run would still finish the
//     purchase. Ending it here would only hand the number to the orphan
//     path.
func (a *Activities) RepairUnwatched(ctx context.Context, u Unwatched) (string, error) {
	defer keepAlive(ctx)()
	if a.Workflows == nil {
		return UnwatchedFailed, errors.New("no Temporal client to start a release with")
	}
	n, err := a.Numbers.LiveByNumber(ctx, u.PhoneNumber)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return UnwatchedSettled, nil
	case err != nil:
		return "", temporalerr.ActivityError(err)
	case n.ID != u.NumberID || n.Status != u.Status:
		return UnwatchedSettled, nil
	}
	if running, err := a.Workflows.WorkflowRunning(ctx, n.WorkflowID); err != nil {
		return "", err
	} else if running {
		return UnwatchedSettled, nil
	}
	if !unwatchedOf(n, time.Now()).Due {
		if n.Status == domain.NumberPending {
			return UnwatchedTooRecent, nil
		}
		return UnwatchedFlagged, nil
	}
	if n.Status == domain.NumberPending {
		key, err := a.Slots.HeldKeyOf(ctx, n)
		if err != nil {
			return "", temporalerr.ActivityError(err)
		}
		if verdict, err := a.CheckUndoPending(ctx, UndoPendingInput{Number: n, Key: key, Strict: true}); err != nil || verdict != "" {
			return verdict, err
		}
	} else {
		e, err := a.Accounts.Eligibility(ctx, n.TeamID)
		if err != nil {
			return "", temporalerr.ActivityError(err)
		}
		if e.HasSubscription {
			if _, err := a.Numbers.ConvertTrial(ctx, n.ID); err != nil {
				return "", temporalerr.ActivityError(err)
			}
			return UnwatchedConverted, nil
		}
	}
	if err := a.Workflows.StartRelease(ctx, n, "reconcile"); err != nil {
		return "", err
	}
	return UnwatchedReleaseStarted, nil
}
