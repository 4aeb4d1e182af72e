package workflows

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// The safety checks of unwatched records, on a PostgreSQL schema and the
// simulator over HTTP.

// fakeWorkflows stands in for Temporal: no number workflow runs, and the
// releases asked for are only recorded.
type fakeWorkflows struct {
	mu       sync.Mutex
	releases []string // phone numbers
}

// fakeWorkflows makes the fixture's activities start workflows in a
// fakeWorkflows, and returns it.
func (f *fixture) fakeWorkflows() *fakeWorkflows {
	w := &fakeWorkflows{}
	f.acts.Workflows = w
	return w
}

func (w *fakeWorkflows) WorkflowRunning(context.Context, string) (bool, error) { return false, nil }

func (w *fakeWorkflows) StartRelease(_ context.Context, n domain.PhoneNumber, _ string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releases = append(w.releases, n.PhoneNumber)
	return nil
}

func (w *fakeWorkflows) started() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.releases...)
}

// slowOrders makes the fixture's activities order from a simulator whose
// orders stay pending for an hour (a regulated number).
func (f *fixture) slowOrders() domain.NumberProvider {
	f.t.Helper()
	tx := backend.NewTelnyx(f.t, backend.Options{Sim: telnyxsim.Options{OrderLatency: time.Hour}, Client: telnyx.Config{Timeout: 2 * time.Second}})
	f.acts.Provider, f.sim = tx.Client, tx.Sim
	return tx.Client
}

// stalePending records e164 as pending for the team with its slot held
// under key, both created age ago, with no workflow.
func (f *fixture) stalePending(teamID, userID, e164 string, age time.Duration) (domain.PhoneNumber, string) {
	f.t.Helper()
	key := NumberWorkflowID(e164) + "/lost-run"
	if _, err := f.acts.Slots.Reserve(context.Background(), teamID, key, e164); err != nil {
		f.t.Fatal(err)
	}
	n := f.holds(teamID, userID, e164, domain.NumberPending)
	at := time.Now().Add(-age)
	if err := f.db.Exec("UPDATE number_reservations SET created_at = ? WHERE workflow_id = ?", at.Add(-time.Second), key).Error; err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.Exec("UPDATE phone_numbers SET created_at = ? WHERE id = ?", at, n.ID).Error; err != nil {
		f.t.Fatal(err)
	}
	n, err := f.numbers.Get(context.Background(), teamID, n.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return n, key
}

func (f *fixture) checkUndo(n domain.PhoneNumber, key string, strict bool) string {
	f.t.Helper()
	v, err := f.acts.CheckUndoPending(context.Background(), activities.UndoPendingInput{Number: n, Key: key, Strict: strict})
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

// An order still pending at Telnyx keeps the record, whoever asks, found
// by the purchase's customer_reference or by the record's order ID.
func TestCheckUndoPendingKeepsARecordWhoseOrderIsInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanGrowth)
	p := f.slowOrders()
	ctx := context.Background()

	byRef, key := f.stalePending(teamID, userID, "+14155550801", time.Hour)
	f.offer(byRef.PhoneNumber)
	if _, err := p.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: byRef.PhoneNumber, CustomerReference: key}); err != nil {
		t.Fatal(err)
	}
	for _, strict := range []bool{false, true} {
		if v := f.checkUndo(byRef, key, strict); v != activities.UnwatchedOrderPending {
			t.Errorf("order pending, found by customer_reference (strict %v): %q, want order_pending", strict, v)
		}
	}

	byID, _ := f.stalePending(teamID, userID, "+14155550802", time.Hour)
	f.offer(byID.PhoneNumber)
	o, err := p.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: byID.PhoneNumber, CustomerReference: "another-ref"})
	if err != nil {
		t.Fatal(err)
	}
	byID.ProviderOrderID = o.ID
	if v := f.checkUndo(byID, "", false); v != activities.UnwatchedOrderPending {
		t.Errorf("order pending, found by the record's order ID: %q, want order_pending", v)
	}
}

// With no order in flight, the team's own release may undo the record at
// once (releasing a delivered number first); anyone else only once the
// record is old enough and Telnyx does not hold the number.
func TestCheckUndoPendingIsStrictForOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanGrowth)
	ctx := context.Background()

	young, key := f.stalePending(teamID, userID, "+14155550811", time.Minute)
	if v := f.checkUndo(young, key, true); v != activities.UnwatchedTooRecent {
		t.Errorf("a record a minute old, strict: %q, want too_recent", v)
	}
	if v := f.checkUndo(young, key, false); v != "" {
		t.Errorf("a record a minute old, its team's release: %q, want it undone", v)
	}

	old, key := f.stalePending(teamID, userID, "+14155550812", time.Hour)
	if v := f.checkUndo(old, key, true); v != "" {
		t.Errorf("an old record with no order: %q, want it undone", v)
	}

	// The order completed (the simulator settles at once): Telnyx holds it.
	delivered, key := f.stalePending(teamID, userID, "+14155550813", time.Hour)
	f.offer(delivered.PhoneNumber)
	if _, err := f.acts.Provider.CreateOrder(ctx, domain.OrderRequest{PhoneNumber: delivered.PhoneNumber, CustomerReference: key}); err != nil {
		t.Fatal(err)
	}
	if v := f.checkUndo(delivered, key, true); v != activities.UnwatchedHeldAtProvider {
		t.Errorf("a delivered number, strict: %q, want held_at_provider", v)
	}
	if v := f.checkUndo(delivered, key, false); v != "" {
		t.Errorf("a delivered number, its team's release: %q, want it released and undone", v)
	}
}

