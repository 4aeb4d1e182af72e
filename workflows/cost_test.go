package workflows_test

import (
	"os"
	"path/filepath"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	updatepb "go.temporal.io/api/update/v1"
	"go.temporal.io/sdk/client"

	"github.com/talkturo/phonenumbers/workflows"
)

// history numbers hand-built events in order, as the server does.
type history struct{ events []*historypb.HistoryEvent }

func (h *history) add(t enumspb.EventType, set func(*historypb.HistoryEvent)) int64 {
	e := &historypb.HistoryEvent{EventId: int64(len(h.events) + 1), EventType: t}
	if set != nil {
		set(e)
	}
	h.events = append(h.events, e)
	return e.EventId
}

func (h *history) started() {
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, nil)
}

// task is one workflow task handed out and completed; it returns the
// completion's event id.
func (h *history) task() int64 {
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, nil)
	h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED, nil)
	return h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, nil)
}

func (h *history) marker(name string, task int64) {
	h.add(enumspb.EVENT_TYPE_MARKER_RECORDED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: name, WorkflowTaskCompletedEventId: task,
		}}
	})
}

func (h *history) accepted(name, updateID string) int64 {
	return h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes{WorkflowExecutionUpdateAcceptedEventAttributes: &historypb.WorkflowExecutionUpdateAcceptedEventAttributes{
			ProtocolInstanceId: updateID,
			AcceptedRequest:    &updatepb.Request{Meta: &updatepb.Meta{UpdateId: updateID}, Input: &updatepb.Input{Name: name}},
		}}
	})
}

func (h *history) completed(acceptedEventID int64, updateID string) {
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes{WorkflowExecutionUpdateCompletedEventAttributes: &historypb.WorkflowExecutionUpdateCompletedEventAttributes{
			Meta: &updatepb.Meta{UpdateId: updateID}, AcceptedEventId: acceptedEventID,
		}}
	})
}

func (h *history) upsert(keys ...string) {
	fields := map[string]*commonpb.Payload{}
	for _, k := range keys {
		fields[k] = &commonpb.Payload{Data: []byte(`"x"`)}
	}
	h.add(enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_UpsertWorkflowSearchAttributesEventAttributes{UpsertWorkflowSearchAttributesEventAttributes: &historypb.UpsertWorkflowSearchAttributesEventAttributes{
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: fields},
		}}
	})
}

// activity is an activity scheduled, started on its attempt-th try and
// completed.
func (h *history) activity(attempt int32) {
	h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, nil)
	h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, func(e *historypb.HistoryEvent) {
		e.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: attempt}}
	})
	h.add(enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, nil)
}

func checkCost(t *testing.T, what string, got, want workflows.HistoryCost) {
	t.Helper()
	if got != want {
		t.Errorf("%s: %+v, want %+v", what, got, want)
	}
}

// An update-with-start whose handler runs its local activities in the
// first workflow task: one task, and three actions (the start, the
// update, the task's local activities).
func TestCostUpdateWithStartLocalActivities(t *testing.T) {
	var h history
	h.started()
	task := h.task()
	acc := h.accepted(workflows.UpdatePurchase, "u1")
	for range 3 {
		h.marker("LocalActivity", task)
	}
	h.completed(acc, "u1")

	want := workflows.HistoryCost{Events: 9, WorkflowTasks: 1, BillableActions: 3}
	checkCost(t, "whole history", workflows.CostOf(h.events), want)
	got, ok := workflows.CostUntilUpdate(h.events, workflows.UpdatePurchase)
	if !ok {
		t.Fatal("the purchase's completion was not found")
	}
	checkCost(t, "until the purchase", got, want)
}

// Local activity markers count once per workflow task that recorded them,
// whether the marker names its task or follows its completion.
func TestCostLocalActivitiesInTwoTasks(t *testing.T) {
	var h history
	h.started()
	first := h.task()
	h.marker("LocalActivity", first)
	h.marker("LocalActivity", first)
	h.task()
	h.marker("LocalActivity", 0) // no reference: the task just completed
	h.marker("LocalActivity", 0)
	checkCost(t, "two tasks", workflows.CostOf(h.events), workflows.HistoryCost{Events: 11, WorkflowTasks: 2, BillableActions: 1 + 2})
}

// GetVersion writes a Version marker and upserts TemporalChangeVersion:
// neither is billed. Any other upsert is, once whatever it sets.
func TestCostVersionAndUpserts(t *testing.T) {
	var h history
	task := h.task()
	h.marker("Version", task)
	h.upsert("TemporalChangeVersion")
	checkCost(t, "GetVersion", workflows.CostOf(h.events), workflows.HistoryCost{Events: 5, WorkflowTasks: 1, BillableActions: 0})

	h = history{}
	h.upsert("NumberStatus", "TeamId")
	checkCost(t, "an upsert", workflows.CostOf(h.events), workflows.HistoryCost{Events: 1, BillableActions: 1})

	h = history{}
	h.upsert("TemporalChangeVersion", "NumberStatus")
	checkCost(t, "an upsert that sets a version too", workflows.CostOf(h.events), workflows.HistoryCost{Events: 1, BillableActions: 1})
}

