package temporalclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
	"github.com/talkturo/phonenumbers/workflows"
)

// NumberService is the client side of the number workflow: what the API
// calls to buy, release and read numbers.
type NumberService struct {
	c         client.Client
	taskQueue string
	records   domain.PhoneNumberStore
}

// ServiceConfig names the task queue the workers poll.
type ServiceConfig struct {
	// TaskQueue is where the workflows the service starts run
	// (TEMPORAL_TASK_QUEUE); required.
	TaskQueue string
	// Records, when set, answers a purchase still running when its wait
	// ran out from its pending record rather than by querying the
	// workflow: a query waits for the workflow task under way, and the
	// purchase's first task may wait seconds for its order.
	Records domain.PhoneNumberStore
}

// NewNumberService returns a NumberService on the client.
func NewNumberService(c client.Client, cfg ServiceConfig) (*NumberService, error) {
	if cfg.TaskQueue == "" {
		return nil, errNoTaskQueue("NewNumberService")
	}
	return &NumberService{c: c, taskQueue: cfg.TaskQueue, records: cfg.Records}, nil
}

// errNoTaskQueue refuses a configuration without a task queue: the app
// states it (config: TEMPORAL_TASK_QUEUE), never this package.
func errNoTaskQueue(what string) error {
	return fmt.Errorf("temporalclient.%s: no task queue given (TEMPORAL_TASK_QUEUE)", what)
}

// PurchaseOutcome is a settled purchase, or (Pending) one still running
// when the wait ran out: State then says where it is.
type PurchaseOutcome struct {
	Pending bool
	Result  workflows.PurchaseResult
	State   workflows.NumberState
}

// numberStartOptions start the workflow of the number e164, a purchase's
// or a release's, or join the run that holds its ID: one run per number at
// a time, and a new one once the last has ended.
func (s *NumberService) numberStartOptions(e164 string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       workflows.NumberWorkflowID(e164),
		TaskQueue:                s.taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}
}

// Purchase starts the number's workflow, or joins the one running, with an
// update that returns once the number is active; updateID makes a retried
// request the same update. It waits at most wait, then reports the
// purchase as pending: the workflow goes on regardless, and the caller
// going away (ctx cancelled) changes nothing either.
func (s *NumberService) Purchase(ctx context.Context, req workflows.PurchaseRequest, updateID string, wait time.Duration) (PurchaseOutcome, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	req.UpdateID = updateID
	opts := s.numberStartOptions(req.PhoneNumber)
	// What never changes: the run sets NumberStatus itself where an
	// operator needs it (showSlowPurchase, completeFast, showStatus), not
	// on a paid purchase answered from its first workflow task; each
	// change is a billable action.
	opts.TypedSearchAttributes = temporal.NewSearchAttributes(
		workflows.AttrTeamID.ValueSet(req.TeamID),
		workflows.AttrPhoneNumber.ValueSet(req.PhoneNumber),
	)
	opts.Memo = map[string]any{"teamId": req.TeamID, "phoneNumber": req.PhoneNumber, "userId": req.UserID}
	opts.StaticSummary = workflows.NumberSummary(req.PhoneNumber, req.TeamID)
	opts.StaticDetails = workflows.NumberStaticDetails(req)
	start := s.c.NewWithStartWorkflowOperation(opts, workflows.NumberWorkflowType, req)
	handle, err := s.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:   updateID,
			UpdateName: workflows.UpdatePurchase,
			Args:       []any{req},
			// One call: Temporal answers once the purchase has settled
			// (the fast path answers from its first workflow task), or
			// with an accepted update when its own long poll ends first;
			// Get below waits on from there.
			WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		if timedOut(ctx, err) {
			return s.pending(req)
		}
		if awaitingDocuments(err) {
			return s.awaitingDocuments(ctx, req)
		}
		return PurchaseOutcome{}, temporalerr.Decode(err)
	}
	var res workflows.PurchaseResult
	if err := handle.Get(ctx, &res); err != nil {
		if timedOut(ctx, err) {
			return s.pending(req)
		}
		if awaitingDocuments(err) {
			return s.awaitingDocuments(ctx, req)
		}
		return PurchaseOutcome{}, temporalerr.Decode(err)
	}
	return PurchaseOutcome{Result: res}, nil
}

