package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalerr"
)

// The current details the Temporal UI shows, asked of the runs in the
// test environment, which answers the metadata query as a worker does
// (also once the run has closed), at each state of a number's life and
// of a team's billing; then the text itself for the states a run is hard
// to drive to here.

// detailsOf asks the run for its current details, as the Temporal UI does.
func detailsOf(t *testing.T, env *testsuite.TestWorkflowEnvironment) string {
	t.Helper()
	v, err := env.QueryWorkflow(QueryWorkflowMetadata)
	if err != nil {
		t.Fatalf("query %s: %v", QueryWorkflowMetadata, err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatalf("decode %s: %v", QueryWorkflowMetadata, err)
	}
	return md.GetCurrentDetails()
}

// detailsAt asks for them at a point of the run's (skipped) time.
func detailsAt(t *testing.T, env *testsuite.TestWorkflowEnvironment, after time.Duration) *string {
	d := new(string)
	env.RegisterDelayedCallback(func() { *d = detailsOf(t, env) }, after)
	return d
}

// wantDetails checks that details start with head and hold each of want.
func wantDetails(t *testing.T, when, details, head string, want ...string) {
	t.Helper()
	if !strings.HasPrefix(details, head) {
		t.Errorf("%s: details\n%s\nwant them to start with %q", when, details, head)
	}
	for _, w := range want {
		if !strings.Contains(details, w) {
			t.Errorf("%s: details\n%s\nwant %q in them", when, details, w)
		}
	}
}

func TestDetailsOfAPaidPurchaseFromPendingToReleased(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, RunLimits{})
	m.awaitDelay = 2 * time.Hour
	m.await = func() (activities.AwaitResult, error) { return activities.AwaitResult{ProviderNumberID: "tel-1"}, nil }
	req := m.buying("+14155550171")
	pending := detailsAt(t, m.env, time.Hour)
	active := detailsAt(t, m.env, 3*time.Hour)
	released := releaseAt(m.env, 4*time.Hour, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	run(m.env, req)
	if released.err != nil || released.rejected != nil {
		t.Fatalf("release: %v / %v", released.err, released.rejected)
	}

	for when, d := range map[string]string{"pending": *pending, "active": *active, "released": detailsOf(t, m.env)} {
		wantDetails(t, when, d, "", "Number: +14155550171", "Team: `team_a`")
	}
	wantDetails(t, "pending", *pending, "**Pending purchase**: ordered at Telnyx, waiting for the order to complete", "Telnyx order: `ord-1`")
	wantDetails(t, "active", *active, "**Active**, paid number")
	wantDetails(t, "released", detailsOf(t, m.env), "**Released**")
	if strings.Contains(*active, "ord-1") {
		t.Errorf("active: details\n%s\nshow the order, which only matters while it is pending", *active)
	}
}

func TestDetailsOfATrialShowItsExpiryThenThePaidNumber(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial = true
	req := teamA("+14155550170")
	bought := purchaseAt(m.env, 0, "p1", req)
	trial := detailsAt(t, m.env, time.Hour)
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_a") }, 2*time.Hour)
	paid := detailsAt(t, m.env, 3*time.Hour)
	m.runFor(4*time.Hour, req)
	if bought.err != nil || bought.rejected != nil {
		t.Fatalf("purchase: %v / %v", bought.err, bought.rejected)
	}
	expires := bought.value.(PurchaseResult).Number.TrialExpiresAt
	if expires == nil {
		t.Fatal("the trial has no expiry")
	}
	wantDetails(t, "trial", *trial, "**Active trial**, expires "+expires.UTC().Format(time.RFC3339), "Number: +14155550170")
	wantDetails(t, "converted", *paid, "**Active**, paid number")
	wantDetails(t, "cancelled", detailsOf(t, m.env), "**Released**")
}

func TestDetailsOfATrialThatExpired(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial = true
	req := teamA("+14155550170")
	purchaseAt(m.env, 0, "p1", req)
	run(m.env, req) // the trial's 120 hours pass, and the run ends
	if !m.env.IsWorkflowCompleted() || m.env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, %v", m.env.IsWorkflowCompleted(), m.env.GetWorkflowError())
	}
	wantDetails(t, "expired", detailsOf(t, m.env), "**Expired**: the trial ended and the number was released")
}

