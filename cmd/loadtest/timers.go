package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// TimerReport is phase 3.
type TimerReport struct {
	Trials int `json:"trials"`
	// Teams is the bootstrap of one free team per trial (the free plan
	// holds one trial number, ever).
	Teams Stats `json:"teams"`
	// Purchases is the trial purchases through the API, as fast as
	// TimerConcurrency clients get answers.
	Purchases Stats `json:"purchases"`
	// ActiveTrials counts the active trial numbers in the database.
	ActiveTrials int `json:"activeTrials"`
	// TimersPending counts the workflows that wait on the trial's timer,
	// of about TRIAL_DURATION, with no workflow task under way.
	TimersPending int `json:"timersPending"`
	// TimerWaitSeconds is how long after the last answer the last timer
	// started.
	TimerWaitSeconds float64 `json:"timerWaitSeconds"`
	WorkerBefore     Memory  `json:"workerBefore"`
	WorkerAfter      Memory  `json:"workerAfter"`
	// GCBefore and GCAfter say whether the worker had collected garbage
	// since its last work when its memory was read (see -gc-wait).
	GCBefore  bool   `json:"gcBefore"`
	GCAfter   bool   `json:"gcAfter"`
	APIBefore Memory `json:"apiBefore"`
	APIAfter  Memory `json:"apiAfter"`
	// CPU is the CPU time each process used from the first purchase to the
	// last trial settled.
	CPU CPUTimes `json:"cpuSeconds"`
	// PerWorkflowRSS and PerWorkflowHeap are the worker's growth divided by
	// the trials, in bytes.
	PerWorkflowRSS  float64 `json:"perWorkflowRssBytes"`
	PerWorkflowHeap float64 `json:"perWorkflowHeapBytes"`

	numbers []string // the active trials, in purchase order, for the cost
}

// CPUTimes are CPU seconds by process. Tool is this process: the embedded
// Temporal server, the simulator and the clients.
type CPUTimes struct {
	API    float64 `json:"api"`
	Worker float64 `json:"worker"`
	Tool   float64 `json:"tool"`
}

// cpuTimes reads the CPU time of the three processes.
func (s *stack) cpuTimes() (CPUTimes, error) {
	var c CPUTimes
	var err error
	for _, x := range []struct {
		pid string
		to  *float64
	}{{fmt.Sprint(s.api.cmd.Process.Pid), &c.API}, {fmt.Sprint(s.worker.cmd.Process.Pid), &c.Worker}, {"self", &c.Tool}} {
		if *x.to, err = cpuSeconds(x.pid); err != nil {
			return c, err
		}
	}
	return c, nil
}

