package workflows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// Long-lived runs (continue-as-new) and the undo that keeps the slot: the
// saga's undo branch with mocked activities, the hold and release loops
// with the real ones. The test environment keeps no history, so a test
// makes a run "grow" with SetCurrentHistoryLength, as the server's count
// would, and runs the next run of the chain itself from the
// continue-as-new error's input.

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
	teamID, userID := f.team(domain.PlanFree)
	req := PurchaseRequest{PhoneNumber: "+14155550141", TeamID: teamID, UserID: userID}
	f.offer(req.PhoneNumber)
	limits := RunLimits{Events: 100}
	env := f.envWith(limits)
	bought := purchaseAt(env, 0, "p1", req)
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
	env2 := f.envWith(limits)
	env2.SetStartTime(env.Now())
	expiresIn := first.TrialExpiresAt.Sub(env.Now())
	retried := purchaseAt(env2, time.Hour, "p1", req)
	other := purchaseAt(env2, 2*time.Hour, "p2", req)
	before := stateAt(t, env2, expiresIn-time.Minute)
	run(env2, next)
	if !env2.IsWorkflowCompleted() || env2.GetWorkflowError() != nil {
		t.Fatalf("second run: completed=%v err=%v", env2.IsWorkflowCompleted(), env2.GetWorkflowError())
	}
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
	n, err := f.numbers.Get(context.Background(), teamID, first.ID)
	if err != nil || n.Status != domain.NumberExpired {
		t.Fatalf("stored number %+v (%v), want expired", n, err)
	}
	if got := f.sim.OrderCount(c.Key); got != 1 {
		t.Fatalf("%d orders for %s, want 1: the next run must not buy again", got, c.Key)
	}
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("the simulator still holds %v", owned)
	}
	if e, _ := f.accounts.Eligibility(context.Background(), teamID); e.CurrentCount != 0 {
		t.Fatalf("slot not freed: %+v", e)
	}
}

func TestLockedReleaseContinuesAsNewAndReleasesOnceUnlocked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanGrowth)
	req := PurchaseRequest{PhoneNumber: "+14155550142", TeamID: teamID, UserID: userID}
	f.offer(req.PhoneNumber)
	limits := RunLimits{Events: 100}
	env := f.envWith(limits)
	bought := purchaseAt(env, 0, "p1", req)
	env.RegisterDelayedCallback(func() { f.sim.DeletionLock(req.PhoneNumber, true) }, 30*time.Minute)
	refused := releaseAt(env, time.Hour, ReleaseRequest{TeamID: teamID, Reason: "test"})
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
	env2 := f.envWith(limits)
	env2.SetStartTime(env.Now())
	held := stateAt(t, env2, time.Hour)
	run(env2, next)
	if !env2.IsWorkflowCompleted() || env2.GetWorkflowError() != nil {
		t.Fatalf("second run: completed=%v err=%v", env2.IsWorkflowCompleted(), env2.GetWorkflowError())
	}
	if held.Number.Status != domain.NumberActive {
		t.Fatalf("while waiting for the next try the number is %+v, want active", held.Number)
	}
	// The next run tried when the run before had planned to, not at once.
	if d := env2.Now().Sub(*c.RetryAt); d < 0 || d > time.Minute {
		t.Fatalf("the release happened %v after the planned retry", d)
	}
	n, err := f.numbers.Get(context.Background(), teamID, c.State.Number.ID)
	if err != nil || n.Status != domain.NumberReleased {
		t.Fatalf("stored number %+v (%v), want released", n, err)
	}
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("the simulator still holds %v", owned)
	}
	if e, _ := f.accounts.Eligibility(context.Background(), teamID); e.CurrentCount != 0 {
		t.Fatalf("slot not freed: %+v", e)
	}
}

func TestPendingSignalsAreCarriedAcrossContinueAsNew(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanGrowth)
	req := PurchaseRequest{PhoneNumber: "+14155550143", TeamID: teamID, UserID: userID}
	f.offer(req.PhoneNumber)
	env := f.envWith(RunLimits{Events: 100})
	purchaseAt(env, 0, "p1", req)
	// A billing release reaches the signal channel, and the run learns it
	// has grown in the same workflow task: the run decides to continue
	// before the signal's goroutine has taken it. It must drain and carry
	// it, not drop it.
	env.RegisterDelayedCallback(func() { env.SignalWorkflowSkippingWorkflowTask(SignalReleaseNumber, teamID) }, 30*time.Minute)
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

// undoMocks mocks every activity of a purchase that fails once its order
// may have been placed (the number was sold meanwhile), with a release at
// the provider that fails `failures` times before it succeeds. It records
// how many releases had been tried when the record was marked failed, the
// slot freed and the purchase answered.
type undoMocks struct {
	env      *testsuite.TestWorkflowEnvironment
	failures int

	mu            sync.Mutex
	releases      []time.Time
	failedAfter   int
	freedAfter    int
	answeredAfter int
	answer        error
	// freedAtAnswer: the slot was already free when the purchase was answered.
	freedAtAnswer bool
}

