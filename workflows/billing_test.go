package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

func TestBillingEventsApplyOnceAndInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acts.GracePeriod = 7 * 24 * time.Hour
	teamID, _ := f.team(domain.PlanFree)
	t0 := billingT0
	env := f.env()
	send := func(after time.Duration, ev BillingEvent) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalBillingEvent, ev) }, after)
	}
	var afterActivation, afterUpdates, afterCancel BillingState
	query := func(after time.Duration, into *BillingState) {
		env.RegisterDelayedCallback(func() { queryBilling(t, env, into) }, after)
	}
	send(time.Minute, BillingEvent{ID: "evt_1", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "growth", OccurredAt: t0})
	send(2*time.Minute, BillingEvent{ID: "evt_1", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "growth", OccurredAt: t0}) // replay
	query(3*time.Minute, &afterActivation)
	send(4*time.Minute, BillingEvent{ID: "evt_3", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "scale", OccurredAt: t0.Add(2 * time.Hour)})
	send(5*time.Minute, BillingEvent{ID: "evt_2", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "starter", OccurredAt: t0.Add(time.Hour)}) // late
	query(6*time.Minute, &afterUpdates)
	send(7*time.Minute, BillingEvent{ID: "evt_4", Type: EventSubscriptionCanceled, TeamID: teamID, OccurredAt: t0.Add(3 * time.Hour)})
	query(8*time.Minute, &afterCancel)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree})

	if afterActivation.Applied != 1 || afterActivation.Plan != domain.PlanGrowth || !afterActivation.Subscribed {
		t.Fatalf("after the activation and its replay: %+v", afterActivation)
	}
	if afterUpdates.Plan != domain.PlanScale || afterUpdates.Ignored != 1 || afterUpdates.Applied != 2 {
		t.Fatalf("a late update undid a newer one: %+v", afterUpdates)
	}
	if afterCancel.Plan != domain.PlanFree || afterCancel.Subscribed || afterCancel.GraceEndsAt == nil {
		t.Fatalf("after the cancellation: %+v", afterCancel)
	}
	e, err := f.accounts.Eligibility(context.Background(), teamID)
	if err != nil || e.PlanName != "Free" || e.HasSubscription {
		t.Fatalf("stored plan after the cancellation: %+v %v", e, err)
	}
}

// billingT0 is when the tests' billing events happen.
var billingT0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// burstRunEvents is how many events a run of runBillingBurst handles
// before it continues as new: far fewer than a burst sends.
const burstRunEvents = 5

// runBillingBurst is runBillingRuns from a free team's first run, which
// continues as new after burstRunEvents events: a minute in, that run is
// signalled `sent` subscription updates at once (evt_00 on), the i-th on
// the plan and with the date event(i) says. before, when set, prepares the
// first run.
func runBillingBurst(t *testing.T, f *fixture, teamID string, sent int, event func(i int) (string, time.Time), before func(*testsuite.TestWorkflowEnvironment)) (int, BillingState) {
	t.Helper()
	return runBillingRuns(t, f, BillingState{TeamID: teamID, Plan: domain.PlanFree, ContinueAfterEvents: burstRunEvents}, func(env *testsuite.TestWorkflowEnvironment) {
		if before != nil {
			before(env)
		}
		env.RegisterDelayedCallback(func() {
			for i := range sent {
				plan, at := event(i)
				env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: fmt.Sprintf("evt_%02d", i), Type: EventSubscriptionUpdated, TeamID: teamID, Plan: plan, OccurredAt: at})
			}
		}, time.Minute)
	})
}

