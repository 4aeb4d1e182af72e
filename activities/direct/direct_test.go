package direct_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/talkturo/phonenumbers/activities"
	"github.com/talkturo/phonenumbers/activities/direct"
	"github.com/talkturo/phonenumbers/activities/telnyx"
	"github.com/talkturo/phonenumbers/activities/telnyx/telnyxsim"
	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// setup gives activities on a fresh schema and a simulator; clientTimeout
// bounds one Telnyx attempt.
func setup(t *testing.T, clientTimeout time.Duration) (*activities.Activities, *persistence.AccountStore, *telnyxsim.Simulator) {
	t.Helper()
	b := backend.New(t, backend.Options{Sim: telnyxsim.Options{OrderLatency: 20 * time.Millisecond}, Client: telnyx.Config{Timeout: clientTimeout}})
	if err := b.Accounts.SyncPlans(context.Background(), domain.DefaultPlans()); err != nil {
		t.Fatal(err)
	}
	b.Activities.TrialDuration, b.Activities.OrderPollInterval = time.Hour, 100*time.Millisecond
	return b.Activities, b.Accounts, b.Sim
}

func team(t *testing.T, accounts *persistence.AccountStore, plan domain.PlanName) domain.BootstrapResult {
	t.Helper()
	return backend.Bootstrap(t, accounts, domain.BootstrapInput{Plan: plan}).BootstrapResult
}

func TestPurchaseLeavesTheNumberActiveAndHeld(t *testing.T) {
	a, accounts, sim := setup(t, 10*time.Second)
	acct := team(t, accounts, domain.PlanStarter)
	backend.Offer(t, sim, "+14155550123")
	n, err := direct.Purchase(context.Background(), a, acct.TeamID, acct.UserID, "+14155550123")
	if err != nil {
		t.Fatal(err)
	}
	if n.Status != domain.NumberActive || n.ProviderNumberID == "" || n.IsTrial || n.TeamID != acct.TeamID {
		t.Fatalf("bought %+v, want an active paid number of the team with its provider id", n)
	}
	if owned := sim.OwnedNumbers(); !slices.Equal(owned, []string{"+14155550123"}) {
		t.Fatalf("the simulator holds %v", owned)
	}
	if got := sim.OrderCount(direct.KeyPrefix + "+14155550123"); got != 1 {
		t.Fatalf("%d orders carry the purchase's customer reference, want 1", got)
	}
	e, err := accounts.Eligibility(context.Background(), acct.TeamID)
	if err != nil || e.CurrentCount != 1 {
		t.Fatalf("eligibility after the purchase: %+v %v", e, err)
	}
}

func TestPurchaseOfAFreeTeamIsATrial(t *testing.T) {
	a, accounts, sim := setup(t, 10*time.Second)
	acct := team(t, accounts, domain.PlanFree)
	// The second number is offered too, so that only the plan can refuse it.
	backend.Offer(t, sim, "+14155550124", "+14155550125")
	before := time.Now()
	n, err := direct.Purchase(context.Background(), a, acct.TeamID, acct.UserID, "+14155550124")
	if err != nil {
		t.Fatal(err)
	}
	if !n.IsTrial || n.TrialExpiresAt == nil || n.TrialExpiresAt.Before(before.Add(time.Hour-time.Second)) {
		t.Fatalf("bought %+v, want a trial expiring an hour from now", n)
	}
	// The free plan's one trial is spent.
	_, err = direct.Purchase(context.Background(), a, acct.TeamID, acct.UserID, "+14155550125")
	// Activities return Temporal's application errors, typed by code.
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != domain.CodePlanLimitReached {
		t.Fatalf("a second trial: %v, want %s", err, domain.CodePlanLimitReached)
	}
}

// A Telnyx answer lost on the way back is retried as Temporal would retry
// the activity: the number is bought, and ordered once.
func TestPurchaseRetriesALostOrderAnswerWithoutOrderingTwice(t *testing.T) {
	a, accounts, sim := setup(t, 200*time.Millisecond)
	sim.SetFaults(telnyxsim.Faults{TimeoutRate: 0.5, HangFor: 2 * time.Second})
	acct := team(t, accounts, domain.PlanStarter)
	for _, e164 := range []string{"+14155550131", "+14155550132", "+14155550133"} {
		backend.Offer(t, sim, e164)
		n, err := direct.Purchase(context.Background(), a, acct.TeamID, acct.UserID, e164)
		if err != nil {
			t.Fatalf("%s: %v", e164, err)
		}
		if n.Status != domain.NumberActive {
			t.Fatalf("%s is %s", e164, n.Status)
		}
		if got := sim.OrderCount(direct.KeyPrefix + e164); got != 1 {
			t.Fatalf("%s was ordered %d times", e164, got)
		}
	}
}
