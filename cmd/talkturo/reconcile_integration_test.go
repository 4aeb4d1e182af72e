package main

// Integration tests of the reconciliation with Telnyx: the whole stack
// (embedded Temporal, PostgreSQL, the simulator over HTTP, the app as
// `talkturo serve` composes it) with drift planted in the simulator.

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.uber.org/fx"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/temporalclient"
	"github.com/talkturo/phonenumbers/testkit"
	"github.com/talkturo/phonenumbers/workflows"
)

// TestReconcileFindsDriftPlantedAtTelnyx buys numbers through the API,
// plants drift at Telnyx (numbers bought and released behind Talkturo's
// back, a purchase whose order has been pending for hours), triggers the
// schedule the worker created, and checks what the run did, logged and
// counted.
func TestReconcileFindsDriftPlantedAtTelnyx(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{metrics: true, env: map[string]string{
		// Runs only when triggered here (interval schedules fire at
		// multiples of the interval since 1970: a year's is never due
		// during the test); the defaults for the rest.
		"RECONCILE_INTERVAL": "8760h",
		"PURCHASE_WAIT":      "2s",
	}})
	var logs testkit.LogBuffer
	_, base := s.app(roleAPI|roleWorker,
		fx.Decorate(func(*slog.Logger) *slog.Logger { return newLogger(&logs, "info", "json") }),
		// A second instead of a minute before missing numbers are looked at again.
		fx.Decorate(func(c temporalclient.ReconcileConfig) temporalclient.ReconcileConfig {
			c.Input.MissingRecheckAfter = time.Second
			return c
		}),
	)
	team, token := s.team(domain.PlanGrowth)
	const (
		kept       = "+14155550401" // bought through the API, held on both sides
		missing    = "+14155550402" // bought through the API, then released in the Telnyx portal
		inPurchase = "+14155550403" // its order has been pending for hours
		oldOrphan  = "+14155550411" // bought in the portal two hours ago
		locked     = "+14155550412" // likewise, with a deletion lock
		young      = "+14155550413" // bought in the portal ten minutes ago
	)
	// buy searches for the number (s.offer) and purchases it through the
	// API, and returns the number's record id once it has the status. A
	// busy machine may answer 202 before the order settles (or the record
	// exists): the record is what counts.
	buy := func(e164 string, want domain.NumberStatus) string {
		t.Helper()
		s.offer(e164)
		status, body := call(t, "POST", base+"/api/phone-numbers/purchase", token, map[string]any{"phoneNumber": e164, "teamId": team})
		if status != 200 && status != 202 {
			t.Fatalf("purchase of %s: %d %v", e164, status, body)
		}
		var id string
		waitFor(t, 30*time.Second, func() bool {
			n, err := s.numbers.LiveByNumber(context.Background(), e164)
			id = n.ID
			return err == nil && n.TeamID == team && n.Status == want
		}, e164+" to be "+string(want))
		return id
	}
	keptID := buy(kept, domain.NumberActive)
	missingID := buy(missing, domain.NumberActive)
	if !s.sim.Forget(missing) {
		t.Fatal("the simulator did not hold the number just bought")
	}
	s.sim.SetOrderLatency(time.Hour)
	pendingID := buy(inPurchase, domain.NumberPending)
	waitFor(t, 30*time.Second, func() bool { return slices.Contains(s.sim.OwnedNumbers(), inPurchase) }, "the slow order to be placed")
	s.sim.Backdate(inPurchase, time.Now().Add(-5*time.Hour))
	for e164, age := range map[string]time.Duration{oldOrphan: 2 * time.Hour, locked: 3 * time.Hour, young: 10 * time.Minute} {
		if _, err := s.sim.AddOwned(e164, time.Now().Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	s.sim.DeletionLock(locked, true)

	c := mustClient(t, s)
	desc := scheduleOf(t, c)
	action := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if iv := desc.Schedule.Spec.Intervals; len(iv) != 1 || iv[0].Every != 8760*time.Hour ||
		desc.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP ||
		action.TaskQueue != s.cfg.TemporalTaskQueue || action.Workflow != workflows.ReconcileWorkflowType {
		t.Fatalf("schedule = spec %+v, policy %+v, action %+v; want every 8760h, overlaps skipped, %s on %s",
			desc.Schedule.Spec, desc.Schedule.Policy, action, workflows.ReconcileWorkflowType, s.cfg.TemporalTaskQueue)
	}
	res := triggerRun(t, c)

	outcomes := map[string]string{}
	for _, o := range res.Orphans {
		outcomes[o.PhoneNumber] = o.Outcome
	}
	want := map[string]string{oldOrphan: activities.OrphanReleased, locked: activities.OrphanDeletionLocked, young: activities.OrphanTooYoung}
	if len(outcomes) != len(want) {
		t.Fatalf("orphans %v, want %v (the numbers teams hold, pending ones included, are no orphans)", outcomes, want)
	}
	for e164, o := range want {
		if outcomes[e164] != o {
			t.Errorf("orphan %s: %q, want %q", e164, outcomes[e164], o)
		}
	}
	if len(res.Missing) != 1 || res.Missing[0].PhoneNumber != missing || res.Missing[0].NumberID != missingID || res.Missing[0].TeamID != team ||
		res.Missing[0].WorkflowID != workflows.NumberWorkflowID(missing) {
		t.Fatalf("missing = %+v, want only %s (%s) of team %s", res.Missing, missing, missingID, team)
	}

	owned := s.sim.OwnedNumbers()
	for _, e164 := range []string{kept, inPurchase, locked, young} {
		if !slices.Contains(owned, e164) {
			t.Errorf("%s is no longer held at Telnyx (held: %v)", e164, owned)
		}
	}
	if slices.Contains(owned, oldOrphan) {
		t.Errorf("the old orphan %s is still held at Telnyx", oldOrphan)
	}
	for id, status := range map[string]domain.NumberStatus{keptID: domain.NumberActive, missingID: domain.NumberActive, pendingID: domain.NumberPending} {
		if n, err := s.numbers.Get(context.Background(), team, id); err != nil || n.Status != status {
			t.Errorf("number %s after the run: %+v, %v; want it %s, untouched", id, n, err, status)
		}
	}

	metrics := s.scrapeMetrics(t)
	for name, value := range map[string]string{
		"talkturo_reconcile_runs_total":             "1",
		"talkturo_reconcile_orphans_found_total":    "3",
		"talkturo_reconcile_orphans_released_total": "1",
		"talkturo_reconcile_orphans_blocked_total":  "1",
		"talkturo_reconcile_missing_found_total":    "1",
	} {
		line := regexp.MustCompile(`(?m)^` + name + `\{[^}]*workflow_type="ReconcileWorkflow"[^}]*\} ` + value + `$`)
		if !line.MatchString(metrics) {
			t.Errorf("GET /metrics has no %s of %s for the ReconcileWorkflow", name, value)
		}
	}
	if !regexp.MustCompile(`(?m)^talkturo_reconcile_last_run_timestamp_seconds\{[^}]*\} \d\.\d+e\+09$`).MatchString(metrics) {
		t.Errorf("GET /metrics has no talkturo_reconcile_last_run_timestamp_seconds")
	}

	missingLines := logs.JSONLines(t, "reconcile: number active in the database is missing at Telnyx")
	orphanLines := logs.JSONLines(t, "reconcile: number at Telnyx is held by no team")
	if len(missingLines) != 1 || missingLines[0]["level"] != "WARN" || missingLines[0]["phone_number"] != missing ||
		missingLines[0]["team_id"] != team || missingLines[0]["number_workflow_id"] != workflows.NumberWorkflowID(missing) {
		t.Errorf("log lines about missing numbers: %v; want one WARN naming %s, team %s and its workflow", missingLines, missing, team)
	}
	if len(orphanLines) != len(want) {
		t.Errorf("%d log lines about orphans, want one each for %v", len(orphanLines), want)
	}
	for _, l := range orphanLines {
		if e164, _ := l["phone_number"].(string); l["outcome"] != want[e164] {
			t.Errorf("orphan log line %v: want outcome %q", l, want[e164])
		}
	}
}

// TestReconcileScheduleFollowsTheWorkersConfig: every worker start brings
// the schedule in line with its configuration, RECONCILE_INTERVAL=0 pauses
// it, and a pause by an operator outlasts worker starts.
func TestReconcileScheduleFollowsTheWorkersConfig(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{env: map[string]string{"RECONCILE_INTERVAL": "1h", "RECONCILE_MAX_RELEASES": "7"}})
	s.app(roleWorker)
	c := mustClient(t, s)
	ctx := context.Background()
	desc := scheduleOf(t, c)
	if in := scheduleInput(t, desc); in.MaxReleases != 7 || in.OrphanDelay != time.Hour || in.MissingRecheckAfter != workflows.DefaultMissingRecheckAfter {
		t.Fatalf("the schedule runs with %+v, want the worker's configuration", in)
	}

	// A schedule applies updates, pauses and resumes as they reach its
	// scheduler, a little after the call returns: each check waits for the
	// state it expects.
	ensure := func(interval time.Duration, maxReleases int, what string, want func(*client.ScheduleDescription) bool) *client.ScheduleDescription {
		t.Helper()
		cfg := temporalclient.ReconcileConfig{TaskQueue: s.cfg.TemporalTaskQueue, Interval: interval, Input: workflows.ReconcileInput{OrphanDelay: 2 * time.Hour, MaxReleases: maxReleases}}
		if err := temporalclient.EnsureReconcileSchedule(ctx, c, cfg); err != nil {
			t.Fatalf("EnsureReconcileSchedule(%v): %v", interval, err)
		}
		var d *client.ScheduleDescription
		deadline := time.Now().Add(30 * time.Second)
		for {
			var err error
			d, err = c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Describe(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want(d) {
				return d
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the schedule is every %v, paused %v (%q), runs with %+v", what, d.Schedule.Spec.Intervals[0].Every, d.Schedule.State.Paused, d.Schedule.State.Note, scheduleInput(t, d))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	every := func(d *client.ScheduleDescription) time.Duration { return d.Schedule.Spec.Intervals[0].Every }

	ensure(30*time.Minute, 3, "after an update, want every 30m with 3 releases, not paused", func(d *client.ScheduleDescription) bool {
		return every(d) == 30*time.Minute && scheduleInput(t, d).MaxReleases == 3 && !d.Schedule.State.Paused
	})
	d := ensure(0, 3, "RECONCILE_INTERVAL=0, want paused", func(d *client.ScheduleDescription) bool { return d.Schedule.State.Paused })
	if every(d) != 30*time.Minute {
		t.Fatalf("RECONCILE_INTERVAL=0 changed the interval to %v; want it paused, unchanged", every(d))
	}
	ensure(20*time.Minute, 3, "an interval again, want resumed every 20m", func(d *client.ScheduleDescription) bool {
		return !d.Schedule.State.Paused && every(d) == 20*time.Minute
	})

	h := c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "operator: Telnyx maintenance"}); err != nil {
		t.Fatal(err)
	}
	// The worker starts once the pause has taken effect (see
	// EnsureReconcileSchedule on a pause made in the same instant).
	waitFor(t, 30*time.Second, func() bool {
		d, err := h.Describe(ctx)
		return err == nil && d.Schedule.State.Paused
	}, "the operator's pause to take effect")
	d = ensure(25*time.Minute, 3, "a worker start after an operator's pause, want every 25m", func(d *client.ScheduleDescription) bool { return every(d) == 25*time.Minute })
	if !d.Schedule.State.Paused || d.Schedule.State.Note != "operator: Telnyx maintenance" {
		t.Fatalf("after an operator's pause and a worker start: paused %v (%q); want the operator's pause kept", d.Schedule.State.Paused, d.Schedule.State.Note)
	}
}

// scheduleOf waits for a worker to have created the reconciliation
// schedule, and describes it.
func scheduleOf(t *testing.T, c client.Client) *client.ScheduleDescription {
	t.Helper()
	h := c.ScheduleClient().GetHandle(context.Background(), workflows.ReconcileScheduleID)
	var desc *client.ScheduleDescription
	waitFor(t, 30*time.Second, func() bool {
		d, err := h.Describe(context.Background())
		var nf *serviceerror.NotFound
		if err != nil && !errors.As(err, &nf) {
			t.Logf("describe schedule: %v", err)
		}
		desc = d
		return err == nil
	}, "the worker to create the reconciliation schedule")
	return desc
}

// scheduleInput decodes the input the schedule starts runs with.
func scheduleInput(t *testing.T, d *client.ScheduleDescription) workflows.ReconcileInput {
	t.Helper()
	action := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	var in workflows.ReconcileInput
	if len(action.Args) != 1 {
		t.Fatalf("the schedule starts runs with %d arguments, want 1", len(action.Args))
	}
	if err := converter.GetDefaultDataConverter().FromPayload(action.Args[0].(*commonpb.Payload), &in); err != nil {
		t.Fatal(err)
	}
	return in
}

// triggerRun starts a reconciliation now, through the schedule, and
// returns its result.
func triggerRun(t *testing.T, c client.Client) workflows.ReconcileResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var run *client.ScheduleWorkflowExecution
	waitFor(t, 30*time.Second, func() bool {
		d, err := h.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			run = d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult
		}
		return run != nil
	}, "the triggered run to start")
	var res workflows.ReconcileResult
	if err := c.GetWorkflow(ctx, run.WorkflowID, run.FirstExecutionRunID).Get(ctx, &res); err != nil {
		t.Fatalf("reconciliation run %s: %v", run.WorkflowID, err)
	}
	return res
}