// runBillingRuns runs the billing workflow from st and, as the server
// would, every run it continues as new into, until one stays open; burst
// sends the first run's signals. The open run is queried, then cancelled.
// It returns the number of runs and the last run's state.
func runBillingRuns(t *testing.T, f *fixture, st BillingState, burst func(*testsuite.TestWorkflowEnvironment)) (int, BillingState) {
	t.Helper()
	for runs := 1; ; runs++ {
		env := f.env()
		if runs == 1 {
			burst(env)
		}
		var final BillingState
		queried := false
		env.RegisterDelayedCallback(func() {
			queryBilling(t, env, &final)
			queried = true
			// The workflow does not end on cancellation (it waits for
			// events): the environment's run timeout ends it.
			env.CancelWorkflow()
		}, 24*time.Hour)
		env.ExecuteWorkflow(TeamBillingWorkflow, st)
		var can *workflow.ContinueAsNewError
		if err := env.GetWorkflowError(); !errors.As(err, &can) {
			if !queried {
				t.Fatalf("run %d ended with %v before it was queried, want continue-as-new or an open run", runs, err)
			}
			return runs, final
		}
		st = BillingState{}
		if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &st); err != nil {
			t.Fatal(err)
		}
		if runs > 20 {
			t.Fatalf("still continuing as new after %d runs: %+v", runs, st)
		}
	}
}

// TestBillingBurstAcrossContinueAsNewLosesNoEvent sends, all at once, more
// events than a run handles before it continues as new: every event sent
// is counted applied or ignored by the run that ends up open. Before the
// fix, the run took one waiting event off the channel and dropped it for
// each event past the threshold.
func TestBillingBurstAcrossContinueAsNewLosesNoEvent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, _ := f.team(domain.PlanFree)
	const sent = 23
	plans := []string{"starter", "growth", "scale"}
	late := func(i int) bool { return i%4 == 3 } // older than the one before it
	wantIgnored := 0
	for i := range sent {
		if late(i) {
			wantIgnored++
		}
	}
	runs, st := runBillingBurst(t, f, teamID, sent, func(i int) (string, time.Time) {
		if late(i) {
			return plans[i%3], billingT0.Add(-time.Hour)
		}
		return plans[i%3], billingT0.Add(time.Duration(i) * time.Minute)
	}, nil)
	t.Logf("%d events sent; %d applied + %d ignored over %d runs", sent, st.Applied, st.Ignored, runs)
	if runs < 2 {
		t.Fatalf("the burst did not cross a continue-as-new (%d run)", runs)
	}
	if st.Applied+st.Ignored != sent || st.Ignored != wantIgnored || len(st.Pending) != 0 {
		t.Fatalf("%d events sent, the last run counts %d applied and %d ignored (want %d ignored), %d pending", sent, st.Applied, st.Ignored, wantIgnored, len(st.Pending))
	}
	last := sent - 1 // 22: not late, so the last applied
	if want := domain.PlanName(plans[last%3]); st.Plan != want || !st.LastEventAt.Equal(billingT0.Add(time.Duration(last)*time.Minute)) {
		t.Fatalf("the last run ends on %s at %s, want %s at the last event", st.Plan, st.LastEventAt, want)
	}
	if e, err := f.accounts.Eligibility(context.Background(), teamID); err != nil || !strings.EqualFold(e.PlanName, plans[last%3]) {
		t.Fatalf("stored plan: %+v %v", e, err)
	}
}

// TestBillingEventDatedInTheFutureIsIgnored: a signal that bypasses the
// webhook with an occurredAt beyond domain.BillingEventMaxAhead is counted
// ignored and leaves LastEventAt alone, so the real events after it still
// apply; one within the tolerance applies.
func TestBillingEventDatedInTheFutureIsIgnored(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, _ := f.team(domain.PlanFree)
	env := f.env()
	var afterFuture, afterReal BillingState
	var realAt, nearAt time.Time
	query := func(into *BillingState) { queryBilling(t, env, into) }
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: "evt_tomorrow", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "scale", OccurredAt: env.Now().Add(24 * time.Hour)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() { query(&afterFuture) }, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		realAt = env.Now().UTC()
		env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: "evt_real", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "starter", OccurredAt: realAt})
	}, 3*time.Minute)
	env.RegisterDelayedCallback(func() {
		nearAt = env.Now().UTC().Add(domain.BillingEventMaxAhead - time.Second) // a billing system's clock a little ahead
		env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: "evt_near", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "growth", OccurredAt: nearAt})
	}, 4*time.Minute)
	env.RegisterDelayedCallback(func() { query(&afterReal) }, 5*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree})

	if afterFuture.Ignored != 1 || afterFuture.Applied != 0 || !afterFuture.LastEventAt.IsZero() || afterFuture.Plan != domain.PlanFree {
		t.Fatalf("after an event dated tomorrow: %+v, want it ignored and LastEventAt unset", afterFuture)
	}
	if afterReal.Applied != 2 || afterReal.Ignored != 1 || afterReal.Plan != domain.PlanGrowth || !afterReal.LastEventAt.Equal(nearAt) {
		t.Fatalf("after the real events (%s, %s): %+v, want both applied", realAt, nearAt, afterReal)
	}
}