func TestDetailsOfAPurchaseWaitingOnDocumentsNameKindsNotValues(t *testing.T) {
	t.Parallel()
	m, start := regulatedMocks(t, 10*24*time.Hour, nil)
	deadline := start.Add(10 * 24 * time.Hour)
	waiting := activities.AwaitResult{SubNumberOrderID: "sub-1", Requirements: &domain.PendingRequirements{
		Status: domain.RequirementsInfoPending, Deadline: &deadline,
		Missing: []domain.RegulatoryRequirement{
			{RequirementID: "req-address", FieldType: "address"},
			{RequirementID: "req-id", FieldType: "document", FieldValue: "passport 123456789"},
			{RequirementID: "req-address-2", FieldType: "address"},
		},
	}}
	m.await = func() (activities.AwaitResult, error) { return waiting, nil }
	m.check = func(time.Time) (activities.AwaitResult, error) { return waiting, nil }
	req := PurchaseRequest{PhoneNumber: "+442079460171", TeamID: "team_a", UserID: "user_a", RequirementGroupID: "rg-secret-group"}
	m.purchase(req)
	during := detailsAt(t, m.env, time.Hour)
	released := releaseAt(m.env, 2*time.Hour, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	run(m.env, req)
	if released.err != nil || released.rejected != nil {
		t.Fatalf("release: %v / %v", released.err, released.rejected)
	}

	wantDetails(t, "waiting", *during, "**Waiting on documents** (`requirement-info-pending`), deadline "+deadline.UTC().Format(time.RFC3339),
		"Missing: `address`, `document`\n", "Number: +442079460171", "Telnyx order: `ord-1`")
	for _, secret := range []string{"passport", "123456789", "req-", "rg-secret-group", "sub-1", "phone-number:"} {
		if strings.Contains(*during, secret) {
			t.Errorf("waiting: details\n%s\nshow %q", *during, secret)
		}
	}
	wantDetails(t, "released while waiting", detailsOf(t, m.env), "**Failed**: `"+domain.CodePurchaseReleased+"`")
}

func TestDetailsOfARefusedPurchase(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.refuse = true
	m.buy(t)
	wantDetails(t, "refused", detailsOf(t, m.env), "**Failed**: `"+domain.CodeNumberUnavailable+"`", "Number: +14155550170")
}

func TestDetailsOfABillingRunFollowItsEvents(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	registerWithLimits(env, &activities.Activities{}, RunLimits{})
	env.OnActivity(acts.ApplyPlan, mock.Anything, mock.Anything).Return(activities.ApplyPlanResult{GracePeriod: 7 * 24 * time.Hour}, nil)
	env.OnActivity(acts.TeamNumbers, mock.Anything, mock.Anything).Return([]activities.TeamNumber(nil), nil)
	t0 := env.Now().UTC().Truncate(time.Second)
	send := func(after time.Duration, ev BillingEvent) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalBillingEvent, ev) }, after)
	}
	before := detailsAt(t, env, 30*time.Second)
	send(time.Minute, BillingEvent{ID: "evt_1", Type: EventSubscriptionActivated, TeamID: "team_a", Plan: "growth", OccurredAt: t0})
	subscribed := detailsAt(t, env, 2*time.Minute)
	send(3*time.Minute, BillingEvent{ID: "evt_2", Type: EventSubscriptionCanceled, TeamID: "team_a", OccurredAt: t0.Add(time.Minute)})
	var grace BillingState
	env.RegisterDelayedCallback(func() { queryBilling(t, env, &grace) }, 4*time.Minute)
	cancelled := detailsAt(t, env, 4*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: "team_a", Plan: domain.PlanFree})

	wantDetails(t, "before any event", *before, "**No subscription event applied yet**", "Team: `team_a`", "Events: 0 applied, 0 ignored", "Events waiting: 0")
	wantDetails(t, "subscribed", *subscribed, "**Plan `growth`**, subscribed", "Events: 1 applied, 0 ignored; the last applied occurred at "+t0.Format(time.RFC3339))
	if grace.GraceEndsAt == nil {
		t.Fatalf("no grace period after the cancellation: %+v", grace)
	}
	wantDetails(t, "cancelled", *cancelled, "**Plan `free`**, subscription cancelled: the grace period ends "+grace.GraceEndsAt.Format(time.RFC3339), "Events: 2 applied")
}

