package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// HistoryCost is what a stretch of a workflow history costs: its events,
// the workflow tasks handed to workers and the Temporal Cloud billable
// actions it records.
type HistoryCost struct {
	Events          int `json:"events"`
	WorkflowTasks   int `json:"workflowTasks"`
	BillableActions int `json:"billableActions"`
}

// Add is the cost of both stretches, as of a run and the run it continued
// as.
func (c HistoryCost) Add(o HistoryCost) HistoryCost {
	return HistoryCost{Events: c.Events + o.Events, WorkflowTasks: c.WorkflowTasks + o.WorkflowTasks, BillableActions: c.BillableActions + o.BillableActions}
}

// Marker names and the search attribute key of the Go SDK (v1.50.0,
// internal/internal_command_state_machine.go and internal/workflow.go),
// which keeps them unexported: they are part of every history it writes,
// so they do not change.
const (
	markerSideEffect        = "SideEffect"
	markerMutableSideEffect = "MutableSideEffect"
	markerLocalActivity     = "LocalActivity"
	markerVersion           = "Version"
	// searchAttrChangeVersion is the attribute GetVersion upserts.
	searchAttrChangeVersion = "TemporalChangeVersion"
)

// CostOf is the cost of a whole history (one run). Workflow tasks are the
// WorkflowTaskStarted events: each is a task handed to a worker, whether it
// then completed, failed or timed out.
//
// Billable actions follow Temporal Cloud's published rules
// (https://docs.temporal.io/cloud/actions), as far as a history shows them:
//   - the run's start (a client start, a continue-as-new or a child's
//     start), 1; a reset (a workflow task failed with cause
//     RESET_WORKFLOW), 1;
//   - each TimerStarted, 1;
//   - each UpsertWorkflowSearchAttributes, 1, except one that sets only
//     TemporalChangeVersion (GetVersion's), which Cloud exempts;
//   - each WorkflowExecutionSignaled (a signal received), 1, and each
//     SignalExternalWorkflowExecutionInitiated (a signal sent), 1;
//   - each WorkflowExecutionUpdateAccepted, 1;
//   - SideEffect and MutableSideEffect markers, 1 each (a mutable side
//     effect records a marker only when its value changes, which is when
//     Cloud counts it); Version markers (GetVersion), 0;
//   - LocalActivity markers, 1 for all of those a workflow task recorded
//     (Cloud counts a task's RecordMarker commands as one action), and so
//     are markers of names this code does not know;
//   - each ActivityTaskScheduled, 1, plus 1 per retry (the attempt its
//     ActivityTaskStarted carries, minus 1);
//   - each StartChildWorkflowExecutionInitiated, 2 (the child's start and
//     its execution);
//   - each WorkflowExecutionOptionsUpdated, 1;
//   - each NexusOperationScheduled and NexusOperationCancelRequested, 1;
//   - RequestCancelExternalWorkflowExecutionInitiated, 0.
//
// Some actions leave no event and are not counted: queries, activity
// heartbeats, rejected updates (Cloud bills them, the history keeps none),
// workflow task heartbeats of long local activities beyond what their
// markers' tasks show, schedules and exports. A signal-with-start counts
// here as a start and a signal, where Cloud bills one action.
func CostOf(events []*historypb.HistoryEvent) HistoryCost {
	var c costCounter
	for _, e := range events {
		c.add(e)
	}
	return c.HistoryCost
}

// CostUntilUpdate is the cost of the history up to and including the
// completion (WorkflowExecutionUpdateCompleted) of the first accepted
// update named updateName: what the run cost before the update's caller
// had its answer. It is false when no such update completed in it.
func CostUntilUpdate(events []*historypb.HistoryEvent, updateName string) (HistoryCost, bool) {
	var c costCounter
	// The accepted updates by their acceptance event and their update id:
	// a completion names either.
	byEvent, byID := map[int64]string{}, map[string]string{}
	for _, e := range events {
		c.add(e)
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes()
			name := a.GetAcceptedRequest().GetInput().GetName()
			byEvent[e.GetEventId()] = name
			if id := a.GetAcceptedRequest().GetMeta().GetUpdateId(); id != "" {
				byID[id] = name
			}
			if id := a.GetProtocolInstanceId(); id != "" {
				byID[id] = name
			}
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
			a := e.GetWorkflowExecutionUpdateCompletedEventAttributes()
			name, ok := byEvent[a.GetAcceptedEventId()]
			if !ok {
				name, ok = byID[a.GetMeta().GetUpdateId()]
			}
			if ok && name == updateName {
				return c.HistoryCost, true
			}
		}
	}
	return HistoryCost{}, false
}

// costCounter adds events one at a time, in history order.
type costCounter struct {
	HistoryCost
	// lastTaskCompleted is the latest WorkflowTaskCompleted event: the
	// task a marker without its own reference was recorded by.
	lastTaskCompleted int64
	// markerTasks are the workflow tasks that recorded batched markers.
	markerTasks map[int64]bool
}

func (c *costCounter) add(e *historypb.HistoryEvent) {
	c.Events++
	switch e.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
		c.WorkflowTasks++
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
		c.lastTaskCompleted = e.GetEventId()
	case enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		if e.GetWorkflowTaskFailedEventAttributes().GetCause() == enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW {
			c.BillableActions++
		}
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enumspb.EVENT_TYPE_TIMER_STARTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED,
		enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
		enumspb.EVENT_TYPE_NEXUS_OPERATION_SCHEDULED,
		enumspb.EVENT_TYPE_NEXUS_OPERATION_CANCEL_REQUESTED:
		c.BillableActions++
	case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		// The event is written once, when the activity ends, with its last
		// attempt: the attempts before it were retries.
		if a := e.GetActivityTaskStartedEventAttributes().GetAttempt(); a > 1 {
			c.BillableActions += int(a - 1)
		}
	case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
		c.BillableActions += 2
	case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
		fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
		if _, ok := fields[searchAttrChangeVersion]; !(ok && len(fields) == 1) {
			c.BillableActions++
		}
	case enumspb.EVENT_TYPE_MARKER_RECORDED:
		c.marker(e.GetMarkerRecordedEventAttributes())
	}
}

func (c *costCounter) marker(a *historypb.MarkerRecordedEventAttributes) {
	switch a.GetMarkerName() {
	case markerSideEffect, markerMutableSideEffect:
		c.BillableActions++
	case markerVersion:
	default: // markerLocalActivity, and any other: one per workflow task
		task := a.GetWorkflowTaskCompletedEventId()
		if task == 0 {
			task = c.lastTaskCompleted
		}
		if c.markerTasks == nil {
			c.markerTasks = map[int64]bool{}
		}
		if !c.markerTasks[task] {
			c.markerTasks[task] = true
			c.BillableActions++
		}
	}
}