// TestBillingGracePeriodAndCarriedEvents: a run that starts with events
// carried from the one before it ends a grace period that ran out in
// between before applying them (the numbers are released, as they would
// have been had the run not continued as new), and applies them first
// while the grace period still runs (an activation keeps the numbers).
func TestBillingGracePeriodAndCarriedEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	t0 := billingT0
	const number = "+14155550177"
	for name, tc := range map[string]struct {
		graceEndsAt  time.Time
		wantReleased bool
	}{
		"grace over before the run": {t0.Add(-time.Minute), true},
		"grace still running":       {t0.Add(time.Hour), false},
	} {
		t.Run(name, func(t *testing.T) {
			teamID, _ := f.team(domain.PlanFree)
			env := f.env()
			env.SetStartTime(t0)
			env.OnActivity(f.acts.TeamNumbers, mock.Anything, teamID).Return([]activities.TeamNumber{{ID: "pn_1", PhoneNumber: number}}, nil)
			released := 0
			env.OnSignalExternalWorkflow(mock.Anything, NumberWorkflowID(number), "", SignalReleaseNumber, teamID).
				Return(nil).Run(func(mock.Arguments) { released++ }).Maybe()
			var st BillingState
			env.RegisterDelayedCallback(func() {
				queryBilling(t, env, &st)
				env.CancelWorkflow()
			}, 2*time.Hour)
			grace := tc.graceEndsAt
			env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree, GraceEndsAt: &grace, LastEventAt: t0.Add(-2 * time.Hour),
				Pending: []BillingEvent{{ID: "evt_carried", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "starter", OccurredAt: t0.Add(-30 * time.Minute)}}})

			if st.Applied != 1 || st.Plan != domain.PlanStarter || st.GraceEndsAt != nil || len(st.Pending) != 0 {
				t.Fatalf("state %+v, want the carried activation applied and no grace period left", st)
			}
			if (released == 1) != tc.wantReleased || released > 1 {
				t.Fatalf("the number was released %d times, want released=%v", released, tc.wantReleased)
			}
		})
	}
}

// deployAt makes GetVersion of changeID answer DefaultVersion until after
// (the worker's code before the change) and 1 from then on, as for a run
// that was already running when the change was deployed.
// queryBilling reads the billing workflow's state into st, failing the test
// when the query does.
func queryBilling(t *testing.T, env *testsuite.TestWorkflowEnvironment, st *BillingState) {
	t.Helper()
	v, err := env.QueryWorkflow(QueryBilling)
	if err == nil {
		err = v.Get(st)
	}
	if err != nil {
		t.Errorf("query: %v", err)
	}
}

func deployAt(env *testsuite.TestWorkflowEnvironment, changeID string, after time.Duration) {
	deployed := false
	env.RegisterDelayedCallback(func() { deployed = true }, after)
	env.OnGetVersion(changeID, workflow.DefaultVersion, 1).Return(func(string, workflow.Version, workflow.Version) workflow.Version {
		if deployed {
			return 1
		}
		return workflow.DefaultVersion
	})
}

