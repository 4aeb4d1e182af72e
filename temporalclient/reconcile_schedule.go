package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/workflows"
)

// ReconcileConfig is how workers schedule reconciliation.
type ReconcileConfig struct {
	// TaskQueue is where the scheduled runs go (TEMPORAL_TASK_QUEUE);
	// required.
	TaskQueue string
	// Interval between runs (RECONCILE_INTERVAL); zero pauses the schedule.
	Interval time.Duration
	Input    workflows.ReconcileInput
}

const (
	// reconcileRunTimeout ends a run stuck on an outage; the schedule
	// starts the next one on time.
	reconcileRunTimeout = time.Hour
	// reconcileCatchupWindow: a run missed while the cluster was down is
	// made up for only shortly after; later, the next one is soon anyway.
	reconcileCatchupWindow = time.Minute
	// disabledNote marks a schedule paused because RECONCILE_INTERVAL is 0,
	// as opposed to by an operator, whose pause a worker's start respects.
	disabledNote = "Paused by talkturo: a worker started with RECONCILE_INTERVAL=0."
)

// EnsureReconcileSchedule creates the reconciliation schedule, or brings
// the existing one in line with cfg (interval, run input, task queue), so
// that every worker start may call it. Overlapping runs are skipped: a
// slow run is never joined by a second one working on the same numbers.
//
// With a zero interval the schedule is paused (not deleted: its history
// stays visible, and a later start with an interval resumes it). A pause
// by an operator is left as it is; but the SDK's update of a schedule
// writes back the state it read, without a conflict token, so a pause
// made in the very instant between that read and the write is undone.
func EnsureReconcileSchedule(ctx context.Context, c client.Client, cfg ReconcileConfig) error {
	if cfg.TaskQueue == "" {
		return errNoTaskQueue("EnsureReconcileSchedule")
	}
	h := c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	if cfg.Interval <= 0 {
		desc, err := h.Describe(ctx)
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return nil
		case err != nil:
			return fmt.Errorf("describe schedule %s: %w", workflows.ReconcileScheduleID, err)
		case desc.Schedule.State != nil && desc.Schedule.State.Paused:
			return nil
		}
		return h.Pause(ctx, client.SchedulePauseOptions{Note: disabledNote})
	}

	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: cfg.Interval}}}
	action := &client.ScheduleWorkflowAction{
		ID:                       workflows.ReconcileScheduleID,
		Workflow:                 workflows.ReconcileWorkflowType,
		Args:                     []any{cfg.Input},
		TaskQueue:                cfg.TaskQueue,
		WorkflowExecutionTimeout: reconcileRunTimeout,
		StaticSummary:            "Reconcile Telnyx's numbers with the database",
	}
	policy := &client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: reconcileCatchupWindow}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            workflows.ReconcileScheduleID,
		Spec:          spec,
		Action:        action,
		Overlap:       policy.Overlap,
		CatchupWindow: policy.CatchupWindow,
		Note:          "Created by talkturo: releases orphan numbers at Telnyx, flags numbers missing there.",
	})
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		return fmt.Errorf("create schedule %s: %w", workflows.ReconcileScheduleID, err)
	}

	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		s.Spec, s.Action, s.Policy = &spec, action, policy
		// Resumed within the update itself: the scheduler applies a
		// separate unpause before an update that arrives with it, and the
		// update would then pause the schedule again with the state it
		// carries.
		if s.State != nil && s.State.Paused && s.State.Note == disabledNote {
			s.State.Paused, s.State.Note = false, "Resumed by talkturo: a worker started with a RECONCILE_INTERVAL."
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", workflows.ReconcileScheduleID, err)
	}
	return nil
}

// keepEnsuring calls EnsureReconcileSchedule until it succeeds or ctx ends,
// backing off from a second to a minute between attempts.
func keepEnsuring(ctx context.Context, c client.Client, cfg ReconcileConfig, log *slog.Logger) {
	wait := time.Second
	for {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := EnsureReconcileSchedule(attempt, c, cfg)
		cancel()
		if err == nil {
			if cfg.Interval > 0 {
				log.Info("reconciliation with Telnyx scheduled", "schedule_id", workflows.ReconcileScheduleID, "interval", cfg.Interval, "orphan_delay", cfg.Input.OrphanDelay, "max_releases", cfg.Input.MaxReleases)
			} else {
				log.Info("reconciliation with Telnyx is off (RECONCILE_INTERVAL=0)", "schedule_id", workflows.ReconcileScheduleID)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("scheduling the reconciliation with Telnyx failed; trying again", "schedule_id", workflows.ReconcileScheduleID, "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
