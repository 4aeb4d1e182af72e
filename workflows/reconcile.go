package workflows

import (
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
)

// The reconciliation contract: a Temporal Schedule starts
// ReconcileWorkflow every RECONCILE_INTERVAL (see temporalclient.EnsureReconcileSchedule).
const (
	// ReconcileWorkflowType is the registered name of ReconcileWorkflow.
	ReconcileWorkflowType = "ReconcileWorkflow"
	// ReconcileScheduleID is the schedule's ID, and the prefix of its
	// runs' workflow IDs (the schedule appends the time).
	ReconcileScheduleID = "reconcile-telnyx"
)

// ReconcileInput tunes a reconciliation run. The schedule passes it, from
// the configuration of the worker that last created or updated it.
type ReconcileInput struct {
	// OrphanDelay is how long ago Telnyx must have created an orphan for
	// it to be released (RECONCILE_ORPHAN_DELAY).
	OrphanDelay time.Duration
	// MaxReleases is the most orphans one run releases
	// (RECONCILE_MAX_RELEASES): when more are due, it releases none.
	MaxReleases int
	// MissingRecheckAfter is how long a run waits before looking again at
	// numbers it found missing at Telnyx, so that a release or purchase
	// under way while it read settles first.
	MissingRecheckAfter time.Duration
}

// DefaultMissingRecheckAfter is ReconcileInput.MissingRecheckAfter for
// production: a release or purchase takes seconds between its Telnyx call
// and its database write, unless a worker dies in between.
const DefaultMissingRecheckAfter = time.Minute

// OrphanFinding is an orphan and what the run did about it.
type OrphanFinding struct {
	activities.Orphan
	// Outcome is one of the activities.Orphan* outcomes.
	Outcome string
	// Error is why the release failed (Outcome "failed").
	Error string `json:",omitempty"`
}

// ReconcileResult is what a run found and did; it is the run's result in
// the Temporal UI.
type ReconcileResult struct {
	OwnedAtProvider int
	LiveInDatabase  int
	// OrphanCount counts every orphan; Orphans lists the first ones (at most
	// activities.MaxFindings, those due first).
	OrphanCount int
	Orphans     []OrphanFinding
	Released    int
	// Missing are the numbers live in the database and still not at
	// Telnyx when looked at again; MissingCandidates counts those the first
	// look found.
	MissingCandidates int
	Missing           []activities.Missing
	// UnwatchedCount counts the live records whose number's workflow is
	// not running; Unwatched lists the first ones (due ones first) with
	// what the run did. Runs of code before the change "unwatched-records"
	// leave them empty.
	UnwatchedCount int                `json:",omitempty"`
	Unwatched      []UnwatchedFinding `json:",omitempty"`
}

// UnwatchedFinding is an unwatched record and what the run did about it.
type UnwatchedFinding struct {
	activities.Unwatched
	// Outcome is one of the activities.Unwatched* outcomes.
	Outcome string
	Error   string `json:",omitempty"`
}

// changeUnwatchedRecords versions the search for unwatched records:
// runs recorded before it replay without its activities.
const changeUnwatchedRecords = "unwatched-records"

// Metrics of reconciliation. Counters, so that the sum over every worker
// that ran a reconciliation is meaningful: alert on an increase of
// talkturo_reconcile_missing_found_total, or on the last run's time
// falling behind.
const (
	metricRuns            = "talkturo_reconcile_runs_total"
	metricOrphansFound    = "talkturo_reconcile_orphans_found_total"
	metricOrphansReleased = "talkturo_reconcile_orphans_released_total"
	metricOrphansBlocked  = "talkturo_reconcile_orphans_blocked_total"
	metricMissingFound    = "talkturo_reconcile_missing_found_total"
	metricUnwatchedFound  = "talkturo_reconcile_unwatched_found_total"
	metricUnwatchedRepair = "talkturo_reconcile_unwatched_repaired_total"
	metricLastRun         = "talkturo_reconcile_last_run_timestamp_seconds"
)

