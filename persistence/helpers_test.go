package persistence_test

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/talkturo/phonenumbers/domain"
	"github.com/talkturo/phonenumbers/persistence"
	"github.com/talkturo/phonenumbers/persistence/pgtest"
)

// account is a team with one user and one API key, as Bootstrap made it.
type account struct {
	domain.BootstrapResult
	Token string
}

// newAccount bootstraps a team on plan with a fresh user and key.
func newAccount(t *testing.T, db *gorm.DB, plan domain.PlanName) account {
	t.Helper()
	token, hash := domain.NewAPIToken()
	res, err := persistence.NewAccountStore(db).Bootstrap(t.Context(), domain.BootstrapInput{
		TeamName:  "Team " + string(plan),
		Plan:      plan,
		UserEmail: domain.NewID("u") + "@example.com",
		UserName:  "Ann Example",
		TokenHash: hash,
	})
	if err != nil {
		t.Fatalf("Bootstrap(%s): %v", plan, err)
	}
	return account{BootstrapResult: res, Token: token}
}

// newTestDB is pgtest.NewDB with the test's context at hand.
func newTestDB(t *testing.T) (context.Context, *gorm.DB) {
	t.Helper()
	return t.Context(), pgtest.NewDB(t)
}

// numbersHeld reads the team's plan counter straight from the table.
func numbersHeld(t *testing.T, db *gorm.DB, teamID string) int {
	t.Helper()
	var n int
	if err := db.Raw("SELECT numbers_held FROM teams WHERE id = ?", teamID).Find(&n).Error; err != nil {
		t.Fatalf("reading numbers_held: %v", err)
	}
	return n
}

// raceStarterSlots runs attempts calls of try at once on a Starter team's
// three slots and returns the indexes of those that succeeded; every
// refusal must be plan_limit_reached with the full team's eligibility.
func raceStarterSlots(t *testing.T, attempts int, try func(i int) error) []int {
	t.Helper()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won []int
	)
	start := make(chan struct{})
	for i := range attempts {
		wg.Go(func() {
			<-start
			err := try(i)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				want := domain.Eligibility{CurrentCount: 3, MaxAllowed: 3, HasSubscription: true, PlanName: "Starter"}
				if e := limitEligibility(t, err); e != want {
					t.Errorf("refusal eligibility = %+v, want %+v", e, want)
				}
				return
			}
			won = append(won, i)
		})
	}
	close(start)
	wg.Wait()
	return won
}
