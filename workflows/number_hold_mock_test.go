package workflows

import (
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/talkturo/phonenumbers/domain"
)

// The hold and release loops with mocked activities (numberMocks): a
// trial's expiry, its conversion, the release asked by the team, by
// billing or by a cancel, a refused release tried again, and
// continue-as-new in each phase that may. The same lives with the real
// activities are in number_test.go and number_longlived_test.go.

// endFast is how a v2 run ends a number, each step local.
var endFast = []string{"ReleaseAtProvider:local", "EndNumber:local", "ReleaseSlot:local"}

// afterPurchase is the calls made once the purchase was answered.
func (m *numberMocks) afterPurchase() []string {
	return m.called()[m.answeredAfter:]
}

// checkEnded checks that the run released the number (endFast, once) and
// recorded it final, and closed.
func checkEnded(t *testing.T, m *numberMocks, final domain.NumberStatus) {
	t.Helper()
	if got := m.afterPurchase(); !slices.Equal(got, endFast) {
		t.Errorf("after the purchase the run called %v, want %v", got, endFast)
	}
	if len(m.ended) != 1 || m.ended[0].Status != final || m.ended[0].NumberID != m.numberIDs[0] {
		t.Errorf("the record ended with %+v, want %s", m.ended, final)
	}
	if st := stateOf(t, m.env); st.Number.Status != final {
		t.Errorf("final state %+v, want %s", st.Number, final)
	}
}

func TestTrialExpiresThenIsReleased(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial = true
	req := m.buying("+14155550150")
	start := m.env.Now()
	held := stateAt(t, m.env, trialDuration-time.Minute)
	run(m.env, req)
	m.completed(t)
	if m.answer != nil || !m.result.Number.IsTrial || m.result.Number.TrialExpiresAt == nil {
		t.Fatalf("purchase answered %+v, %v; want a trial", m.result.Number, m.answer)
	}
	if held.Number.Status != domain.NumberActive {
		t.Fatalf("a minute before the expiry the number is %+v, want active", held.Number)
	}
	if d := m.env.Now().Sub(start); d < trialDuration-time.Second || d > trialDuration {
		t.Fatalf("released %v in, want at the trial's end (%v)", d, trialDuration)
	}
	checkEnded(t, m, domain.NumberExpired)
}

// TestConvertedTrialIsHeldUntilReleased: billing's conversion (of the
// team's own, not an earlier owner's) makes the trial paid: the record is
// converted, the expiry no longer ends it, a release does.
func TestConvertedTrialIsHeldUntilReleased(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial = true
	req := m.buying("+14155550151")
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_other") }, time.Hour)
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_a") }, 2*time.Hour)
	past := stateAt(t, m.env, 2*trialDuration)
	released := releaseAt(m.env, 3*trialDuration, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	run(m.env, req)
	m.completed(t)
	if m.converted != 1 || !contains(m.called(), "ConvertTrial:activity") {
		t.Fatalf("converted %d times (calls %v), want once, the team's own signal", m.converted, m.called())
	}
	if past.Number.Status != domain.NumberActive || past.Number.IsTrial || past.Number.TrialExpiresAt != nil {
		t.Fatalf("past the trial's end the number is %+v, want active and paid", past.Number)
	}
	if v, _ := released.value.(NumberView); released.err != nil || v.Status != domain.NumberReleased {
		t.Fatalf("release answered %+v, %v", released.value, released.err)
	}
	if got := m.afterPurchase(); !slices.Equal(got, append([]string{"ConvertTrial:activity"}, endFast...)) {
		t.Fatalf("after the purchase the run called %v", got)
	}
}

// TestFailedConversionLeavesTheTrialToExpire: a conversion the record
// refuses is dropped (tried once, not in a loop): the trial ends as it
// would have.
func TestFailedConversionLeavesTheTrialToExpire(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.trial = true
	m.fail["ConvertTrial"] = temporal.NewNonRetryableApplicationError("not a trial", domain.CodeInvalidRequest, nil)
	req := m.buying("+14155550152")
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalConvertToPaid, "team_a") }, time.Hour)
	run(m.env, req)
	m.completed(t)
	if got := m.afterPurchase(); !slices.Equal(got, append([]string{"ConvertTrial:activity"}, endFast...)) {
		t.Fatalf("after the purchase the run called %v, want one conversion tried, then the trial's end", got)
	}
	if len(m.ended) != 1 || m.ended[0].Status != domain.NumberExpired {
		t.Fatalf("the record ended with %+v, want expired", m.ended)
	}
}

