package workflows

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/temporalerr"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// These tests run the workflow in the SDK's test environment (time skips:
// a five-day trial passes in milliseconds) with the real activities, on a
// real PostgreSQL schema and the Telnyx simulator over HTTP.

type fixture struct {
	t        *testing.T
	db       *gorm.DB
	sim      *telnyxsim.Simulator
	acts     *activities.Activities
	accounts *persistence.AccountStore
	numbers  domain.PhoneNumberStore
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	b := backend.New(t, backend.Options{Client: telnyx.Config{Timeout: 2 * time.Second}})
	b.Activities.TrialDuration = 120 * time.Hour
	b.Activities.OrderPollInterval = 10 * time.Millisecond
	return &fixture{t: t, db: b.DB, sim: b.Sim, acts: b.Activities, accounts: b.Accounts, numbers: b.Numbers}
}

func (f *fixture) team(plan domain.PlanName) (teamID, userID string) {
	f.t.Helper()
	a := backend.Bootstrap(f.t, f.accounts, domain.BootstrapInput{Plan: plan})
	return a.TeamID, a.UserID
}

// offer runs the search a customer runs before buying: Telnyx (and so the
// simulator) sells only numbers a recent search offered.
func (f *fixture) offer(e164 string) {
	f.t.Helper()
	backend.Offer(f.t, f.sim, e164)
}

func (f *fixture) env() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(testkit.Logger(f.t, slog.LevelWarn)))
	env := suite.NewTestWorkflowEnvironment()
	Register(env, f.acts)
	return env
}

// run executes the workflow under its real ID, so that each purchase has
// its own key (the test environment's default ID is shared), by its
// registered name, so that a test's run limits apply.
func run(env *testsuite.TestWorkflowEnvironment, req PurchaseRequest) {
	runType(env, NumberWorkflowType, req)
}

// runType is run with a workflow type of the number workflow's (the
// current one, or NumberWorkflowTypeV1 for runs started before it).
func runType(env *testsuite.TestWorkflowEnvironment, workflowType string, req PurchaseRequest) {
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: NumberWorkflowID(req.PhoneNumber)})
	env.ExecuteWorkflow(workflowType, req)
}

// updateResult collects an update's outcome in the test environment.
type updateResult struct {
	rejected error
	err      error
	value    any
	done     bool
}

func (r *updateResult) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) { r.rejected, r.done = err, true },
		OnComplete: func(v any, err error) {
			r.value, r.err, r.done = v, err, true
		},
	}
}

// stateOf queries the workflow's state now.
func stateOf(t *testing.T, env *testsuite.TestWorkflowEnvironment) NumberState {
	t.Helper()
	var st NumberState
	v, err := env.QueryWorkflow(QueryState)
	if err == nil {
		err = v.Get(&st)
	}
	if err != nil {
		t.Errorf("query %s: %v", QueryState, err)
	}
	return st
}

// stateAt queries the workflow's state at a point of its (skipped) time.
func stateAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, after time.Duration) *NumberState {
	st := &NumberState{}
	env.RegisterDelayedCallback(func() { *st = stateOf(t, env) }, after)
	return st
}

func purchaseAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, id string, req PurchaseRequest) *updateResult {
	r := &updateResult{}
	env.RegisterDelayedCallback(func() { env.UpdateWorkflow(UpdatePurchase, id, r.callbacks(), req) }, after)
	return r
}

func releaseAt(env *testsuite.TestWorkflowEnvironment, after time.Duration, req ReleaseRequest) *updateResult {
	r := &updateResult{}
	env.RegisterDelayedCallback(func() { env.UpdateWorkflow(UpdateRelease, "release-1", r.callbacks(), req) }, after)
	return r
}

func appErrorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// buyer makes a team on plan and its user's request for e164, which a
// search has offered (Telnyx sells only numbers a search offered).
func (f *fixture) buyer(plan domain.PlanName, e164 string) PurchaseRequest {
	f.t.Helper()
	teamID, userID := f.team(plan)
	f.offer(e164)
	return PurchaseRequest{PhoneNumber: e164, TeamID: teamID, UserID: userID}
}

// newPurchase is a fixture with a team on plan whose user buys e164, and
// a test environment for the purchase's workflow.
func newPurchase(t *testing.T, plan domain.PlanName, e164 string) (*fixture, PurchaseRequest, *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	f := newFixture(t)
	return f, f.buyer(plan, e164), f.env()
}

// checkGone checks that the team's number ended with status, that the
// simulator holds no number and that the team's plan slot is free, and
// returns the record.
func (f *fixture) checkGone(teamID, numberID string, status domain.NumberStatus) domain.PhoneNumber {
	f.t.Helper()
	n, err := f.numbers.Get(context.Background(), teamID, numberID)
	if err != nil || n.Status != status {
		f.t.Fatalf("stored number %+v (%v), want %s", n, err, status)
	}
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		f.t.Fatalf("the simulator still holds %v", owned)
	}
	if e, _ := f.accounts.Eligibility(context.Background(), teamID); e.CurrentCount != 0 {
		f.t.Fatalf("slot not freed: %+v", e)
	}
	return n
}

