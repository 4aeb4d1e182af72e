package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/talkturo/phonenumbers/activities/direct"
	"github.com/talkturo/phonenumbers/domain"
)

// maxPageSize is the API's largest list page (api/numbers.go).
const maxPageSize = 500

// ListRow is the latency of one way of reading the held numbers.
type ListRow struct {
	Request string `json:"request"`
	// Pages is the number of requests one reading takes.
	Pages int `json:"pages"`
	// Numbers is how many numbers one reading returns.
	Numbers int `json:"numbers"`
	Stats
}

// HoldReport is phase 2.
type HoldReport struct {
	Numbers int `json:"numbers"`
	// Seed is the direct purchases that bought them.
	Seed Stats     `json:"seed"`
	Rows []ListRow `json:"rows"`
}

// phaseHold buys o.Hold numbers for one team, then times reading its list
// o.Reps times each way, one request at a time.
//
// The numbers are bought by the direct path (the purchase's activities
// without Temporal), many at a time: the list reads rows, and these rows
// are the ones a workflow writes, only faster to make, and they leave the
// worker's memory for phase 3 to measure.
func phaseHold(ctx context.Context, s *stack, logf func(string, ...any)) (HoldReport, error) {
	o := s.opts
	team, user, token, err := s.team(ctx, domain.PlanScale, "holder")
	if err != nil {
		return HoldReport{}, err
	}
	held, err := numbersIn(npaHeld, o.Hold)
	if err == nil {
		err = s.offer(held)
	}
	if err != nil {
		return HoldReport{}, err
	}
	logf("phase 2: buying %d numbers for one team by the direct path, %d at a time", o.Hold, o.Concurrency)
	r := HoldReport{Numbers: o.Hold}
	r.Seed = closedLoop(ctx, o.Hold, o.Concurrency, func(ctx context.Context, i int) outcome {
		_, err := direct.Purchase(ctx, s.acts, team, user, held[i])
		return directOutcome(err)
	})
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if r.Seed.OK != o.Hold {
		return r, fmt.Errorf("phase 2: %d of %d purchases failed: %v", o.Hold-r.Seed.OK, o.Hold, r.Seed.Errors)
	}

	pageSize := min(o.PageSize, maxPageSize)
	reads := []struct {
		name  string
		limit int
		walk  bool
		want  int
	}{
		{fmt.Sprintf("one page (limit=%d)", pageSize), pageSize, false, min(pageSize, o.Hold)},
		{"whole list, one request (no limit: the API's default)", 0, false, o.Hold},
		{fmt.Sprintf("whole list, page by page (limit=%d, the maximum)", maxPageSize), maxPageSize, true, o.Hold},
	}
	for _, rd := range reads {
		logf("phase 2: %s, %d times", rd.name, o.Reps)
		row := ListRow{Request: rd.name}
		// One untimed reading first, so every timed one meets the same warm
		// caches and the checks run before any figure is kept.
		pages, got, err := s.readList(ctx, team, token, rd.limit, rd.walk)
		if err != nil {
			return r, err
		}
		if got != rd.want {
			return r, fmt.Errorf("phase 2: %s returned %d numbers, want %d", rd.name, got, rd.want)
		}
		row.Pages, row.Numbers = pages, got
		rec := newRecorder(time.Now())
		for range o.Reps {
			start := time.Now()
			_, got, err := s.readList(ctx, team, token, rd.limit, rd.walk)
			end := time.Now()
			o := okOutcome()
			if err != nil || got != rd.want {
				o = outcome{class: fmt.Sprintf("wrong answer (%d numbers, %v)", got, err)}
			}
			rec.record(o, end.Sub(start), end)
		}
		row.Stats = rec.stats()
		r.Rows = append(r.Rows, row)
	}
	return r, nil
}

// readList reads the team's list: one request of the given page size, or
// (walk) every page of it by following nextCursor. It returns the requests
// made and the distinct numbers read, checking that count agrees.
func (s *stack) readList(ctx context.Context, team, token string, limit int, walk bool) (pages, numbers int, err error) {
	seen := map[string]bool{}
	cursor := ""
	for {
		a, err := s.call(ctx, "GET", listPath(team, limit, cursor), token, nil)
		if err != nil {
			return pages, len(seen), err
		}
		pages++
		if a.status != 200 {
			return pages, len(seen), fmt.Errorf("GET %s: %d %s", listPath(team, limit, cursor), a.status, a.body)
		}
		var page listAnswer
		if err := json.Unmarshal(a.body, &page); err != nil {
			return pages, len(seen), err
		}
		for _, n := range page.Numbers {
			if seen[n.ID] {
				return pages, len(seen), fmt.Errorf("number %s is on two pages", n.ID)
			}
			seen[n.ID] = true
		}
		if !walk || page.NextCursor == nil || *page.NextCursor == "" {
			return pages, len(seen), nil
		}
		cursor = *page.NextCursor
	}
}
