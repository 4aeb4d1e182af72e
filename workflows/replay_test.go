package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/workflows"
)

// The histories under testdata/histories were recorded from real runs (see
// workflows/replay). Replaying them against the current code proves that a
// change to the workflows still reproduces, command for command, what
// running workflows already did: a change that does not is nondeterministic
// and would break them mid-flight once deployed.

const historiesDir = "testdata/histories"

// recorded are the histories that must be there: a deleted file must not
// quietly shrink what the replay test covers.
var recorded = []string{
	// PhoneNumberWorkflowV2 (NumberWorkflowType, number_purchase.go): the
	// purchase and the release as local activities, the order waited for
	// in the task, then durably (the webhook's signal ending the durable
	// wait), on documents, the undo, trials, continue-as-new. Recorded as
	// number-v2-*; the number-* histories without it are of
	// NumberWorkflowTypeV1, as recorded before it.
	"number-v2-paid-purchase-release.json",
	"number-v2-trial-expired.json",
	"number-v2-trial-converted-released.json",
	"number-v2-trial-converted-released-by-billing.json",
	"number-v2-purchase-failed-sold-meanwhile.json",
	"number-v2-purchase-failed-undo-retried.json",
	"number-v2-paid-locked-continued-as-new.json",
	"number-v2-paid-continued-run-released.json",
	"number-v2-order-event-ends-wait.json",
	"number-v2-regulated-documents-then-active.json",
	"number-v2-regulated-deadline-passed.json",
	// A local step handed to a regular activity (localFirst): Telnyx
	// answered the order with 5xx for longer than its local budget.
	"number-v2-order-step-handed-to-an-activity.json",
	"number-paid-purchase-release.json",
	"number-trial-expired.json",
	"number-trial-converted-released.json",
	"number-trial-converted-released-by-billing.json",
	"number-purchase-failed-sold-meanwhile.json",
	"billing-events-grace-release.json",
	// Recorded before the change "unwatched-records" (reconcile.go): it
	// replays only while that change stays behind its workflow.GetVersion.
	"reconcile-orphans-and-missing.json",
	// Continue-as-new ("continue-as-new", number_continue.go): the run
	// that continued, behind a deletion lock, and the run after it.
	"number-paid-locked-continued-as-new.json",
	"number-paid-continued-run-released.json",
	// The undo that keeps the slot ("undo-keeps-slot", number_undo.go).
	"number-purchase-failed-undo-retried.json",
	// Copies of histories recorded before "continue-as-new" and
	// "undo-keeps-slot" (commit 918cc33): they replay only while those
	// changes stay behind their workflow.GetVersion. The recorder does not
	// rewrite them.
	"number-paid-purchase-release-before-continue-as-new.json",
	"number-trial-expired-before-continue-as-new.json",
	"number-purchase-failed-sold-meanwhile-before-continue-as-new.json",
	"reconcile-unwatched-records.json",
	"release-unwatched-trial-expired.json",
	"release-unwatched-by-update.json",
	"release-unwatched-order-pending.json",
	"billing-burst-continued-as-new.json",
	"billing-burst-carried-events.json",
	// Recorded from the code of commit 269bcee, before the change
	// "trial-conversion" (number_hold.go): it replays only while that change
	// stays behind its workflow.GetVersion. The recorder does not rewrite it.
	"number-trial-expired-before-trial-conversion.json",
	// Recorded from the code of commit 1b6e86e, before the changes
	// "billing-drain-before-continue-as-new" and
	// "billing-refuse-future-events" (billing.go): it replays only while
	// they stay behind their workflow.GetVersion. The recorder does not
	// rewrite it.
	"billing-events-grace-release-before-drain.json",
	// The change "order-events" (number_order.go), recorded by
	// TestRecordHistoriesRegulated: a webhook ending the ordinary order
	// wait (the poll cancelled, the order checked), a regulated order
	// waiting on documents until the webhook, and one whose deadline
	// passes (sub-order cancelled, the purchase undone).
	"number-order-event-ends-wait.json",
	"number-regulated-documents-then-active.json",
	"number-regulated-deadline-passed.json",
}

// productionReplayer registers the workflows exactly as the worker does,
// through workflows.RegisterWithLimits; a replayer runs no activities.
type productionReplayer struct{ worker.WorkflowReplayer }

func (productionReplayer) RegisterActivity(any) {}

// newReplayerWith is a replayer with the workflows registered as the
// worker does, the number workflow's run limits given: a v2 run does not
// record them, so a history recorded with lowered ones replays with the
// same (recordedLimits).
func newReplayerWith(limits workflows.RunLimits) worker.WorkflowReplayer {
	r := worker.NewWorkflowReplayer()
	workflows.RegisterWithLimits(productionReplayer{r}, &activities.Activities{}, limits)
	return r
}

