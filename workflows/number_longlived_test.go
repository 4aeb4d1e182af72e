package workflows

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// Long-lived runs (continue-as-new): the hold and release loops with the
// real activities (the undo's, mocked, is in number_undo_mock_test.go). The test environment keeps no history, so a test
// makes a run "grow" with SetCurrentHistoryLength, as the server's count
// would, and runs the next run of the chain itself from the
// continue-as-new error's input.

// shortRuns are run limits that a test's history grows past (growAt).
var shortRuns = RunLimits{Events: 100}

// boughtInShortRuns starts a run with shortRuns whose first act is the
// purchase of e164 by a new team on plan.
func (f *fixture) boughtInShortRuns(plan domain.PlanName, e164 string) (*testsuite.TestWorkflowEnvironment, PurchaseRequest, *updateResult) {
	f.t.Helper()
	req := f.buyer(plan, e164)
	env := f.envWith(shortRuns)
	return env, req, purchaseAt(env, 0, "p1", req)
}

// envWith is f.env() with other run limits.
func (f *fixture) envWith(limits RunLimits) *testsuite.TestWorkflowEnvironment {
	env := newEnv(f.t)
	registerWithLimits(env, f.acts, limits)
	return env
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(testkit.Logger(t, slog.LevelWarn)))
	return suite.NewTestWorkflowEnvironment()
}

// continuedFrom returns the input of the run that env's run continued as.
func continuedFrom(t *testing.T, env *testsuite.TestWorkflowEnvironment) PurchaseRequest {
	t.Helper()
	var can *workflow.ContinueAsNewError
	if !env.IsWorkflowCompleted() || !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("the run did not continue as new: completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	if can.WorkflowType.Name != NumberWorkflowType {
		t.Fatalf("continued as %q", can.WorkflowType.Name)
	}
	var next PurchaseRequest
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Continued == nil {
		t.Fatal("the next run's input carries nothing")
	}
	return next
}

// growAt makes the run's history look long at a point of its time: the
// next check of the run's size sees it.
func growAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, length int) {
	env.RegisterDelayedCallback(func() { env.SetCurrentHistoryLength(length) }, after)
}

func TestTrialContinuesAsNewAndStillExpiresOnTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env, req, bought := f.boughtInShortRuns(domain.PlanFree, "+14155550141")
	growAt(env, 24*time.Hour, 150)
	// Any event wakes the run; a signal for another team changes nothing else.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalConvertToPaid, "team_other") }, 25*time.Hour)
	run(env, req)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	first := bought.value.(PurchaseResult).Number
	next := continuedFrom(t, env)
	c := next.Continued
	if c.Phase != PhaseHolding || !c.IsTrial || c.State.Number.TrialExpiresAt == nil || !c.State.Number.TrialExpiresAt.Equal(*first.TrialExpiresAt) {
		t.Fatalf("carried %+v (number %+v), want the trial holding until %v", c, c.State.Number, first.TrialExpiresAt)
	}
	if c.Key == "" || c.Key != c.State.CustomerReference || c.Runs != 1 {
		t.Fatalf("carried key %q, reference %q, runs %d", c.Key, c.State.CustomerReference, c.Runs)
	}

	// The next run: no new purchase, the same expiry.
	env2 := f.envWith(shortRuns)
	env2.SetStartTime(env.Now())
	expiresIn := first.TrialExpiresAt.Sub(env.Now())
	retried := purchaseAt(env2, time.Hour, "p1", req)
	other := purchaseAt(env2, 2*time.Hour, "p2", req)
	before := stateAt(t, env2, expiresIn-time.Minute)
	run(env2, next)
	checkCompleted(t, env2)
	if retried.err != nil || retried.rejected != nil || retried.value.(PurchaseResult).Number.ID != first.ID {
		t.Fatalf("the retried purchase update p1 after continue-as-new: %+v, want the purchase again", retried)
	}
	if appErrorType(other.rejected) != domain.CodeAlreadyOwned {
		t.Fatalf("a new purchase update: %v, want already_owned", other.rejected)
	}
	if before.Number.Status != domain.NumberActive || before.Runs != 1 {
		t.Fatalf("a minute before the expiry the number is %+v (runs %d), want active", before.Number, before.Runs)
	}
	if d := env2.Now().Sub(*first.TrialExpiresAt); d < 0 || d > time.Minute {
		t.Fatalf("the second run ended %v after the trial's expiry", d)
	}
	if got := f.sim.OrderCount(c.Key); got != 1 {
		t.Fatalf("%d orders for %s, want 1: the next run must not buy again", got, c.Key)
	}
	f.checkGone(req.TeamID, first.ID, domain.NumberExpired)
}

