package persistence

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
)

// eligibilityRow is a team's counter next to its plan's terms.
type eligibilityRow struct {
	NumbersHeld int    `gorm:"column:numbers_held"`
	TrialUsed   bool   `gorm:"column:trial_used"`
	MaxNumbers  int    `gorm:"column:max_numbers"`
	Paid        bool   `gorm:"column:paid"`
	DisplayName string `gorm:"column:display_name"`
}

func (r eligibilityRow) toDomain() domain.Eligibility {
	return domain.Eligibility{
		CurrentCount:    r.NumbersHeld,
		MaxAllowed:      r.MaxNumbers,
		HasSubscription: r.Paid,
		PlanName:        r.DisplayName,
	}
}

// loadEligibility reads the team's counter and plan in one query, on db or
// inside a transaction; a missing team is domain.ErrNotFound.
func loadEligibility(ctx context.Context, db *gorm.DB, teamID string) (eligibilityRow, error) {
	var rows []eligibilityRow
	err := db.WithContext(ctx).Raw(`
		SELECT t.numbers_held, t.trial_used, p.max_numbers, p.paid, p.display_name
		FROM teams t JOIN plans p ON p.name = t.plan_name
		WHERE t.id = ?`, teamID).Find(&rows).Error
	if err != nil {
		return eligibilityRow{}, storeError("reading the team's eligibility", err)
	}
	if len(rows) == 0 {
		return eligibilityRow{}, domain.ErrNotFound
	}
	return rows[0], nil
}

// planLimitError is the refusal of a purchase that the team's plan does not
// allow, with the eligibility the client shows next to it.
func planLimitError(r eligibilityRow) *domain.Error {
	e := r.toDomain()
	var msg string
	switch {
	case !r.Paid && r.TrialUsed && r.NumbersHeld < r.MaxNumbers:
		msg = fmt.Sprintf("The %s plan includes one trial number and this team has already used it: subscribe to a paid plan to buy numbers.", e.PlanName)
	case !r.Paid:
		msg = fmt.Sprintf("The %s plan includes one trial number and this team holds it: subscribe to a paid plan to buy more.", e.PlanName)
	default:
		msg = fmt.Sprintf("The %s plan allows %s and this team holds %d: release a number or move to a bigger plan to buy another.",
			e.PlanName, plural(e.MaxAllowed, "number"), e.CurrentCount)
	}
	return &domain.Error{
		Kind:    domain.KindLimit,
		Code:    domain.CodePlanLimitReached,
		Message: msg,
		Details: map[string]any{"eligibility": e},
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