func newUndoMocks(t *testing.T, limits RunLimits, failures int) *undoMocks {
	env := newEnv(t)
	registerWithLimits(env, &activities.Activities{}, limits)
	m := &undoMocks{env: env, failures: failures, failedAfter: -1, freedAfter: -1, answeredAfter: -1}
	env.OnActivity(acts.BeginPurchase, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BeginInput) (activities.BeginResult, error) {
		n := in.Number
		n.Status = domain.NumberPending
		return activities.BeginResult{Number: n}, nil
	})
	env.OnActivity(acts.PlaceOrder, mock.Anything, mock.Anything).Return(activities.OrderResult{},
		temporal.NewNonRetryableApplicationError("The number is no longer available.", domain.CodeNumberUnavailable, nil))
	env.OnActivity(acts.ReleaseAtProvider, mock.Anything, mock.Anything).Return(func(context.Context, activities.ReleaseInput) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.releases = append(m.releases, env.Now())
		if len(m.releases) <= m.failures {
			return temporal.NewNonRetryableApplicationError("deletion lock", domain.CodeDeletionLocked, nil)
		}
		return nil
	})
	env.OnActivity(acts.EndNumber, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.EndInput) (domain.PhoneNumber, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if in.Status != domain.NumberFailed {
			t.Errorf("the undo recorded %s, want failed", in.Status)
		}
		m.failedAfter = len(m.releases)
		return domain.PhoneNumber{ID: in.NumberID, Status: in.Status}, nil
	})
	env.OnActivity(acts.CancelSlot, mock.Anything, mock.Anything).Return(func(context.Context, string) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.freedAfter = len(m.releases)
		return nil
	})
	return m
}

func (m *undoMocks) purchase(after time.Duration, id string, req PurchaseRequest) {
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdatePurchase, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { m.answer = err },
			OnComplete: func(_ any, err error) {
				m.mu.Lock()
				defer m.mu.Unlock()
				m.answer, m.answeredAfter, m.freedAtAnswer = err, len(m.releases), m.freedAfter >= 0
			},
		}, req)
	}, after)
}

func TestUndoKeepsTheSlotUntilTheProviderReleases(t *testing.T) {
	for _, failures := range []int{0, 3} {
		t.Run(fmt.Sprintf("%d refused releases", failures), func(t *testing.T) {
			t.Parallel()
			req := PurchaseRequest{PhoneNumber: "+14155550144", TeamID: "team_a", UserID: "user_a"}
			m := newUndoMocks(t, RunLimits{}, failures)
			m.purchase(0, "p1", req)
			var during *NumberState
			if failures > 0 {
				during = stateAt(t, m.env, 30*time.Second) // after the first try, before the second
			}
			run(m.env, req)
			if !m.env.IsWorkflowCompleted() || m.env.GetWorkflowError() != nil {
				t.Fatalf("completed=%v err=%v", m.env.IsWorkflowCompleted(), m.env.GetWorkflowError())
			}
			if appErrorType(m.answer) != domain.CodeNumberUnavailable {
				t.Fatalf("purchase answered %v, want number_unavailable", m.answer)
			}
			if len(m.releases) != failures+1 {
				t.Fatalf("%d releases tried, want %d", len(m.releases), failures+1)
			}
			// The record is marked failed and the slot freed only once the
			// provider has taken the number back.
			if m.failedAfter != failures+1 || m.freedAfter != failures+1 {
				t.Fatalf("record failed after %d releases, slot freed after %d, want both after %d", m.failedAfter, m.freedAfter, failures+1)
			}
			st := stateOf(t, m.env)
			if st.Number.Status != domain.NumberFailed || st.Undo != nil || st.Error != domain.CodeNumberUnavailable {
				t.Fatalf("final state %+v", st)
			}
			if failures == 0 {
				// A release that works at once: the answer comes after the
				// slot is free, as before, so a retry can use the slot.
				if m.answeredAfter != 1 || !m.freedAtAnswer {
					t.Fatalf("answered after %d releases (slot already free: %v), want after the slot was freed", m.answeredAfter, m.freedAtAnswer)
				}
				return
			}
			// The caller was answered after the first refused try, not
			// after the retries.
			if m.answeredAfter != 1 || m.freedAtAnswer {
				t.Fatalf("the purchase was answered after %d release tries (slot free: %v), want after the first", m.answeredAfter, m.freedAtAnswer)
			}
			if during.Number.Status != domain.NumberPending || during.Undo == nil || during.Undo.Attempts != 1 || during.Undo.LastError != domain.CodeDeletionLocked {
				t.Fatalf("while the release is refused the state is %+v (undo %+v)", during, during.Undo)
			}
			// Back-off: 1, 2 then 4 minutes between tries.
			for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
				if got := m.releases[i+1].Sub(m.releases[i]); got < want || got > want+time.Second {
					t.Fatalf("wait before try %d: %v, want %v", i+2, got, want)
				}
			}
		})
	}
}

