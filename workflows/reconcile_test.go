package workflows

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit"
)

// ReconcileWorkflow with the real activities, on a PostgreSQL schema and
// the simulator over HTTP, with drift planted on both sides.

// reconcileRun is a test environment for ReconcileWorkflow whose logs and
// metrics the test reads.
type reconcileRun struct {
	env     *testsuite.TestWorkflowEnvironment
	metrics *metricsRecorder
	logs    *reconcileLogs
}

// metricsRecorder is the SDK metrics handler of a test environment: what
// the workflow counts, by metric name, whatever the tags. The process's
// export of these to Prometheus is temporalclient.NewSDKMetrics's, and
// tested there.
type metricsRecorder struct {
	mu     sync.Mutex
	values map[string]float64
}

func (m *metricsRecorder) WithTags(map[string]string) client.MetricsHandler { return m }
func (m *metricsRecorder) Counter(name string) client.MetricsCounter        { return recorded{m, name, true} }
func (m *metricsRecorder) Gauge(name string) client.MetricsGauge            { return recorded{m, name, false} }
func (m *metricsRecorder) Timer(name string) client.MetricsTimer {
	return client.MetricsNopHandler.Timer(name)
}

func (m *metricsRecorder) value(name string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.values[name]
}

// recorded is a counter (summed) or a gauge (its last value) of a
// metricsRecorder.
type recorded struct {
	m     *metricsRecorder
	name  string
	count bool
}

func (r recorded) Inc(n int64)      { r.set(float64(n)) }
func (r recorded) Update(v float64) { r.set(v) }

func (r recorded) set(v float64) {
	r.m.mu.Lock()
	defer r.m.mu.Unlock()
	if r.count {
		r.m.values[r.name] += v
	} else {
		r.m.values[r.name] = v
	}
}

// reconcileLogs is the environment's JSON log.
type reconcileLogs struct{ testkit.LogBuffer }

// lines returns the log lines whose message starts with prefix.
func (l *reconcileLogs) lines(t *testing.T, prefix string) []map[string]any {
	t.Helper()
	return l.JSONLines(t, prefix)
}

func (f *fixture) reconcileEnv() *reconcileRun {
	r := &reconcileRun{metrics: &metricsRecorder{values: map[string]float64{}}, logs: &reconcileLogs{}}
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(r.logs.JSONLogger(slog.LevelInfo)))
	suite.SetMetricsHandler(r.metrics)
	r.env = suite.NewTestWorkflowEnvironment()
	Register(r.env, f.acts)
	return r
}

// metric is the named counter's total, or the gauge's last value.
func (r *reconcileRun) metric(t *testing.T, name string) float64 {
	t.Helper()
	return r.metrics.value(name)
}

