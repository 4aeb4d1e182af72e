package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
)

// numberMocks runs the number workflow in the SDK's test environment with
// every activity mocked: no PostgreSQL, no simulator, and time skips. By
// default a purchase succeeds (a paid number, its order settled within
// the purchase's workflow task) and every release is taken at once; the
// fields before mu change what the activities answer, and are set before
// the run starts. Each activity call is logged in order (calls), and what
// the tests look at most is kept apart too.
type numberMocks struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	// trial: the team is a free one, whose slot is a 120-hour trial;
	// hasSub: the eligibility read with the purchase (or by the
	// Eligibility activity) shows a subscription.
	trial, hasSub bool
	// boughtBefore: BeginPurchase finds the record active (the purchase
	// ran to its end before, its task's completion lost).
	boughtBefore bool
	// refuse: PlaceOrder refuses the number (number_unavailable).
	refuse bool
	// pendingInTask: WaitForOrder sees the order still pending, so the
	// run waits for it durably (AwaitOrder).
	pendingInTask bool
	// fail makes an activity fail with its error, every time it runs;
	// localFails makes one fail retryably while it runs locally.
	fail       map[string]error
	localFails map[string]bool
	// releaseFails: the first this many ReleaseAtProvider calls are
	// refused (a deletion lock); releaseDelay is how long each takes.
	releaseFails int
	releaseDelay time.Duration
	// await is AwaitOrder's answer (nil: the number, tel-1), check
	// CheckOrder's at the time of the call (nil: await's); each takes its
	// delay.
	await      func() (activities.AwaitResult, error)
	awaitDelay time.Duration
	check      func(now time.Time) (activities.AwaitResult, error)
	checkDelay time.Duration

	mu sync.Mutex
	// calls are the activities run, in order, each as "Name:local" or
	// "Name:activity".
	calls       []string
	numberIDs   []string
	placed      []activities.OrderInput
	awaitIn     []activities.AwaitInput
	checks      []time.Time
	recorded    []*domain.PendingRequirements
	cancelled   []string
	attached    []activities.AttachGroupInput
	attachedAt  []time.Time
	releaseIn   []activities.ReleaseInput
	releasedAt  []time.Time
	ended       []activities.EndInput
	slotsFreed  int
	converted   int
	activatedAt time.Time
	// statuses are the NumberStatus values the run upserted.
	statuses []string
	// answer and result are the purchase's (m.purchase); answeredAfter is
	// how many activity calls had run when it was answered.
	answer        error
	result        PurchaseResult
	answeredAfter int
}

// trialDuration is a mocked free team's trial.
const trialDuration = 120 * time.Hour

// tryRefused is a refused release at the provider.
var tryRefused = temporal.NewNonRetryableApplicationError("deletion lock", domain.CodeDeletionLocked, nil)

// errUnavailable is PlaceOrder's refusal.
var errUnavailable = temporal.NewNonRetryableApplicationError("The number is no longer available.", domain.CodeNumberUnavailable, nil)