func TestUndoRefusedForWeeksContinuesAsNew(t *testing.T) {
	t.Parallel()
	req := PurchaseRequest{PhoneNumber: "+14155550145", TeamID: "team_a", UserID: "user_a"}
	limits := RunLimits{Events: 100}
	m := newUndoMocks(t, limits, 1_000_000)
	m.purchase(0, "p1", req)
	growAt(m.env, 14*24*time.Hour, 150)
	run(m.env, req)
	next := continuedFrom(t, m.env)
	c := next.Continued
	if c.Phase != PhaseUndoing || c.PurchaseError == nil || c.PurchaseError.Type != domain.CodeNumberUnavailable {
		t.Fatalf("carried %+v", c)
	}
	if c.State.Undo == nil || c.State.Undo.Attempts < 14*24 || c.State.Number.Status != domain.NumberPending {
		t.Fatalf("carried state %+v (undo %+v), want the undo with an hourly try for two weeks", c.State, c.State.Undo)
	}
	if m.freedAfter != -1 || m.failedAfter != -1 {
		t.Fatal("the slot was freed or the record failed while the provider refused the release")
	}

	// The next run: the lock is lifted; a retried purchase still gets the
	// failure, and the slot is freed once the release goes through.
	m2 := newUndoMocks(t, limits, 0)
	m2.env.SetStartTime(m.env.Now())
	m2.purchase(time.Second, "p1", req)
	run(m2.env, next)
	if !m2.env.IsWorkflowCompleted() || m2.env.GetWorkflowError() != nil {
		t.Fatalf("second run: %v", m2.env.GetWorkflowError())
	}
	if appErrorType(m2.answer) != domain.CodeNumberUnavailable {
		t.Fatalf("a retried purchase in the next run: %v, want number_unavailable", m2.answer)
	}
	if len(m2.releases) != 1 || m2.freedAfter != 1 || m2.failedAfter != 1 {
		t.Fatalf("releases %d, failed after %d, freed after %d", len(m2.releases), m2.failedAfter, m2.freedAfter)
	}
	if st := stateOf(t, m2.env); st.Number.Status != domain.NumberFailed || st.Undo != nil {
		t.Fatalf("final state %+v", st)
	}
}

// TestFailedUndoAnswersPurchaseRetriesWithoutAcceptingThem: while a failed
// purchase gives its number back, a same-team purchase retry is refused in
// the validator with the purchase's error (the code the handler returned),
// so a client retrying every second adds no accepted update to the run.
func TestFailedUndoAnswersPurchaseRetriesWithoutAcceptingThem(t *testing.T) {
	t.Parallel()
	req := PurchaseRequest{PhoneNumber: "+14155550146", TeamID: "team_a", UserID: "user_a"}
	// Ten refused releases (the last about 4 h in), then the provider
	// takes the number back and the run ends.
	m := newUndoMocks(t, RunLimits{}, 10)
	m.purchase(0, "p1", req)
	const retries = 120
	var accepted, rejected int
	var lastReject error
	for i := range retries {
		m.env.RegisterDelayedCallback(func() {
			m.env.UpdateWorkflow(UpdatePurchase, fmt.Sprintf("retry-%d", i), &testsuite.TestUpdateCallback{
				OnAccept:   func() { accepted++ },
				OnReject:   func(err error) { rejected++; lastReject = err },
				OnComplete: func(any, error) {},
			}, req)
		}, 10*time.Minute+time.Duration(i)*time.Second)
	}
	run(m.env, req)
	if !m.env.IsWorkflowCompleted() || m.env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", m.env.IsWorkflowCompleted(), m.env.GetWorkflowError())
	}
	if accepted != 0 || rejected != retries {
		t.Fatalf("%d retries during the undo: %d accepted, %d rejected; want all rejected", retries, accepted, rejected)
	}
	var ae *temporal.ApplicationError
	if !errors.As(lastReject, &ae) || ae.Type() != domain.CodeNumberUnavailable || ae.Message() != "The number is no longer available." {
		t.Fatalf("a retry was refused with %v, want the purchase's own number_unavailable", lastReject)
	}
}

// TestUndoBackoffContinuesAsNewWhenTheRunGrows: the wait between two tries
// (up to an hour) ends as soon as the run has grown past its limits, so
// the run continues as new then, not at its next try.
func TestUndoBackoffContinuesAsNewWhenTheRunGrows(t *testing.T) {
	t.Parallel()
	req := PurchaseRequest{PhoneNumber: "+14155550147", TeamID: "team_a", UserID: "user_a"}
	m := newUndoMocks(t, RunLimits{Events: 100}, 1_000_000)
	m.purchase(0, "p1", req)
	// By 5 h the tries are an hour apart (the next one at 6h03m); the run
	// grows at 5h30m, and a signal (any event) would wake it a minute later.
	grownAt := 5*time.Hour + 30*time.Minute
	growAt(m.env, grownAt, 150)
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_other") }, grownAt+time.Minute)
	start := m.env.Now()
	run(m.env, req)
	c := continuedFrom(t, m.env).Continued
	if c.Phase != PhaseUndoing {
		t.Fatalf("carried %+v", c)
	}
	if d := m.env.Now().Sub(start) - grownAt; d < 0 || d > 2*time.Minute {
		t.Fatalf("continued as new %v after the run had grown, want at once (not at the next try)", d)
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
