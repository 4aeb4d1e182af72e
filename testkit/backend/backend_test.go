package backend_test

import (
	"slices"
	"testing"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/testkit/backend"
)

// A backend's team authenticates with its token, and its client orders an
// offered number from its simulator.
func TestBackendIsWiredTogether(t *testing.T) {
	t.Parallel()
	b := backend.New(t, backend.Options{})
	a := b.Team(t, domain.PlanGrowth)
	p, err := b.Accounts.Authenticate(t.Context(), domain.HashAPIToken(a.Token))
	if err != nil {
		t.Fatalf("the team's token does not authenticate: %v", err)
	}
	if p.UserID != a.UserID {
		t.Errorf("the token is %s's, want %s's", p.UserID, a.UserID)
	}
	const e164 = "+14155550100"
	backend.Offer(t, b.Sim, e164)
	if _, err := b.Activities.Provider.CreateOrder(t.Context(), domain.OrderRequest{PhoneNumber: e164, CustomerReference: "ref"}); err != nil {
		t.Fatal(err)
	}
	if owned := b.Sim.OwnedNumbers(); !slices.Equal(owned, []string{e164}) {
		t.Errorf("the simulator holds %v, want %s", owned, e164)
	}
}
