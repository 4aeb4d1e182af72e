// Command loadtest measures Talkturo phone numbers under load and prints a
// report. One command sets everything up on this machine and tears it down:
// an embedded Temporal server and the Telnyx simulator in this process, a
// fresh PostgreSQL database next to -database-url (dropped at the end), and
// `talkturo api` and `talkturo worker` as OS processes of -bin.
//
// Phase 1, open-loop load: search, purchase and list (the numbers of the
// team that bought in this phase), each operation alone at -rate requests a
// second (-purchase-rate for purchases) for -duration, first through the HTTP API, then by the direct path
// (the same Telnyx and database work without HTTP or Temporal: the Telnyx
// client's search, the purchase's activities in sequence, the store's
// list). Requests leave at their intended times whatever earlier ones are
// doing, at most -concurrency at a time, and a latency runs from the
// intended time. The report gives count, errors, throughput and
// p50/p95/p99/max per operation and path, and API/direct ratios.
//
// Phase 2: one team holds -hold numbers (bought by the direct path); the
// report gives the latency of one page, of the whole list in one request
// and of walking it page by page, -reps times each.
//
// Phase 3: -timers free teams each buy a trial number through the API as
// fast as -timer-concurrency clients get answers; once every workflow waits
// on its trial timer (TRIAL_DURATION = -trial), the report gives the
// worker's RSS and Go heap before and after, and per workflow.
//
// `make load` runs it at full size; the test runs it at a reduced one.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Options are the flags.
type Options struct {
	Bin              string        `json:"bin"`
	DatabaseURL      string        `json:"-"`
	TemporalDB       string        `json:"temporalDB,omitempty"`
	Rate             float64       `json:"rate"`
	PurchaseRate     float64       `json:"purchaseRate"`
	Duration         time.Duration `json:"duration"`
	Concurrency      int           `json:"concurrency"`
	OrderLatency     time.Duration `json:"orderLatency"`
	Hold             int           `json:"hold"`
	PageSize         int           `json:"pageSize"`
	Reps             int           `json:"reps"`
	Timers           int           `json:"timers"`
	TimerConcurrency int           `json:"timerConcurrency"`
	TrialDuration    time.Duration `json:"trialDuration"`
	GCWait           time.Duration `json:"gcWait"`
	LogLevel         string        `json:"logLevel"`
	LogDir           string        `json:"logDir,omitempty"`
	CPUProfile       string        `json:"cpuProfile,omitempty"`
}

func main() {
	os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr))
}

func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: loadtest [flags]\n\n"+
			"Measures search, purchase and list through the API against the same work\n"+
			"without Temporal, list latency for a team holding many numbers, the\n"+
			"worker's memory with many pending trial timers, and what a purchase costs\n"+
			"in Temporal (history events, workflow tasks, billable actions, read from the\n"+
			"histories). Needs PostgreSQL and a\n"+
			"talkturo binary (make build). Progress goes to stderr, the report to stdout.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var o Options
	jsonFile := ""
	fs.StringVar(&o.Bin, "bin", "bin/talkturo", "the talkturo `binary` run as the api and worker processes")
	fs.StringVar(&o.DatabaseURL, "database-url", envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"), "PostgreSQL `URL` (default $DATABASE_URL); a fresh database is created next to it and dropped at the end")
	fs.StringVar(&o.TemporalDB, "temporal-db", "", "SQLite `file` for the embedded Temporal server (in memory when empty; a file is durable like `talkturo dev`, and slower)")
	fs.Float64Var(&o.Rate, "rate", 20, "phase 1: target `requests per second` of search and of list")
	fs.Float64Var(&o.PurchaseRate, "purchase-rate", 5, "phase 1: target `requests per second` of purchase (phase 3 shows the most the system sustains; above it, latency grows without bound)")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "phase 1: how long each operation runs, per path")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "phase 1: most requests in flight (late requests wait, and their latency counts the wait); phase 2: direct purchases at a time")
	fs.DurationVar(&o.OrderLatency, "order-latency", 200*time.Millisecond, "how long the simulator keeps an order pending")
	fs.IntVar(&o.Hold, "hold", 10000, "phase 2: numbers the team holds")
	fs.IntVar(&o.PageSize, "page", 100, "phase 2: size of the one page timed (the API allows 1 to 500)")
	fs.IntVar(&o.Reps, "reps", 20, "phase 2: times each list reading is timed")
	fs.IntVar(&o.Timers, "timers", 10000, "phase 3: trial purchases, hence pending trial timers")
	fs.IntVar(&o.TimerConcurrency, "timer-concurrency", 16, "phase 3: purchases in flight")
	fs.DurationVar(&o.TrialDuration, "trial", 120*time.Hour, "TRIAL_DURATION of the processes: long, so that the timers stay pending")
	fs.DurationVar(&o.GCWait, "gc-wait", 150*time.Second, "phase 3: how long to wait for the worker's Go runtime to collect garbage before reading its heap (it does at least every 2 minutes; 0 reads at once)")
	fs.StringVar(&o.LogLevel, "log-level", "warn", "LOG_LEVEL of the processes")
	fs.StringVar(&o.LogDir, "logs", "", "`folder` for the processes' logs (a temporary one, removed after a successful run, when empty)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "phase 3: write a CPU profile of this process (the embedded Temporal server, the simulator, the clients) to this `file`")
	fs.StringVar(&jsonFile, "json", "", "also write the report as JSON to this `file`")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(stderr, "loadtest: "+err.Error())
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	rep, err := Run(ctx, o, logf)
	rep.Command = "loadtest " + strings.Join(args, " ")
	if err != nil {
		fmt.Fprintln(stderr, "loadtest: "+err.Error())
		return 1
	}
	rep.print(stdout)
	if jsonFile != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(jsonFile, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(stderr, "loadtest: "+err.Error())
			return 1
		}
	}
	return 0
}

