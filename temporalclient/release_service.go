package temporalclient

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
	"github.com/talkturo/phonenumbers/workflows"
)

// ErrNumberWorkflowRunning is ReleaseUnwatched's answer when the number's
// purchase workflow runs: that run owns the record, and answers for it.
var ErrNumberWorkflowRunning = domain.NumberStillBeingBought()

var _ activities.NumberWorkflows = (*NumberService)(nil)

// ReleaseUnwatched releases the live record n when no PhoneNumberWorkflow
// of its number runs (Release answered domain.ErrNotFound, the run was
// terminated or its Temporal state is gone): it starts ReleaseNumberWorkflow
// under the number's workflow ID, or joins the one running, and waits for
// it at most wait (then pending is true and the release goes on). When a
// purchase of the number runs, nothing is started: ErrNumberWorkflowRunning.
func (s *NumberService) ReleaseUnwatched(ctx context.Context, n domain.PhoneNumber, reason string, wait time.Duration) (view workflows.NumberView, pending bool, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	run, err := s.latestRun(ctx, workflows.NumberWorkflowID(n.PhoneNumber))
	switch {
	case timedOut(ctx, err):
		return workflows.NumberView{}, true, nil
	case err != nil:
		return workflows.NumberView{}, false, temporalerr.Decode(err)
	case run.purchaseRunning() && !s.closing(ctx, run):
		return workflows.NumberView{}, false, ErrNumberWorkflowRunning
	}
	// Use-existing: a second request joins the release started by the
	// first, and a purchase started in between gets the update instead,
	// whose validator refuses it (the record stands in its way).
	handle, err := s.c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: s.releaseStart(n, reason),
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateID:     "release-" + n.ID,
			UpdateName:   workflows.UpdateRelease,
			Args:         []any{workflows.ReleaseRequest{TeamID: n.TeamID, Reason: reason}},
			WaitForStage: client.WorkflowUpdateStageAccepted,
		},
	})
	if err != nil {
		if timedOut(ctx, err) {
			return workflows.NumberView{}, true, nil
		}
		return workflows.NumberView{}, false, temporalerr.Decode(err)
	}
	return releaseOutcome(ctx, handle)
}

func (s *NumberService) releaseStart(n domain.PhoneNumber, reason string) client.WithStartWorkflowOperation {
	return s.c.NewWithStartWorkflowOperation(s.releaseOptions(n, reason), workflows.ReleaseWorkflowType,
		workflows.ReleaseNumberInput{NumberID: n.ID, TeamID: n.TeamID, PhoneNumber: n.PhoneNumber, Reason: reason})
}

func (s *NumberService) releaseOptions(n domain.PhoneNumber, reason string) client.StartWorkflowOptions {
	o := s.numberStartOptions(n.PhoneNumber)
	o.TypedSearchAttributes = temporal.NewSearchAttributes(
		workflows.AttrTeamID.ValueSet(n.TeamID),
		workflows.AttrPhoneNumber.ValueSet(n.PhoneNumber),
		workflows.AttrNumberStatus.ValueSet(string(n.Status)),
		workflows.AttrIsTrial.ValueSet(n.IsTrial),
	)
	o.Memo = map[string]any{"teamId": n.TeamID, "phoneNumber": n.PhoneNumber, "numberId": n.ID}
	o.StaticSummary = workflows.ReleaseSummary(n)
	o.StaticDetails = workflows.ReleaseStaticDetails(n, reason)
	return o
}

// latestRun describes the workflow ID's latest run. An ID Temporal does
// not know has no run: the zero runInfo.
func (s *NumberService) latestRun(ctx context.Context, workflowID string) (runInfo, error) {
	d, err := s.c.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return runInfo{}, nil
	case err != nil:
		return runInfo{}, err
	}
	info := d.GetWorkflowExecutionInfo()
	return runInfo{
		workflowID: workflowID, runID: info.GetExecution().GetRunId(), typ: info.GetType().GetName(),
		running: info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
	}, nil
}

type runInfo struct {
	workflowID, runID, typ string
	running                bool
}

func (r runInfo) purchaseRunning() bool {
	return r.running && (r.typ == workflows.NumberWorkflowType || r.typ == workflows.NumberWorkflowTypeV1)
}

// closing reports whether the running purchase has failed and is only
// letting its updates finish (the purchase that has just met the stale
// record, for one), and waits, within ctx, for it to close.
func (s *NumberService) closing(ctx context.Context, r runInfo) bool {
	v, err := s.c.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{WorkflowID: r.workflowID, RunID: r.runID, QueryType: workflows.QueryState})
	if err != nil {
		return false
	}
	var st workflows.NumberState
	if err := v.QueryResult.Get(&st); err != nil || st.Number.Status != domain.NumberFailed {
		return false
	}
	_ = s.c.GetWorkflow(ctx, r.workflowID, r.runID).Get(ctx, nil)
	return ctx.Err() == nil
}

// WorkflowRunning reports whether the workflow ID has an open run (of any
// type): reconciliation leaves such numbers alone.
func (s *NumberService) WorkflowRunning(ctx context.Context, workflowID string) (bool, error) {
	run, err := s.latestRun(ctx, workflowID)
	return run.running, err
}

// StartRelease starts ReleaseNumberWorkflow for the unwatched record n, or
// finds it started, without waiting for it.
func (s *NumberService) StartRelease(ctx context.Context, n domain.PhoneNumber, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, releaseStartTimeout)
	defer cancel()
	run, err := s.latestRun(ctx, workflows.NumberWorkflowID(n.PhoneNumber))
	switch {
	case err != nil:
		return err
	case run.purchaseRunning():
		return ErrNumberWorkflowRunning
	}
	// Fail, not use-existing, and say so: a purchase started under the ID
	// since the describe would otherwise be returned as if it were the
	// release.
	opts := s.releaseOptions(n, reason)
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	_, err = s.c.ExecuteWorkflow(ctx, opts, workflows.ReleaseWorkflowType,
		workflows.ReleaseNumberInput{NumberID: n.ID, TeamID: n.TeamID, PhoneNumber: n.PhoneNumber, Reason: reason})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		return err
	}
	if run, err = s.latestRun(ctx, workflows.NumberWorkflowID(n.PhoneNumber)); err != nil {
		return err
	}
	if run.running && run.typ == workflows.ReleaseWorkflowType {
		return nil // started already, by an earlier run
	}
	return ErrNumberWorkflowRunning
}

// releaseStartTimeout bounds how long StartRelease waits for Temporal.
const releaseStartTimeout = 10 * time.Second