// TestNumberDetailsText pins the text of states the runs above do not
// reach: an undo waiting on Telnyx, a purchase being undone, a release
// asked while the purchase waits, a refused release, the release under
// way for each of its causes, a continued run.
func TestNumberDetailsText(t *testing.T) {
	t.Parallel()
	next := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	deadline := time.Date(2026, 12, 5, 7, 0, 0, 0, time.UTC)
	waiting := &domain.PendingRequirements{Status: domain.RequirementsInfoPending, Deadline: &deadline,
		Missing: []domain.RegulatoryRequirement{{RequirementID: "req-1", FieldType: "address", FieldValue: "1 Main St"}}}
	with := func(f func(*numberDetails)) numberDetails {
		d := numberDetails{PhoneNumber: "+14155550101", TeamID: "team_a", RecordID: "pn_1", Status: domain.NumberActive}
		f(&d)
		return d
	}
	const ids = "- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`"
	cases := map[string]struct {
		d    numberDetails
		want string
	}{
		"undo waiting on Telnyx": {with(func(d *numberDetails) {
			d.Status, d.Error = domain.NumberPending, domain.CodeNumberUnavailable
			d.Undoing, d.Undo = true, UndoState{Attempts: 3, LastError: "deletion_locked", NextAttemptAt: next}
		}), "**Releasing**: the purchase failed (`number_unavailable`) and Telnyx has not taken the number back yet\n\n" +
			"- Tries: 3, the last refused with `deletion_locked`; the next at 2026-12-01T10:00:00Z\n" +
			"- The plan slot stays taken until Telnyx confirms the release\n" + ids},
		"undo carried, not tried yet": {with(func(d *numberDetails) {
			d.Status, d.Error, d.Undoing = domain.NumberPending, domain.CodeNumberUnavailable, true
		}), "**Releasing**: the purchase failed (`number_unavailable`) and Telnyx has not taken the number back yet\n\n" +
			"- No try yet\n- The plan slot stays taken until Telnyx confirms the release\n" + ids},
		"undo of a cancelled purchase": {with(func(d *numberDetails) {
			d.Status, d.Error, d.PurchaseCancelled = domain.NumberPending, "internal", true
			d.Undoing, d.Undo = true, UndoState{Attempts: 1, LastError: "deletion_locked", NextAttemptAt: next}
		}), "**Releasing**: the purchase failed (the workflow was cancelled) and Telnyx has not taken the number back yet\n\n" +
			"- Tries: 1, the last refused with `deletion_locked`; the next at 2026-12-01T10:00:00Z\n" +
			"- The plan slot stays taken until Telnyx confirms the release\n" + ids},
		"a cancelled purchase": {with(func(d *numberDetails) {
			d.Status, d.Error, d.PurchaseCancelled = domain.NumberFailed, "internal", true
		}), "**Failed**: the workflow was cancelled\n\n" + ids},
		"failing, the order refused": {with(func(d *numberDetails) {
			d.Status, d.Error, d.OrderID = domain.NumberPending, domain.CodeNumberUnavailable, "ord-1"
		}), "**Failing** (`number_unavailable`): undoing the purchase\n\n" + ids + "\n- Telnyx order: `ord-1`"},
		"failing, the documents' deadline missed": {with(func(d *numberDetails) {
			d.Status, d.Error, d.OrderID, d.Requirements = domain.NumberPending, domain.CodeRequirementsDeadlinePassed, "ord-1", waiting
		}), "**Failing** (`requirements_deadline_passed`): undoing the purchase\n\n" + ids + "\n- Telnyx order: `ord-1`"},
		"released while waiting on documents": {with(func(d *numberDetails) {
			d.Status, d.OrderID, d.Requirements, d.AwaitingDocs = domain.NumberPending, "ord-1", waiting, true
			d.ReleaseAsked, d.ReleaseBy = true, ReleaseReasonAPI
		}), "**Pending purchase**: released (asked by `api`) while it waited on documents; the order is being cancelled\n\n" +
			ids + "\n- Telnyx order: `ord-1`"},
		"billing's release during the order": {with(func(d *numberDetails) {
			d.Status, d.OrderID, d.IsTrial, d.ReleaseAsked, d.ReleaseBy = domain.NumberPending, "ord-1", true, true, "billing"
		}), "**Pending trial purchase**: a release was asked (by `billing`); the number is released once bought\n\n" +
			ids + "\n- Telnyx order: `ord-1`"},
		"waiting on documents": {with(func(d *numberDetails) {
			d.Status, d.OrderID, d.Requirements, d.AwaitingDocs = domain.NumberPending, "ord-1", waiting, true
		}), "**Waiting on documents** (`requirement-info-pending`), deadline 2026-12-05T07:00:00Z\n\n- Missing: `address`\n" +
			ids + "\n- Telnyx order: `ord-1`"},
		"release refused": {with(func(d *numberDetails) {
			d.Ending, d.ReleaseRefusals, d.Error = domain.NumberReleased, 2, "deletion_locked"
		}), "**Release refused** (`deletion_locked`): the number stays held and billed; tried again every 6 hours, or at the next release request\n\n" +
			"- Refused tries: 2\n" + ids},
		"releasing, asked by billing": {with(func(d *numberDetails) { d.Ending, d.ReleaseAsked, d.ReleaseBy = domain.NumberReleased, true, "billing" }),
			"**Releasing**: asked by `billing`\n\n" + ids},
		"releasing, released by its team": {with(func(d *numberDetails) { d.Ending, d.ReleaseBy = domain.NumberReleased, ReleaseReasonAPI }),
			"**Releasing**: asked by `api`\n\n" + ids},
		"releasing, the workflow cancelled": {with(func(d *numberDetails) { d.Ending, d.EndCancelled = domain.NumberReleased, true }),
			"**Releasing**: the workflow was cancelled\n\n" + ids},
		"releasing, asked in a run whose input did not say by whom": {with(func(d *numberDetails) { d.Ending, d.Runs = domain.NumberReleased, 1 }),
			"**Releasing**\n\n" + ids + "\n- Run 2 of this number's workflow (continued as new, which carries no summary)"},
		"releasing, the trial ended": {with(func(d *numberDetails) { d.Ending = domain.NumberExpired }),
			"**Releasing**: the trial ended\n\n" + ids},
		"a continued run": {with(func(d *numberDetails) { d.Runs = 2 }),
			"**Active**, paid number\n\n" + ids + "\n- Run 3 of this number's workflow (continued as new, which carries no summary)"},
		"taking the slot": {numberDetails{PhoneNumber: "+14155550101", TeamID: "team_a", Status: domain.NumberPending},
			"**Pending purchase**: taking a plan slot and ordering at Telnyx\n\n- Number: +14155550101\n- Team: `team_a`"},
		"a trial, ordered": {with(func(d *numberDetails) { d.Status, d.IsTrial, d.OrderID = domain.NumberPending, true, "ord-1" }),
			"**Pending trial purchase**: ordered at Telnyx, waiting for the order to complete\n\n" + ids + "\n- Telnyx order: `ord-1`"},
		"provisioning": {with(func(d *numberDetails) {
			d.Status, d.AwaitingDocs, d.OrderID, d.RequirementGroups = domain.NumberPending, true, "ord-1", 2
		}), "**Pending purchase**: the documents were accepted, Telnyx is provisioning the number\n\n" +
			ids + "\n- Telnyx order: `ord-1`\n- Requirement groups supplied while waiting: 2"},
	}
	for name, c := range cases {
		if got := c.d.Markdown(); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, c.want)
		}
		if again := c.d.Markdown(); again != c.d.Markdown() {
			t.Errorf("%s: the text changed between two calls", name)
		}
	}
}