// ReconcileWorkflow compares the numbers Telnyx holds for the account with
// the numbers teams hold in the database. Orphans (at Telnyx, held by no
// team) created longer than OrphanDelay ago are released; young ones are
// left alone, so that nothing racing a purchase is ever touched. Numbers
// active in the database that Telnyx no longer holds are flagged. Every
// finding gets a log line, the metrics count them, and the result lists
// them.
//
// A run keeps no state: the next one judges everything afresh, so a run
// that fails (Telnyx or the database down) costs nothing but its interval.
func ReconcileWorkflow(ctx workflow.Context, in ReconcileInput) (ReconcileResult, error) {
	logger := workflow.GetLogger(ctx)
	actx := workflow.WithActivityOptions(ctx, activities.ReconcileOptions())

	var drift activities.Drift
	if err := workflow.ExecuteActivity(actx, acts.FindDrift, activities.FindDriftInput{OrphanDelay: in.OrphanDelay}).Get(ctx, &drift); err != nil {
		return ReconcileResult{}, err
	}
	res := ReconcileResult{
		OwnedAtProvider: drift.OwnedAtProvider, LiveInDatabase: drift.LiveInDatabase,
		OrphanCount: drift.OrphanCount, MissingCandidates: drift.MissingCount,
	}

	due := 0
	for _, o := range drift.Orphans {
		if o.Due {
			due++
		}
	}
	// Many orphans at once are more likely a database that is not this
	// account's (a restored backup, a wrong DATABASE_URL) than drift:
	// releasing them would take customers' numbers away for good.
	withhold := in.MaxReleases > 0 && due > in.MaxReleases
	if withhold {
		logger.Error("reconcile: more orphans are due than one run may release; none released. Check that the database and the Telnyx account belong together, then release them by hand or raise RECONCILE_MAX_RELEASES",
			"due", due, "max_releases", in.MaxReleases)
	}
	blocked := 0
	for _, o := range drift.Orphans {
		f := OrphanFinding{Orphan: o}
		switch {
		case !o.Due:
			f.Outcome = activities.OrphanTooYoung
		case withhold:
			f.Outcome = activities.OrphanWithheld
		default:
			if err := workflow.ExecuteActivity(actx, acts.ReleaseOrphan, o).Get(ctx, &f.Outcome); err != nil {
				f.Outcome, f.Error = activities.OrphanFailed, err.Error()
			}
		}
		switch f.Outcome {
		case activities.OrphanReleased:
			res.Released++
		case activities.OrphanDeletionLocked, activities.OrphanWithheld, activities.OrphanFailed, activities.OrphanPorting:
			blocked++
		}
		res.Orphans = append(res.Orphans, f)
		logOrphan(logger, f)
	}

	if workflow.GetVersion(ctx, changeUnwatchedRecords, workflow.DefaultVersion, 1) >= 1 {
		if err := reconcileUnwatched(ctx, actx, in, &res); err != nil {
			return res, err
		}
	}

	if len(drift.Missing) > 0 {
		if in.MissingRecheckAfter > 0 {
			if err := workflow.Sleep(ctx, in.MissingRecheckAfter); err != nil {
				return res, err
			}
		}
		if err := workflow.ExecuteActivity(actx, acts.ConfirmMissing, drift.Missing).Get(ctx, &res.Missing); err != nil {
			return res, err
		}
		for _, m := range res.Missing {
			logger.Warn("reconcile: number active in the database is missing at Telnyx",
				"phone_number", m.PhoneNumber, "team_id", m.TeamID, "number_id", m.NumberID,
				"number_workflow_id", m.WorkflowID, "provider_number_id", m.ProviderNumberID)
		}
	}

	metrics := workflow.GetMetricsHandler(ctx)
	metrics.Counter(metricRuns).Inc(1)
	metrics.Counter(metricOrphansFound).Inc(int64(drift.OrphanCount))
	metrics.Counter(metricOrphansReleased).Inc(int64(res.Released))
	metrics.Counter(metricOrphansBlocked).Inc(int64(blocked))
	metrics.Counter(metricMissingFound).Inc(int64(len(res.Missing)))
	metrics.Gauge(metricLastRun).Update(float64(workflow.Now(ctx).Unix()))
	logger.Info("reconcile: run finished",
		"owned_at_provider", res.OwnedAtProvider, "live_in_database", res.LiveInDatabase,
		"orphans", res.OrphanCount, "released", res.Released, "blocked", blocked, "missing", len(res.Missing),
		"unwatched", res.UnwatchedCount)
	return res, nil
}

