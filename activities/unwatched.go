package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/talkturo/phonenumbers/domain"
)

// A record is unwatched when it is live (pending or active) in the
// database while no workflow of its number runs: an operator terminated
// or cancelled the run, or Temporal's state was lost and the database kept
// its rows. Nothing then releases the number, expires its trial or
// finishes its purchase.

// NumberWorkflows is what the activities ask of Temporal itself: whether a
// number's workflow runs, and starting the release of an unwatched
// record. The workflows package's NumberService implements it.
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
	return n, temporalError(err)
}

// HeldSlotKey returns the key of the plan slot the live record was bought
// under, "" when none is held any more.
func (a *Activities) HeldSlotKey(ctx context.Context, n domain.PhoneNumber) (string, error) {
	key, err := a.Slots.HeldKeyOf(ctx, n)
	return key, temporalError(err)
}

// Outcomes of an unwatched record in a reconciliation run.
const (
	UnwatchedFlagged        = "flagged"          // an active paid number, or a trial not yet expired: an operator decides
	UnwatchedHeldAtProvider = "held_at_provider" // pending, and Telnyx holds the number: an operator decides
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
	// Due says a repair may be tried: a pending record (undone unless
	// Telnyx holds its number), or a trial past its expiry (released).
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
			return UnwatchedReport{}, temporalError(err)
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
	u.Due = n.Status == domain.NumberPending || (n.Status == domain.NumberActive && expired)
	return u
}

// RepairUnwatched looks again at a due unwatched record and, when it
// still is one, starts its release: a trial past its expiry is released
// (and ends expired), a pending purchase whose number Telnyx does not hold
// is undone (ends failed, its slot freed). A pending record whose number
// Telnyx holds is left to an operator: its order may have delivered the
// number, and a reset of the terminated run would still finish the
// purchase. Ending it here would only hand the number to the orphan path.
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
		return "", temporalError(err)
	case n.ID != u.NumberID || n.Status != u.Status:
		return UnwatchedSettled, nil
	}
	if running, err := a.Workflows.WorkflowRunning(ctx, n.WorkflowID); err != nil {
		return "", err
	} else if running {
		return UnwatchedSettled, nil
	}
	if !unwatchedOf(n, time.Now()).Due {
		return UnwatchedFlagged, nil
	}
	if n.Status == domain.NumberPending {
		if _, held, err := a.heldAtProvider(ctx, n.PhoneNumber); err != nil {
			return "", err
		} else if held {
			return UnwatchedHeldAtProvider, nil
		}
	}
	if err := a.Workflows.StartRelease(ctx, n, "reconcile"); err != nil {
		return "", err
	}
	return UnwatchedReleaseStarted, nil
}
