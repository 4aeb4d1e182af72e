package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/talkturo/phonenumbers/activities/direct"
	"github.com/talkturo/phonenumbers/domain"
)

// LoadRow is one operation by one path in phase 1.
type LoadRow struct {
	Operation string  `json:"operation"`
	Path      string  `json:"path"` // "api" or "direct"
	Rate      float64 `json:"targetRate"`
	Stats
}

// Ratio is an operation's API latency over its direct one.
type Ratio struct {
	Operation string  `json:"operation"`
	P50       float64 `json:"p50"`
	P99       float64 `json:"p99"`
}

// LoadReport is phase 1.
type LoadReport struct {
	Rows   []LoadRow `json:"rows"`
	Ratios []Ratio   `json:"ratios"`
	// ListedNumbers is how many numbers the listed team held.
	ListedNumbers int `json:"listedNumbers"`
	// Active counts the numbers the purchases left active, by path (read
	// from the database).
	Active map[string]int `json:"active"`

	bought buyer // the API path's team and numbers, for the cost
}

// searchAreas are the area codes the searches go round; the simulator
// stocks them all.
var searchAreas = []string{"415", "212", "312", "512", "206", "303", "617", "404"}

const searchLimit = 10

// phaseLoad runs each operation alone at its target rate, first through
// the API, then by the direct path: one operation at a time, so a latency
// is that operation's own and not a share of a mix, and the two paths meet
// the same database and simulator state.
func phaseLoad(ctx context.Context, s *stack, logf func(string, ...any)) (LoadReport, error) {
	o := s.opts
	nPurchases := requests(o.PurchaseRate, o.Duration)
	apiTeam, _, apiToken, err := s.team(ctx, domain.PlanScale, "api-buyer")
	if err != nil {
		return LoadReport{}, err
	}
	directTeam, directUser, _, err := s.team(ctx, domain.PlanScale, "direct-buyer")
	if err != nil {
		return LoadReport{}, err
	}
	apiNumbers, err := numbersIn(npaAPIPurchases, nPurchases)
	if err != nil {
		return LoadReport{}, err
	}
	directNumbers, err := numbersIn(npaDirectPurchases, nPurchases)
	if err != nil {
		return LoadReport{}, err
	}
	for _, numbers := range [][]string{apiNumbers, directNumbers} {
		if err := s.offer(numbers); err != nil {
			return LoadReport{}, err
		}
	}

	type op struct {
		name, path string
		do         func(ctx context.Context, i int) outcome
	}
	ops := []op{
		{"search", "api", func(ctx context.Context, i int) outcome {
			body := map[string]any{"filters": map[string]any{"countryCode": "US", "areaCode": searchAreas[i%len(searchAreas)], "numberType": "local", "limit": searchLimit}}
			return expect(200)(s.call(ctx, "POST", "/api/phone-numbers/search", apiToken, body))
		}},
		{"search", "direct", func(ctx context.Context, i int) outcome {
			limit := searchLimit
			f, err := domain.SearchInput{CountryCode: "US", AreaCode: searchAreas[i%len(searchAreas)], NumberType: "local", Limit: &limit}.Validate()
			if err == nil {
				_, err = s.acts.Provider.SearchAvailable(ctx, f)
			}
			return directOutcome(err)
		}},
		{"purchase", "api", func(ctx context.Context, i int) outcome {
			body := map[string]any{"phoneNumber": apiNumbers[i], "teamId": apiTeam}
			return expect(200)(s.call(ctx, "POST", "/api/phone-numbers/purchase", apiToken, body))
		}},
		{"purchase", "direct", func(ctx context.Context, i int) outcome {
			_, err := direct.Purchase(ctx, s.acts, directTeam, directUser, directNumbers[i])
			return directOutcome(err)
		}},
		{"list", "api", func(ctx context.Context, i int) outcome {
			return expect(200)(s.call(ctx, "GET", listPath(apiTeam, 0, ""), apiToken, nil))
		}},
		{"list", "direct", func(ctx context.Context, i int) outcome {
			_, err := s.numbers.List(ctx, domain.NumberListQuery{TeamID: apiTeam})
			return directOutcome(err)
		}},
	}

	var r LoadReport
	for _, op := range ops {
		if op.name == "list" && r.ListedNumbers == 0 {
			page, err := s.numbers.List(ctx, domain.NumberListQuery{TeamID: apiTeam, Limit: 1})
			if err != nil {
				return r, err
			}
			r.ListedNumbers = page.Total
		}
		rate := o.Rate
		if op.name == "purchase" {
			rate = o.PurchaseRate
		}
		logf("phase 1: %s by %s, %g/s for %s", op.name, op.path, rate, o.Duration)
		st := openLoop(ctx, rate, o.Duration, o.Concurrency, op.do)
		if err := ctx.Err(); err != nil {
			return r, err
		}
		r.Rows = append(r.Rows, LoadRow{Operation: op.name, Path: op.path, Rate: rate, Stats: st})
	}
	for i := 0; i+1 < len(r.Rows); i += 2 {
		a, d := r.Rows[i], r.Rows[i+1]
		r.Ratios = append(r.Ratios, Ratio{Operation: a.Operation, P50: ratio(a.P50Ms, d.P50Ms), P99: ratio(a.P99Ms, d.P99Ms)})
	}

	r.Active = map[string]int{}
	for path, team := range map[string]string{"api": apiTeam, "direct": directTeam} {
		page, err := s.numbers.List(ctx, domain.NumberListQuery{TeamID: team, Limit: 1})
		if err != nil {
			return r, fmt.Errorf("counting the numbers bought: %w", err)
		}
		active, err := s.countActive(ctx, team)
		if err != nil {
			return r, err
		}
		if active != page.Total {
			return r, fmt.Errorf("team %s lists %d numbers of which %d are active: a purchase did not settle", team, page.Total, active)
		}
		r.Active[path] = active
	}
	r.bought = buyer{team: apiTeam, token: apiToken}
	if r.bought.numbers, err = s.activeNumbers(ctx, apiTeam); err != nil {
		return r, err
	}
	return r, nil
}

// requests is how many requests rate a second for dur makes.
func requests(rate float64, dur time.Duration) int {
	return int(math.Round(rate * dur.Seconds()))
}

// directOutcome classifies an error of the direct path.
func directOutcome(err error) outcome {
	if err == nil {
		return okOutcome()
	}
	return outcome{class: classOf(err)}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return float64(int(a/b*100+0.5)) / 100
}

// countActive counts the team's active numbers.
func (s *stack) countActive(ctx context.Context, teamID string) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM phone_numbers WHERE team_id = ? AND status = ?`, teamID, string(domain.NumberActive)).Find(&n).Error
	return int(n), err
}