// phaseTimers starts o.Timers trials through the API, waits until every
// one is active with its trial timer pending, and reads the worker's
// memory before and after.
func phaseTimers(ctx context.Context, s *stack, workerIdleSince time.Time, logf func(string, ...any)) (TimerReport, error) {
	o := s.opts
	r := TimerReport{Trials: o.Timers}
	trials, err := numbersIn(npaTrials, o.Timers)
	if err != nil {
		return r, err
	}

	logf("phase 3: the worker's memory before (waiting up to %s for a garbage collection after its last work)", o.GCWait)
	if r.WorkerBefore, r.GCBefore, err = s.worker.memoryAfterGC(ctx, s.http, workerIdleSince, o.GCWait); err != nil {
		return r, err
	}
	if r.APIBefore, err = s.api.memory(ctx, s.http); err != nil {
		return r, err
	}

	logf("phase 3: %d free teams", o.Timers)
	teams, tokens := make([]string, o.Timers), make([]string, o.Timers)
	r.Teams = closedLoop(ctx, o.Timers, 8, func(ctx context.Context, i int) outcome {
		team, _, token, err := s.team(ctx, domain.PlanFree, fmt.Sprintf("trial-%d", i))
		teams[i], tokens[i] = team, token
		return directOutcome(err)
	})
	if r.Teams.OK != o.Timers {
		return r, fmt.Errorf("phase 3: %d teams could not be created: %v", o.Timers-r.Teams.OK, r.Teams.Errors)
	}

	logf("phase 3: %d trial purchases through the API, %d at a time", o.Timers, o.TimerConcurrency)
	// Searched for now, so no offer has aged out by its purchase.
	if err := s.offer(trials); err != nil {
		return r, err
	}
	cpuBefore, err := s.cpuTimes()
	if err != nil {
		return r, err
	}
	stopProfile, err := startCPUProfile(s.opts.CPUProfile)
	if err != nil {
		return r, err
	}
	var done atomic.Int64
	stopProgress := progress(logf, "phase 3: %d of %d purchases answered", &done, o.Timers)
	r.Purchases = closedLoop(ctx, o.Timers, o.TimerConcurrency, func(ctx context.Context, i int) outcome {
		defer done.Add(1)
		body := map[string]any{"phoneNumber": trials[i], "teamId": teams[i]}
		return expect(200)(s.call(ctx, "POST", "/api/phone-numbers/purchase", tokens[i], body))
	})
	stopProgress()
	stopProfile()
	answered := time.Now()
	if err := ctx.Err(); err != nil {
		return r, err
	}

	// A purchase answered 202 (or cut off) goes on in its workflow: wait
	// for every trial to settle, then check the timer of each active one.
	logf("phase 3: waiting for every trial timer to start")
	active, err := s.settledTrials(ctx)
	if err != nil {
		return r, err
	}
	r.ActiveTrials = len(active)
	r.numbers = slices.Sorted(slices.Values(active))
	// Read before the timers are checked: those reads are the tool's, not
	// the purchases'.
	cpuAfter, err := s.cpuTimes()
	if err != nil {
		return r, err
	}
	r.CPU = CPUTimes{API: cpuAfter.API - cpuBefore.API, Worker: cpuAfter.Worker - cpuBefore.Worker, Tool: cpuAfter.Tool - cpuBefore.Tool}
	pending, err := s.waitForTimers(ctx, active, o.TrialDuration)
	r.TimersPending = pending
	r.TimerWaitSeconds = time.Since(answered).Seconds()
	if err != nil {
		return r, err
	}
	idle := time.Now()

	logf("phase 3: the worker's memory after (waiting up to %s for a garbage collection)", o.GCWait)
	if r.WorkerAfter, r.GCAfter, err = s.worker.memoryAfterGC(ctx, s.http, idle, o.GCWait); err != nil {
		return r, err
	}
	if r.APIAfter, err = s.api.memory(ctx, s.http); err != nil {
		return r, err
	}
	if o.Timers > 0 {
		r.PerWorkflowRSS = float64(r.WorkerAfter.RSS-r.WorkerBefore.RSS) / float64(o.Timers)
		r.PerWorkflowHeap = float64(r.WorkerAfter.HeapInuse-r.WorkerBefore.HeapInuse) / float64(o.Timers)
	}
	return r, nil
}