// TestV1TrialBoughtAsTheSubscriptionStartedIsConverted: a v1 run reads
// the team's eligibility once its trial is bought (changeTrialConversion)
// and converts the trial if a subscription started meanwhile; a run
// recorded before the change reads nothing, and its trial expires.
func TestV1TrialBoughtAsTheSubscriptionStartedIsConverted(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		version workflow.Version
		want    []string
	}{
		{"with trial-conversion", 1, []string{"Eligibility:activity", "ConvertTrial:activity"}},
		{"recorded before it", workflow.DefaultVersion, []string{"ReleaseAtProvider:activity", "EndNumber:activity", "ReleaseSlot:activity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMocks(t, RunLimits{})
			m.trial, m.hasSub = true, true
			m.env.OnGetVersion(changeTrialConversion, workflow.DefaultVersion, 1).Return(tc.version)
			req := teamA("+14155550153")
			m.purchase(req)
			m.env.RegisterDelayedCallback(m.env.CancelWorkflow, 2*trialDuration)
			runType(m.env, NumberWorkflowTypeV1, req)
			// The purchase's own eligibility read comes first.
			got := m.afterPurchase()
			if len(got) < len(tc.want) || !slices.Equal(got[:len(tc.want)], tc.want) {
				t.Fatalf("after the purchase the run called %v, want %v first", got, tc.want)
			}
		})
	}
}

// TestReleaseWhileHeld: the team's release ends the number at once and
// answers with it released; another team's is refused, and billing's
// signals for another team change nothing.
func TestReleaseWhileHeld(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	req := m.buying("+14155550154")
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalReleaseNumber, "team_other") }, 30*time.Minute)
	other := &updateResult{}
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdateRelease, "release-b", other.callbacks(), ReleaseRequest{TeamID: "team_b", Reason: ReleaseReasonAPI})
	}, 45*time.Minute)
	released := releaseAt(m.env, time.Hour, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	start := m.env.Now()
	run(m.env, req)
	m.completed(t)
	if appErrorType(other.rejected) != domain.CodeNotFound {
		t.Fatalf("another team's release: %v, want not_found", other.rejected)
	}
	if v, _ := released.value.(NumberView); released.err != nil || released.rejected != nil || v.Status != domain.NumberReleased {
		t.Fatalf("release answered %+v, %v / %v", released.value, released.err, released.rejected)
	}
	if d := m.env.Now().Sub(start); d != time.Hour {
		t.Fatalf("the run closed %v in, want at the team's release (1h)", d)
	}
	checkEnded(t, m, domain.NumberReleased)
}