// checkCompleted fails the test unless env's run completed without an error.
func checkCompleted(t *testing.T, env *testsuite.TestWorkflowEnvironment) {
	t.Helper()
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed=%v err=%v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
}

func TestPaidPurchaseThenRelease(t *testing.T) {
	t.Parallel()
	f, req, env := newPurchase(t, domain.PlanGrowth, "+14155550123")
	bought := purchaseAt(env, 0, "p1", req)
	stateDuringHold := stateAt(t, env, time.Hour)
	released := releaseAt(env, 2*time.Hour, ReleaseRequest{TeamID: req.TeamID, Reason: "test"})
	run(env, req)

	checkCompleted(t, env)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase failed: %v / %v", bought.err, bought.rejected)
	}
	res := bought.value.(PurchaseResult)
	if res.Number.Status != domain.NumberActive || res.Number.IsTrial || res.Number.TrialExpiresAt != nil || res.Number.ProviderNumberID == "" {
		t.Fatalf("purchase result = %+v", res.Number)
	}
	if res.Eligibility.CurrentCount != 1 || res.Eligibility.MaxAllowed != 10 || !res.Eligibility.HasSubscription {
		t.Fatalf("eligibility = %+v", res.Eligibility)
	}
	if stateDuringHold.Number.Status != domain.NumberActive || stateDuringHold.TeamID != req.TeamID {
		t.Fatalf("state while held = %+v", stateDuringHold)
	}
	if released.err != nil || released.rejected != nil || released.value.(NumberView).Status != domain.NumberReleased {
		t.Fatalf("release = %+v", released)
	}
	if n := f.checkGone(req.TeamID, res.Number.ID, domain.NumberReleased); n.ReleasedAt == nil {
		t.Fatalf("stored number = %+v, with no release time", n)
	}
}

func TestTrialExpiresAfterTrialDuration(t *testing.T) {
	t.Parallel()
	f, req, env := newPurchase(t, domain.PlanFree, "+14155550124")
	start := env.Now()
	bought := purchaseAt(env, 0, "p1", req)
	before := stateAt(t, env, 119*time.Hour)
	run(env, req)

	if env.GetWorkflowError() != nil || bought.err != nil {
		t.Fatalf("workflow err=%v purchase err=%v", env.GetWorkflowError(), bought.err)
	}
	res := bought.value.(PurchaseResult)
	if !res.Number.IsTrial || res.Number.TrialExpiresAt == nil {
		t.Fatalf("not a trial: %+v", res.Number)
	}
	if d := res.Number.TrialExpiresAt.Sub(start); d < 120*time.Hour-time.Minute || d > 120*time.Hour+time.Minute {
		t.Fatalf("trial expires %v after start, want 120h", d)
	}
	if before.Number.Status != domain.NumberActive {
		t.Fatalf("at 119h the number is %s, want active", before.Number.Status)
	}
	f.checkGone(req.TeamID, res.Number.ID, domain.NumberExpired)
}

func TestFreeTeamGetsOneTrialEver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanFree)
	first := PurchaseRequest{PhoneNumber: "+14155550125", TeamID: teamID, UserID: userID}
	f.offer(first.PhoneNumber)
	env := f.env()
	bought := purchaseAt(env, 0, "p1", first)
	releaseAt(env, time.Hour, ReleaseRequest{TeamID: teamID})
	run(env, first)
	if bought.err != nil {
		t.Fatal(bought.err)
	}

	second := PurchaseRequest{PhoneNumber: "+14155550126", TeamID: teamID, UserID: userID}
	f.offer(second.PhoneNumber)
	env2 := f.env()
	refused := purchaseAt(env2, 0, "p2", second)
	run(env2, second)
	if appErrorType(refused.err) != domain.CodePlanLimitReached {
		t.Fatalf("second trial: %v, want plan_limit_reached", refused.err)
	}
	var ae *temporal.ApplicationError
	errors.As(refused.err, &ae)
	var details map[string]any
	if err := ae.Details(&details); err != nil || details["eligibility"] == nil {
		t.Fatalf("limit error carries no eligibility: %v %v", details, err)
	}
	if owned := f.sim.OwnedNumbers(); len(owned) != 0 {
		t.Fatalf("the simulator holds %v: an order was placed despite the limit", owned)
	}
}

func TestNumberSoldMeanwhileUndoesThePurchase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	req := f.buyer(domain.PlanStarter, "+14155550127")
	teamID := req.TeamID
	f.sim.MarkSold(req.PhoneNumber)
	env := f.env()
	bought := purchaseAt(env, 0, "p1", req)
	run(env, req)
	if appErrorType(bought.err) != domain.CodeNumberUnavailable {
		t.Fatalf("purchase: %v, want number_unavailable", bought.err)
	}
	st := stateOf(t, env)
	if st.Number.Status != domain.NumberFailed || st.Error != domain.CodeNumberUnavailable {
		t.Fatalf("state = %+v", st)
	}
	f.checkGone(teamID, st.Number.ID, domain.NumberFailed)
}

