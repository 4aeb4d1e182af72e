package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/talkturo/phonenumbers/domain"
)

func TestBillingEventsApplyOnceAndInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.acts.GracePeriod = 7 * 24 * time.Hour
	teamID, _ := f.team(domain.PlanFree)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	env := f.env()
	send := func(after time.Duration, ev BillingEvent) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalBillingEvent, ev) }, after)
	}
	var afterActivation, afterUpdates, afterCancel BillingState
	query := func(after time.Duration, into *BillingState) {
		env.RegisterDelayedCallback(func() {
			v, err := env.QueryWorkflow(QueryBilling)
			if err != nil {
				t.Errorf("query: %v", err)
				return
			}
			_ = v.Get(into)
		}, after)
	}
	send(time.Minute, BillingEvent{ID: "evt_1", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "growth", OccurredAt: t0})
	send(2*time.Minute, BillingEvent{ID: "evt_1", Type: EventSubscriptionActivated, TeamID: teamID, Plan: "growth", OccurredAt: t0}) // replay
	query(3*time.Minute, &afterActivation)
	send(4*time.Minute, BillingEvent{ID: "evt_3", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "scale", OccurredAt: t0.Add(2 * time.Hour)})
	send(5*time.Minute, BillingEvent{ID: "evt_2", Type: EventSubscriptionUpdated, TeamID: teamID, Plan: "starter", OccurredAt: t0.Add(time.Hour)}) // late
	query(6*time.Minute, &afterUpdates)
	send(7*time.Minute, BillingEvent{ID: "evt_4", Type: EventSubscriptionCanceled, TeamID: teamID, OccurredAt: t0.Add(3 * time.Hour)})
	query(8*time.Minute, &afterCancel)
	env.RegisterDelayedCallback(env.CancelWorkflow, time.Hour)
	env.ExecuteWorkflow(TeamBillingWorkflow, BillingState{TeamID: teamID, Plan: domain.PlanFree})

	if afterActivation.Applied != 1 || afterActivation.Plan != domain.PlanGrowth || !afterActivation.Subscribed {
		t.Fatalf("after the activation and its replay: %+v", afterActivation)
	}
	if afterUpdates.Plan != domain.PlanScale || afterUpdates.Ignored != 1 || afterUpdates.Applied != 2 {
		t.Fatalf("a late update undid a newer one: %+v", afterUpdates)
	}
	if afterCancel.Plan != domain.PlanFree || afterCancel.Subscribed || afterCancel.GraceEndsAt == nil {
		t.Fatalf("after the cancellation: %+v", afterCancel)
	}
	e, err := f.accounts.Eligibility(context.Background(), teamID)
	if err != nil || e.PlanName != "Free" || e.HasSubscription {
		t.Fatalf("stored plan after the cancellation: %+v %v", e, err)
	}
}
