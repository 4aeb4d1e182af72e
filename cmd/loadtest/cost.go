package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"github.com/talkturo/phonenumbers/workflows"
)

// CostReport is what the purchases cost in Temporal, read from the number
// workflows' histories (workflows.CostOf and CostUntilUpdate).
type CostReport struct {
	// Paid is phase 1's purchases through the API, until the purchase
	// update's answer; Trial is phase 3's.
	Paid  CostSummary `json:"paid"`
	Trial CostSummary `json:"trial"`
	// PaidLife is the whole life of paid numbers of phase 1 released
	// through the API at the end of the run: every run of the workflow,
	// from its start to its close.
	PaidLife CostSummary `json:"paidLife"`
	// Errors are the readings that failed: reported, never the run's end
	// (the latency, throughput and memory figures stand without them).
	Errors []string `json:"errors,omitempty"`
}

// CostSummary sums the cost of the histories read.
type CostSummary struct {
	// Read is how many histories were read, of Of.
	Read int `json:"read"`
	Of   int `json:"of"`
	// Unanswered counts the histories read that hold no answer to the
	// purchase (or, for a whole life, whose workflow did not close in
	// time): they are out of the figures.
	Unanswered int                   `json:"unanswered"`
	Mean       CostMean              `json:"mean"`
	Max        workflows.HistoryCost `json:"max"`
}

// CostMean is a mean workflows.HistoryCost.
type CostMean struct {
	Events          float64 `json:"events"`
	WorkflowTasks   float64 `json:"workflowTasks"`
	BillableActions float64 `json:"billableActions"`
}

// summarize is the mean and the max of the costs.
func summarize(of int, costs []workflows.HistoryCost, unanswered int) CostSummary {
	s := CostSummary{Read: len(costs) + unanswered, Of: of, Unanswered: unanswered}
	for _, c := range costs {
		s.Mean.Events += float64(c.Events)
		s.Mean.WorkflowTasks += float64(c.WorkflowTasks)
		s.Mean.BillableActions += float64(c.BillableActions)
		s.Max = workflows.HistoryCost{Events: max(s.Max.Events, c.Events), WorkflowTasks: max(s.Max.WorkflowTasks, c.WorkflowTasks), BillableActions: max(s.Max.BillableActions, c.BillableActions)}
	}
	if n := float64(len(costs)); n > 0 {
		s.Mean = CostMean{Events: s.Mean.Events / n, WorkflowTasks: s.Mean.WorkflowTasks / n, BillableActions: s.Mean.BillableActions / n}
	}
	return s
}

// costSample bounds the histories read per figure: enough for a mean,
// few enough that reading them is not a load of its own.
const costSample = 50

// sample is all the numbers when they are few, else n of them spread
// evenly over the list (in purchase order, so over the run).
func sample(numbers []string, n int) []string {
	if len(numbers) <= n {
		return numbers
	}
	out := make([]string, n)
	for i := range out {
		out[i] = numbers[i*len(numbers)/n]
	}
	return out
}

// costParallel is how many histories are read at a time.
const costParallel = 8

// purchaseCosts reads the first run of each number's workflow and its
// cost until the purchase's answer.
func (s *stack) purchaseCosts(ctx context.Context, numbers []string) (CostSummary, error) {
	picked := sample(numbers, costSample)
	costs, unanswered, err := s.eachHistory(ctx, picked, func(ctx context.Context, e164 string) (workflows.HistoryCost, bool, error) {
		id := workflows.NumberWorkflowID(e164)
		first, err := s.firstRun(ctx, id)
		if err != nil {
			return workflows.HistoryCost{}, false, err
		}
		// A run continues as new only once the purchase is over: the
		// chain's first run holds the whole purchase.
		events, _, err := s.history(ctx, id, first)
		if err != nil {
			return workflows.HistoryCost{}, false, err
		}
		c, ok := workflows.CostUntilUpdate(events, workflows.UpdatePurchase)
		return c, ok, nil
	})
	return summarize(len(numbers), costs, unanswered), err
}

// lifeCosts is the cost of every run of each number's workflow, which has
// closed.
func (s *stack) lifeCosts(ctx context.Context, numbers []string, of int) (CostSummary, error) {
	costs, unanswered, err := s.eachHistory(ctx, numbers, func(ctx context.Context, e164 string) (workflows.HistoryCost, bool, error) {
		id := workflows.NumberWorkflowID(e164)
		run, err := s.firstRun(ctx, id)
		if err != nil {
			return workflows.HistoryCost{}, false, err
		}
		var total workflows.HistoryCost
		for range maxRuns {
			events, next, err := s.history(ctx, id, run)
			if err != nil {
				return total, false, err
			}
			total = total.Add(workflows.CostOf(events))
			if next == "" {
				return total, len(events) > 0 && closed(events[len(events)-1]), nil
			}
			run = next
		}
		return total, false, fmt.Errorf("%s: more than %d runs", id, maxRuns)
	})
	return summarize(of, costs, unanswered), err
}

// maxRuns bounds a chain of runs followed: a number's life in a load run
// is minutes long, and continues as new rarely if ever.
const maxRuns = 100

// eachHistory runs cost on each number, a few at a time, and returns the
// costs of those that had one, in the numbers' order.
func (s *stack) eachHistory(ctx context.Context, numbers []string, cost func(context.Context, string) (workflows.HistoryCost, bool, error)) ([]workflows.HistoryCost, int, error) {
	type result struct {
		c   workflows.HistoryCost
		ok  bool
		err error
	}
	results := make([]result, len(numbers))
	sem := make(chan struct{}, costParallel)
	var wg sync.WaitGroup
	for i, e164 := range numbers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, ok, err := cost(ctx, e164)
			results[i] = result{c, ok, err}
		})
	}
	wg.Wait()
	var costs []workflows.HistoryCost
	unanswered := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			return nil, 0, fmt.Errorf("reading the history of %s: %w", workflows.NumberWorkflowID(numbers[i]), r.err)
		case r.ok:
			costs = append(costs, r.c)
		default:
			unanswered++
		}
	}
	return costs, unanswered, nil
}

// firstRun is the run that started the chain the workflow's current run
// belongs to ("" when the server does not say: the current run).
func (s *stack) firstRun(ctx context.Context, workflowID string) (string, error) {
	d, err := s.tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return "", err
	}
	return d.GetWorkflowExecutionInfo().GetFirstRunId(), nil
}

// history reads a run's events, and the run it continued as, if it did.
func (s *stack) history(ctx context.Context, workflowID, runID string) (events []*historypb.HistoryEvent, next string, err error) {
	it := s.tc.GetWorkflowHistory(ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, "", err
		}
		events = append(events, e)
	}
	if n := len(events); n > 0 {
		next = events[n-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	return events, next, nil
}

// closed reports whether the event ends a run for good.
func closed(e *historypb.HistoryEvent) bool {
	return slices.Contains([]enumspb.EventType{
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
	}, e.GetEventType())
}
