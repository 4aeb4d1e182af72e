package domain

import "strings"

// PlanName names a plan. Billing systems send these names.
type PlanName string

// The plans. Free teams get one trial number; paid plans have limits.
const (
	PlanFree    PlanName = "free"
	PlanStarter PlanName = "starter"
	PlanGrowth  PlanName = "growth"
	PlanScale   PlanName = "scale"
)

// Plan is what a team may hold.
type Plan struct {
	Name        PlanName
	DisplayName string
	MaxNumbers  int
	// Paid plans are subscriptions; the free plan's single number is a trial.
	Paid bool
}

// DefaultPlans are the plans and limits of SPEC §3; PLAN_LIMITS overrides
// the limits of paid plans.
func DefaultPlans() []Plan {
	return []Plan{
		{Name: PlanFree, DisplayName: "Free", MaxNumbers: 1, Paid: false},
		{Name: PlanStarter, DisplayName: "Starter", MaxNumbers: 3, Paid: true},
		{Name: PlanGrowth, DisplayName: "Growth", MaxNumbers: 10, Paid: true},
		{Name: PlanScale, DisplayName: "Scale", MaxNumbers: 50, Paid: true},
	}
}

// ParsePlanName checks that s names a known plan (case-insensitive).
func ParsePlanName(s string) (PlanName, error) {
	p := PlanName(strings.ToLower(strings.TrimSpace(s)))
	for _, known := range DefaultPlans() {
		if known.Name == p {
			return p, nil
		}
	}
	return "", UnknownPlan(s)
}

// UnknownPlan is the error for a plan name that names none of the plans.
func UnknownPlan(name string) *Error {
	names := make([]string, 0, len(DefaultPlans()))
	for _, p := range DefaultPlans() {
		names = append(names, string(p.Name))
	}
	return Invalid("plan", "Unknown plan %q: use one of %s.", name, strings.Join(names, ", "))
}

// Eligibility is what a team holds against what its plan allows, as the
// purchase response shows it.
type Eligibility struct {
	CurrentCount    int    `json:"currentCount"`
	MaxAllowed      int    `json:"maxAllowed"`
	HasSubscription bool   `json:"hasSubscription"`
	PlanName        string `json:"planName"`
}