func TestLockedReleaseContinuesAsNewAndReleasesOnceUnlocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env, req, bought := f.boughtInShortRuns(domain.PlanGrowth, "+14155550142")
	env.RegisterDelayedCallback(func() { f.sim.DeletionLock(req.PhoneNumber, true) }, 30*time.Minute)
	refused := releaseAt(env, time.Hour, ReleaseRequest{TeamID: req.TeamID, Reason: "test"})
	// Months behind a lock: the retry every 6 h grows the run until it
	// continues as new.
	growAt(env, 10*24*time.Hour, 150)
	run(env, req)
	if bought.err != nil {
		t.Fatal(bought.err)
	}
	if appErrorType(refused.err) != domain.CodeDeletionLocked {
		t.Fatalf("release behind a lock: %v, want %s", refused.err, domain.CodeDeletionLocked)
	}
	next := continuedFrom(t, env)
	c := next.Continued
	if c.Phase != PhaseEnding || c.Final != domain.NumberReleased || c.RetryAt == nil || c.EndAttempts < 40 {
		t.Fatalf("carried %+v, want the release loop with its attempts (every 6 h for 10 days)", c)
	}
	if c.State.Number.Status != domain.NumberActive || c.State.Error != domain.CodeDeletionLocked {
		t.Fatalf("carried state %+v", c.State)
	}
	if d := c.RetryAt.Sub(env.Now()); d != releaseRetryInterval {
		t.Fatalf("next try due in %v, want %v", d, releaseRetryInterval)
	}

	f.sim.DeletionLock(req.PhoneNumber, false)
	env2 := f.envWith(shortRuns)
	env2.SetStartTime(env.Now())
	held := stateAt(t, env2, time.Hour)
	run(env2, next)
	checkCompleted(t, env2)
	if held.Number.Status != domain.NumberActive {
		t.Fatalf("while waiting for the next try the number is %+v, want active", held.Number)
	}
	// The next run tried when the run before had planned to, not at once.
	if d := env2.Now().Sub(*c.RetryAt); d < 0 || d > time.Minute {
		t.Fatalf("the release happened %v after the planned retry", d)
	}
	f.checkGone(req.TeamID, c.State.Number.ID, domain.NumberReleased)
}

func TestPendingSignalsAreCarriedAcrossContinueAsNew(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	env, req, _ := f.boughtInShortRuns(domain.PlanGrowth, "+14155550143")
	// A billing release reaches the signal channel, and the run learns it
	// has grown in the same workflow task: the run decides to continue
	// before the signal's goroutine has taken it. It must drain and carry
	// it, not drop it.
	env.RegisterDelayedCallback(func() { env.SignalWorkflowSkippingWorkflowTask(SignalReleaseNumber, req.TeamID) }, 30*time.Minute)
	growAt(env, time.Hour, 150)
	run(env, req)
	next := continuedFrom(t, env)
	if !next.Continued.ReleaseAsked {
		t.Fatalf("carried %+v: the billing release was lost", next.Continued)
	}
	env2 := f.envWith(RunLimits{})
	run(env2, next)
	if st := stateOf(t, env2); !env2.IsWorkflowCompleted() || env2.GetWorkflowError() != nil || st.Number.Status != domain.NumberReleased {
		t.Fatalf("second run: %v %+v", env2.GetWorkflowError(), st.Number)
	}
}

