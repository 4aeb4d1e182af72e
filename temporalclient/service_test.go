package temporalclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
	"github.com/talkturo/phonenumbers/workflows"
)

// NumberService.Purchase against a mocked Temporal client: how it answers
// a purchase update refused because the team's purchase waits on
// documents.

// stateValue is a query's answer.
type stateValue struct{ st workflows.NumberState }

func (v stateValue) HasValue() bool { return true }
func (v stateValue) Get(ptr any) error {
	b, err := json.Marshal(v.st)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, ptr)
}
func (v stateValue) Payloads() *common.Payloads { return nil }

func awaitingDocumentsRefusal() error {
	return temporal.NewNonRetryableApplicationError("waits on documents", domain.CodeAwaitingDocuments, nil)
}

func serviceWithRefusal(t *testing.T, refusedAtGet bool) (*NumberService, *mocks.Client) {
	c := &mocks.Client{}
	t.Cleanup(func() { c.AssertExpectations(t) })
	c.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(nil)
	if refusedAtGet {
		h := &mocks.WorkflowUpdateHandle{}
		h.On("Get", mock.Anything, mock.Anything).Return(awaitingDocumentsRefusal())
		c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(h, nil)
	} else {
		c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, awaitingDocumentsRefusal())
	}
	deadline := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	st := workflows.NumberState{TeamID: "team_a", Number: workflows.NumberView{PhoneNumber: "+4930555000190", Status: domain.NumberPending,
		Requirements: &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Deadline: &deadline}}}
	c.On("QueryWorkflow", mock.Anything, workflows.NumberWorkflowID("+4930555000190"), "", workflows.QueryState).Return(stateValue{st}, nil)
	return testService(t, c), c
}

func TestPurchaseRefusedForDocumentsIsPending(t *testing.T) {
	t.Parallel()
	for _, atGet := range []bool{false, true} {
		s, _ := serviceWithRefusal(t, atGet)
		out, err := s.Purchase(context.Background(), workflows.PurchaseRequest{PhoneNumber: "+4930555000190", TeamID: "team_a"}, "u-2", time.Second)
		if err != nil || !out.Pending || out.State.Number.Requirements == nil || out.State.RequirementGroupID != "" {
			t.Fatalf("refused at get=%v: %+v, %v; want pending with the requirements, no signal", atGet, out, err)
		}
	}
}

func TestPurchaseRefusedForDocumentsHandsOnTheGroup(t *testing.T) {
	t.Parallel()
	s, c := serviceWithRefusal(t, false)
	c.On("SignalWorkflow", mock.Anything, workflows.NumberWorkflowID("+4930555000190"), "", workflows.SignalAttachRequirementGroup,
		workflows.AttachRequirementGroup{TeamID: "team_a", RequirementGroupID: "rg-9"}).Return(nil).Once()
	out, err := s.Purchase(context.Background(), workflows.PurchaseRequest{PhoneNumber: "+4930555000190", TeamID: "team_a", RequirementGroupID: "rg-9"}, "u-3", time.Second)
	if err != nil || !out.Pending || out.State.RequirementGroupID != "rg-9" || out.State.Number.Requirements == nil {
		t.Fatalf("%+v, %v; want pending, showing the group handed on", out, err)
	}
}

func TestPurchaseRefusedForDocumentsWhenTheSignalFails(t *testing.T) {
	t.Parallel()
	c := &mocks.Client{}
	c.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(nil)
	c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, awaitingDocumentsRefusal())
	c.On("SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(errors.New("boom"))
	// A state that cannot be read lets the signal go: the workflow decides.
	c.On("QueryWorkflow", mock.Anything, mock.Anything, mock.Anything, workflows.QueryState).Return(nil, errors.New("query failed"))
	s := testService(t, c)
	_, err := s.Purchase(context.Background(), workflows.PurchaseRequest{PhoneNumber: "+4930555000190", TeamID: "team_a", RequirementGroupID: "rg-9"}, "u-4", time.Second)
	if err == nil {
		t.Fatal("a group that could not be handed on was answered as pending")
	}
}