func newMocks(t *testing.T, limits RunLimits) *numberMocks {
	env := newEnv(t)
	registerWithLimits(env, &activities.Activities{}, limits)
	m := &numberMocks{t: t, env: env, fail: map[string]error{}, localFails: map[string]bool{}}
	slot := func() (bool, time.Duration) {
		if m.trial {
			return true, trialDuration
		}
		return false, 0
	}
	on(m, "ReserveSlot", acts.ReserveSlot, func(activities.ReserveInput) (activities.ReserveResult, error) {
		trial, d := slot()
		return activities.ReserveResult{IsTrial: trial, TrialDuration: d}, nil
	})
	on(m, "BeginPurchase", acts.BeginPurchase, func(in activities.BeginInput) (activities.BeginResult, error) {
		trial, d := slot()
		m.numberIDs = append(m.numberIDs, in.Number.ID)
		n := in.Number
		n.Status, n.IsTrial = domain.NumberPending, trial
		if m.boughtBefore {
			n.Status, n.ProviderNumberID, n.ProviderOrderID = domain.NumberActive, "tel-1", "ord-1"
		}
		return activities.BeginResult{Number: n, IsTrial: trial, TrialDuration: d}, nil
	})
	on(m, "CreatePendingNumber", acts.CreatePendingNumber, func(n domain.PhoneNumber) (domain.PhoneNumber, error) {
		m.numberIDs = append(m.numberIDs, n.ID)
		n.Status = domain.NumberPending
		return n, nil
	})
	on(m, "PlaceOrder", acts.PlaceOrder, func(in activities.OrderInput) (activities.OrderResult, error) {
		m.placed = append(m.placed, in)
		if m.refuse {
			return activities.OrderResult{}, errUnavailable
		}
		return activities.OrderResult{OrderID: "ord-1", Status: domain.OrderPending}, nil
	})
	on(m, "WaitForOrder", acts.WaitForOrder, func(in activities.WaitInput) (activities.AwaitResult, error) {
		if in.For <= 0 || in.For > 8*time.Second {
			t.Errorf("the in-task wait is %s: it must be bounded well inside the workflow task's timeout", in.For)
		}
		if m.pendingInTask {
			return activities.AwaitResult{Pending: true}, nil
		}
		return activities.AwaitResult{ProviderNumberID: "tel-1"}, nil
	})
	// AwaitOrder and CheckOrder call await and check unlocked: a test's
	// check may look at what the mocks recorded.
	env.OnActivity(acts.AwaitOrder, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return m.awaitDelay }).Return(func(ctx context.Context, in activities.AwaitInput) (activities.AwaitResult, error) {
		if err := m.record(ctx, "AwaitOrder", func() { m.awaitIn = append(m.awaitIn, in) }); err != nil {
			return activities.AwaitResult{}, err
		}
		return m.awaitResult()
	})
	env.OnActivity(acts.CheckOrder, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return m.checkDelay }).Return(func(ctx context.Context, in activities.AwaitInput) (activities.AwaitResult, error) {
		now := env.Now()
		if err := m.record(ctx, "CheckOrder", func() { m.checks = append(m.checks, now) }); err != nil {
			return activities.AwaitResult{}, err
		}
		if m.check == nil {
			return m.awaitResult()
		}
		return m.check(now)
	})
	on(m, "RecordRequirements", acts.RecordRequirements, func(in activities.RequirementsInput) (struct{}, error) {
		m.recorded = append(m.recorded, in.Requirements)
		return struct{}{}, nil
	})
	on(m, "CancelSubOrder", acts.CancelSubOrder, func(id string) (struct{}, error) {
		m.cancelled = append(m.cancelled, id)
		return struct{}{}, nil
	})
	on(m, "AttachRequirementGroup", acts.AttachRequirementGroup, func(in activities.AttachGroupInput) (struct{}, error) {
		m.attached = append(m.attached, in)
		m.attachedAt = append(m.attachedAt, env.Now())
		return struct{}{}, nil
	})
	on(m, "ActivateNumber", acts.ActivateNumber, func(a domain.ActivateNumber) (domain.PhoneNumber, error) {
		m.activatedAt = env.Now()
		return activated(a), nil
	})
	on(m, "CompletePurchase", acts.CompletePurchase, func(in activities.CompleteInput) (activities.CompleteResult, error) {
		m.activatedAt = env.Now()
		return activities.CompleteResult{Number: activated(in.Activate), Eligibility: domain.Eligibility{CurrentCount: 1, MaxAllowed: 5, HasSubscription: m.hasSub}}, nil
	})
	on(m, "Eligibility", acts.Eligibility, func(string) (domain.Eligibility, error) {
		return domain.Eligibility{HasSubscription: m.hasSub}, nil
	})
	on(m, "ConvertTrial", acts.ConvertTrial, func(id string) (domain.PhoneNumber, error) {
		m.converted++
		return domain.PhoneNumber{ID: id, ProviderNumberID: "tel-1", Status: domain.NumberActive}, nil
	})
	env.OnActivity(acts.ReleaseAtProvider, mock.Anything, mock.Anything).AfterFn(func() time.Duration { return m.releaseDelay }).Return(func(ctx context.Context, in activities.ReleaseInput) error {
		var refused bool
		err := m.record(ctx, "ReleaseAtProvider", func() {
			m.releaseIn = append(m.releaseIn, in)
			m.releasedAt = append(m.releasedAt, env.Now())
			refused = len(m.releaseIn) <= m.releaseFails
		})
		if err == nil && refused {
			err = tryRefused
		}
		return err
	})
	on(m, "EndNumber", acts.EndNumber, func(in activities.EndInput) (domain.PhoneNumber, error) {
		m.ended = append(m.ended, in)
		return domain.PhoneNumber{ID: in.NumberID, Status: in.Status, FailureReason: in.FailureReason}, nil
	})
	freed := func(string) (struct{}, error) {
		m.slotsFreed++
		return struct{}{}, nil
	}
	on(m, "CancelSlot", acts.CancelSlot, freed)
	on(m, "ReleaseSlot", acts.ReleaseSlot, freed)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if status, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(AttrNumberStatus); ok {
			m.mu.Lock()
			m.statuses = append(m.statuses, status)
			m.mu.Unlock()
		}
	}).Return(nil)
	return m
}