func (o *Options) validate() error {
	switch {
	case o.Rate <= 0 || o.PurchaseRate <= 0 || o.Duration <= 0:
		return fmt.Errorf("-rate, -purchase-rate and -duration must be positive")
	case o.Concurrency < 1 || o.TimerConcurrency < 1:
		return fmt.Errorf("-concurrency and -timer-concurrency must be at least 1")
	case o.Hold < 1 || o.Timers < 1 || o.Reps < 1:
		return fmt.Errorf("-hold, -timers and -reps must be at least 1")
	case o.PageSize < 1 || o.PageSize > maxPageSize:
		return fmt.Errorf("-page must be 1 to %d, the API's page sizes", maxPageSize)
	case o.TrialDuration < time.Hour:
		return fmt.Errorf("-trial must be at least 1h, so that no trial ends during the run")
	case o.OrderLatency < 0 || o.GCWait < 0:
		return fmt.Errorf("-order-latency and -gc-wait must not be negative")
	}
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return err
	}
	o.Bin = bin
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Run sets the stack up, runs the three phases and tears it down.
func Run(ctx context.Context, o Options, logf func(string, ...any)) (rep Report, err error) {
	rep = Report{Options: o, Started: time.Now().UTC(), Machine: machine(), LoadAvg: [2]string{loadAvg()}}
	tempLogs := o.LogDir == ""
	if tempLogs {
		if o.LogDir, err = os.MkdirTemp("", "loadtest-logs-"); err != nil {
			return rep, err
		}
	} else if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return rep, err
	}
	s, err := startStack(ctx, o, logf)
	if err != nil {
		return rep, err
	}
	defer func() {
		logf("stopping the processes and servers, dropping database %s", s.dbName)
		if stopErr := s.stop(); stopErr != nil && err == nil {
			err = stopErr
		}
		if err == nil && tempLogs {
			_ = os.RemoveAll(o.LogDir)
		} else if err != nil {
			err = fmt.Errorf("%w (the processes' logs are in %s)", err, o.LogDir)
		}
	}()
	rep.Database = s.dbName

	if rep.Load, err = phaseLoad(ctx, s, logf); err != nil {
		return rep, err
	}
	// A cost reading that fails is reported, not the run's end.
	costErr := func(what string, err error) {
		if err != nil {
			logf("%s: %v", what, err)
			rep.Cost.Errors = append(rep.Cost.Errors, what+": "+err.Error())
		}
	}
	logf("phase 1: reading the histories of the purchases through the API")
	rep.Cost.Paid, err = s.purchaseCosts(ctx, rep.Load.bought.numbers)
	costErr("the paid purchases' histories", err)
	workerIdle := time.Now()
	if rep.Hold, err = phaseHold(ctx, s, logf); err != nil {
		return rep, err
	}
	if rep.Timers, err = phaseTimers(ctx, s, workerIdle, logf); err != nil {
		return rep, err
	}
	logf("phase 3: reading the histories of the trial purchases")
	rep.Cost.Trial, err = s.purchaseCosts(ctx, rep.Timers.numbers)
	costErr("the trial purchases' histories", err)
	rep.Cost.PaidLife, err = phaseRelease(ctx, s, rep.Load.bought, logf)
	costErr("the released paid numbers", err)
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.LoadAvg[1] = loadAvg()
	return rep, nil
}