// pending reports a purchase still running when the wait ran out. The
// number's workflow may be another team's purchase that this request's
// update has not yet been refused by: that is number_in_purchase, and its
// state is none of this team's business.
func (s *NumberService) pending(req workflows.PurchaseRequest) (PurchaseOutcome, error) {
	ctx, cancel := context.WithTimeout(context.Background(), domain.PendingStateQueryTimeout)
	defer cancel()
	if st, ok := s.pendingRecord(ctx, req.PhoneNumber); ok {
		if st.TeamID != req.TeamID {
			return PurchaseOutcome{}, domain.NumberInPurchase(req.PhoneNumber)
		}
		return PurchaseOutcome{Pending: true, State: st}, nil
	}
	st, err := s.State(ctx, req.PhoneNumber)
	if errors.Is(err, domain.ErrNotFound) {
		return PurchaseOutcome{}, &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable, Message: "The purchase could not be started in time; try again.", Err: err}
	}
	if err != nil {
		// No worker answered the query (all of them down or busy): the
		// purchase goes on, and a retry joins it.
		return PurchaseOutcome{}, &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable,
			Message: "The purchase is under way but its progress could not be read in time; retry the request (with the same Idempotency-Key) to follow it.", Err: err}
	}
	if st.TeamID != req.TeamID {
		return PurchaseOutcome{}, domain.NumberInPurchase(req.PhoneNumber)
	}
	return PurchaseOutcome{Pending: true, State: st}, nil
}

// pendingRecord is the state of the number's purchase as its pending
// record tells it (ok false without Records, or without a pending record
// of the number's workflow: its purchase has not begun, or is over).
func (s *NumberService) pendingRecord(ctx context.Context, e164 string) (workflows.NumberState, bool) {
	if s.records == nil {
		return workflows.NumberState{}, false
	}
	n, err := s.records.LiveByNumber(ctx, e164)
	if err != nil || n.Status != domain.NumberPending || n.WorkflowID != workflows.NumberWorkflowID(e164) {
		return workflows.NumberState{}, false
	}
	return workflows.NumberState{TeamID: n.TeamID, Number: workflows.NumberViewOf(n)}, true
}

// awaitingDocuments reports whether the purchase update was refused
// because the team's purchase waits on documents.
func awaitingDocuments(err error) bool {
	return temporalerr.Type(err) == domain.CodeAwaitingDocuments
}

// awaitingDocuments answers a request refused because the team's purchase
// waits on documents: the purchase is pending, and its state says on
// what. A request carrying a requirement group hands it to the purchase
// first (SignalAttachRequirementGroup); the state shows it, though the
// workflow may not have taken it yet when the state is read.
func (s *NumberService) awaitingDocuments(ctx context.Context, req workflows.PurchaseRequest) (PurchaseOutcome, error) {
	if req.RequirementGroupID != "" && s.groupIsNew(ctx, req) {
		err := s.c.SignalWorkflow(ctx, workflows.NumberWorkflowID(req.PhoneNumber), "", workflows.SignalAttachRequirementGroup,
			workflows.AttachRequirementGroup{TeamID: req.TeamID, RequirementGroupID: req.RequirementGroupID})
		if err != nil {
			if timedOut(ctx, err) {
				return PurchaseOutcome{}, &domain.Error{Kind: domain.KindUnavailable, Code: domain.CodeServiceUnavailable,
					Message: "The requirement group could not be handed to the purchase in time; retry the request.", Err: err}
			}
			return PurchaseOutcome{}, temporalerr.Decode(err)
		}
	}
	out, err := s.pending(req)
	if err == nil && req.RequirementGroupID != "" {
		out.State.RequirementGroupID = req.RequirementGroupID
	}
	return out, err
}

// groupIsNew reports whether the purchase would take the request's
// requirement group: one it was placed with, took already, or past
// MaxRequirementGroups is not signalled (the workflow would drop it, at
// the cost of a signal and a workflow task each retry). A state that
// cannot be read lets the signal go: the workflow decides.
func (s *NumberService) groupIsNew(ctx context.Context, req workflows.PurchaseRequest) bool {
	st, err := s.State(ctx, req.PhoneNumber)
	if err != nil {
		return true
	}
	return st.RequirementGroupID != req.RequirementGroupID &&
		!slices.Contains(st.RequirementGroups, req.RequirementGroupID) && len(st.RequirementGroups) < workflows.MaxRequirementGroups
}

// State asks the number's current (or last) workflow run where it is.
func (s *NumberService) State(ctx context.Context, e164 string) (workflows.NumberState, error) {
	v, err := s.c.QueryWorkflow(ctx, workflows.NumberWorkflowID(e164), "", workflows.QueryState)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return workflows.NumberState{}, domain.ErrNotFound
		}
		return workflows.NumberState{}, temporalerr.Decode(err)
	}
	var st workflows.NumberState
	if err := v.Get(&st); err != nil {
		return workflows.NumberState{}, err
	}
	return st, nil
}

