package main

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/persistence"
)

// buildTalkturo builds the binary the tool runs as its api and worker
// processes: the production build, without the devstack tag (the tool
// embeds its own Temporal server).
func buildTalkturo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "talkturo")
	if out, err := exec.Command("go", "build", "-o", bin, "../talkturo").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The whole tool at a reduced size, as CI runs it: every phase completes
// without an error, every count adds up, and the figures are sane.
func TestLoadToolAtReducedSize(t *testing.T) {
	o := Options{
		Bin:              buildTalkturo(t),
		DatabaseURL:      envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		Rate:             5,
		PurchaseRate:     5,
		Duration:         3 * time.Second,
		Concurrency:      16,
		OrderLatency:     50 * time.Millisecond,
		Hold:             1200, // three pages of the largest size
		PageSize:         100,
		Reps:             3,
		Timers:           50,
		TimerConcurrency: 4,
		TrialDuration:    120 * time.Hour,
		LogLevel:         "warn",
		LogDir:           t.TempDir(),
	}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o, t.Logf)
	if err != nil {
		t.Fatal(err)
	}

	const n = 15 // rate × duration, for every operation
	if len(rep.Load.Rows) != 6 {
		t.Fatalf("phase 1 has %d rows, want search, purchase and list by api and direct", len(rep.Load.Rows))
	}
	for _, row := range rep.Load.Rows {
		what := row.Operation + " by " + row.Path
		if row.Sent != n || row.OK != n || len(row.Errors) != 0 {
			t.Errorf("%s: %d sent, %d ok, errors %v; want %d ok", what, row.Sent, row.OK, row.Errors, n)
		}
		checkStats(t, what, row.Stats)
	}
	if len(rep.Load.Ratios) != 3 || rep.Load.Ratios[1].Operation != "purchase" || rep.Load.Ratios[1].P50 <= 0 {
		t.Errorf("ratios %+v, want one per operation", rep.Load.Ratios)
	}
	if rep.Load.Active["api"] != n || rep.Load.Active["direct"] != n || rep.Load.ListedNumbers != n {
		t.Errorf("active after phase 1: %v, listed %d; want %d each", rep.Load.Active, rep.Load.ListedNumbers, n)
	}

	h := rep.Hold
	if h.Seed.OK != o.Hold || len(h.Seed.Errors) != 0 {
		t.Errorf("phase 2 bought %d of %d: %v", h.Seed.OK, o.Hold, h.Seed.Errors)
	}
	wantRows := []struct{ pages, numbers int }{{1, 100}, {1, 1200}, {3, 1200}}
	if len(h.Rows) != len(wantRows) {
		t.Fatalf("phase 2 has %d rows, want %d", len(h.Rows), len(wantRows))
	}
	for i, w := range wantRows {
		row := h.Rows[i]
		if row.Pages != w.pages || row.Numbers != w.numbers || row.OK != o.Reps {
			t.Errorf("%s: %d requests, %d numbers, %d of %d readings ok; want %d and %d", row.Request, row.Pages, row.Numbers, row.OK, o.Reps, w.pages, w.numbers)
		}
		checkStats(t, row.Request, row.Stats)
	}

	tm := rep.Timers
	if tm.Teams.OK != o.Timers || tm.Purchases.OK != o.Timers || len(tm.Purchases.Errors) != 0 {
		t.Errorf("phase 3: %d teams, %d of %d purchases ok, errors %v", tm.Teams.OK, tm.Purchases.OK, o.Timers, tm.Purchases.Errors)
	}
	checkStats(t, "trial purchases", tm.Purchases)
	if tm.ActiveTrials != o.Timers || tm.TimersPending != o.Timers {
		t.Errorf("phase 3: %d active trials and %d pending timers, want %d", tm.ActiveTrials, tm.TimersPending, o.Timers)
	}
	for name, m := range map[string]Memory{"worker before": tm.WorkerBefore, "worker after": tm.WorkerAfter} {
		if m.RSS <= 0 || m.HWM < m.RSS || m.HeapInuse <= 0 || m.HeapInuse > m.RSS*2 {
			t.Errorf("%s: %+v, want a positive RSS, a peak at least as high and a Go heap", name, m)
		}
	}
	if tm.APIAfter.RSS <= 0 || tm.WorkerAfter.HWM < tm.WorkerBefore.HWM {
		t.Errorf("api memory %+v, worker peak %d then %d", tm.APIAfter, tm.WorkerBefore.HWM, tm.WorkerAfter.HWM)
	}
	if want := float64(tm.WorkerAfter.RSS-tm.WorkerBefore.RSS) / float64(o.Timers); tm.PerWorkflowRSS != want {
		t.Errorf("per workflow RSS %.0f, want %.0f", tm.PerWorkflowRSS, want)
	}

	// Every purchase's cost is read from its history: the paid ones all
	// (fewer than the sample), the trials all, and the released paid
	// numbers all, each whole life costing more than its purchase.
	for _, c := range []struct {
		name string
		s    CostSummary
		of   int
	}{{"paid purchases", rep.Cost.Paid, n}, {"trial purchases", rep.Cost.Trial, o.Timers}, {"paid numbers' lives", rep.Cost.PaidLife, n}} {
		s := c.s
		if s.Read != c.of || s.Of != c.of || s.Unanswered != 0 {
			t.Errorf("%s: %d histories read of %d, %d without an answer; want all %d", c.name, s.Read, s.Of, s.Unanswered, c.of)
		}
		// A purchase is at least its start, its update and the work that
		// buys the number.
		if !(s.Mean.Events > 0 && s.Mean.WorkflowTasks >= 1 && s.Mean.BillableActions >= 3) {
			t.Errorf("%s: mean cost %+v, want events, at least a workflow task and 3 billable actions", c.name, s.Mean)
		}
		if float64(s.Max.Events) < s.Mean.Events || float64(s.Max.WorkflowTasks) < s.Mean.WorkflowTasks || float64(s.Max.BillableActions) < s.Mean.BillableActions {
			t.Errorf("%s: max %+v below the mean %+v", c.name, s.Max, s.Mean)
		}
	}
	if life, buy := rep.Cost.PaidLife.Mean, rep.Cost.Paid.Mean; life.Events <= buy.Events || life.BillableActions <= buy.BillableActions {
		t.Errorf("a paid number's life %+v costs no more than its purchase %+v", life, buy)
	}
	if len(rep.Cost.Errors) > 0 {
		t.Errorf("cost readings failed: %v", rep.Cost.Errors)
	}
	// The floor (TestPurchaseAtTheFloor pins it for one purchase): a
	// purchase answered from its first workflow task costs 3 actions, a
	// paid number's life 5. Under this test's load some orders may
	// outlive the task, so only the best case is pinned here.
	if rep.Cost.Paid.Read > 0 && rep.Cost.PaidLife.Read > 0 && (rep.Cost.Paid.Mean.BillableActions > 6 || rep.Cost.PaidLife.Mean.BillableActions > 9) {
		t.Errorf("paid purchases cost %+v until the answer and %+v over their lives on average: far off the fast path", rep.Cost.Paid.Mean, rep.Cost.PaidLife.Mean)
	}

	// The report names every figure, and the database is gone.
	var out bytes.Buffer
	rep.print(&out)
	for _, want := range []string{"Phase 1", "overhead purchase", "Phase 2", "page by page", "Phase 3", "trial timers pending     50 of 50", "worker VmRSS", "worker Go heap in use", "Temporal cost per purchase", "paid purchase (phase 1 api), until the answer", "paid number, whole life"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report has no %q:\n%s", want, out.String())
		}
	}
	t.Log("\n" + out.String())
	admin, err := persistence.Open(ctx, o.DatabaseURL, persistence.WithMaxOpenConns(1), persistence.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	defer persistence.Close(admin)
	var left int64
	if err := admin.Raw(`SELECT count(*) FROM pg_database WHERE datname = ?`, rep.Database).Find(&left).Error; err != nil || left != 0 {
		t.Errorf("database %s is still there (%d, %v)", rep.Database, left, err)
	}
}