// TestReleaseAskedDuringThePurchase: a release update while the number is
// being bought is refused (still being bought); billing's release then is
// kept, and ends the number as soon as it is held.
func TestReleaseAskedDuringThePurchase(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.pendingInTask, m.awaitDelay = true, 2*time.Hour
	req := m.buying("+14155550155")
	early := releaseAt(m.env, 30*time.Minute, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	m.env.RegisterDelayedCallback(func() { m.env.SignalWorkflow(SignalReleaseNumber, "team_a") }, time.Hour)
	start := m.env.Now()
	run(m.env, req)
	m.completed(t)
	if appErrorType(early.rejected) != domain.CodeNumberInPurchase {
		t.Fatalf("a release while buying: %v, want %s", early.rejected, domain.CodeNumberInPurchase)
	}
	if m.answer != nil || m.result.Number.Status != domain.NumberActive {
		t.Fatalf("purchase answered %+v, %v; want the number bought", m.result.Number, m.answer)
	}
	if d := m.env.Now().Sub(start); d != 2*time.Hour {
		t.Fatalf("the run closed %v in, want as soon as the number was held (2h)", d)
	}
	checkEnded(t, m, domain.NumberReleased)
}

// TestRefusedReleaseIsTriedAgain: a release the provider refuses leaves
// the number held (the caller gets the refusal); it is tried again every
// releaseRetryInterval, and at once when asked again.
func TestRefusedReleaseIsTriedAgain(t *testing.T) {
	t.Parallel()
	m := newMocks(t, RunLimits{})
	m.releaseFails = 2
	req := m.buying("+14155550156")
	refused := releaseAt(m.env, time.Hour, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	held := stateAt(t, m.env, 2*time.Hour)
	asked := &updateResult{}
	again := time.Hour + releaseRetryInterval + time.Hour
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdateRelease, "release-2", asked.callbacks(), ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	}, again)
	start := m.env.Now()
	run(m.env, req)
	m.completed(t)
	if appErrorType(refused.err) != domain.CodeDeletionLocked {
		t.Fatalf("the refused release answered %v, want %s", refused.err, domain.CodeDeletionLocked)
	}
	if held.Number.Status != domain.NumberActive || held.Error != domain.CodeDeletionLocked {
		t.Fatalf("while refused the number is %+v (error %q), want held and the refusal shown", held.Number, held.Error)
	}
	var tries []time.Duration
	for _, at := range m.releasedAt {
		tries = append(tries, at.Sub(start))
	}
	if want := []time.Duration{time.Hour, time.Hour + releaseRetryInterval, again}; !slices.Equal(tries, want) {
		t.Fatalf("releases tried at %v, want %v", tries, want)
	}
	if v, _ := asked.value.(NumberView); asked.err != nil || v.Status != domain.NumberReleased {
		t.Fatalf("the release asked again answered %+v, %v", asked.value, asked.err)
	}
	if len(m.ended) != 1 || m.ended[0].Status != domain.NumberReleased || m.slotsFreed != 1 {
		t.Fatalf("ended %+v, slots freed %d", m.ended, m.slotsFreed)
	}
}

// TestCancelledHoldReleasesTheNumber: an operator's cancel of a holding
// run, a paid number's or a trial's, gives the number up rather than
// leave it held with nothing watching it.
func TestCancelledHoldReleasesTheNumber(t *testing.T) {
	t.Parallel()
	for _, trial := range []bool{false, true} {
		t.Run(map[bool]string{false: "paid", true: "trial"}[trial], func(t *testing.T) {
			t.Parallel()
			m := newMocks(t, RunLimits{})
			m.trial = trial
			req := teamA("+14155550157")
			m.purchase(req)
			start := m.runFor(time.Hour, req)
			if d := m.env.Now().Sub(start); d != time.Hour {
				t.Fatalf("the run closed %v in, want at the cancel (1h)", d)
			}
			checkEnded(t, m, domain.NumberReleased)
		})
	}
}

// TestHoldingRunContinuesAsNewAndTheNextHoldsOn: a holding trial whose run
// has grown continues as new with what the next run needs; the next run
// buys nothing and ends the trial at its expiry.
func TestHoldingRunContinuesAsNewAndTheNextHoldsOn(t *testing.T) {
	t.Parallel()
	limits := shortRuns
	m := newMocks(t, limits)
	m.trial = true
	req := m.buying("+14155550158")
	growAt(m.env, 24*time.Hour, 150)
	run(m.env, req)
	next := continuedFrom(t, m.env)
	c := next.Continued
	expires := m.result.Number.TrialExpiresAt
	if c.Phase != PhaseHolding || !c.IsTrial || expires == nil || c.State.Number.TrialExpiresAt == nil || !c.State.Number.TrialExpiresAt.Equal(*expires) {
		t.Fatalf("carried %+v (number %+v), want the trial holding until %v", c, c.State.Number, expires)
	}
	if c.Key == "" || c.Key != c.State.CustomerReference || c.Runs != 1 || c.ReleaseAsked || c.ConvertAsked {
		t.Fatalf("carried key %q (reference %q), runs %d, asked release %v, conversion %v", c.Key, c.State.CustomerReference, c.Runs, c.ReleaseAsked, c.ConvertAsked)
	}
	if got := m.afterPurchase(); len(got) != 0 {
		t.Fatalf("the holding run called %v before continuing as new", got)
	}

	m2 := newMocks(t, limits)
	m2.env.SetStartTime(m.env.Now())
	run(m2.env, next)
	m2.completed(t)
	if want := endFast; !slices.Equal(m2.called(), want) {
		t.Fatalf("the next run called %v, want %v: nothing bought again", m2.called(), want)
	}
	if d := m2.env.Now().Sub(*expires); d < 0 || d > time.Second {
		t.Fatalf("the next run ended %v after the trial's expiry", d)
	}
	if len(m2.ended) != 1 || m2.ended[0].Status != domain.NumberExpired || m2.ended[0].NumberID != c.State.Number.ID {
		t.Fatalf("the next run ended %+v, want %s expired", m2.ended, c.State.Number.ID)
	}
}