// One action for every other billed event, activities with their retries.
func TestCostEachRule(t *testing.T) {
	cases := []struct {
		name  string
		build func(h *history)
		want  int
	}{
		{"start", func(h *history) { h.started() }, 1},
		{"timer", func(h *history) { h.add(enumspb.EVENT_TYPE_TIMER_STARTED, nil) }, 1},
		{"signal received", func(h *history) { h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, nil) }, 1},
		{"signal sent", func(h *history) { h.add(enumspb.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, nil) }, 1},
		{"cancel requested", func(h *history) { h.add(enumspb.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED, nil) }, 0},
		{"update accepted", func(h *history) { h.accepted("release", "r") }, 1},
		{"side effects", func(h *history) {
			h.marker("SideEffect", 0)
			h.marker("SideEffect", 0)
			h.marker("MutableSideEffect", 0)
		}, 3},
		{"activity, first attempt", func(h *history) { h.activity(1) }, 1},
		{"activity, third attempt", func(h *history) { h.activity(3) }, 3},
		{"child workflow", func(h *history) { h.add(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, nil) }, 2},
		{"options updated", func(h *history) { h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED, nil) }, 1},
		{"workflow task failed", func(h *history) { h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, nil) }, 0},
		{"reset", func(h *history) {
			h.add(enumspb.EVENT_TYPE_WORKFLOW_TASK_FAILED, func(e *historypb.HistoryEvent) {
				e.Attributes = &historypb.HistoryEvent_WorkflowTaskFailedEventAttributes{WorkflowTaskFailedEventAttributes: &historypb.WorkflowTaskFailedEventAttributes{
					Cause: enumspb.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW,
				}}
			})
		}, 1},
		{"completed", func(h *history) { h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil) }, 0},
	}
	for _, c := range cases {
		var h history
		c.build(&h)
		if got := workflows.CostOf(h.events).BillableActions; got != c.want {
			t.Errorf("%s: %d billable actions, want %d", c.name, got, c.want)
		}
	}
}

// The purchase's cost stops at its completion, whatever comes after; a
// release's completion is not the purchase's, and a history without the
// purchase's completion has no such cost.
func TestCostUntilUpdateStopsAtThePurchase(t *testing.T) {
	var h history
	h.started()
	h.task()
	purchase := h.accepted(workflows.UpdatePurchase, "p")
	h.activity(1)
	h.task()
	release := h.accepted(workflows.UpdateRelease, "r") // accepted while the purchase runs
	h.activity(1)
	h.task()
	h.completed(release, "r")
	h.task()
	untilPurchase := len(h.events) + 1
	h.completed(purchase, "p")
	h.task()
	h.add(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, nil)

	got, ok := workflows.CostUntilUpdate(h.events, workflows.UpdatePurchase)
	if !ok {
		t.Fatal("the purchase's completion was not found")
	}
	checkCost(t, "until the purchase", got, workflows.HistoryCost{Events: untilPurchase, WorkflowTasks: 4, BillableActions: 1 + 2 + 2})
	checkCost(t, "whole history", workflows.CostOf(h.events), workflows.HistoryCost{Events: len(h.events), WorkflowTasks: 5, BillableActions: 5})

	// A completion naming its update by id only is matched too.
	var byID history
	byID.accepted(workflows.UpdatePurchase, "p")
	byID.completed(0, "p")
	if got, ok := workflows.CostUntilUpdate(byID.events, workflows.UpdatePurchase); !ok || got.Events != 2 {
		t.Errorf("completion by update id: %+v, %v", got, ok)
	}

	var released history
	released.started()
	released.task()
	r := released.accepted(workflows.UpdateRelease, "r")
	released.completed(r, "r")
	if got, ok := workflows.CostUntilUpdate(released.events, workflows.UpdatePurchase); ok {
		t.Errorf("a history with only a release has a purchase cost %+v", got)
	}
}

// A recorded purchase and release of a paid number (testdata), counted by
// hand: 46 events to the purchase's answer in 7 workflow tasks, with the
// start, the update, 3 upserts, 6 activities and a side effect; 71 events
// in 11 tasks over its life, with the release's update, 3 activities and
// an upsert more.
// TestCostOfRecordedPaidNumber counts the recorded life of a paid number:
// v1's (each step an activity) and v2's (the purchase and the release each
// answered from one workflow task of local activities), the floor.
func TestCostOfRecordedPaidNumber(t *testing.T) {
	for _, c := range []struct {
		file         string
		answer, life workflows.HistoryCost
	}{
		{"number-paid-purchase-release.json", workflows.HistoryCost{Events: 46, WorkflowTasks: 7, BillableActions: 12}, workflows.HistoryCost{Events: 71, WorkflowTasks: 11, BillableActions: 17}},
		{"number-v2-paid-purchase-release.json", workflows.HistoryCost{Events: 10, WorkflowTasks: 1, BillableActions: 3}, workflows.HistoryCost{Events: 19, WorkflowTasks: 2, BillableActions: 5}},
	} {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(historiesDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			hist, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := workflows.CostUntilUpdate(hist.GetEvents(), workflows.UpdatePurchase)
			if !ok {
				t.Fatal("the purchase's completion was not found")
			}
			checkCost(t, "until the purchase", got, c.answer)
			checkCost(t, "whole life", workflows.CostOf(hist.GetEvents()), c.life)
		})
	}
}
