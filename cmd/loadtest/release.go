package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/workflows"
)

// buyer is the team that bought through the API in phase 1, and what it
// bought.
type buyer struct {
	team, token string
	// numbers are its active numbers, in purchase order.
	numbers []string
}

// releaseSample is how many of phase 1's paid numbers are released at the
// end of the run, to read the cost of a paid number's whole life. At the
// end, so that the releases' work is in no phase's figures.
const releaseSample = 20

// closeWait bounds the wait for the released numbers' workflows to close.
const closeWait = 2 * time.Minute

// releaseParallel is how many releases are asked for at a time.
const releaseParallel = 4

// phaseRelease releases a sample of the buyer's numbers through the API,
// waits for their workflows to close and reads what each cost over its
// whole life.
func phaseRelease(ctx context.Context, s *stack, b buyer, logf func(string, ...any)) (CostSummary, error) {
	picked := sample(b.numbers, releaseSample)
	logf("releasing %d of phase 1's %d paid numbers through the API, for the cost of a whole life", len(picked), len(b.numbers))
	ids, err := s.recordIDs(ctx, b.team, picked)
	if err != nil {
		return CostSummary{}, err
	}
	errs := make([]error, len(picked))
	sem := make(chan struct{}, releaseParallel)
	var wg sync.WaitGroup
	for i, e164 := range picked {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			path := "/api/phone-numbers/purchase/" + url.PathEscape(ids[e164]) + "?" + url.Values{"teamId": {b.team}}.Encode()
			a, err := s.call(ctx, http.MethodDelete, path, b.token, nil)
			switch {
			case err != nil:
				errs[i] = err
			case a.status != http.StatusOK && a.status != http.StatusAccepted:
				errs[i] = fmt.Errorf("HTTP %d %s", a.status, a.body)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return CostSummary{}, fmt.Errorf("releasing %s: %w", picked[i], err)
		}
	}
	if err := s.waitClosed(ctx, picked); err != nil {
		logf("%v: those are left out of the whole-life cost", err)
	}
	return s.lifeCosts(ctx, picked, len(b.numbers))
}

// recordIDs maps each of the team's numbers to its record's id, which the
// API's release names.
func (s *stack) recordIDs(ctx context.Context, teamID string, numbers []string) (map[string]string, error) {
	var rows []struct{ ID, PhoneNumber string }
	err := s.db.WithContext(ctx).Raw(`SELECT id, phone_number FROM phone_numbers WHERE team_id = ? AND phone_number IN ? AND status = ?`,
		teamID, numbers, string(domain.NumberActive)).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	ids := make(map[string]string, len(rows))
	for _, r := range rows {
		ids[r.PhoneNumber] = r.ID
	}
	for _, e164 := range numbers {
		if ids[e164] == "" {
			return nil, fmt.Errorf("%s is not an active number of team %s", e164, teamID)
		}
	}
	return ids, nil
}

// waitClosed waits (at most closeWait) until no number's workflow runs.
func (s *stack) waitClosed(ctx context.Context, numbers []string) error {
	deadline := time.Now().Add(closeWait)
	left := numbers
	for {
		var still []string
		for _, e164 := range left {
			d, err := s.tc.DescribeWorkflowExecution(ctx, workflows.NumberWorkflowID(e164), "")
			if err != nil {
				return fmt.Errorf("describing the workflow of %s: %w", e164, err)
			}
			if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				still = append(still, e164)
			}
		}
		if left = still; len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d released numbers' workflows still run %s after their release (first: %s)", len(left), len(numbers), closeWait, workflows.NumberWorkflowID(left[0]))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// activeNumbers are the team's active numbers, in purchase order (the
// tool buys each area code's numbers in ascending order).
func (s *stack) activeNumbers(ctx context.Context, teamID string) ([]string, error) {
	var numbers []string
	err := s.db.WithContext(ctx).Raw(`SELECT phone_number FROM phone_numbers WHERE team_id = ? AND status = ?`, teamID, string(domain.NumberActive)).Find(&numbers).Error
	sort.Strings(numbers)
	return numbers, err
}