func TestAnotherTeamCannotJoinAPurchase(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamA, userA := f.team(domain.PlanStarter)
	teamB, userB := f.team(domain.PlanStarter)
	req := PurchaseRequest{PhoneNumber: "+14155550128", TeamID: teamA, UserID: userA}
	f.offer(req.PhoneNumber)
	env := f.env()
	purchaseAt(env, 0, "a", req)
	other := purchaseAt(env, time.Minute, "b", PurchaseRequest{PhoneNumber: req.PhoneNumber, TeamID: teamB, UserID: userB})
	again := purchaseAt(env, 2*time.Minute, "a2", req)
	releaseAt(env, time.Hour, ReleaseRequest{TeamID: teamA})
	run(env, req)
	// Worded as the number's record answers once the workflow has ended
	// (persistence's liveNumberConflict).
	if appErrorType(other.rejected) != domain.CodeNumberUnavailable || temporalerr.Message(other.rejected) != domain.NumberUnavailable(req.PhoneNumber).Message {
		t.Fatalf("other team: %v, want %v", other.rejected, domain.NumberUnavailable(req.PhoneNumber))
	}
	if appErrorType(again.rejected) != domain.CodeAlreadyOwned || temporalerr.Message(again.rejected) != domain.AlreadyOwned(req.PhoneNumber).Message {
		t.Fatalf("same team again: %v, want %v", again.rejected, domain.AlreadyOwned(req.PhoneNumber))
	}
}

// flakyProvider fails the first CreateOrder after the provider placed it,
// as a worker dying between placing an order and recording it would.
type flakyProvider struct {
	domain.NumberProvider
	failed atomic.Bool
}

func (p *flakyProvider) CreateOrder(ctx context.Context, req domain.OrderRequest) (domain.Order, error) {
	o, err := p.NumberProvider.CreateOrder(ctx, req)
	if err == nil && p.failed.CompareAndSwap(false, true) {
		return domain.Order{}, &domain.ProviderError{Op: "create_order", Class: domain.ProviderUnreachable, Err: errors.New("connection reset")}
	}
	return o, err
}

func TestRetriedOrderIsNotPlacedTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acts.Provider = &flakyProvider{NumberProvider: f.acts.Provider}
	req := f.buyer(domain.PlanStarter, "+14155550129")
	teamID := req.TeamID
	env := f.env()
	bought := purchaseAt(env, 0, "p1", req)
	releaseAt(env, time.Hour, ReleaseRequest{TeamID: teamID})
	run(env, req)
	if bought.err != nil {
		t.Fatal(bought.err)
	}
	ref := stateOf(t, env).CustomerReference
	if n := f.sim.OrderCount(ref); n != 1 {
		t.Fatalf("the simulator received %d orders for %s, want exactly 1", n, ref)
	}
}

func TestConvertSignalTurnsTheTrialIntoAPaidNumber(t *testing.T) {
	t.Parallel()
	_, req, env := newPurchase(t, domain.PlanFree, "+14155550131")
	bought := purchaseAt(env, 0, "p1", req)
	// A signal for another team (an earlier owner) changes nothing.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalConvertToPaid, "team_other") }, time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalConvertToPaid, req.TeamID) }, 2*time.Hour)
	afterExpiry := stateAt(t, env, 200*time.Hour)
	released := releaseAt(env, 300*time.Hour, ReleaseRequest{TeamID: req.TeamID})
	run(env, req)
	if bought.err != nil || !bought.value.(PurchaseResult).Number.IsTrial {
		t.Fatalf("purchase: %+v", bought)
	}
	if afterExpiry.Number.Status != domain.NumberActive || afterExpiry.Number.IsTrial || afterExpiry.Number.TrialExpiresAt != nil {
		t.Fatalf("past the trial's end the number is %+v, want active and paid", afterExpiry.Number)
	}
	if released.err != nil || released.value.(NumberView).Status != domain.NumberReleased {
		t.Fatalf("release: %+v", released)
	}
}

func TestBillingSignalReleasesThePaidNumber(t *testing.T) {
	t.Parallel()
	_, req, env := newPurchase(t, domain.PlanGrowth, "+14155550132")
	purchaseAt(env, 0, "p1", req)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalReleaseNumber, req.TeamID) }, time.Hour)
	run(env, req)
	st := stateOf(t, env)
	if !env.IsWorkflowCompleted() || st.Number.Status != domain.NumberReleased {
		t.Fatalf("after the billing release: completed=%v %+v", env.IsWorkflowCompleted(), st.Number)
	}
}