// recordedLimits are the run limits of the workers that recorded the v2
// histories with lowered ones (workflows/replay: shortRunSvc).
var recordedLimits = map[string]workflows.RunLimits{
	"number-v2-paid-locked-continued-as-new.json": {Updates: 2},
	"number-v2-paid-continued-run-released.json":  {Updates: 2},
}

func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(historiesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range recorded {
		if _, err := os.Stat(filepath.Join(historiesDir, name)); err != nil {
			t.Errorf("recorded history missing: %v (record it: go test -tags record -run TestRecordHistories ./workflows/replay/)", err)
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			if err := replayFile(t, newReplayerWith(recordedLimits[filepath.Base(file)]), file); err != nil {
				t.Fatalf("the current workflow code does not replay %s: %v\n"+
					"A change to workflow code must replay every recorded history; guard it with workflow.GetVersion (see README, Changing workflow code).", file, err)
			}
		})
	}
}

// replayFile replays a history as the worker does: under the execution it
// ran as. The number workflow's purchase key (its Telnyx order's
// customer_reference, which order events are matched against) is made of
// its workflow ID and first run ID, which a history alone does not name:
// the ID comes from the number in its input.
func replayFile(t *testing.T, r worker.WorkflowReplayer, file string) error {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		return err
	}
	var opts worker.ReplayWorkflowHistoryOptions
	started := h.GetEvents()[0].GetWorkflowExecutionStartedEventAttributes()
	if name := started.GetWorkflowType().GetName(); name == workflows.NumberWorkflowType || name == workflows.NumberWorkflowTypeV1 {
		var req workflows.PurchaseRequest
		if err := converter.GetDefaultDataConverter().FromPayloads(started.GetInput(), &req); err != nil {
			return err
		}
		opts.OriginalExecution = workflow.Execution{ID: workflows.NumberWorkflowID(req.PhoneNumber), RunID: started.GetOriginalExecutionRunId()}
	}
	return r.ReplayWorkflowHistoryWithOptions(testLogger(t), h, opts)
}

// TestReplayCatchesANondeterministicChange proves that the replay test can
// fail: the number workflow, changed to do something first that the
// recorded run did not, is refused by the replayer.
func TestReplayCatchesANondeterministicChange(t *testing.T) {
	type recordedRun struct {
		file, workflowType string
		code               func(workflow.Context, workflows.PurchaseRequest) error
	}
	for _, run := range []recordedRun{
		{"number-paid-purchase-release.json", workflows.NumberWorkflowTypeV1, workflows.PhoneNumberWorkflowV1},
		{"number-v2-paid-purchase-release.json", workflows.NumberWorkflowType, workflows.PhoneNumberWorkflow},
	} {
		t.Run(run.workflowType, func(t *testing.T) {
			refusesChanges(t, filepath.Join(historiesDir, run.file), run.workflowType, run.code)
		})
	}
}

// refusesChanges replays the history with the workflow's code changed in
// two ways, each of which the replayer must refuse.
func refusesChanges(t *testing.T, history, workflowType string, code func(workflow.Context, workflows.PurchaseRequest) error) {
	t.Parallel()
	changes := map[string]func(workflow.Context, workflows.PurchaseRequest) error{
		"an extra timer first": func(ctx workflow.Context, req workflows.PurchaseRequest) error {
			if err := workflow.Sleep(ctx, time.Second); err != nil {
				return err
			}
			return code(ctx, req)
		},
		"an extra activity first": func(ctx workflow.Context, req workflows.PurchaseRequest) error {
			actx := workflow.WithActivityOptions(ctx, activities.DatabaseOptions())
			if err := workflow.ExecuteActivity(actx, "Eligibility", req.TeamID).Get(ctx, nil); err != nil {
				return err
			}
			return code(ctx, req)
		},
	}
	for name, changed := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(changed, workflow.RegisterOptions{Name: workflowType})
			r.RegisterWorkflowWithOptions(workflows.TeamBillingWorkflow, workflow.RegisterOptions{Name: workflows.TeamWorkflowType})
			err := r.ReplayWorkflowHistoryFromJSONFile(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)), history)
			if err == nil {
				t.Fatal("the replayer accepted a changed workflow: the replay test proves nothing")
			}
			// TMPRL1100 is the SDK's code for a nondeterminism error.
			if !strings.Contains(err.Error(), "TMPRL1100") {
				t.Fatalf("the replayer failed, but not with a nondeterminism error: %v", err)
			}
			t.Logf("refused as expected: %v", err)
		})
	}
}

// testLogger sends the replayer's warnings and errors to the test's log.
func testLogger(t *testing.T) sdklog.Logger {
	return sdklog.NewStructuredLogger(testkit.Logger(t, slog.LevelWarn))
}