// The details of the state a number workflow carries across
// continue-as-new: the next run says who asked the release, and that a
// failed purchase was cancelled.
func TestDetailsOfAResumedRun(t *testing.T) {
	t.Parallel()
	c := &ContinuedRun{Phase: PhaseHolding, Key: "phone-number:+14155550101/run-1", ReleaseAsked: true, ReleaseBy: "billing", Runs: 1,
		State: NumberState{TeamID: "team_a", CustomerReference: "phone-number:+14155550101/run-1",
			Number: NumberView{ID: "pn_1", PhoneNumber: "+14155550101", Status: domain.NumberActive}}}
	w := &numberWorkflow{req: PurchaseRequest{PhoneNumber: "+14155550101", TeamID: "team_a"}}
	w.resume(c)
	w.endingAs = domain.NumberReleased // the next run's hold sees the release and ends
	wantDetails(t, "a release carried", w.details().Markdown(), "**Releasing**: asked by `billing`", "Run 2 of this number's workflow")

	c = &ContinuedRun{Phase: PhaseUndoing, PurchaseError: &PurchaseError{Type: "internal", Message: "canceled", Cancelled: true},
		State: NumberState{TeamID: "team_a", Error: "internal", Undo: &UndoState{Attempts: 40, LastError: "deletion_locked"},
			Number: NumberView{ID: "pn_1", PhoneNumber: "+14155550101", Status: domain.NumberPending}}}
	w = &numberWorkflow{req: PurchaseRequest{PhoneNumber: "+14155550101", TeamID: "team_a"}}
	w.resume(c)
	wantDetails(t, "a cancelled purchase's undo carried", w.details().Markdown(), "**Releasing**: the purchase failed (the workflow was cancelled)")
}