// TestRefusedReleaseContinuesAsNewAndTheNextTriesWhenDue: a number behind
// a lock for days continues as new in the ending phase, with its next try
// due; the next run tries then, not at once.
func TestRefusedReleaseContinuesAsNewAndTheNextTriesWhenDue(t *testing.T) {
	t.Parallel()
	limits := shortRuns
	m := newMocks(t, limits)
	m.releaseFails = 1_000_000
	req := m.buying("+14155550159")
	releaseAt(m.env, time.Hour, ReleaseRequest{TeamID: "team_a", Reason: ReleaseReasonAPI})
	growAt(m.env, 3*24*time.Hour, 150)
	run(m.env, req)
	c := continuedFrom(t, m.env).Continued
	if c.Phase != PhaseEnding || c.Final != domain.NumberReleased || c.RetryAt == nil || c.EndAttempts != len(m.releaseIn) || c.ReleaseBy != ReleaseReasonAPI {
		t.Fatalf("carried %+v, want the ending phase with its %d refused tries", c, len(m.releaseIn))
	}
	if d := c.RetryAt.Sub(m.env.Now()); d != releaseRetryInterval {
		t.Fatalf("next try due in %v, want %v", d, releaseRetryInterval)
	}

	m2 := newMocks(t, limits)
	m2.env.SetStartTime(m.env.Now())
	run(m2.env, PurchaseRequest{PhoneNumber: req.PhoneNumber, TeamID: req.TeamID, UserID: req.UserID, Continued: c})
	m2.completed(t)
	if len(m2.releasedAt) != 1 || !m2.releasedAt[0].Equal(*c.RetryAt) {
		t.Fatalf("the next run tried at %v, want once at %v", m2.releasedAt, *c.RetryAt)
	}
	if len(m2.ended) != 1 || m2.ended[0].Status != domain.NumberReleased {
		t.Fatalf("the next run ended %+v", m2.ended)
	}
}

// TestContinuedRunActsOnWhatWasCarried: a request the run before took but
// did not act on (drained as it continued) is acted on by the next run.
func TestContinuedRunActsOnWhatWasCarried(t *testing.T) {
	t.Parallel()
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		carry func(c *ContinuedRun)
		want  []string
	}{
		{"a release", func(c *ContinuedRun) { c.ReleaseAsked, c.ReleaseBy = true, "billing" }, endFast},
		{"a conversion", func(c *ContinuedRun) { c.ConvertAsked = true }, []string{"ConvertTrial:activity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMocks(t, RunLimits{})
			m.env.SetStartTime(expires.Add(-24 * time.Hour))
			c := &ContinuedRun{Phase: PhaseHolding, Key: "phone-number:+14155550165/run-0", IsTrial: true, Runs: 1,
				State: NumberState{TeamID: "team_a", Number: NumberView{ID: "pn_1", PhoneNumber: "+14155550165", ProviderNumberID: "tel-1",
					Status: domain.NumberActive, IsTrial: true, TrialExpiresAt: &expires}}}
			tc.carry(c)
			m.runFor(time.Hour, PurchaseRequest{PhoneNumber: "+14155550165", TeamID: "team_a", UserID: "user_a", Continued: c})
			if got := m.called(); len(got) < len(tc.want) || !slices.Equal(got[:len(tc.want)], tc.want) {
				t.Fatalf("the next run called %v, want %v first, at once", got, tc.want)
			}
		})
	}
}