// TestPurchaseRefusedForDocumentsSendsAGroupOnce: a group the purchase
// took already, the one it was ordered with, or one past the bound sends
// the workflow nothing (the mock fails on any signal): a client retrying
// with its group costs no history.
func TestPurchaseRefusedForDocumentsSendsAGroupOnce(t *testing.T) {
	t.Parallel()
	many := make([]string, workflows.MaxRequirementGroups)
	for i := range many {
		many[i] = fmt.Sprintf("rg-%d", i)
	}
	for name, st := range map[string]workflows.NumberState{
		"taken already":   {TeamID: "team_a", RequirementGroupID: "rg-2", RequirementGroups: []string{"rg-9", "rg-2"}},
		"ordered with it": {TeamID: "team_a", RequirementGroupID: "rg-9"},
		"past the bound":  {TeamID: "team_a", RequirementGroups: many},
	} {
		c := &mocks.Client{}
		c.On("NewWithStartWorkflowOperation", mock.Anything, mock.Anything, mock.Anything).Return(nil)
		c.On("UpdateWithStartWorkflow", mock.Anything, mock.Anything).Return(nil, awaitingDocumentsRefusal())
		c.On("QueryWorkflow", mock.Anything, workflows.NumberWorkflowID("+4930555000190"), "", workflows.QueryState).Return(stateValue{st}, nil)
		out, err := testService(t, c).Purchase(context.Background(), workflows.PurchaseRequest{PhoneNumber: "+4930555000190", TeamID: "team_a", RequirementGroupID: "rg-9"}, "u-5", time.Second)
		if err != nil || !out.Pending {
			t.Fatalf("%s: %+v, %v; want pending", name, out, err)
		}
		c.AssertNotCalled(t, "SignalWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything, mock.Anything)
	}
}

var _ client.Client = (*mocks.Client)(nil)

// testService is a NumberService on the mocked client c.
func testService(t *testing.T, c client.Client) *NumberService {
	t.Helper()
	s, err := NewNumberService(c, ServiceConfig{TaskQueue: "test-queue"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNotifyOrderKeepsTheCallersDeadline: the webhook handler's deadline
// reaches the signal, so a slow Temporal cannot hold Telnyx's delivery
// past it.
func TestNotifyOrderKeepsTheCallersDeadline(t *testing.T) {
	t.Parallel()
	c := &mocks.Client{}
	ev := workflows.OrderEvent{CustomerReference: "phone-number:+14155550190/run-1", OrderID: "ord-1", Status: domain.OrderSuccess}
	c.On("SignalWorkflow", mock.MatchedBy(func(ctx context.Context) bool {
		_, ok := ctx.Deadline()
		return ok
	}), "phone-number:+14155550190", "", workflows.SignalOrderEvent, ev).Return(nil).Once()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := testService(t, c).NotifyOrder(ctx, ev); err != nil {
		t.Fatal(err)
	}
	c.AssertExpectations(t)
}

// TestWorkflowNotReadyIsUnavailable: Temporal refuses an update while the
// workflow's task keeps failing (workers lost mid-task): a 503 to retry,
// never a 500.
func TestWorkflowNotReadyIsUnavailable(t *testing.T) {
	err := temporalerr.Decode(serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to Workflow Task in failed state."))
	if domain.ErrorKind(err) != domain.KindUnavailable {
		t.Fatalf("Decode = %v, want KindUnavailable", err)
	}
}

// TestEveryConstructorRefusesNoTaskQueue: the task queue is the app's to
// state (TEMPORAL_TASK_QUEUE); none of the client side fills one in.
func TestEveryConstructorRefusesNoTaskQueue(t *testing.T) {
	t.Parallel()
	c := &mocks.Client{}
	if _, err := NewNumberService(c, ServiceConfig{}); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TASK_QUEUE") {
		t.Errorf("NewNumberService: %v, want an error naming TEMPORAL_TASK_QUEUE", err)
	}
	if _, err := NewWorker(c, WorkerConfig{}, nil, nil); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TASK_QUEUE") {
		t.Errorf("NewWorker: %v, want an error naming TEMPORAL_TASK_QUEUE", err)
	}
	if err := EnsureReconcileSchedule(context.Background(), c, ReconcileConfig{Interval: time.Minute}); err == nil || !strings.Contains(err.Error(), "TEMPORAL_TASK_QUEUE") {
		t.Errorf("EnsureReconcileSchedule: %v, want an error naming TEMPORAL_TASK_QUEUE", err)
	}
	c.AssertExpectations(t) // nothing was asked of Temporal
}