// TestBillingReleaseIsCarriedWithItsCause: a billing release
// drained as the run continues as new reaches the next run with who
// asked it, not as a cancellation.
func TestBillingReleaseIsCarriedWithItsCause(t *testing.T) {
	t.Parallel()
	m := newOrderMocks(t, false, shortRuns)
	m.await = func() (activities.AwaitResult, error) { return activities.AwaitResult{ProviderNumberID: "tel-1"}, nil }
	req := m.buying("+14155550172")
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflowSkippingWorkflowTask(SignalReleaseNumber, "team_a") }, 30*time.Minute)
	growAt(m.env, time.Hour, 150)
	run(m.env, req)
	next := continuedFrom(t, m.env)
	if c := next.Continued; !c.ReleaseAsked || c.ReleaseBy != "billing" {
		t.Fatalf("carried release asked %v by %q, want billing's", c.ReleaseAsked, c.ReleaseBy)
	}
}

// releasingV1 runs a paid number of the v1 type (whose release at Telnyx
// is an activity, here taking an hour) to its end, with act at 1h, and
// returns the details half an hour into the release.
func releasingV1(t *testing.T, act func(m *numberMocks)) (during, after string) {
	t.Helper()
	m := newOrderMocks(t, false, RunLimits{})
	m.await = func() (activities.AwaitResult, error) { return activities.AwaitResult{ProviderNumberID: "tel-1"}, nil }
	m.releaseDelay = time.Hour
	req := m.buying("+14155550173")
	m.env.RegisterDelayedCallback(func() { act(m) }, time.Hour)
	d := detailsAt(t, m.env, 90*time.Minute)
	runType(m.env, NumberWorkflowTypeV1, req)
	if m.answer != nil {
		t.Fatalf("purchase: %v", m.answer)
	}
	return *d, detailsOf(t, m.env)
}

