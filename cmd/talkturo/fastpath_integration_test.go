package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// The purchase at the floor, read from the real histories of the embedded
// server: a paid purchase whose order settles at once (or within the
// task, woken by the webhook) is answered from one workflow task, and a
// paid number's whole life costs a handful of billable actions. The
// figures are the targets; timings are measured by the benchmark
// and the load tool, never asserted here.

func TestPurchaseAtTheFloor(t *testing.T) {
	t.Parallel()
	for name, latency := range map[string]time.Duration{"settled at once": 0, "settled in 200ms": 200 * time.Millisecond} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, base := webhookStack(t, nil, nil)
			s.sim.SetOrderLatency(latency)
			team, token := s.team(domain.PlanScale)
			c := mustClient(t, s)
			e164 := "+14155550190"
			if latency > 0 {
				e164 = "+14155550191"
			}
			s.offer(e164)
			status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team})
			if status != 200 {
				t.Fatalf("purchase: %d %v", status, body)
			}
			events := history(t, c, e164)
			if typ := events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName(); typ != workflows.NumberWorkflowType {
				t.Errorf("the purchase started a %s, want %s", typ, workflows.NumberWorkflowType)
			}
			before, ok := workflows.CostUntilUpdate(events, workflows.UpdatePurchase)
			if !ok {
				t.Fatal("the history has no completed purchase update")
			}
			t.Logf("before the answer: %+v", before)
			if before.Events > 15 || before.WorkflowTasks > 1 || before.BillableActions > 3 {
				t.Errorf("before the answer: %+v; want at most 15 events, one workflow task, 3 billable actions (start, update, the local activities)", before)
			}
			for _, e := range events {
				switch e.GetEventType() {
				case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
					t.Errorf("event %d %s: the fast path schedules no activity or timer and needs no signal", e.GetEventId(), e.GetEventType())
				}
			}

			// Operators find it by the runbook's query (running, no
			// status), and not a trial (which shows its status) beside it.
			freeTeam, freeToken := s.team(domain.PlanFree)
			trial := "+14155550192"
			if latency > 0 {
				trial = "+14155550193"
			}
			s.offer(trial)
			if status, body := call(t, "POST", base+"/api/phone-numbers/purchase", freeToken, map[string]any{"phoneNumber": trial, "teamId": freeTeam}); status != 200 {
				t.Fatalf("trial purchase: %d %v", status, body)
			}
			query := fmt.Sprintf(`WorkflowType = %q AND ExecutionStatus = "Running" AND NumberStatus IS NULL AND StartTime < %q`,
				workflows.NumberWorkflowType, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
			var found []string
			waitFor(t, 30*time.Second, func() bool {
				resp, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Query: query})
				found = found[:0]
				for _, e := range resp.GetExecutions() {
					found = append(found, e.GetExecution().GetWorkflowId())
				}
				return err == nil && len(found) == 1 && found[0] == workflows.NumberWorkflowID(e164)
			}, "the runbook's query to find the active paid number alone")

			// The release, then the whole life.
			id := body["phoneNumber"].(map[string]any)["id"].(string)
			status, body = call(t, "DELETE", base+"/api/phone-numbers/purchase/"+id+"?teamId="+team, token, nil)
			if status != 200 {
				t.Fatalf("release: %d %v", status, body)
			}
			life := workflows.CostOf(closedHistory(t, c, e164))
			t.Logf("the paid number's life: %+v", life)
			if life.BillableActions > 5 {
				t.Errorf("a paid number's life cost %+v, want at most 5 billable actions", life)
			}
		})
	}
}

func history(t *testing.T, c client.Client, e164 string) []*historypb.HistoryEvent {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflows.NumberWorkflowID(e164), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	return events
}

// closedHistory waits for the number's run to close and returns its history.
func closedHistory(t *testing.T, c client.Client, e164 string) []*historypb.HistoryEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflows.NumberWorkflowID(e164), "")
		if err != nil {
			t.Fatal(err)
		}
		if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return history(t, c, e164)
		}
		if time.Now().After(deadline) {
			t.Fatal("the released number's run did not close")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