// TestBillingRunStartedBeforeTheDrainDeployDrains: a run that began before
// changeBillingDrain was deployed carries its waiting events across
// continue-as-new from the deploy on (the version is read at the decision,
// not when the run starts), so a burst after the deploy loses none.
func TestBillingRunStartedBeforeTheDrainDeployDrains(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, _ := f.team(domain.PlanFree)
	const sent = 17
	runs, st := runBillingBurst(t, f, teamID, sent, func(i int) (string, time.Time) {
		return "starter", billingT0.Add(time.Duration(i) * time.Minute)
	}, func(env *testsuite.TestWorkflowEnvironment) { deployAt(env, changeBillingDrain, 30*time.Second) })
	if runs < 2 || st.Applied != sent || len(st.Pending) != 0 {
		t.Fatalf("%d events sent after the deploy: %d applied, %d ignored, %d pending over %d runs; want all applied across a continue-as-new", sent, st.Applied, st.Ignored, len(st.Pending), runs)
	}
}

// TestBillingRunStartedBeforeTheFutureDeployRefuses: a run that began
// before changeBillingFutureEvents was deployed ignores an event dated in
// the future once the change is deployed.
func TestBillingRunStartedBeforeTheFutureDeployRefuses(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, _ := f.team(domain.PlanFree)
	env := f.env()
	deployAt(env, changeBillingFutureEvents, 30*time.Second)
	var st BillingState
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: "evt_tomorrow", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "scale", OccurredAt: env.Now().Add(24 * time.Hour)})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		queryBilling(t, env, &st)
		env.CancelWorkflow()
	}, 2*time.Minute)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree})
	if st.Ignored != 1 || st.Applied != 0 || st.Plan != domain.PlanFree {
		t.Fatalf("an event dated tomorrow, sent after the deploy: %+v, want it ignored", st)
	}
}

// TestBillingPastTheCapContinuesWithEventsWaiting: past maxRunEvents a run
// continues as new at its next decision even though more events wait than
// maxCarriedEvents, carrying them all; the next runs count every one.
func TestBillingPastTheCapContinuesWithEventsWaiting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, _ := f.team(domain.PlanFree)
	const threshold, sent = 5, maxCarriedEvents + 200
	env := f.env()
	env.RegisterDelayedCallback(func() { env.SetCurrentHistoryLength(maxRunEvents) }, 30*time.Second)
	env.RegisterDelayedCallback(func() {
		// The first is applied (its activity lets the others pile up on
		// the channel); the others have an unknown type, ignored without
		// an activity, so the test is quick.
		env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: "evt_000", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "starter", OccurredAt: env.Now()})
		for i := 1; i < sent; i++ {
			env.SignalWorkflow(SignalBillingEvent, BillingEvent{ID: fmt.Sprintf("evt_%03d", i), Type: "subscription.unknown", TeamID: teamID})
		}
	}, time.Minute)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree, ContinueAfterEvents: threshold})
	var can *workflow.ContinueAsNewError
	if !errors.As(env.GetWorkflowError(), &can) {
		t.Fatalf("the run ended with %v, want continue-as-new", env.GetWorkflowError())
	}
	var st BillingState
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &st); err != nil {
		t.Fatal(err)
	}
	if st.Applied+st.Ignored != threshold || len(st.Pending) != sent-threshold {
		t.Fatalf("the run continued after %d events with %d carried, want after %d with %d carried", st.Applied+st.Ignored, len(st.Pending), threshold, sent-threshold)
	}
	st.ContinueAfterEvents = 0 // the default threshold from here: a few runs
	runs, final := runBillingRuns(t, f, st, func(*testsuite.TestWorkflowEnvironment) {})
	if final.Applied != 1 || final.Ignored != sent-1 || len(final.Pending) != 0 {
		t.Fatalf("over %d more runs: %d applied, %d ignored, %d pending; want all %d counted", runs, final.Applied, final.Ignored, len(final.Pending), sent)
	}
}