func TestDetailsOfAReleaseSayWhatBeganIt(t *testing.T) {
	t.Parallel()
	during, after := releasingV1(t, func(m *numberMocks) { m.env.CancelWorkflow() })
	wantDetails(t, "cancelled", during, "**Releasing**: the workflow was cancelled", "Number: +14155550173")
	wantDetails(t, "cancelled, once released", after, "**Released**")

	during, after = releasingV1(t, func(m *numberMocks) {
		m.env.UpdateWorkflow(UpdateRelease, "release-1", (&updateResult{}).callbacks(), ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	})
	wantDetails(t, "released by its team", during, "**Releasing**: asked by `api`", "Number: +14155550173")
	wantDetails(t, "released by its team, once released", after, "**Released**")
}

// TestDetailsOfACancelledPurchase: an operator's cancel of a purchase
// waiting on documents ends it failed, shown as cancelled (not as the
// "internal" its state and record keep).
func TestDetailsOfACancelledPurchase(t *testing.T) {
	t.Parallel()
	m, _ := regulatedMocks(t, 10*24*time.Hour, nil)
	req := m.buying("+442079460172")
	during := detailsAt(t, m.env, time.Hour)
	m.runFor(2*time.Hour, req)
	wantDetails(t, "waiting", *during, "**Waiting on documents**")
	wantDetails(t, "cancelled", detailsOf(t, m.env), "**Failed**: the workflow was cancelled\n", "Number: +442079460172")
	if st := stateOf(t, m.env); st.Error != "internal" || st.Number.Status != domain.NumberFailed {
		t.Errorf("state %+v: the failure's code is kept as it was", st)
	}
}

// TestDetailsOfACancelledRelease: ReleaseNumberWorkflow cancelled while
// Telnyx releases the number says so, not "internal".
func TestDetailsOfACancelledRelease(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	env.RegisterWorkflowWithOptions(ReleaseNumberWorkflow, workflow.RegisterOptions{Name: ReleaseWorkflowType})
	env.RegisterActivity(&activities.Activities{})
	rec := domain.PhoneNumber{ID: "pn_1", TeamID: "team_a", PhoneNumber: "+14155550174", Status: domain.NumberActive, WorkflowID: NumberWorkflowID("+14155550174")}
	env.OnActivity("LoadNumber", anyCtx, anyArg).Return(rec, nil)
	env.OnActivity("HeldSlotKey", anyCtx, anyArg).Return(rec.WorkflowID+"/run-1", nil)
	env.OnActivity("ReleaseAtProvider", anyCtx, anyArg).After(time.Hour).Return(nil)
	during := detailsAt(t, env, 30*time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 40*time.Minute)
	env.ExecuteWorkflow(ReleaseWorkflowType, ReleaseNumberInput{NumberID: rec.ID, TeamID: rec.TeamID, PhoneNumber: rec.PhoneNumber, Reason: "reconcile"})
	if !temporal.IsCanceledError(env.GetWorkflowError()) {
		t.Fatalf("the release ended with %v, want cancelled", env.GetWorkflowError())
	}
	wantDetails(t, "releasing", *during, "**Releasing** a number whose workflow was not running")
	wantDetails(t, "cancelled", detailsOf(t, env), "**Not released**: the workflow was cancelled\n", "Reason: `reconcile`")
}

func TestBillingAndReleaseDetailsText(t *testing.T) {
	t.Parallel()
	at := billingT0
	st := BillingState{TeamID: "team_a", Plan: domain.PlanScale, Subscribed: true, LastEventAt: at, Applied: 4, Ignored: 1}
	want := "**Plan `scale`**, subscribed\n\n- Team: `team_a`\n- Events: 4 applied, 1 ignored; the last applied occurred at 2026-11-01T12:00:00Z\n- Events waiting: 3"
	if got := billingDetailsOf(&st, 3).Markdown(); got != want {
		t.Errorf("billing:\n%s\nwant\n%s", got, want)
	}
	grace := at.Add(7 * 24 * time.Hour)
	for _, st := range []BillingState{st, {TeamID: "team_a", Plan: domain.PlanFree}, {TeamID: "team_a", Plan: domain.PlanFree, Applied: 2, GraceEndsAt: &grace}} {
		d := billingDetailsOf(&st, 0)
		if d.Markdown() != d.Markdown() {
			t.Errorf("billing %+v: the text changed between two calls", st)
		}
	}

	in := ReleaseNumberInput{NumberID: "pn_1", TeamID: "team_a", PhoneNumber: "+14155550101", Reason: "reconcile"}
	r := &releaseRun{in: in, state: NumberState{Number: NumberView{Status: domain.NumberActive}}}
	for _, c := range []struct {
		step func()
		head string
	}{
		{func() {}, "**Releasing** a number whose workflow was not running"},
		{func() {
			r.state.Error = "order_pending"
			r.finish(temporalerr.Errorf(domain.CodeNumberInPurchase, "still being bought"))
		}, "**Not released**: `number_in_purchase` (`order_pending`)"},
		{func() { r.finish(temporal.NewCanceledError()) }, "**Not released**: the workflow was cancelled"},
		{func() { r.ended, r.state.Number.Status = true, domain.NumberExpired; r.finish(nil) }, "**Expired**: the trial had ended; the number was released"},
		{func() { r.ended = false }, "**Nothing to release**: the record is `expired`"},
		{func() {
			r.ended, r.state.Number.Status, r.state.Error = true, domain.NumberReleased, ""
			r.finish(temporalerr.Errorf("database_unavailable", "the slot could not be freed"))
		}, "**Released**; freeing its plan slot failed (`database_unavailable`)"},
	} {
		c.step()
		want := c.head + "\n\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`\n- Reason: `reconcile`"
		if got := r.details().Markdown(); got != want {
			t.Errorf("release:\n%s\nwant\n%s", got, want)
		}
		if d := r.details(); d.Markdown() != d.Markdown() {
			t.Errorf("release %+v: the text changed between two calls", d)
		}
	}
}

func TestCodeSpansHoldAnything(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"team_a":                "`team_a`",
		"":                      "(none)",
		"a`b\nc":                "`a'b c`",
		strings.Repeat("x", 90): "`" + strings.Repeat("x", 80) + "…`",
		strings.Repeat("é", 90): "`" + strings.Repeat("é", 80) + "…`",
		strings.Repeat("日", 81): "`" + strings.Repeat("日", 80) + "…`",
		strings.Repeat("日", 80): "`" + strings.Repeat("日", 80) + "`",
		"bad\xff\xfebytes":      "`bad\uFFFDbytes`",
	} {
		got := code(in)
		if got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("code(%q) = %q: not valid UTF-8", in, got)
		}
	}
}

