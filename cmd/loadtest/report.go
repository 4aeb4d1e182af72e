package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything a run measured.
type Report struct {
	Command  string    `json:"command"`
	Options  Options   `json:"options"`
	Machine  string    `json:"machine"`
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Database string    `json:"database"`
	// LoadAvg is /proc/loadavg at the start and the end: other work on the
	// machine skews every figure.
	LoadAvg [2]string   `json:"loadAvg"`
	Load    LoadReport  `json:"load"`
	Hold    HoldReport  `json:"hold"`
	Timers  TimerReport `json:"timers"`
	Cost    CostReport  `json:"cost"`
}

// machine says what the figures were measured on.
func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs %s, %s/%s, %s", runtime.NumCPU(), cpu, runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// loadAvg is the machine's load average over 1, 5 and 15 minutes.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func (r Report) print(w io.Writer) {
	o := r.Options
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("Talkturo phone numbers: load test")
	p("command  %s", r.Command)
	p("machine  %s", r.Machine)
	p("stack    embedded Temporal (%s), Telnyx simulator in-process (order latency %s),", temporalStore(o), o.OrderLatency)
	p("         PostgreSQL database %s (dropped), talkturo api + talkturo worker processes (%s)", r.Database, o.Bin)
	p("run      %s, %.0f s; load average (1, 5, 15 min) %s at the start, %s at the end", r.Started.Format(time.RFC3339), r.Seconds, r.LoadAvg[0], r.LoadAvg[1])
	p("")

	p("Phase 1: open-loop load, each operation alone at its target rate for %s per path, at most %d in flight;", o.Duration, o.Concurrency)
	p("latency from the intended send time, percentiles of successful requests.")
	p("api = HTTP API (+ Temporal and the worker for purchases); direct = the same Telnyx/database work in-process:")
	p("search = telnyx client SearchAvailable, purchase = the purchase's activities in sequence, list = PhoneNumberStore.List.")
	p("list reads the team that bought in this phase (%d numbers, no limit).", r.Load.ListedNumbers)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "operation\tpath\ttarget/s\tsent\tok\terrors\tachieved/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tmax lag ms\t")
	for _, row := range r.Load.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%g\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t\n", row.Operation, row.Path, row.Rate, row.Sent, row.OK, row.Sent-row.OK, row.Throughput, row.P50Ms, row.P95Ms, row.P99Ms, row.MaxMs, row.MaxLagMs)
	}
	_ = tw.Flush()
	for _, ra := range r.Load.Ratios {
		p("overhead %-8s api/direct  p50 x%.2f  p99 x%.2f", ra.Operation, ra.P50, ra.P99)
	}
	p("numbers active after the purchases: api %d, direct %d", r.Load.Active["api"], r.Load.Active["direct"])
	printErrors(p, r.Load.Rows)
	p("")

	h := r.Hold
	p("Phase 2: list latency, one team holding %d numbers, each reading %d times in a row (after one untimed),", h.Numbers, o.Reps)
	p("latency until the answer is read and decoded.")
	p("The numbers were bought by the direct path (the same rows a workflow writes): %d in %.1f s (%.0f/s, %d at a time, p50 %.0f ms).", h.Seed.OK, h.Seed.Seconds, h.Seed.Throughput, o.Concurrency, h.Seed.P50Ms)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "reading\trequests\tnumbers\tp50 ms\tp95 ms\tmax ms\t")
	for _, row := range h.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t\n", row.Request, row.Pages, row.Numbers, row.P50Ms, row.P95Ms, row.MaxMs)
	}
	_ = tw.Flush()
	p("")

	t := r.Timers
	p("Phase 3: %d trial purchases through the API (one free team each), TRIAL_DURATION %s.", t.Trials, o.TrialDuration)
	p("teams created            %d in %.1f s (%.0f/s)", t.Teams.OK, t.Teams.Seconds, t.Teams.Throughput)
	p("trial purchases          %d ok of %d in %.1f s: %.1f purchases/s with %d in flight", t.Purchases.OK, t.Purchases.Sent, t.Purchases.Seconds, t.Purchases.Throughput, o.TimerConcurrency)
	p("purchase latency         p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms", t.Purchases.P50Ms, t.Purchases.P95Ms, t.Purchases.P99Ms, t.Purchases.MaxMs)
	for _, k := range sortedKeys(t.Purchases.Errors) {
		p("purchase errors          %s x%d", k, t.Purchases.Errors[k])
	}
	per := func(sec float64) float64 { return sec * 1000 / float64(max(t.Purchases.OK, 1)) }
	p("CPU per purchase         api %.1f ms, worker %.1f ms, Temporal server + simulator + clients %.1f ms (%.1f, %.1f, %.1f s in all)", per(t.CPU.API), per(t.CPU.Worker), per(t.CPU.Tool), t.CPU.API, t.CPU.Worker, t.CPU.Tool)
	p("active trial numbers     %d (database)", t.ActiveTrials)
	p("trial timers pending     %d of %d workflows (TimerStarted ~%s, not fired; no workflow task under way), %.1f s after the last answer", t.TimersPending, t.Trials, o.TrialDuration, t.TimerWaitSeconds)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "memory\tbefore MiB\tafter MiB\tgrowth MiB\tper workflow KiB\t")
	row := func(name string, before, after int64, per float64) {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t\n", name, mib(before), mib(after), mib(after-before), perKiB(per))
	}
	row("worker VmRSS", t.WorkerBefore.RSS, t.WorkerAfter.RSS, t.PerWorkflowRSS)
	row("worker Go heap in use", t.WorkerBefore.HeapInuse, t.WorkerAfter.HeapInuse, t.PerWorkflowHeap)
	row("worker VmHWM (peak RSS)", t.WorkerBefore.HWM, t.WorkerAfter.HWM, 0)
	row("api VmRSS", t.APIBefore.RSS, t.APIAfter.RSS, 0)
	_ = tw.Flush()
	p("heap read after a garbage collection: before %s, after %s (-gc-wait %s). The worker keeps at most", yesNo(t.GCBefore), yesNo(t.GCAfter), o.GCWait)
	p("10,000 workflows in its sticky cache (the Temporal SDK's default); the \"before\" includes phase 1's %d purchases.", r.Load.Active["api"])
	p("")

	p("Temporal cost per purchase, read from the number workflows' histories (a sample spread over each phase):")
	p("until the answer = up to the purchase update's completion; whole life = every run, start to close, of paid")
	p("numbers released through the API after phase 3. Workflow tasks = WorkflowTaskStarted events; billable actions")
	p("as Temporal Cloud counts them (docs.temporal.io/cloud/actions), without queries and heartbeats, which no history holds.")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "cost\thistories\tof\tevents mean\tmax\tworkflow tasks mean\tmax\tbillable actions mean\tmax\t")
	for _, c := range []struct {
		name string
		s    CostSummary
	}{{"paid purchase (phase 1 api), until the answer", r.Cost.Paid}, {"trial purchase (phase 3), until the answer", r.Cost.Trial}, {"paid number, whole life", r.Cost.PaidLife}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%d\t%.1f\t%d\t%.1f\t%d\t\n", c.name, c.s.Read-c.s.Unanswered, c.s.Of,
			c.s.Mean.Events, c.s.Max.Events, c.s.Mean.WorkflowTasks, c.s.Max.WorkflowTasks, c.s.Mean.BillableActions, c.s.Max.BillableActions)
	}
	_ = tw.Flush()
	for _, c := range []struct {
		name string
		s    CostSummary
	}{{"paid purchases", r.Cost.Paid}, {"trial purchases", r.Cost.Trial}, {"released paid numbers", r.Cost.PaidLife}} {
		if c.s.Unanswered > 0 {
			p("cost     %s: %d of the %d histories read are left out (no purchase answer, or not closed in time)", c.name, c.s.Unanswered, c.s.Read)
		}
	}
	for _, e := range r.Cost.Errors {
		p("cost     not read: %s", e)
	}
}

func printErrors(p func(string, ...any), rows []LoadRow) {
	for _, row := range rows {
		for _, k := range sortedKeys(row.Errors) {
			p("errors   %s %s: %s x%d", row.Operation, row.Path, k, row.Errors[k])
		}
	}
}

func temporalStore(o Options) string {
	if o.TemporalDB == "" {
		return "SQLite in memory"
	}
	return "SQLite file " + o.TemporalDB
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func perKiB(b float64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f", b/1024)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