// Release asks the number's workflow to release it and waits until it is,
// at most wait: then pending is true and the workflow goes on with it. A
// workflow that is no longer running has nothing to release: NotFound.
func (s *NumberService) Release(ctx context.Context, e164 string, req workflows.ReleaseRequest, wait time.Duration) (view workflows.NumberView, pending bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	handle, err := s.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflows.NumberWorkflowID(e164),
		UpdateID:     releaseUpdateID(e164, req),
		UpdateName:   workflows.UpdateRelease,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageAccepted,
	})
	if err != nil {
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return workflows.NumberView{}, false, domain.ErrNotFound
		case timedOut(ctx, err):
			return workflows.NumberView{}, true, nil
		}
		return workflows.NumberView{}, false, temporalerr.Decode(err)
	}
	return releaseOutcome(ctx, handle)
}

// releaseOutcome waits for an accepted release update's answer: the number
// as it ended, or pending when ctx's wait runs out first.
func releaseOutcome(ctx context.Context, handle client.WorkflowUpdateHandle) (view workflows.NumberView, pending bool, err error) {
	if err := handle.Get(ctx, &view); err != nil {
		if timedOut(ctx, err) {
			return workflows.NumberView{}, true, nil
		}
		return workflows.NumberView{}, false, temporalerr.Decode(err)
	}
	return view, false, nil
}

// releaseUpdateID names a release update after the request that asked for
// it (ReleaseRequest.RequestKey), so that Temporal answers a retried
// request with the first one's outcome rather than trying again; a key
// only names the update through a hash, so none reaches the history.
// Without a key the SDK picks a random ID (its own retries of the call
// still share it).
func releaseUpdateID(e164 string, req workflows.ReleaseRequest) string {
	if req.RequestKey == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(req.TeamID + "\x00" + e164 + "\x00" + req.RequestKey))
	return "release-" + hex.EncodeToString(sum[:16])
}

func timedOut(ctx context.Context, err error) bool {
	var de *serviceerror.DeadlineExceeded
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de)
}

// SendBillingEvent hands a billing event to the team's billing workflow,
// starting it if need be (signal-with-start). When it returns nil, Temporal
// has recorded the signal: the event will be applied.
func (s *NumberService) SendBillingEvent(ctx context.Context, ev workflows.BillingEvent) error {
	_, err := s.c.SignalWithStartWorkflow(context.WithoutCancel(ctx), workflows.TeamWorkflowID(ev.TeamID), workflows.SignalBillingEvent, ev,
		client.StartWorkflowOptions{
			TaskQueue:                s.taskQueue,
			WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
			TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.AttrTeamID.ValueSet(ev.TeamID)),
			StaticSummary:            workflows.BillingSummary(ev.TeamID),
			StaticDetails:            workflows.BillingStaticDetails(ev.TeamID),
		}, workflows.TeamWorkflowType, workflows.BillingState{TeamID: ev.TeamID, Plan: domain.PlanFree})
	return temporalerr.Decode(err)
}

// NotifyOrder hands a verified Telnyx order event to the purchase its
// customer reference names. An event for no purchase of ours (another
// system's reference, or a number whose workflow has ended) is dropped
// without error: Telnyx retries anything but a 2xx, and retrying cannot
// make it ours.
func (s *NumberService) NotifyOrder(ctx context.Context, ev workflows.OrderEvent) error {
	workflowID, ok := workflows.NumberWorkflowIDOfKey(ev.CustomerReference)
	if !ok {
		return nil
	}
	// The caller's context, deadline included: the webhook handler must
	// answer Telnyx in time, and Telnyx retries a delivery it did not see
	// answered.
	err := s.c.SignalWorkflow(ctx, workflowID, "", workflows.SignalOrderEvent, ev)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return temporalerr.Decode(err)
}

// BillingState asks a team's billing workflow where it is.
func (s *NumberService) BillingState(ctx context.Context, teamID string) (workflows.BillingState, error) {
	v, err := s.c.QueryWorkflow(ctx, workflows.TeamWorkflowID(teamID), "", workflows.QueryBilling)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return workflows.BillingState{}, domain.ErrNotFound
		}
		return workflows.BillingState{}, temporalerr.Decode(err)
	}
	var st workflows.BillingState
	return st, v.Get(&st)
}
