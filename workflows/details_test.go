package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
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
	req := PurchaseRequest{PhoneNumber: "+14155550171", TeamID: "team_a", UserID: "user_a"}
	m.purchase(req)
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
	m := newFastMocks(t)
	m.trial = true
	req := PurchaseRequest{PhoneNumber: "+14155550170", TeamID: "team_a", UserID: "user_a"}
	bought := purchaseAt(m.env, 0, "p1", req)
	trial := detailsAt(t, m.env, time.Hour)
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_a") }, 2*time.Hour)
	paid := detailsAt(t, m.env, 3*time.Hour)
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 4*time.Hour)
	run(m.env, req)
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
	m := newFastMocks(t)
	m.trial = true
	req := PurchaseRequest{PhoneNumber: "+14155550170", TeamID: "team_a", UserID: "user_a"}
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
	wantDetails(t, "released while waiting", detailsOf(t, m.env), "**Failed**: `"+ErrTypePurchaseReleased+"`")
}

func TestDetailsOfARefusedPurchase(t *testing.T) {
	t.Parallel()
	m := newFastMocks(t)
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
// reach: an undo waiting on Telnyx, a refused release, the release under
// way, a continued run.
func TestNumberDetailsText(t *testing.T) {
	t.Parallel()
	next := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	base := NumberState{TeamID: "team_a", Number: NumberView{ID: "pn_1", PhoneNumber: "+14155550101", Status: domain.NumberActive}}
	with := func(f func(*numberDetails)) numberDetails {
		d := numberDetails{PhoneNumber: "+14155550101", TeamID: "team_a", State: base}
		f(&d)
		return d
	}
	cases := map[string]struct {
		d    numberDetails
		want string
	}{
		"undo waiting on Telnyx": {with(func(d *numberDetails) {
			d.State.Number.Status, d.State.Error = domain.NumberPending, domain.CodeNumberUnavailable
			d.State.Undo = &UndoState{Attempts: 3, LastError: "deletion_locked", NextAttemptAt: next}
		}), "**Releasing**: the purchase failed (`number_unavailable`) and Telnyx has not taken the number back yet\n\n" +
			"- Tries: 3, the last refused with `deletion_locked`; the next at 2026-12-01T10:00:00Z\n" +
			"- The plan slot stays taken until Telnyx confirms the release\n" +
			"- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`"},
		"release refused": {with(func(d *numberDetails) {
			d.Ending, d.ReleaseRefusals, d.State.Error = domain.NumberReleased, 2, "deletion_locked"
		}), "**Release refused** (`deletion_locked`): the number stays held and billed; tried again every 6 hours, or at the next release request\n\n" +
			"- Refused tries: 2\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`"},
		"releasing, asked": {with(func(d *numberDetails) { d.Ending, d.ReleaseAsked, d.ReleaseBy = domain.NumberReleased, true, "billing" }),
			"**Releasing**: asked by `billing`\n\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`"},
		"releasing, the trial ended": {with(func(d *numberDetails) { d.Ending = domain.NumberExpired }),
			"**Releasing**: the trial ended\n\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`"},
		"a continued run": {with(func(d *numberDetails) { d.State.Runs = 2 }),
			"**Active**, paid number\n\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`\n" +
				"- Run 3 of this number's workflow (continued as new: the summary is on the first run)"},
		"taking the slot": {with(func(d *numberDetails) {
			d.State.Number = NumberView{PhoneNumber: "+14155550101", Status: domain.NumberPending}
		}),
			"**Pending purchase**: taking a plan slot and ordering at Telnyx\n\n- Number: +14155550101\n- Team: `team_a`"},
		"provisioning": {with(func(d *numberDetails) {
			d.State.Number.Status, d.AwaitingDocs, d.State.OrderID, d.State.RequirementGroups = domain.NumberPending, true, "ord-1", []string{"rg-1", "rg-2"}
		}), "**Pending purchase**: the documents were accepted, Telnyx is provisioning the number\n\n" +
			"- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`\n- Telnyx order: `ord-1`\n- Requirement groups supplied while waiting: 2"},
	}
	for name, c := range cases {
		if got := c.d.Markdown(); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, c.want)
		}
	}
}

func TestBillingAndReleaseDetailsText(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	st := BillingState{TeamID: "team_a", Plan: domain.PlanScale, Subscribed: true, LastEventAt: at, Applied: 4, Ignored: 1}
	want := "**Plan `scale`**, subscribed\n\n- Team: `team_a`\n- Events: 4 applied, 1 ignored; the last applied occurred at 2026-11-01T12:00:00Z\n- Events waiting: 3"
	if got := billingDetails(st, 3); got != want {
		t.Errorf("billing:\n%s\nwant\n%s", got, want)
	}

	in := ReleaseNumberInput{NumberID: "pn_1", TeamID: "team_a", PhoneNumber: "+14155550101", Reason: "reconcile"}
	r := &releaseRun{in: in, state: NumberState{Number: NumberView{Status: domain.NumberActive}}}
	for _, c := range []struct {
		step func()
		head string
	}{
		{func() {}, "**Releasing** a number whose workflow was not running"},
		{func() {
			r.done, r.err, r.state.Error = true, appError(domain.CodeNumberInPurchase, "still being bought"), "order_pending"
		}, "**Not released**: `number_in_purchase` (`order_pending`)"},
		{func() { r.err, r.ended, r.state.Number.Status = nil, true, domain.NumberExpired }, "**Expired**: the trial had ended; the number was released"},
		{func() { r.ended = false }, "**Nothing to release**: the record is `expired`"},
	} {
		c.step()
		want := c.head + "\n\n- Number: +14155550101\n- Team: `team_a`\n- Record: `pn_1`\n- Reason: `reconcile`"
		if got := r.details(); got != want {
			t.Errorf("release:\n%s\nwant\n%s", got, want)
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
	} {
		if got := code(in); got != want {
			t.Errorf("code(%q) = %q, want %q", in, got, want)
		}
	}
}

// The summaries and static details name the number and team, nothing the
// start's input would not already show.
func TestSummariesNameTheNumberAndTeam(t *testing.T) {
	t.Parallel()
	req := PurchaseRequest{PhoneNumber: "+14155550101", TeamID: "team_a", UserID: "user_a", ConnectionID: "conn-1", RequirementGroupID: "rg-1", UpdateID: "upd-1"}
	if got := numberSummary(req.PhoneNumber, req.TeamID); got != "+14155550101 for team team_a" {
		t.Errorf("number summary %q", got)
	}
	static := numberStaticDetails(req)
	for _, leak := range []string{"conn-1", "rg-1", "upd-1"} {
		if strings.Contains(static, leak) {
			t.Errorf("static details %q show %q", static, leak)
		}
	}
	if !strings.Contains(static, "**+14155550101**") || !strings.Contains(static, "`team_a`") {
		t.Errorf("static details %q", static)
	}
	if got := billingSummary("team_a"); got != "Billing of team team_a" {
		t.Errorf("billing summary %q", got)
	}
}