// TestRunBoughtBeforeContinueAsNewContinuesLate: a run whose hold began
// before changeContinueAsNew (its GetVersion read DefaultVersion) still
// continues as new once it has grown past the default limits, holding or
// behind a deletion lock; changeContinueAsNewLate is read only then.
func TestRunBoughtBeforeContinueAsNewContinuesLate(t *testing.T) {
	t.Parallel()
	for name, locked := range map[string]bool{"holding": false, "behind a lock": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			teamID, userID := f.team(domain.PlanGrowth)
			req := PurchaseRequest{PhoneNumber: "+14155550148", TeamID: teamID, UserID: userID}
			if locked {
				req.PhoneNumber = "+14155550149"
			}
			f.offer(req.PhoneNumber)
			env := f.env()
			env.OnGetVersion(changeContinueAsNew, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			lateReads := 0
			env.OnGetVersion(changeContinueAsNewLate, workflow.DefaultVersion, 1).Return(func(string, workflow.Version, workflow.Version) workflow.Version {
				lateReads++
				return 1
			})
			bought := purchaseAt(env, 0, "p1", req)
			if locked {
				env.RegisterDelayedCallback(func() { f.sim.DeletionLock(req.PhoneNumber, true) }, 30*time.Minute)
				releaseAt(env, time.Hour, ReleaseRequest{TeamID: teamID, Reason: "test"})
			}
			// Below the default limit nothing happens; past it the next
			// event (a retry every 6 h, or a signal) continues the run.
			growAt(env, 24*time.Hour, DefaultRunEvents-1)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalConvertToPaid, "team_other") }, 25*time.Hour)
			growAt(env, 10*24*time.Hour, DefaultRunEvents+1)
			env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalConvertToPaid, "team_other") }, 10*24*time.Hour+time.Minute)
			env.RegisterDelayedCallback(env.CancelWorkflow, 30*24*time.Hour)
			// A run of the type started before the fast path: the only
			// one that can predate continue-as-new.
			runType(env, NumberWorkflowTypeV1, req)
			if bought.err != nil || bought.rejected != nil {
				t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
			}
			c := continuedFrom(t, env).Continued
			want := PhaseHolding
			if locked {
				want = PhaseEnding
			}
			if c.Phase != want || c.State.Number.Status != domain.NumberActive {
				t.Fatalf("carried %+v, want phase %s with the number active", c, want)
			}
			if lateReads != 1 {
				t.Fatalf("%s read %d times, want once, when the run had grown", changeContinueAsNewLate, lateReads)
			}
		})
	}
}

// TestUnknownPhaseKeepsTheRunOpen: a continued run whose phase this code
// does not know fails its workflow task (Temporal retries it) instead of
// completing with the number held and nothing watching it.
func TestUnknownPhaseKeepsTheRunOpen(t *testing.T) {
	t.Parallel()
	for _, phase := range []RunPhase{"", "refunding"} {
		t.Run(fmt.Sprintf("phase %q", phase), func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			registerWithLimits(env, &activities.Activities{}, RunLimits{})
			req := PurchaseRequest{PhoneNumber: "+14155550150", TeamID: "team_a", UserID: "user_a",
				Continued: &ContinuedRun{Phase: phase, Key: "k", State: NumberState{TeamID: "team_a", Number: NumberView{Status: domain.NumberActive}}}}
			run(env, req)
			var panicked *temporal.PanicError
			if err := env.GetWorkflowError(); !errors.As(err, &panicked) || !strings.Contains(panicked.Error(), "unknown phase") {
				t.Fatalf("a run in phase %q ended with %v, want its task failed by a panic naming the unknown phase", phase, err)
			}
		})
	}
}

// TestRunLimitDefaultsArePinned: a v2 run does not record its run limits
// (a side effect would cost every number a billable action); it decides by
// the worker's, and a replay of a running number must decide the same.
// So the defaults are workflow code: changing them changes where running
// v2 numbers continue as new, which needs a workflow.GetVersion change
// (read where the limit is checked), not an edit of these constants.
func TestRunLimitDefaultsArePinned(t *testing.T) {
	got := RunLimits{}.withDefaults()
	if got.Events != 8000 || got.Updates != 500 {
		t.Fatalf("the run limit defaults are %+v: a change to them is a change to workflow code; put it behind workflow.GetVersion, then update this test", got)
	}
}