func (r *reconcileRun) result(t *testing.T) ReconcileResult {
	t.Helper()
	if !r.env.IsWorkflowCompleted() || r.env.GetWorkflowError() != nil {
		t.Fatalf("workflow completed=%v err=%v", r.env.IsWorkflowCompleted(), r.env.GetWorkflowError())
	}
	var res ReconcileResult
	if err := r.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

// holds records e164 as the team's number (pending, or active).
func (f *fixture) holds(teamID, userID, e164 string, status domain.NumberStatus) domain.PhoneNumber {
	f.t.Helper()
	n, err := f.numbers.CreatePending(context.Background(), domain.PhoneNumber{
		ID: domain.NewID(domain.PrefixPhoneNumber), TeamID: teamID, PhoneNumber: e164, CreatedByUserID: userID, WorkflowID: NumberWorkflowID(e164),
	})
	if err == nil && status == domain.NumberActive {
		n, err = f.numbers.Activate(context.Background(), domain.ActivateNumber{ID: n.ID, ProviderNumberID: "tx-" + e164})
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// plant puts e164 in the Telnyx account, bought age ago.
func (f *fixture) plant(e164 string, age time.Duration) {
	f.t.Helper()
	if _, err := f.sim.AddOwned(e164, time.Now().Add(-age)); err != nil {
		f.t.Fatal(err)
	}
}

func TestReconcileReleasesOldOrphansAndFlagsMissingNumbers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanScale)
	const (
		kept       = "+14155550301" // held on both sides
		missing    = "+14155550302" // active here, gone at Telnyx
		arriving   = "+14155550303" // active here; Telnyx lists it only after the first look
		inPurchase = "+14155550304" // pending here, its order pending at Telnyx for hours
		oldOrphan  = "+14155550311"
		locked     = "+14155550312" // an old orphan with a deletion lock
		racing     = "+14155550313" // an old orphan a purchase records once the run has listed
		young      = "+14155550321"
	)
	f.holds(teamID, userID, kept, domain.NumberActive)
	f.plant(kept, 72*time.Hour)
	flagged := f.holds(teamID, userID, missing, domain.NumberActive)
	f.holds(teamID, userID, arriving, domain.NumberActive)
	f.holds(teamID, userID, inPurchase, domain.NumberPending)
	f.sim.SetOrderLatency(24 * time.Hour)
	f.offer(inPurchase)
	if _, err := f.acts.Provider.CreateOrder(context.Background(), domain.OrderRequest{PhoneNumber: inPurchase, CustomerReference: "ref-slow"}); err != nil {
		t.Fatal(err)
	}
	f.sim.Backdate(inPurchase, time.Now().Add(-5*time.Hour))
	f.plant(oldOrphan, 2*time.Hour)
	f.plant(locked, 3*time.Hour)
	f.sim.DeletionLock(locked, true)
	f.plant(racing, 2*time.Hour)
	f.plant(young, 10*time.Minute)

	r := f.reconcileEnv()
	started := map[string]time.Time{}
	r.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		started[info.ActivityType.Name] = r.env.Now()
	})
	r.env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if info.ActivityType.Name != "FindDrift" || err != nil {
			return
		}
		// Between the listing and the releases: a purchase records a
		// number, and another's order completes.
		f.holds(teamID, userID, racing, domain.NumberPending)
		f.plant(arriving, 0)
	})
	r.env.ExecuteWorkflow(ReconcileWorkflow, ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 10, MissingRecheckAfter: time.Minute})
	res := r.result(t)

	outcomes := map[string]string{}
	for _, o := range res.Orphans {
		outcomes[o.PhoneNumber] = o.Outcome
	}
	want := map[string]string{
		oldOrphan: activities.OrphanReleased,
		locked:    activities.OrphanDeletionLocked,
		racing:    activities.OrphanHeld,
		young:     activities.OrphanTooYoung,
	}
	if len(outcomes) != len(want) || res.OrphanCount != len(want) {
		t.Fatalf("orphans %v (count %d), want %v", outcomes, res.OrphanCount, want)
	}
	for e164, o := range want {
		if outcomes[e164] != o {
			t.Errorf("orphan %s: %q, want %q", e164, outcomes[e164], o)
		}
	}
	if res.Released != 1 || res.MissingCandidates != 2 || len(res.Missing) != 1 || res.Missing[0].NumberID != flagged.ID || res.Missing[0].TeamID != teamID {
		t.Fatalf("released %d, missing %d candidates, confirmed %+v; want 1 released and only %s (of 2) missing", res.Released, res.MissingCandidates, res.Missing, missing)
	}
	if res.OwnedAtProvider != 6 || res.LiveInDatabase != 4 {
		t.Errorf("counted %d at Telnyx and %d live here, want 6 and 4", res.OwnedAtProvider, res.LiveInDatabase)
	}
	if gap := started["ConfirmMissing"].Sub(started["FindDrift"]); gap < time.Minute {
		t.Errorf("the missing numbers were looked at again %v after the listing, want at least a minute", gap)
	}

	owned := f.sim.OwnedNumbers()
	for _, e164 := range []string{kept, arriving, inPurchase, locked, racing, young} {
		if !slices.Contains(owned, e164) {
			t.Errorf("%s is no longer held at Telnyx: %v", e164, owned)
		}
	}
	if slices.Contains(owned, oldOrphan) {
		t.Errorf("the old orphan %s is still held", oldOrphan)
	}
	n, err := f.numbers.Get(context.Background(), teamID, flagged.ID)
	if err != nil || n.Status != domain.NumberActive {
		t.Errorf("a missing number is flagged, not changed: %+v, %v", n, err)
	}

	for name, v := range map[string]float64{
		metricRuns: 1, metricOrphansFound: 4, metricOrphansReleased: 1, metricOrphansBlocked: 1, metricMissingFound: 1,
	} {
		if got := r.metric(t, name); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	if last := r.metric(t, metricLastRun); last < float64(r.env.Now().Add(-time.Hour).Unix()) {
		t.Errorf("%s = %v, want the run's time (about %d)", metricLastRun, last, r.env.Now().Unix())
	}

	orphanLines := r.logs.lines(t, "reconcile: number at Telnyx is held by no team")
	if len(orphanLines) != len(want) {
		t.Fatalf("%d orphan log lines, want one per orphan (%d)", len(orphanLines), len(want))
	}
	for _, l := range orphanLines {
		e164, _ := l["phone_number"].(string)
		if l["outcome"] != want[e164] {
			t.Errorf("log line %v: outcome %v, want %q", l, l["outcome"], want[e164])
		}
		level := "INFO"
		if want[e164] == activities.OrphanReleased || want[e164] == activities.OrphanDeletionLocked {
			level = "WARN"
		}
		if l["level"] != level {
			t.Errorf("log line for %s (%s) at %v, want %s", e164, want[e164], l["level"], level)
		}
	}
	missingLines := r.logs.lines(t, "reconcile: number active in the database is missing at Telnyx")
	if len(missingLines) != 1 || missingLines[0]["level"] != "WARN" || missingLines[0]["phone_number"] != missing ||
		missingLines[0]["team_id"] != teamID || missingLines[0]["number_workflow_id"] != NumberWorkflowID(missing) {
		t.Fatalf("missing log lines = %v, want one WARN line naming %s, its team and workflow", missingLines, missing)
	}
}