// settledTrials waits (at most timerWait) until no trial number is
// pending, and returns the active ones.
func (s *stack) settledTrials(ctx context.Context) ([]string, error) {
	deadline := time.Now().Add(timerWait)
	for {
		var pending int64
		if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM phone_numbers WHERE is_trial AND status = ?`, string(domain.NumberPending)).Find(&pending).Error; err != nil {
			return nil, err
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("phase 3: %d trial numbers are still pending %s after the last answer", pending, timerWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var active []string
	err := s.db.WithContext(ctx).Raw(`SELECT phone_number FROM phone_numbers WHERE is_trial AND status = ?`, string(domain.NumberActive)).Find(&active).Error
	return active, err
}

// timerWait bounds the wait for the trial timers after the last answer:
// the workflow asks once for the team's eligibility, then starts it.
const timerWait = 10 * time.Minute

// waitForTimers returns how many of the numbers' workflows wait on their
// trial timer (timerPending). It asks again for the others until all do
// or timerWait passes.
func (s *stack) waitForTimers(ctx context.Context, numbers []string, trial time.Duration) (int, error) {
	left := numbers
	deadline := time.Now().Add(timerWait)
	var lastErr error
	for {
		var mu sync.Mutex
		var still []string
		sem := make(chan struct{}, 16)
		var wg sync.WaitGroup
		for _, e164 := range left {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				ok, err := s.timerPending(ctx, workflows.NumberWorkflowID(e164), trial)
				if !ok {
					mu.Lock()
					still = append(still, e164)
					if err != nil {
						lastErr = err
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		left = still
		if len(left) == 0 {
			return len(numbers), nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return len(numbers) - len(left), fmt.Errorf("phase 3: %d of %d trial workflows have no pending trial timer after %s (first: %s; last error: %v)", len(left), len(numbers), timerWait, workflows.NumberWorkflowID(left[0]), lastErr)
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// timerPending reads the tail of the workflow's current run: it waits on
// its trial timer when a TimerStarted of about trial has neither fired nor
// been cancelled, and the run is between workflow tasks (betweenTasks). The timer need not be the last event:
// an order poll a webhook cut short is abandoned, and its completion may
// be recorded after the timer started.
func (s *stack) timerPending(ctx context.Context, workflowID string, trial time.Duration) (bool, error) {
	ended := map[int64]bool{} // the timers fired or cancelled, by their TimerStarted
	var other time.Duration   // a pending timer that is not the trial's
	var token []byte
	for read := 0; read < timerTail; {
		resp, err := s.tc.WorkflowService().GetWorkflowExecutionHistoryReverse(ctx, &workflowservice.GetWorkflowExecutionHistoryReverseRequest{
			Namespace:       s.temporal.Namespace(),
			Execution:       &commonpb.WorkflowExecution{WorkflowId: workflowID},
			MaximumPageSize: timerPage,
			NextPageToken:   token,
		})
		if err != nil {
			return false, err
		}
		events := resp.GetHistory().GetEvents()
		if read == 0 && (len(events) == 0 || !betweenTasks(events[0].GetEventType())) {
			return false, nil
		}
		for _, e := range events {
			switch e.GetEventType() {
			case enumspb.EVENT_TYPE_TIMER_FIRED:
				ended[e.GetTimerFiredEventAttributes().GetStartedEventId()] = true
			case enumspb.EVENT_TYPE_TIMER_CANCELED:
				ended[e.GetTimerCanceledEventAttributes().GetStartedEventId()] = true
			case enumspb.EVENT_TYPE_TIMER_STARTED:
				if ended[e.GetEventId()] {
					continue
				}
				// The timer runs from activation to the trial's end, minus
				// the moments between them.
				fire := e.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration()
				if fire <= trial && fire >= trial-10*time.Minute {
					return true, nil
				}
				other = fire
			}
		}
		read += len(events)
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	if other != 0 {
		return false, fmt.Errorf("%s waits on a timer of %s, not the trial's %s", workflowID, other, trial)
	}
	return false, nil
}

// betweenTasks says whether a run whose last event is of type t is between
// workflow tasks: the task's completion, or a command it recorded last
// (the trial's timer, or the purchase update's completion, which the
// fast path records in the task that starts the timer).
func betweenTasks(t enumspb.EventType) bool {
	switch t {
	case enumspb.EVENT_TYPE_TIMER_STARTED, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
		return true
	}
	return false
}

// The tail timerPending reads, in pages: the trial timer starts a few
// events before the end of a run that waits on it.
const (
	timerPage = 20
	timerTail = 100
)

// progress logs count of total every ten seconds until stopped.
func progress(logf func(string, ...any), format string, count *atomic.Int64, total int) (stop func()) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Second):
				logf(format, count.Load(), total)
			}
		}
	}()
	return func() { close(done) }
}

// startCPUProfile profiles this process (the embedded Temporal server, the
// simulator and the load's clients) into file while phase 3 buys, when
// file is set (-cpuprofile): which of them the tool's CPU share is.
func startCPUProfile(file string) (stop func(), err error) {
	if file == "" {
		return func() {}, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