// logOrphan writes the finding's line: a warning when something was done
// or needs an operator, information when the orphan was left alone.
func logOrphan(logger log.Logger, f OrphanFinding) {
	msg := "reconcile: number at Telnyx is held by no team"
	kv := []any{
		"phone_number", f.PhoneNumber, "outcome", f.Outcome, "provider_number_id", f.ProviderNumberID,
		"provider_status", f.ProviderStatus, "created_at", f.CreatedAt, "customer_reference", f.CustomerReference,
		"deletion_locked", f.DeletionLocked,
	}
	switch f.Outcome {
	case activities.OrphanReleased, activities.OrphanDeletionLocked, activities.OrphanWithheld, activities.OrphanPorting:
		logger.Warn(msg, kv...)
	case activities.OrphanFailed:
		logger.Warn(msg, append(kv, "error", f.Error)...)
	default:
		logger.Info(msg, kv...)
	}
}

// reconcileUnwatched finds the live records whose number's workflow is
// not running (terminated, cancelled mid-way, or lost with Temporal's
// state) and repairs what is safe: a trial past its expiry is released,
// a pending purchase is undone when that is safe (see RepairUnwatched). An
// active paid number is only flagged: whether the team keeps it is an
// operator's call. Releases and undos count against MaxReleases like
// orphans: many at once look more like a wrong database than drift.
func reconcileUnwatched(ctx, actx workflow.Context, in ReconcileInput, res *ReconcileResult) error {
	logger := workflow.GetLogger(ctx)
	var rep activities.UnwatchedReport
	if err := workflow.ExecuteActivity(actx, acts.FindUnwatched).Get(ctx, &rep); err != nil {
		return err
	}
	res.UnwatchedCount = rep.Count
	// Pending undos count too: with the wrong database every record looks
	// unwatched, pending ones included.
	releases := 0
	for _, u := range rep.Records {
		if u.Due {
			releases++
		}
	}
	withhold := in.MaxReleases > 0 && releases > in.MaxReleases
	repaired := 0
	for _, u := range rep.Records {
		f := UnwatchedFinding{Unwatched: u, Outcome: activities.UnwatchedFlagged}
		switch {
		case !u.Due:
		case withhold:
			f.Outcome = activities.UnwatchedWithheld
		default:
			if err := workflow.ExecuteActivity(actx, acts.RepairUnwatched, u).Get(ctx, &f.Outcome); err != nil {
				f.Outcome, f.Error = activities.UnwatchedFailed, err.Error()
			}
		}
		if f.Outcome == activities.UnwatchedReleaseStarted {
			repaired++
		}
		res.Unwatched = append(res.Unwatched, f)
		kv := []any{"phone_number", u.PhoneNumber, "team_id", u.TeamID, "number_id", u.NumberID, "status", string(u.Status),
			"is_trial", u.IsTrial, "number_workflow_id", u.WorkflowID, "outcome", f.Outcome}
		if f.Error != "" {
			kv = append(kv, "error", f.Error)
		}
		logger.Warn("reconcile: number live in the database has no running workflow", kv...)
	}
	if withhold {
		logger.Error("reconcile: more unwatched records are due for release or undo than one run may repair; none repaired. Check that the database and the Temporal cluster belong together",
			"due", releases, "max_releases", in.MaxReleases)
	}
	metrics := workflow.GetMetricsHandler(ctx)
	metrics.Counter(metricUnwatchedFound).Inc(int64(rep.Count))
	metrics.Counter(metricUnwatchedRepair).Inc(int64(repaired))
	return nil
}