// Many orphans at once look like the wrong database rather than drift:
// the run releases none and says so.
func TestReconcileWithholdsReleasesBeyondMaxReleases(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	orphans := []string{"+14155550331", "+14155550332", "+14155550333"}
	for _, e164 := range orphans {
		f.plant(e164, 5*time.Hour)
	}
	r := f.reconcileEnv()
	r.env.ExecuteWorkflow(ReconcileWorkflow, ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 2})
	res := r.result(t)
	if res.Released != 0 || len(res.Orphans) != 3 {
		t.Fatalf("released %d of %d orphans, want none of 3", res.Released, len(res.Orphans))
	}
	for _, o := range res.Orphans {
		if o.Outcome != activities.OrphanWithheld {
			t.Errorf("%s: %q, want withheld", o.PhoneNumber, o.Outcome)
		}
	}
	if owned := f.sim.OwnedNumbers(); !slices.Equal(owned, orphans) {
		t.Fatalf("held at Telnyx: %v, want all of %v", owned, orphans)
	}
	if got := r.metric(t, metricOrphansBlocked); got != 3 {
		t.Errorf("%s = %v, want 3", metricOrphansBlocked, got)
	}
	if lines := r.logs.lines(t, "reconcile: more orphans are due than one run may release"); len(lines) != 1 || lines[0]["level"] != "ERROR" {
		t.Fatalf("no ERROR line about withholding: %v", lines)
	}
}

// With nothing to find, a run is quick and quiet: no release, no wait.
func TestReconcileWithNoDrift(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	teamID, userID := f.team(domain.PlanStarter)
	f.holds(teamID, userID, "+14155550341", domain.NumberActive)
	f.plant("+14155550341", time.Hour)
	r := f.reconcileEnv()
	start := r.env.Now()
	r.env.ExecuteWorkflow(ReconcileWorkflow, ReconcileInput{OrphanDelay: time.Hour, MaxReleases: 10, MissingRecheckAfter: time.Minute})
	res := r.result(t)
	if res.OrphanCount != 0 || len(res.Missing) != 0 || res.MissingCandidates != 0 || res.OwnedAtProvider != 1 || res.LiveInDatabase != 1 {
		t.Fatalf("result %+v, want one number on each side and no finding", res)
	}
	if waited := r.env.Now().Sub(start); waited >= time.Minute {
		t.Errorf("the run waited %v with nothing to look at again", waited)
	}
	if got := r.metric(t, metricRuns); got != 1 {
		t.Errorf("%s = %v, want 1", metricRuns, got)
	}
}