// on mocks the activity fn (named name): answer runs under the mocks'
// lock, after the call is logged and unless fail or localFails fails it.
// An activity that returns only an error has Out struct{}.
func on[In, Out any](m *numberMocks, name string, fn any, answer func(In) (Out, error)) {
	run := func(ctx context.Context, in In) (out Out, err error) {
		if ferr := m.record(ctx, name, func() { out, err = answer(in) }); ferr != nil {
			return out, ferr
		}
		return out, err
	}
	var out Out
	if _, errorOnly := any(out).(struct{}); errorOnly {
		m.env.OnActivity(fn, mock.Anything, mock.Anything).Return(func(ctx context.Context, in In) error {
			_, err := run(ctx, in)
			return err
		})
		return
	}
	m.env.OnActivity(fn, mock.Anything, mock.Anything).Return(run)
}

// record logs a call of the activity name and, unless the test fails it,
// runs do under the lock.
func (m *numberMocks) record(ctx context.Context, name string, do func()) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	local := activity.GetInfo(ctx).IsLocalActivity
	where := ":activity"
	if local {
		where = ":local"
	}
	m.calls = append(m.calls, name+where)
	if err := m.fail[name]; err != nil {
		return err
	}
	if local && m.localFails[name] {
		return errors.New(name + " cannot reach its dependency")
	}
	do()
	return nil
}

func (m *numberMocks) awaitResult() (activities.AwaitResult, error) {
	if m.await == nil {
		return activities.AwaitResult{ProviderNumberID: "tel-1"}, nil
	}
	return m.await()
}

// activated is the record ActivateNumber and CompletePurchase make.
func activated(a domain.ActivateNumber) domain.PhoneNumber {
	return domain.PhoneNumber{ID: a.ID, ProviderNumberID: a.ProviderNumberID, Status: domain.NumberActive, IsTrial: a.IsTrial, TrialExpiresAt: a.TrialExpiresAt}
}

// purchase asks for req at the start of the run (update p1); its answer
// is m.answer and m.result.
func (m *numberMocks) purchase(req PurchaseRequest) { m.purchaseAt(0, "p1", req) }

// buying is m.purchase of e164 by team_a's user (teamA), returned.
func (m *numberMocks) buying(e164 string) PurchaseRequest {
	req := teamA(e164)
	m.purchase(req)
	return req
}

// runFor runs req's workflow, cancelled d after its start (the hold and
// the wait on documents never end by themselves), and returns the start.
func (m *numberMocks) runFor(d time.Duration, req PurchaseRequest) time.Time {
	m.env.RegisterDelayedCallback(m.env.CancelWorkflow, d)
	start := m.env.Now()
	run(m.env, req)
	return start
}

// purchaseAt sends a purchase update at a point of the run's time; its
// answer (or refusal) becomes m.answer.
func (m *numberMocks) purchaseAt(after time.Duration, id string, req PurchaseRequest) {
	m.env.RegisterDelayedCallback(func() {
		m.env.UpdateWorkflow(UpdatePurchase, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { m.answer = err },
			OnComplete: func(v any, err error) {
				m.mu.Lock()
				defer m.mu.Unlock()
				m.answer, m.answeredAfter = err, len(m.calls)
				if r, ok := v.(PurchaseResult); ok {
					m.result = r
				}
			},
		}, req)
	}, after)
}

// buy runs a purchase to its answer, ending the run an hour in.
func (m *numberMocks) buy(t *testing.T) *updateResult {
	t.Helper()
	req := teamA("+14155550170")
	bought := purchaseAt(m.env, 0, "p1", req)
	m.runFor(time.Hour, req)
	if !bought.done {
		t.Fatal("the purchase was never answered")
	}
	return bought
}

// called is the log of the activities run.
func (m *numberMocks) called() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// names is called without where each ran: "Name" for "Name:local".
func (m *numberMocks) names() []string {
	var names []string
	for _, c := range m.called() {
		name, _, _ := strings.Cut(c, ":")
		names = append(names, name)
	}
	return names
}

// count is how many times the activity name ran among the first n calls
// (all of them when n < 0).
func (m *numberMocks) count(name string, n int) int {
	names := m.names()
	if n >= 0 && n < len(names) {
		names = names[:n]
	}
	c := 0
	for _, x := range names {
		if x == name {
			c++
		}
	}
	return c
}

// releasesBefore is how many releases at the provider had run when the
// activity name first ran; -1 if it never did.
func (m *numberMocks) releasesBefore(name string) int {
	i := slices.Index(m.names(), name)
	if i < 0 {
		return -1
	}
	return m.count("ReleaseAtProvider", i)
}

// completed fails the test unless the run completed without an error.
func (m *numberMocks) completed(t *testing.T) {
	t.Helper()
	checkCompleted(t, m.env)
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// teamA is the purchase of e164 by team_a's user, the mocked tests' buyer.
func teamA(e164 string) PurchaseRequest {
	return PurchaseRequest{PhoneNumber: e164, TeamID: "team_a", UserID: "user_a"}
}