// Reconciliation undoes only an old pending record, and converts rather
// than releases an expired trial whose team has subscribed since.
func TestRepairUnwatchedChecksAgeOrdersAndSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wfs := f.fakeWorkflows()
	ctx := context.Background()
	paidTeam, paidUser := f.team(domain.PlanGrowth)
	freeTeam, freeUser := f.team(domain.PlanFree)

	repair := func(n domain.PhoneNumber) string {
		t.Helper()
		out, err := f.acts.RepairUnwatched(ctx, activities.Unwatched{NumberID: n.ID, PhoneNumber: n.PhoneNumber, TeamID: n.TeamID, Status: n.Status, Due: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	young, _ := f.stalePending(paidTeam, paidUser, "+14155550821", time.Minute)
	if o := repair(young); o != activities.UnwatchedTooRecent {
		t.Errorf("a pending record a minute old: %q, want too_recent", o)
	}
	old, _ := f.stalePending(paidTeam, paidUser, "+14155550822", time.Hour)
	if o := repair(old); o != activities.UnwatchedReleaseStarted {
		t.Errorf("a pending record an hour old: %q, want release_started", o)
	}

	expiredTrial := func(teamID, userID, e164 string) domain.PhoneNumber {
		n := f.holds(teamID, userID, e164, domain.NumberPending)
		past := time.Now().Add(-time.Minute)
		n, err := f.numbers.Activate(ctx, domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-" + e164, IsTrial: true, TrialExpiresAt: &past})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A free team's trial, bought, then the team subscribed: its number
	// workflow is gone, so the conversion never reached it.
	subscribed := expiredTrial(paidTeam, paidUser, "+14155550823")
	if o := repair(subscribed); o != activities.UnwatchedConverted {
		t.Errorf("an expired trial of a subscribed team: %q, want converted", o)
	}
	if n, err := f.numbers.Get(ctx, paidTeam, subscribed.ID); err != nil || n.IsTrial || n.Status != domain.NumberActive {
		t.Errorf("the converted trial: %+v, %v; want an active paid number", n, err)
	}
	free := expiredTrial(freeTeam, freeUser, "+14155550824")
	if o := repair(free); o != activities.UnwatchedReleaseStarted {
		t.Errorf("an expired trial of a free team: %q, want release_started", o)
	}
	if got := wfs.started(); len(got) != 2 || got[0] != old.PhoneNumber || got[1] != free.PhoneNumber {
		t.Fatalf("releases started %v, want only %s and %s", got, old.PhoneNumber, free.PhoneNumber)
	}
}

// Pending undos count against MaxReleases: with the wrong database every
// pending record looks unwatched too.
func TestReconcileWithholdsPendingUndosBeyondMaxReleases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wfs := f.fakeWorkflows()
	teamID, userID := f.team(domain.PlanScale)
	for _, e164 := range []string{"+14155550831", "+14155550832", "+14155550833"} {
		f.stalePending(teamID, userID, e164, time.Hour)
	}
	r := f.reconcileEnv()
	r.env.ExecuteWorkflow(ReconcileWorkflow, ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 2})
	res := r.result(t)
	if res.UnwatchedCount != 3 || len(res.Unwatched) != 3 {
		t.Fatalf("unwatched %d: %+v, want 3", res.UnwatchedCount, res.Unwatched)
	}
	for _, u := range res.Unwatched {
		if u.Outcome != activities.UnwatchedWithheld {
			t.Errorf("%s: %q, want withheld", u.PhoneNumber, u.Outcome)
		}
	}
	if got := wfs.started(); len(got) != 0 {
		t.Fatalf("releases started %v, want none", got)
	}
}

// Young pending records are never undone by reconciliation, so they do not
// count against MaxReleases either: an operator terminating a few fresh
// purchases must not hold back the repairs that are due.
func TestReconcileDoesNotCountYoungPendingRecordsAgainstMaxReleases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	wfs := f.fakeWorkflows()
	teamID, userID := f.team(domain.PlanScale)
	old1, _ := f.stalePending(teamID, userID, "+14155550841", time.Hour)
	old2, _ := f.stalePending(teamID, userID, "+14155550842", time.Hour)
	for _, e164 := range []string{"+14155550843", "+14155550844", "+14155550845"} {
		f.stalePending(teamID, userID, e164, time.Minute)
	}
	r := f.reconcileEnv()
	r.env.ExecuteWorkflow(ReconcileWorkflow, ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 2})
	res := r.result(t)
	if res.UnwatchedCount != 5 {
		t.Fatalf("unwatched %d: %+v, want 5", res.UnwatchedCount, res.Unwatched)
	}
	got := wfs.started()
	slices.Sort(got)
	if len(got) != 2 || got[0] != old1.PhoneNumber || got[1] != old2.PhoneNumber {
		t.Fatalf("releases started %v, want %s and %s", got, old1.PhoneNumber, old2.PhoneNumber)
	}
	for _, u := range res.Unwatched {
		if u.Outcome == activities.UnwatchedWithheld {
			t.Errorf("%s: withheld; young pending records must not crowd out due repairs", u.PhoneNumber)
		}
	}
}