// TestDetailsThatPanicKeepTheLastText: a panic while the details are made
// neither fails the workflow task nor changes what is shown; the details
// follow the state again once it passes.
func TestDetailsThatPanicKeepTheLastText(t *testing.T) {
	t.Parallel()
	env := newEnv(t)
	detailsPanic := func(ctx workflow.Context) error {
		step := 0
		keepDetails(ctx, func() int {
			if step == 3 {
				panic("inputs")
			}
			return step
		}, func(s int) string {
			if s == 1 {
				panic("format")
			}
			return fmt.Sprintf("step %d", s)
		})
		for step < 4 {
			if err := workflow.Sleep(ctx, time.Hour); err != nil {
				return err
			}
			step++
		}
		return workflow.Sleep(ctx, time.Hour)
	}
	env.RegisterWorkflowWithOptions(detailsPanic, workflow.RegisterOptions{Name: "detailsPanic"})
	var seen []*string
	for i := range 5 {
		seen = append(seen, detailsAt(t, env, time.Duration(i)*time.Hour+30*time.Minute))
	}
	env.ExecuteWorkflow("detailsPanic")
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	for i, want := range []string{"step 0", "step 0", "step 2", "step 2", "step 4"} {
		if *seen[i] != want {
			t.Errorf("at %d h 30: details %q, want %q", i, *seen[i], want)
		}
	}
}

// The summaries and static details name the number and team, nothing the
// start's input would not already show.
func TestSummariesNameTheNumberAndTeam(t *testing.T) {
	t.Parallel()
	req := PurchaseRequest{PhoneNumber: "+14155550101", TeamID: "team_a", UserID: "user_a", ConnectionID: "conn-1", RequirementGroupID: "rg-1", UpdateID: "upd-1"}
	if got := NumberSummary(req.PhoneNumber, req.TeamID); got != "+14155550101 for team team_a" {
		t.Errorf("number summary %q", got)
	}
	static := NumberStaticDetails(req)
	for _, leak := range []string{"conn-1", "rg-1", "upd-1"} {
		if strings.Contains(static, leak) {
			t.Errorf("static details %q show %q", static, leak)
		}
	}
	if !strings.Contains(static, "**+14155550101**") || !strings.Contains(static, "`team_a`") {
		t.Errorf("static details %q", static)
	}
	if got := BillingSummary("team_a"); got != "Billing of team team_a" {
		t.Errorf("billing summary %q", got)
	}
}