// checkStats checks a summary's percentiles are positive and ordered, and
// its throughput is that of its requests.
func checkStats(t *testing.T, what string, s Stats) {
	t.Helper()
	if !(0 < s.P50Ms && s.P50Ms <= s.P95Ms && s.P95Ms <= s.P99Ms && s.P99Ms <= s.MaxMs) {
		t.Errorf("%s: percentiles p50 %.3f p95 %.3f p99 %.3f max %.3f are not positive and ordered", what, s.P50Ms, s.P95Ms, s.P99Ms, s.MaxMs)
	}
	if s.Seconds <= 0 || s.Throughput <= 0 || fmt.Sprintf("%.3f", s.Throughput) != fmt.Sprintf("%.3f", float64(s.OK)/s.Seconds) {
		t.Errorf("%s: %d ok in %.3f s is not %.3f/s", what, s.OK, s.Seconds, s.Throughput)
	}
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cli([]string{"-h"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-h exits %d", code)
	}
	for _, flag := range []string{"-bin", "-database-url", "-rate", "-duration", "-concurrency", "-order-latency", "-hold", "-page", "-timers", "-timer-concurrency", "-trial", "-gc-wait", "-json"} {
		if !strings.Contains(stderr.String(), "  "+flag+" ") && !strings.Contains(stderr.String(), "  "+flag+"\n") {
			t.Errorf("-h does not document %s:\n%s", flag, stderr.String())
		}
	}
	if code := cli([]string{"-page", "501"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-page must be 1 to 500") {
		t.Errorf("-page 501 exits %d: %s", code, stderr.String())
	}
}
